//! What a logged-in user's requests do, without any I/O: a framed request in,
//! replies pushed into the user's own outbox and deliveries into the
//! recipients' outboxes. The connection (see `connection`) does the reading
//! and the waiting around it.

use super::outbox::{Outbox, Pushed};
use super::registry::Target;
use super::Shared;
use crate::protocol::message::wire_field;
use crate::protocol::{ClientMessage, Frame, ServerMessage};
use std::sync::Arc;

/// The request handling of one logged-in user.
pub(super) struct RequestHandler<'a> {
    shared: &'a Shared,
    /// The user's name.
    name: &'a [u8],
    /// The user's own outbox: replies go there.
    outbox: &'a Outbox,
    /// Replies were queued since the last flush.
    unflushed: bool,
    /// The last reply found more than the bound of own replies waiting.
    over_bound: bool,
}

/// Why the user's next request must wait.
#[derive(Debug)]
pub(super) enum Wait {
    /// More than [`OWN_BOUND`](super::outbox::OWN_BOUND) of replies to its
    /// requests wait to be written: read no more until they are.
    OwnReplies,
    /// A recipient was over its limit when a message was queued for it: the
    /// next request waits until it has room again.
    Recipient(Arc<Outbox>),
}

impl<'a> RequestHandler<'a> {
    pub(super) fn new(shared: &'a Shared, name: &'a [u8], outbox: &'a Outbox) -> Self {
        RequestHandler {
            shared,
            name,
            outbox,
            unflushed: false,
            over_bound: false,
        }
    }

    /// Answers one request. Replies wait in the outbox until
    /// [`flush`](Self::flush). Returns what to wait for before the next
    /// request, if anything.
    pub(super) fn handle(&mut self, frame: Frame<'_>) -> Option<Wait> {
        if let Some(full) = self.answer(frame) {
            return Some(Wait::Recipient(full));
        }
        self.over_bound.then_some(Wait::OwnReplies)
    }

    /// Writes the replies queued so far.
    pub(super) fn flush(&mut self) {
        if std::mem::take(&mut self.unflushed) {
            self.outbox.flush();
        }
    }

    /// Waits for what [`handle`](Self::handle) asked, after writing the
    /// replies so far. (A connection that anyone waits on this way, and
    /// whose socket takes nothing for the stall time, is disconnected by its
    /// own writer.)
    pub(super) async fn wait(&mut self, wait: Wait) {
        self.flush();
        match wait {
            Wait::OwnReplies => {
                self.outbox.wait_for_own_room().await;
                self.over_bound = false;
            }
            Wait::Recipient(outbox) => outbox.wait_for_room().await,
        }
    }

    fn answer(&mut self, frame: Frame<'_>) -> Option<Arc<Outbox>> {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong => {
                self.reply(&ServerMessage::BadRequestBody);
                return None;
            }
        };
        match ClientMessage::parse(line) {
            ClientMessage::List => {
                let registry = &self.shared.registry;
                let over_bound = self.outbox.reply(|buf| registry.encode_list(buf));
                self.queued(over_bound);
                None
            }
            ClientMessage::Send { to, body } => self.send(to, wire_field(body)),
            ClientMessage::HelloFrom(_) | ClientMessage::Unknown(_) => {
                self.reply(&ServerMessage::BadRequestHeader);
                None
            }
        }
    }

    fn reply(&mut self, msg: &ServerMessage) {
        let over_bound = self.outbox.reply(|buf| msg.encode(buf));
        self.queued(over_bound);
    }

    /// Notes that a reply was queued, and whether it put the own replies
    /// over their bound.
    fn queued(&mut self, over_bound: bool) {
        self.unflushed = true;
        self.over_bound = over_bound;
    }

    /// `SEND`, with the body as it would be sent (cut at a line break).
    fn send(&mut self, to: &[u8], body: &[u8]) -> Option<Arc<Outbox>> {
        if to.is_empty() || is_blank(body) {
            self.reply(&ServerMessage::BadRequestBody);
            return None;
        }
        let Some(target) = self.shared.registry.lookup(to) else {
            self.reply(&ServerMessage::BadDestUser);
            return None;
        };
        let delivery = ServerMessage::Delivery {
            from: self.name,
            body,
        };
        let outbox = match target {
            Target::Bot(bot) => {
                self.reply(&ServerMessage::SendOk);
                let over_bound = self.outbox.reply_paced(bot.answer(body));
                self.queued(over_bound);
                return None;
            }
            Target::User { outbox, .. } if std::ptr::eq(&*outbox, self.outbox) => {
                // To oneself: a reply like any other.
                self.reply(&ServerMessage::SendOk);
                self.reply(&delivery);
                return None;
            }
            Target::User { outbox, .. } => outbox,
        };
        // Queued first, so that SEND-OK is said only of a message that will be
        // sent; SEND-OK is written first, as the protocol has it (and as soon
        // as possible: the sender may be waiting for it to send the next one).
        let pushed = outbox.queue(|buf| delivery.encode(buf));
        if pushed == Pushed::Gone {
            self.reply(&ServerMessage::BadDestUser);
            return None;
        }
        self.reply(&ServerMessage::SendOk);
        self.flush();
        outbox.flush_message();
        (pushed == Pushed::Full).then_some(outbox)
    }
}

/// Whether a message is empty or whitespace only, as the course's server
/// judges it (Java's `Character.isWhitespace`): every character is one of
/// the ASCII controls 0x09-0x0D (tab, line feed, vertical tab, form feed,
/// carriage return) and 0x1C-0x1F, the space, or one of Unicode's space,
/// line and paragraph separators but the no-break spaces (U+00A0, U+2007,
/// U+202F), in UTF-8. Any other byte (another control, a byte that is not
/// UTF-8) is text.
fn is_blank(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    text.chars().all(|c| match c {
        '\t'..='\r' | '\u{1c}'..='\u{1f}' => true,
        '\u{85}' | '\u{a0}' | '\u{2007}' | '\u{202f}' => false,
        // Unicode's White_Space: the above, and the space separators, U+2028
        // and U+2029.
        c => c.is_whitespace(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::outbox::OWN_BOUND;
    use crate::server::Config;
    use std::sync::Arc;

    /// A server's shared state with users logged in, without sockets.
    struct World {
        shared: Shared,
        users: Vec<(&'static [u8], Arc<Outbox>)>,
    }

    impl World {
        fn new(config: Config, names: &[&'static str]) -> World {
            let (max_queue, stall) = (config.max_queue_bytes, config.stall_timeout);
            let shared = Shared::new(config);
            let users = names
                .iter()
                .enumerate()
                .map(|(id, name)| {
                    let outbox = Arc::new(Outbox::new(max_queue, stall));
                    shared
                        .registry
                        .login(name.as_bytes(), id as u64, Arc::clone(&outbox))
                        .unwrap();
                    (name.as_bytes(), outbox)
                })
                .collect();
            World { shared, users }
        }

        fn handler(&self, user: usize) -> RequestHandler<'_> {
            let (name, outbox) = &self.users[user];
            RequestHandler::new(&self.shared, name, outbox)
        }

        /// User `user` sends the request `line`; returns whether its next
        /// request must wait for a full recipient.
        fn request(&self, user: usize, line: &[u8]) -> bool {
            self.handler(user).handle(Frame::Line(line)).is_some()
        }

        /// What waits to be sent to user `user`, as text.
        fn queued(&self, user: usize) -> String {
            String::from_utf8_lossy(&self.users[user].1.queued()).into_owned()
        }
    }

    #[test]
    fn send_replies_to_the_sender_and_delivers_to_the_recipient() {
        let world = World::new(Config::default(), &["alice", "bob"]);
        world.request(0, b"SEND bob hi there");
        assert_eq!(world.queued(0), "SEND-OK\n");
        assert_eq!(world.queued(1), "DELIVERY alice hi there\n");
    }

    #[test]
    fn send_to_yourself_gives_both_lines_in_order() {
        let world = World::new(Config::default(), &["alice"]);
        world.request(0, b"SEND alice note");
        assert_eq!(world.queued(0), "SEND-OK\nDELIVERY alice note\n");
    }

    #[test]
    fn bots_answer_after_the_send_ok() {
        let world = World::new(Config::default(), &["alice"]);
        world.request(0, b"SEND echobot one");
        world.request(0, b"SEND delaybot two");
        assert_eq!(
            world.queued(0),
            "SEND-OK\nDELIVERY echobot one\n\
             SEND-OK\nDELIVERY delaybot two\nDELIVERY delaybot two\n"
        );
    }

    #[test]
    fn bad_requests_are_answered_and_deliver_nothing() {
        let world = World::new(Config::default(), &["alice", "bob"]);
        for line in [&b"SEND bob "[..], b"SEND bob", b"SEND  x", b"SEND bob \t "] {
            world.request(0, line);
        }
        world.request(0, b"SEND nobody hi");
        for line in [&b"LIST x"[..], b"", b"HELLO-FROM alice", b"send bob hi"] {
            world.request(0, line);
        }
        assert_eq!(
            world.queued(0),
            "BAD-RQST-BODY\n".repeat(4) + "BAD-DEST-USER\n" + &"BAD-RQST-HDR\n".repeat(4)
        );
        assert_eq!(world.queued(1), "");
    }

    #[test]
    fn blank_is_what_the_course_servers_whitespace_is() {
        let blank: Vec<char> = (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|c| is_blank(c.encode_utf8(&mut [0; 4]).as_bytes()))
            .collect();
        let mut expected: Vec<char> = ('\t'..='\r').chain('\u{1c}'..=' ').collect();
        expected.extend(['\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}']);
        expected.extend(['\u{2004}', '\u{2005}', '\u{2006}', '\u{2008}', '\u{2009}']);
        expected.extend(['\u{200a}', '\u{2028}', '\u{2029}', '\u{205f}', '\u{3000}']);
        assert_eq!(blank, expected);
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\x0b\x0c\x1f"));
        for text in [&b" \x00"[..], b"\xff", b"\x0b\x01", b"\xe3\x80", b"x"] {
            assert!(!is_blank(text), "{text:?}");
        }
    }

    #[test]
    fn an_over_long_line_is_a_bad_body() {
        let world = World::new(Config::default(), &["alice"]);
        assert!(world.handler(0).handle(Frame::TooLong).is_none());
        assert_eq!(world.queued(0), "BAD-RQST-BODY\n");
    }

    #[test]
    fn list_names_everyone_in_login_order_or_only_the_bots_when_hidden() {
        let world = World::new(Config::default(), &["zed", "amy"]);
        world.request(1, b"LIST");
        assert_eq!(world.queued(1), "LIST-OK echobot,delaybot,zed,amy\n");
        let config = Config {
            hide_users: true,
            ..Config::default()
        };
        let world = World::new(config, &["zed"]);
        world.request(0, b"LIST");
        assert_eq!(world.queued(0), "LIST-OK echobot,delaybot\n");
    }

    #[test]
    fn a_message_is_judged_by_what_would_be_sent() {
        let world = World::new(Config::default(), &["alice", "bob"]);
        world.request(0, b"SEND bob \rb");
        world.request(0, b"SEND bob  \r");
        world.request(0, b"SEND bob a\rb");
        assert_eq!(world.queued(0), "BAD-RQST-BODY\nBAD-RQST-BODY\nSEND-OK\n");
        assert_eq!(world.queued(1), "DELIVERY alice a\n");
    }

    #[tokio::test]
    async fn over_the_limit_the_sender_waits_until_the_recipient_has_room_or_is_gone() {
        let config = Config {
            max_queue_bytes: 100,
            ..Config::default()
        };
        let world = World::new(config, &["alice", "bob"]);
        let line = [&b"SEND bob "[..], &[b'x'; 60]].concat();
        let mut alice = world.handler(0);
        assert!(
            alice.handle(Frame::Line(&line)).is_none(),
            "within the limit"
        );
        let wait = alice.handle(Frame::Line(&line)).expect("over it: wait");
        // Bob's connection ends (his writer gave up on him, or he vanished):
        // alice goes on, and her messages to him are refused.
        let bob = &world.users[1].1;
        tokio::join!(alice.wait(wait), async { bob.end() });
        assert!(alice.handle(Frame::Line(&line)).is_none());
        alice.flush();
        assert_eq!(world.queued(0), "SEND-OK\nSEND-OK\nBAD-DEST-USER\n");
    }

    #[test]
    fn a_flood_of_requests_waits_once_its_replies_pass_the_bound() {
        let world = World::new(Config::default(), &["alice"]);
        let mut handled = 0;
        while !world.request(0, b"LIST x") {
            handled += 1;
        }
        assert_eq!(handled, OWN_BOUND / b"BAD-RQST-HDR\n".len());
    }

    #[test]
    fn replies_to_a_flood_are_counted_as_the_senders_own() {
        let world = World::new(Config::default(), &["alice", "bob"]);
        for _ in 0..1000 {
            world.request(0, b"");
            world.request(0, b"SEND alice x");
        }
        let own = (13 + 8 + 17) * 1000;
        assert_eq!(world.users[0].1.counted(), (own, own));
        assert_eq!(world.users[1].1.counted(), (0, 0));
    }
}
