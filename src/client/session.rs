//! The logged-in session, sans-IO: typed commands in, requests and events out.
//!
//! The server answers requests in the order it receives them, so the session
//! keeps a queue of the requests it has sent and matches each reply to the
//! oldest one. That is how the reply to a silent `LIST` (sent to refresh tab
//! completion) is never shown, while a `!who` typed by the user is shown once.
//!
//! It also keeps what rich mode's conversations need: the current
//! conversation, the last person who wrote (for `!r`), and who was talked
//! with most recently (the order Tab offers names in).
//!
//! (Longer than 500 lines because its unit tests, which spell out every rule
//! above, live at the bottom; the code itself is about 360 lines.)

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
    /// `DELIVERY`
    Message { from: &'a [u8], body: &'a [u8] },
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

    /// A `LIST` whose reply only refreshes the known names and is never shown.
    pub(crate) fn silent_list(&mut self) -> ClientMessage<'static> {
        self.pending.push_back(Awaited::List { shown: false });
        ClientMessage::List
    }

    /// Turns a message from the server into what to tell the user, if anything.
    /// The event borrows from the message.
    pub fn receive<'a>(&mut self, message: ServerMessage<'a>) -> Option<Event<'a>> {
        match message {
            ServerMessage::Delivery { from, body } => {
                if from != self.last_sender.as_slice() {
                    self.new_sender(from);
                }
                Some(Event::Message { from, body })
            }
            ServerMessage::SendOk => self.reply(Event::Sent),
            ServerMessage::BadDestUser => self.reply(Event::NoSuchUser),
            ServerMessage::BadRequestHeader => self.reply(Event::BadHeader),
            ServerMessage::BadRequestBody => self.reply(Event::BadBody),
            ServerMessage::ListOk(names) => {
                self.lists += 1;
                self.replace_names(&names);
                self.reply(Event::Users(names))
            }
            ServerMessage::Hello(_)
            | ServerMessage::InUse
            | ServerMessage::Busy
            | ServerMessage::Unknown(_) => Some(Event::Unexpected),
        }
    }

    /// Matches a reply to the oldest pending request. A reply to a silent
    /// request is not shown; a reply to no request is not believed.
    fn reply<'a>(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match self.pending.front() {
            None | Some(Awaited::Notice(_)) => return Some(Event::Unexpected),
            Some(Awaited::List { shown: false }) => {
                self.pending.pop_front();
                return None;
            }
            Some(_) => {}
        }
        self.pending.pop_front();
        Some(event)
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

    /// True while a request has not been answered.
    pub(crate) fn awaits_replies(&self) -> bool {
        !self.pending.is_empty()
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
    pub(crate) fn names_by_recency(&self) -> Vec<&str> {
        let mut ordered: Vec<&str> = Vec::with_capacity(self.names.len());
        let known = |name: &&str| self.names.contains(*name) && *name != self.me;
        ordered.extend(self.last_writer.as_deref().filter(known));
        for name in &self.recent {
            if known(&name.as_str()) && !ordered.contains(&name.as_str()) {
                ordered.push(name);
            }
        }
        for name in &self.names {
            if *name != self.me && !ordered.contains(&name.as_str()) {
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

/// A local event (one a typed command makes, with no request) that owns its
/// text, to wait in the queue of replies.
fn owned_notice(event: Event<'_>) -> Event<'static> {
    match event {
        Event::Hint => Event::Hint,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::command::Dialect;

    fn typed<'a>(s: &mut Session, line: &'a str) -> Action<'a> {
        s.command(Command::parse(line, Dialect::Rich))
    }

    fn sent(to: &str, body: &str) -> Action<'static> {
        Action::Send(
            ClientMessage::Send {
                to: to.as_bytes(),
                body: body.as_bytes(),
            }
            .to_bytes(),
        )
    }

    fn from(name: &'static str) -> ServerMessage<'static> {
        ServerMessage::Delivery {
            from: name.as_bytes(),
            body: b"x",
        }
    }

    #[test]
    fn send_becomes_a_request_and_its_reply_an_event() {
        let mut s = Session::new("me");
        assert_eq!(typed(&mut s, "@bob hi"), sent("bob", "hi"));
        assert!(s.awaits_replies());
        assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
        assert!(!s.awaits_replies());
        // A reply to nothing is not believed.
        assert_eq!(
            s.receive(ServerMessage::BadDestUser),
            Some(Event::Unexpected)
        );
        typed(&mut s, "@nobody hi");
        assert_eq!(
            s.receive(ServerMessage::BadDestUser),
            Some(Event::NoSuchUser)
        );
    }

    #[test]
    fn who_is_shown_and_silent_list_is_not() {
        let mut s = Session::new("me");
        assert_eq!(s.silent_list(), ClientMessage::List);
        assert_eq!(
            s.command(Command::Who),
            Action::Send(ClientMessage::List.to_bytes())
        );
        let list = ServerMessage::ListOk(vec![&b"echobot"[..], &b"me"[..]]);
        assert_eq!(s.receive(list.clone()), None, "the silent reply is hidden");
        assert_eq!(
            s.receive(list),
            Some(Event::Users(vec![&b"echobot"[..], &b"me"[..]])),
            "the reply to !who is shown once"
        );
        assert_eq!(s.lists_answered(), 2);
    }

    #[test]
    fn an_error_answering_a_silent_list_is_hidden() {
        let mut s = Session::new("me");
        s.silent_list();
        assert_eq!(s.receive(ServerMessage::BadRequestHeader), None);
        typed(&mut s, "@bob x");
        assert_eq!(
            s.receive(ServerMessage::BadRequestHeader),
            Some(Event::BadHeader)
        );
    }

    #[test]
    fn replies_are_matched_in_order() {
        let mut s = Session::new("me");
        typed(&mut s, "@bob 1");
        s.silent_list();
        typed(&mut s, "@bob 2");
        assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
        assert_eq!(s.receive(ServerMessage::ListOk(vec![])), None);
        assert_eq!(
            s.receive(ServerMessage::BadRequestBody),
            Some(Event::BadBody)
        );
    }

    #[test]
    fn deliveries_are_not_replies() {
        let mut s = Session::new("me");
        s.silent_list();
        assert!(matches!(
            s.receive(from("bob")),
            Some(Event::Message { .. })
        ));
        assert_eq!(s.receive(ServerMessage::ListOk(vec![])), None);
    }

    #[test]
    fn handshake_replies_and_unknown_headers_after_login_are_unexpected() {
        let mut s = Session::new("me");
        for m in [
            ServerMessage::Hello(b"x"),
            ServerMessage::InUse,
            ServerMessage::Busy,
            ServerMessage::Unknown(b"WHAT"),
        ] {
            assert_eq!(s.receive(m), Some(Event::Unexpected));
        }
    }

    #[test]
    fn names_come_from_lists_senders_and_recipients() {
        let mut s = Session::new("me");
        let v0 = s.names_version();
        s.receive(from("carol"));
        typed(&mut s, "@dave hi");
        assert_eq!(s.names().collect::<Vec<_>>(), ["carol", "dave", "me"]);
        assert!(s.names_version() > v0);
        s.silent_list();
        s.receive(ServerMessage::ListOk(vec![
            &b"echobot"[..],
            &b"bad\x1bname"[..],
            &b"me"[..],
        ]));
        assert_eq!(s.names().collect::<Vec<_>>(), ["echobot", "me"]);
    }

    #[test]
    fn a_sender_dropped_by_a_list_is_learned_again_on_its_next_message() {
        let mut s = Session::new("me");
        s.receive(from("bob"));
        s.receive(from("bob"));
        assert_eq!(s.names().collect::<Vec<_>>(), ["bob", "me"]);
        s.silent_list();
        s.receive(ServerMessage::ListOk(vec![&b"me"[..]]));
        assert_eq!(s.names().collect::<Vec<_>>(), ["me"]);
        s.receive(from("bob"));
        assert_eq!(s.names().collect::<Vec<_>>(), ["bob", "me"]);
    }

    #[test]
    fn invalid_and_empty_lines() {
        let mut s = Session::new("me");
        assert_eq!(s.command(Command::Invalid), Action::Show(Event::Hint));
        assert_eq!(s.command(Command::Empty), Action::Nothing);
        assert_eq!(s.command(Command::Quit), Action::Quit);
        assert_eq!(s.command(Command::Help), Action::Show(Event::Help));
    }

    #[test]
    fn a_conversation_takes_plain_lines_until_it_is_left() {
        let mut s = Session::new("me");
        assert_eq!(typed(&mut s, "hello"), Action::Show(Event::Hint));
        assert_eq!(
            typed(&mut s, "@bob"),
            Action::Show(Event::Conversation(Some("bob".into())))
        );
        assert_eq!(s.conversation(), Some("bob"));
        assert_eq!(typed(&mut s, "hello"), sent("bob", "hello"));
        // A message to someone else leaves the conversation where it was.
        assert_eq!(typed(&mut s, "@carol hi"), sent("carol", "hi"));
        assert_eq!(typed(&mut s, "again"), sent("bob", "again"));
        for _ in 0..3 {
            s.receive(ServerMessage::SendOk);
        }
        assert_eq!(
            typed(&mut s, "!to carol"),
            Action::Show(Event::Conversation(Some("carol".into())))
        );
        assert_eq!(typed(&mut s, "x"), sent("carol", "x"));
        s.receive(ServerMessage::SendOk);
        assert_eq!(typed(&mut s, "@"), Action::Show(Event::Conversation(None)));
        assert_eq!(typed(&mut s, "hello"), Action::Show(Event::Hint));
        typed(&mut s, "!to bob");
        assert_eq!(
            typed(&mut s, "!to"),
            Action::Show(Event::Conversation(None))
        );
        assert_eq!(s.conversation(), None);
    }

    #[test]
    fn reply_answers_whoever_wrote_last() {
        let mut s = Session::new("me");
        assert_eq!(typed(&mut s, "!r hi"), Action::Show(Event::NobodyToAnswer));
        s.receive(from("bob"));
        s.receive(from("carol"));
        assert_eq!(typed(&mut s, "!r thanks"), sent("carol", "thanks"));
        s.receive(from("bob"));
        assert_eq!(typed(&mut s, "!reply ok"), sent("bob", "ok"));
        s.receive(ServerMessage::SendOk);
        s.receive(ServerMessage::SendOk);
        // Alone: a conversation with them.
        assert_eq!(
            typed(&mut s, "!r"),
            Action::Show(Event::Conversation(Some("bob".into())))
        );
    }

    #[test]
    fn what_needs_no_request_waits_for_the_replies_owed_before_it() {
        let mut s = Session::new("me");
        typed(&mut s, "@bob 1");
        typed(&mut s, "!who");
        assert_eq!(typed(&mut s, "hello"), Action::Nothing, "the hint waits");
        typed(&mut s, "@bob 2");
        assert_eq!(s.next_notice(), None, "not before the replies");
        assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
        assert_eq!(s.next_notice(), None);
        assert!(matches!(
            s.receive(ServerMessage::ListOk(vec![])),
            Some(Event::Users(_))
        ));
        assert_eq!(s.next_notice(), Some(Event::Hint), "now, in its place");
        assert_eq!(s.next_notice(), None);
        assert!(s.awaits_replies(), "the second send");
        assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
        assert!(!s.awaits_replies());
        assert_eq!(
            typed(&mut s, "hello"),
            Action::Show(Event::Hint),
            "nothing owed"
        );
    }

    #[test]
    fn completion_order_is_last_writer_then_recent_then_the_rest_and_me_last() {
        let mut s = Session::new("me");
        s.silent_list();
        s.receive(ServerMessage::ListOk(vec![
            &b"echobot"[..],
            &b"zed"[..],
            &b"me"[..],
            &b"amy"[..],
            &b"bob"[..],
        ]));
        assert_eq!(s.names_by_recency(), ["amy", "bob", "echobot", "zed", "me"]);
        typed(&mut s, "@zed hi");
        assert_eq!(s.names_by_recency(), ["zed", "amy", "bob", "echobot", "me"]);
        let before = s.names_version();
        s.receive(from("bob"));
        assert!(s.names_version() > before, "the order changed");
        assert_eq!(s.names_by_recency(), ["bob", "zed", "amy", "echobot", "me"]);
        // Writing to someone else keeps the last writer first.
        typed(&mut s, "@amy yo");
        assert_eq!(s.names_by_recency(), ["bob", "amy", "zed", "echobot", "me"]);
    }

    #[test]
    fn a_restart_forgets_replies_owed_but_keeps_the_conversation() {
        let mut s = Session::new("me");
        typed(&mut s, "@bob");
        typed(&mut s, "hi");
        assert!(s.awaits_replies());
        s.restart("me");
        assert!(!s.awaits_replies());
        assert_eq!(s.conversation(), Some("bob"));
        s.restart("me2");
        assert_eq!(s.me(), "me2");
        assert_eq!(s.names_by_recency().last(), Some(&"me2"));
    }
}
