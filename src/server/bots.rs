//! The built-in bots. They are not connections: a `SEND` to a bot is answered
//! directly into the sender's outbox, after the sender's `SEND-OK`.

use super::outbox::Paced;
use crate::protocol::ServerMessage;
use std::time::Duration;

/// The built-in bots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bot {
    /// Sends every message back once.
    Echo,
    /// Sends every message back twice, cut into pieces 500 ms apart.
    Delay,
}

impl Bot {
    pub(super) const ALL: [Bot; 2] = [Bot::Echo, Bot::Delay];

    pub(super) fn name(self) -> &'static [u8] {
        match self {
            Bot::Echo => b"echobot",
            Bot::Delay => b"delaybot",
        }
    }

    /// What the bot sends back to the sender of `body`.
    pub(super) fn answer(self, body: &[u8]) -> Paced {
        let line = ServerMessage::Delivery {
            from: self.name(),
            body,
        }
        .to_bytes();
        match self {
            Bot::Echo => Paced {
                data: line,
                pieces: Vec::new(),
            },
            Bot::Delay => delayed_twice(line),
        }
    }
}

/// The pause between the pieces of `delaybot`'s answer.
pub(super) const DELAY_PAUSE: Duration = Duration::from_millis(500);

/// `line` twice, in three writes: the first half of copy 1 at once; after a pause
/// the rest of copy 1 and the first half of copy 2; after another pause the rest.
/// The cuts are byte offsets and may split a UTF-8 character, on purpose.
fn delayed_twice(line: Vec<u8>) -> Paced {
    let len = line.len();
    let half = len / 2;
    let mut data = Vec::with_capacity(2 * len);
    data.extend_from_slice(&line);
    data.extend_from_slice(&line);
    Paced {
        data,
        pieces: vec![
            (Duration::ZERO, half),
            (DELAY_PAUSE, len + half),
            (DELAY_PAUSE, 2 * len),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_is_one_delivery_line_at_once() {
        assert_eq!(
            Bot::Echo.answer(b"hi \xff"),
            Paced {
                data: b"DELIVERY echobot hi \xff\n".to_vec(),
                pieces: Vec::new()
            }
        );
    }

    #[test]
    fn delay_is_two_copies_cut_at_the_halves() {
        let Paced { data, pieces } = Bot::Delay.answer(b"hello");
        let line = b"DELIVERY delaybot hello\n";
        assert_eq!(data, [&line[..], &line[..]].concat());
        let half = line.len() / 2;
        assert_eq!(
            pieces,
            vec![
                (Duration::ZERO, half),
                (DELAY_PAUSE, line.len() + half),
                (DELAY_PAUSE, 2 * line.len())
            ]
        );
    }
}
