//! The logged-in session, sans-IO: typed commands in, requests and events out.
//!
//! The server answers requests in the order it receives them, so the session
//! keeps a queue of the requests it has sent and matches each reply to the
//! oldest one. That is how the reply to a silent `LIST` (sent to refresh tab
//! completion) is never shown, while a `!who` typed by the user is shown once.
//! The two error replies, `BAD-RQST-HDR` and `BAD-RQST-BODY`, are the
//! exception: the server reports a fault in something the client sent, and
//! is believed whether or not a request is waiting, so they are always shown.
//!
//! It also keeps what rich mode's conversations need: the current
//! conversation, the last person who wrote (for `!r`), and who was talked
//! with most recently (the order Tab offers names in).

use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};

use super::command::Command;
use crate::protocol::{ClientMessage, ServerMessage};

/// Something the user should be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// `SEND-OK`
    Sent,
    /// `BAD-DEST-USER`
    NoSuchUser,
    /// `DELIVERY` from a user.
    Message { from: &'a [u8], body: &'a [u8] },
    /// `DELIVERY` with an empty sender's name: from nobody a user could be.
    NoSender { body: &'a [u8] },
    /// `LIST-OK` in answer to `!who`
    Users(Vec<&'a [u8]>),
    /// `BAD-RQST-HDR`
    BadHeader,
    /// `BAD-RQST-BODY`
    BadBody,
    /// A reply that does not fit at this moment, or an unknown header.
    Unexpected,
    /// A typed line that is not a command.
    Hint,
    /// A typed message with a line break inside, not sent.
    LineBreak,
    /// Rich mode: the conversation is now with this user, or with nobody.
    Conversation(Option<Cow<'a, str>>),
    /// Rich mode: `!r`, but nobody has written yet.
    NobodyToAnswer,
    /// Rich mode: `!help`.
    Help,
}

/// What the front end must do after a typed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action<'a> {
    /// Send this request (one encoded line, `\n` included).
    Send(Vec<u8>),
    /// Tell the user something (no request).
    Show(Event<'a>),
    /// Quit the program.
    Quit,
    /// Nothing.
    Nothing,
}

/// A request waiting for its reply, or something to tell the user once the
/// replies to the requests before it have been shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Awaited {
    Send,
    List { shown: bool },
    Notice(Event<'static>),
}

/// How many of the people talked with most recently are remembered, in order.
const RECENT: usize = 32;

/// State of a logged-in session.
#[derive(Debug, Default)]
pub struct Session {
    me: String,
    pending: VecDeque<Awaited>,
    /// How many of `pending` are silent requests (nothing the user waits for).
    silent: usize,
    names: BTreeSet<String>,
    names_version: u64,
    /// The last sender, known to be in `names` (or not completable) and at
    /// the front of `recent`: a flood from one sender costs one comparison
    /// per message.
    last_sender: Vec<u8>,
    /// Whoever wrote last, for `!r`.
    last_writer: Option<String>,
    /// People talked with, most recent first (either way).
    recent: VecDeque<String>,
    /// The current conversation (rich mode).
    conversation: Option<String>,
    /// How many `LIST-OK` replies have arrived (silent ones included).
    lists: u64,
    /// The server answered a silent `LIST` with an error (it may not know
    /// `LIST`): no more are sent on this connection, so that the error line
    /// is not shown again and again.
    lists_refused: bool,
}

impl Session {
    /// A session for the user who logged in as `me`.
    pub fn new(me: &str) -> Session {
        let mut session = Session {
            me: me.to_string(),
            ..Session::default()
        };
        session.learn_name(me.as_bytes());
        session
    }

    /// The same person logged in again (after a reconnect): requests still
    /// waiting for replies are forgotten, conversations and names are kept.
    pub(crate) fn restart(&mut self, me: &str) {
        self.pending.clear();
        self.silent = 0;
        self.lists_refused = false;
        self.last_sender.clear();
        if self.me != me {
            self.me = me.to_string();
            self.learn_name(me.as_bytes());
            self.names_version += 1;
        }
    }

    /// Turns a typed command into what to do. What needs no request is told
    /// at once, unless replies to earlier requests are still owed: then it
    /// waits for them ([`next_notice`](Self::next_notice)), so that the user
    /// (or a script piping lines in) sees the answers in the order of the
    /// lines.
    pub(crate) fn command<'a>(&mut self, command: Command<'a>) -> Action<'a> {
        match self.decide(command) {
            Action::Show(event) if self.awaits_replies() => {
                self.pending.push_back(Awaited::Notice(owned_notice(event)));
                Action::Nothing
            }
            action => action,
        }
    }

    fn decide<'a>(&mut self, command: Command<'a>) -> Action<'a> {
        match command {
            Command::Quit => Action::Quit,
            Command::Empty => Action::Nothing,
            Command::Invalid => Action::Show(Event::Hint),
            Command::LineBreak => Action::Show(Event::LineBreak),
            Command::Help => Action::Show(Event::Help),
            Command::Who => {
                self.pending.push_back(Awaited::List { shown: true });
                Action::Send(ClientMessage::List.to_bytes())
            }
            Command::Send { to, body } => self.send(to, body),
            Command::Say(body) => match self.conversation.clone() {
                Some(to) => self.send(&to, body),
                None => Action::Show(Event::Hint),
            },
            Command::Reply(body) => match self.last_writer.clone() {
                // `!r` alone: talk to whoever wrote last.
                Some(to) if body.trim().is_empty() => self.converse(Some(to)),
                Some(to) => self.send(&to, body),
                None => Action::Show(Event::NobodyToAnswer),
            },
            Command::Converse(with) => self.converse(with.map(str::to_string)),
        }
    }

    fn converse<'a>(&mut self, with: Option<String>) -> Action<'a> {
        if let Some(with) = &with {
            self.talked_with(with);
        }
        self.conversation = with.clone();
        Action::Show(Event::Conversation(with.map(Cow::Owned)))
    }

    fn send<'a>(&mut self, to: &str, body: &str) -> Action<'a> {
        self.learn_name(to.as_bytes());
        self.talked_with(to);
        self.pending.push_back(Awaited::Send);
        Action::Send(
            ClientMessage::Send {
                to: to.as_bytes(),
                body: body.as_bytes(),
            }
            .to_bytes(),
        )
    }

    /// True once the server answered a silent `LIST` with an error: then
    /// no more are worth sending on this connection.
    pub(crate) fn lists_refused(&self) -> bool {
        self.lists_refused
    }

    /// A `LIST` whose reply only refreshes the known names and is never shown.
    pub(crate) fn silent_list(&mut self) -> ClientMessage<'static> {
        self.pending.push_back(Awaited::List { shown: false });
        self.silent += 1;
        ClientMessage::List
    }

    /// Turns a message from the server into what to tell the user, if anything.
    /// The event borrows from the message.
    pub fn receive<'a>(&mut self, message: ServerMessage<'a>) -> Option<Event<'a>> {
        match message {
            ServerMessage::Delivery { from: b"", body } => Some(Event::NoSender { body }),
            ServerMessage::Delivery { from, body } => {
                if from != self.last_sender.as_slice() {
                    self.new_sender(from);
                }
                Some(Event::Message { from, body })
            }
            ServerMessage::SendOk => self.reply(Event::Sent),
            ServerMessage::BadDestUser => self.reply(Event::NoSuchUser),
            ServerMessage::BadRequestHeader => Some(self.error_reply(Event::BadHeader)),
            ServerMessage::BadRequestBody => Some(self.error_reply(Event::BadBody)),
            ServerMessage::ListOk(names) => {
                self.lists += 1;
                self.replace_names(&names);
                self.reply(Event::Users(names))
            }
            // An empty (or blank) line carries no header: nothing to tell,
            // and nothing it could answer.
            ServerMessage::Unknown(line) if is_blank(line) => None,
            ServerMessage::Hello(_)
            | ServerMessage::InUse
            | ServerMessage::Busy
            | ServerMessage::Unknown(_) => Some(Event::Unexpected),
        }
    }

    /// Matches a reply to the oldest pending request. A reply to a silent
    /// request is not shown; a reply to no request is not believed.
    fn reply<'a>(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        if !matches!(event, Event::Users(_)) {
            // A reply to a message where a silent list was first: the server
            // passed over the list (some answer nothing to a request they do
            // not know). Its reply is not hidden; no more lists are asked.
            while let Some(Awaited::List { shown: false }) = self.pending.front() {
                self.lists_refused = true;
                self.pop_request();
            }
        }
        match self.pending.front() {
            None | Some(Awaited::Notice(_)) => Some(Event::Unexpected),
            Some(Awaited::List { shown: false }) => {
                self.pop_request();
                None
            }
            Some(_) => {
                self.pop_request();
                Some(event)
            }
        }
    }

    /// An error reply (`BAD-RQST-HDR`, `BAD-RQST-BODY`): it answers the
    /// oldest pending request if there is one, and is shown in any case.
    fn error_reply<'a>(&mut self, event: Event<'a>) -> Event<'a> {
        match self.pending.front() {
            Some(Awaited::List { shown: false }) => {
                self.lists_refused = true;
                self.pop_request();
            }
            Some(Awaited::Send | Awaited::List { shown: true }) => self.pop_request(),
            Some(Awaited::Notice(_)) | None => {}
        }
        event
    }

    /// Forgets the oldest pending request: it has been answered.
    fn pop_request(&mut self) {
        if let Some(Awaited::List { shown: false }) = self.pending.pop_front() {
            self.silent -= 1;
        }
    }

    /// What waited for the replies just received, now to be told.
    pub(crate) fn next_notice(&mut self) -> Option<Event<'static>> {
        match self.pending.front() {
            Some(Awaited::Notice(_)) => match self.pending.pop_front() {
                Some(Awaited::Notice(event)) => Some(event),
                _ => None,
            },
            _ => None,
        }
    }

    /// True while something the user asked for waits for the server: a
    /// request that has not been answered, or what waits behind one. Silent
    /// requests do not count: nobody waits for their replies.
    pub(crate) fn awaits_replies(&self) -> bool {
        self.pending.len() > self.silent
    }

    /// The user's own name.
    pub(crate) fn me(&self) -> &str {
        &self.me
    }

    /// The current conversation, if any.
    pub(crate) fn conversation(&self) -> Option<&str> {
        self.conversation.as_deref()
    }

    /// Names of users seen online, sorted.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Names to offer for completion, in the order to offer them: whoever
    /// wrote last, then the others talked with most recently, then everyone
    /// else in alphabetical order, and the user's own name last.
    ///
    /// Linear in the names: each is compared only with the few people at the
    /// head of the list (at most [`RECENT`] and the last writer), however
    /// many users are online.
    pub fn names_by_recency(&self) -> Vec<&str> {
        let mut ordered: Vec<&str> = Vec::with_capacity(self.names.len());
        let known = |name: &&str| self.names.contains(*name) && *name != self.me;
        ordered.extend(self.last_writer.as_deref().filter(known));
        for name in &self.recent {
            if known(&name.as_str()) && !among(&ordered, name) {
                ordered.push(name);
            }
        }
        let head = ordered.len();
        for name in &self.names {
            if *name != self.me && !among(&ordered[..head], name) {
                ordered.push(name);
            }
        }
        if self.names.contains(&self.me) {
            ordered.push(&self.me);
        }
        ordered
    }

    /// Changes each time the names or their order change.
    pub(crate) fn names_version(&self) -> u64 {
        self.names_version
    }

    /// How many `LIST-OK` replies have arrived so far.
    pub(crate) fn lists_answered(&self) -> u64 {
        self.lists
    }

    /// A message from someone other than the last sender.
    #[cold]
    fn new_sender(&mut self, from: &[u8]) {
        self.learn_name(from);
        self.last_sender.clear();
        self.last_sender.extend_from_slice(from);
        if let Ok(name) = std::str::from_utf8(from) {
            if self.last_writer.as_deref() != Some(name) {
                self.last_writer = Some(name.to_string());
                self.names_version += 1;
            }
            self.talked_with(name);
        }
    }

    /// Moves `name` to the front of the people talked with.
    fn talked_with(&mut self, name: &str) {
        if self.recent.front().map(String::as_str) == Some(name) {
            return;
        }
        self.recent.retain(|known| known != name);
        self.recent.push_front(name.to_string());
        self.recent.truncate(RECENT);
        self.names_version += 1;
    }

    fn learn_name(&mut self, name: &[u8]) {
        // Every message passes here: a name already known costs no allocation.
        if std::str::from_utf8(name).is_ok_and(|known| self.names.contains(known)) {
            return;
        }
        if let Some(name) = completable(name) {
            if self.names.insert(name) {
                self.names_version += 1;
            }
        }
    }

    fn replace_names(&mut self, names: &[&[u8]]) {
        let fresh: BTreeSet<String> = names.iter().filter_map(|n| completable(n)).collect();
        if fresh != self.names {
            self.names = fresh;
            self.names_version += 1;
            // The last sender may have been dropped: learn it again next time.
            self.last_sender.clear();
        }
    }
}

/// Whether `name` is one of `names` (which is short: see
/// [`Session::names_by_recency`]).
fn among(names: &[&str], name: &str) -> bool {
    #[cfg(test)]
    tests::COMPARED.with(|compared| compared.set(compared.get() + names.len()));
    names.contains(&name)
}

/// A local event (one a typed command makes, with no request) that owns its
/// text, to wait in the queue of replies.
fn owned_notice(event: Event<'_>) -> Event<'static> {
    match event {
        Event::Hint => Event::Hint,
        Event::LineBreak => Event::LineBreak,
        Event::Help => Event::Help,
        Event::NobodyToAnswer => Event::NobodyToAnswer,
        Event::Conversation(with) => {
            Event::Conversation(with.map(|with| Cow::Owned(with.into_owned())))
        }
        // Only the events above come from typed commands.
        _ => Event::Unexpected,
    }
}

/// A name worth offering for completion: shown exactly as it is (no control
/// character, valid UTF-8) and without spaces.
fn completable(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    let ok = !name.is_empty()
        && !name.contains(char::is_whitespace)
        && super::safe::SafeText::is_verbatim(name.as_bytes());
    ok.then(|| name.to_string())
}

/// An empty line, or one of spaces and tabs only: some servers send one
/// after each message. It carries no header, so it is not a reply.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.trim_ascii().is_empty()
}

#[cfg(test)]
mod tests;
