//! Parsing and encoding, both ways: any bytes parse without a panic, and
//! what parses encodes back to one line.

use crate::protocol::{ClientMessage, ServerMessage};

fn no_line_break(field: &[u8]) -> bool {
    !field.contains(&b'\n') && !field.contains(&b'\r')
}

/// Checks that `wire` is one line: exactly one `\n`, at the end.
pub(super) fn assert_one_line(wire: &[u8]) {
    assert_eq!(
        wire.last(),
        Some(&b'\n'),
        "encoded message must end in a newline"
    );
    assert_eq!(
        wire.iter().filter(|&&b| b == b'\n').count(),
        1,
        "encoded message must be exactly one line: {wire:?}"
    );
}

/// `wire` (a message's `to_bytes`) is exactly one line, and `encode` appends
/// the same bytes after what is already there.
fn assert_encoding(wire: &[u8], encode: impl FnOnce(&mut Vec<u8>)) {
    assert_one_line(wire);
    let mut out = b"prefix".to_vec();
    encode(&mut out);
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(&out[6..], wire);
}

/// `ClientMessage::parse` and `encode` on any line.
pub fn parse_client(data: &[u8]) {
    let message = ClientMessage::parse(data);
    let wire = message.to_bytes();
    assert_encoding(&wire, |out| message.encode(out));
    let clean = match &message {
        ClientMessage::HelloFrom(name) => no_line_break(name),
        ClientMessage::List => true,
        ClientMessage::Send { to, body } => no_line_break(to) && no_line_break(body),
        ClientMessage::Unknown(line) => no_line_break(line),
    };
    if clean {
        assert_eq!(ClientMessage::parse(&wire[..wire.len() - 1]), message);
    }
}

/// `ServerMessage::parse` and `encode` on any line.
pub fn parse_server(data: &[u8]) {
    let message = ServerMessage::parse(data);
    let wire = message.to_bytes();
    assert_encoding(&wire, |out| message.encode(out));
    let clean = match &message {
        ServerMessage::Hello(name) => no_line_break(name),
        ServerMessage::ListOk(names) => names.iter().all(|n| no_line_break(n)),
        ServerMessage::Delivery { from, body } => no_line_break(from) && no_line_break(body),
        ServerMessage::Unknown(line) => no_line_break(line),
        ServerMessage::InUse
        | ServerMessage::Busy
        | ServerMessage::SendOk
        | ServerMessage::BadDestUser
        | ServerMessage::BadRequestHeader
        | ServerMessage::BadRequestBody => true,
    };
    if clean {
        let line = &wire[..wire.len() - 1];
        assert_eq!(ServerMessage::parse(line), message);
    }
}
