//! The logged-in session, sans-IO: typed commands in, requests and events out.
//!
//! The server answers requests in the order it receives them, so the session
//! keeps a queue of the requests it has sent and matches each reply to the
//! oldest one. That is how the reply to a silent `LIST` (sent to refresh tab
//! completion) is never shown, while a `!who` typed by the user is shown once.

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
}

/// What the front end must do after a typed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send this request.
    Send(ClientMessage<'a>),
    /// Tell the user something (no request).
    Show(Event<'a>),
    /// Quit the program.
    Quit,
    /// Nothing.
    Nothing,
}

/// A request waiting for its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaited {
    Send,
    List { shown: bool },
}

/// State of a logged-in session.
#[derive(Debug, Default)]
pub struct Session {
    pending: VecDeque<Awaited>,
    names: BTreeSet<String>,
    names_version: u64,
    /// The last sender, known to be in `names` or not completable: a flood
    /// from one sender costs one comparison per message.
    last_sender: Vec<u8>,
}

impl Session {
    /// A session for the user who logged in as `me`.
    pub fn new(me: &str) -> Session {
        let mut session = Session::default();
        session.learn_name(me.as_bytes());
        session
    }

    /// Turns a typed command into what to do.
    pub fn command<'a>(&mut self, command: Command<'a>) -> Action<'a> {
        match command {
            Command::Quit => Action::Quit,
            Command::Empty => Action::Nothing,
            Command::Invalid => Action::Show(Event::Hint),
            Command::Who => {
                self.pending.push_back(Awaited::List { shown: true });
                Action::Send(ClientMessage::List)
            }
            Command::Send { to, body } => {
                self.learn_name(to.as_bytes());
                self.pending.push_back(Awaited::Send);
                Action::Send(ClientMessage::Send {
                    to: to.as_bytes(),
                    body: body.as_bytes(),
                })
            }
        }
    }

    /// A `LIST` whose reply only refreshes the known names and is never shown.
    pub fn silent_list(&mut self) -> ClientMessage<'static> {
        self.pending.push_back(Awaited::List { shown: false });
        ClientMessage::List
    }

    /// Turns a message from the server into what to tell the user, if anything.
    /// The event borrows from the message.
    pub fn receive<'a>(&mut self, message: ServerMessage<'a>) -> Option<Event<'a>> {
        match message {
            ServerMessage::Delivery { from, body } => {
                if from != self.last_sender.as_slice() {
                    self.learn_name(from);
                    self.last_sender.clear();
                    self.last_sender.extend_from_slice(from);
                }
                Some(Event::Message { from, body })
            }
            ServerMessage::SendOk => self.reply(Event::Sent),
            ServerMessage::BadDestUser => self.reply(Event::NoSuchUser),
            ServerMessage::BadRequestHeader => self.reply(Event::BadHeader),
            ServerMessage::BadRequestBody => self.reply(Event::BadBody),
            ServerMessage::ListOk(names) => {
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
    /// request is not shown; a reply with no request is shown as it is.
    fn reply<'a>(&mut self, event: Event<'a>) -> Option<Event<'a>> {
        match self.pending.pop_front() {
            Some(Awaited::List { shown: false }) => None,
            _ => Some(event),
        }
    }

    /// True while a request has not been answered.
    pub fn awaits_replies(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Names of users seen online, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Changes each time the set of names changes.
    pub fn names_version(&self) -> u64 {
        self.names_version
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

/// A name worth offering for completion: printable, no spaces.
fn completable(name: &[u8]) -> Option<String> {
    let name = std::str::from_utf8(name).ok()?;
    let ok = !name.is_empty() && name.chars().all(|c| !c.is_whitespace() && !c.is_control());
    ok.then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_becomes_a_request_and_its_reply_an_event() {
        let mut s = Session::new("me");
        assert_eq!(
            s.command(Command::parse("@bob hi")),
            Action::Send(ClientMessage::Send {
                to: b"bob",
                body: b"hi"
            })
        );
        assert!(s.awaits_replies());
        assert_eq!(s.receive(ServerMessage::SendOk), Some(Event::Sent));
        assert!(!s.awaits_replies());
        assert_eq!(
            s.receive(ServerMessage::BadDestUser),
            Some(Event::NoSuchUser)
        );
    }

    #[test]
    fn who_is_shown_and_silent_list_is_not() {
        let mut s = Session::new("me");
        assert_eq!(s.silent_list(), ClientMessage::List);
        assert_eq!(s.command(Command::Who), Action::Send(ClientMessage::List));
        let list = ServerMessage::ListOk(vec![&b"echobot"[..], &b"me"[..]]);
        assert_eq!(s.receive(list.clone()), None, "the silent reply is hidden");
        assert_eq!(
            s.receive(list),
            Some(Event::Users(vec![&b"echobot"[..], &b"me"[..]])),
            "the reply to !who is shown once"
        );
    }

    #[test]
    fn an_error_answering_a_silent_list_is_hidden() {
        let mut s = Session::new("me");
        s.silent_list();
        assert_eq!(s.receive(ServerMessage::BadRequestHeader), None);
        assert_eq!(
            s.receive(ServerMessage::BadRequestHeader),
            Some(Event::BadHeader)
        );
    }

    #[test]
    fn replies_are_matched_in_order() {
        let mut s = Session::new("me");
        s.command(Command::parse("@bob 1"));
        s.silent_list();
        s.command(Command::parse("@bob 2"));
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
        let delivery = ServerMessage::Delivery {
            from: b"bob",
            body: b"x",
        };
        assert!(matches!(s.receive(delivery), Some(Event::Message { .. })));
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
        s.receive(ServerMessage::Delivery {
            from: b"carol",
            body: b"x",
        });
        s.command(Command::parse("@dave hi"));
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
        let from_bob = || ServerMessage::Delivery {
            from: b"bob",
            body: b"x",
        };
        s.receive(from_bob());
        s.receive(from_bob());
        assert_eq!(s.names().collect::<Vec<_>>(), ["bob", "me"]);
        s.silent_list();
        s.receive(ServerMessage::ListOk(vec![&b"me"[..]]));
        assert_eq!(s.names().collect::<Vec<_>>(), ["me"]);
        s.receive(from_bob());
        assert_eq!(s.names().collect::<Vec<_>>(), ["bob", "me"]);
    }

    #[test]
    fn invalid_and_empty_lines() {
        let mut s = Session::new("me");
        assert_eq!(s.command(Command::Invalid), Action::Show(Event::Hint));
        assert_eq!(s.command(Command::Empty), Action::Nothing);
        assert_eq!(s.command(Command::Quit), Action::Quit);
    }
}
