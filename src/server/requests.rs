//! What a logged-in user's requests do, without any I/O: a framed request in,
//! replies pushed into the user's own outbox and deliveries into the
//! recipients' outboxes. The connection (see `connection`) does the reading
//! and the writing around it.

use super::outbox::{Outbox, Pushed};
use super::registry::Target;
use super::Shared;
use crate::protocol::{ClientMessage, Frame, ServerMessage};
use tracing::warn;

/// The request handling of one logged-in user.
pub(super) struct RequestHandler<'a> {
    pub(super) shared: &'a Shared,
    /// The user's name.
    pub(super) name: &'a [u8],
    /// The user's own outbox: replies go there.
    pub(super) outbox: &'a Outbox,
}

impl RequestHandler<'_> {
    /// Answers one request.
    pub(super) fn handle(&self, frame: Frame<'_>) {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong => return self.reply(&ServerMessage::BadRequestBody),
        };
        match ClientMessage::parse(line) {
            ClientMessage::List => {
                let names = self.shared.registry.list();
                self.reply(&ServerMessage::ListOk(
                    names.iter().map(Vec::as_slice).collect(),
                ));
            }
            ClientMessage::Send { to, body } => self.send(to, body),
            ClientMessage::HelloFrom(_) | ClientMessage::Unknown(_) => {
                self.reply(&ServerMessage::BadRequestHeader);
            }
        }
    }

    fn reply(&self, msg: &ServerMessage) {
        self.outbox.push_bytes(msg.to_bytes());
    }

    fn send(&self, to: &[u8], body: &[u8]) {
        if to.is_empty() || body.iter().all(u8::is_ascii_whitespace) {
            return self.reply(&ServerMessage::BadRequestBody);
        }
        let Some(target) = self.shared.registry.lookup(to) else {
            return self.reply(&ServerMessage::BadDestUser);
        };
        self.reply(&ServerMessage::SendOk);
        match target {
            Target::Bot(bot) => {
                self.outbox.push(bot.answer(body));
            }
            Target::User { id, outbox } => {
                let line = ServerMessage::Delivery {
                    from: self.name,
                    body,
                }
                .to_bytes();
                if outbox.push_bytes(line) == Pushed::Overflow {
                    // The recipient does not read: it is disconnected (its own task
                    // sees the kill), and its name is free from now on.
                    self.shared.registry.logout(to, id);
                    warn!(
                        id,
                        name = %String::from_utf8_lossy(to),
                        "disconnecting a user whose outgoing queue overflowed"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Config;
    use std::sync::Arc;

    /// A server's shared state with users logged in, without sockets.
    struct World {
        shared: Shared,
        users: Vec<(&'static [u8], Arc<Outbox>)>,
    }

    impl World {
        fn new(config: Config, names: &[&'static str]) -> World {
            let max_queue = config.max_queue_bytes;
            let shared = Shared::new(config);
            let users = names
                .iter()
                .enumerate()
                .map(|(id, name)| {
                    let outbox = Arc::new(Outbox::new(max_queue));
                    shared
                        .registry
                        .login(name.as_bytes(), id as u64, Arc::clone(&outbox))
                        .unwrap();
                    (name.as_bytes(), outbox)
                })
                .collect();
            World { shared, users }
        }

        /// User `user` sends the request `line`.
        fn request(&self, user: usize, line: &[u8]) {
            let (name, outbox) = &self.users[user];
            RequestHandler {
                shared: &self.shared,
                name,
                outbox,
            }
            .handle(Frame::Line(line));
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
    fn an_over_long_line_is_a_bad_body() {
        let world = World::new(Config::default(), &["alice"]);
        let (name, outbox) = &world.users[0];
        RequestHandler {
            shared: &world.shared,
            name,
            outbox,
        }
        .handle(Frame::TooLong);
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
    fn a_recipient_whose_queue_overflows_is_logged_out() {
        let config = Config {
            max_queue_bytes: 100,
            ..Config::default()
        };
        let world = World::new(config, &["alice", "bob"]);
        let body = [b'x'; 60];
        let line = [&b"SEND bob "[..], &body].concat();
        world.request(0, &line);
        world.request(0, &line);
        assert!(world.users[1].1.is_killed());
        assert!(world.shared.registry.lookup(b"bob").is_none());
        assert_eq!(world.queued(0), "SEND-OK\nSEND-OK\n");
        world.request(0, &line);
        assert_eq!(world.queued(0), "SEND-OK\nSEND-OK\nBAD-DEST-USER\n");
    }
}
