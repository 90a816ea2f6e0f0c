//! The built-in bots. They are not connections: a `SEND` to a bot is answered
//! directly into the sender's outbox, after the sender's `SEND-OK`.

use super::outbox::Item;
use super::registry::Bot;
use crate::protocol::ServerMessage;
use std::time::Duration;

/// The pause between the pieces of `delaybot`'s answer.
pub(super) const DELAY_PAUSE: Duration = Duration::from_millis(500);

/// The line `DELIVERY <from> <body>\n`.
pub(super) fn delivery_line(from: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(from.len() + body.len() + 11);
    ServerMessage::Delivery { from, body }.encode(&mut out);
    out
}

/// What `bot` sends back to the sender of `body`.
pub(super) fn answer(bot: Bot, body: &[u8]) -> Item {
    let line = delivery_line(bot.name(), body);
    match bot {
        Bot::Echo => Item::Bytes(line),
        Bot::Delay => delayed_twice(line),
    }
}

/// `line` twice, in three writes: the first half of copy 1 at once; after a pause
/// the rest of copy 1 and the first half of copy 2; after another pause the rest.
/// The cuts are byte offsets and may split a UTF-8 character, on purpose.
pub(super) fn delayed_twice(line: Vec<u8>) -> Item {
    let len = line.len();
    let half = len / 2;
    let mut data = Vec::with_capacity(2 * len);
    data.extend_from_slice(&line);
    data.extend_from_slice(&line);
    Item::Paced {
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
    fn echo_is_one_delivery_line() {
        match answer(Bot::Echo, b"hi \xff") {
            Item::Bytes(b) => assert_eq!(b, b"DELIVERY echobot hi \xff\n"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn delay_is_two_copies_cut_at_the_halves() {
        match answer(Bot::Delay, b"hello") {
            Item::Paced { data, pieces } => {
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
            other => panic!("{other:?}"),
        }
    }
}
