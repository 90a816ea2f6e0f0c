//! Tests of [`super`].

use super::*;
use proptest::prelude::*;

fn b(s: &str) -> &[u8] {
    s.as_bytes()
}

// ---- client messages -------------------------------------------------

#[test]
fn parse_hello_from() {
    assert_eq!(
        ClientMessage::parse(b"HELLO-FROM alice"),
        ClientMessage::HelloFrom(b("alice"))
    );
}

#[test]
fn parse_hello_from_keeps_the_raw_name_for_the_server_to_judge() {
    assert_eq!(
        ClientMessage::parse(b"HELLO-FROM a b"),
        ClientMessage::HelloFrom(b("a b"))
    );
    assert_eq!(
        ClientMessage::parse(b"HELLO-FROM "),
        ClientMessage::HelloFrom(b(""))
    );
    assert_eq!(
        ClientMessage::parse(b"HELLO-FROM"),
        ClientMessage::HelloFrom(b(""))
    );
}

#[test]
fn parse_list() {
    assert_eq!(ClientMessage::parse(b"LIST"), ClientMessage::List);
}

#[test]
fn parse_list_with_argument_is_unknown() {
    assert_eq!(
        ClientMessage::parse(b"LIST extra"),
        ClientMessage::Unknown(b("LIST extra"))
    );
    assert_eq!(
        ClientMessage::parse(b"LIST "),
        ClientMessage::Unknown(b("LIST "))
    );
}

#[test]
fn parse_send() {
    assert_eq!(
        ClientMessage::parse(b"SEND bob hello there "),
        ClientMessage::Send {
            to: b("bob"),
            body: b("hello there ")
        }
    );
}

#[test]
fn parse_send_with_empty_or_missing_body() {
    let empty = ClientMessage::Send {
        to: b("echobot"),
        body: b(""),
    };
    assert_eq!(ClientMessage::parse(b"SEND echobot "), empty);
    assert_eq!(ClientMessage::parse(b"SEND echobot"), empty);
    assert_eq!(
        ClientMessage::parse(b"SEND"),
        ClientMessage::Send {
            to: b(""),
            body: b("")
        }
    );
}

#[test]
fn parse_unknown_client_headers() {
    for line in ["send bob hi", "", "HELLO alice", "FOO", " LIST"] {
        assert_eq!(
            ClientMessage::parse(line.as_bytes()),
            ClientMessage::Unknown(b(line)),
            "{line:?}"
        );
    }
}

#[test]
fn encode_client_messages() {
    assert_eq!(
        ClientMessage::HelloFrom(b("alice")).to_bytes(),
        b("HELLO-FROM alice\n")
    );
    assert_eq!(ClientMessage::List.to_bytes(), b("LIST\n"));
    assert_eq!(
        ClientMessage::Send {
            to: b("bob"),
            body: b("hi there")
        }
        .to_bytes(),
        b("SEND bob hi there\n")
    );
    assert_eq!(
        ClientMessage::Send {
            to: b("echobot"),
            body: b("")
        }
        .to_bytes(),
        b("SEND echobot \n")
    );
}

#[test]
fn encode_never_lets_a_field_inject_a_second_line() {
    let msg = ClientMessage::Send {
        to: b("bob"),
        body: b("hi\nSEND eve x"),
    };
    assert_eq!(msg.to_bytes(), b("SEND bob hi\n"));
    let msg = ServerMessage::Delivery {
        from: b("bob\rx"),
        body: b("hi"),
    };
    assert_eq!(msg.to_bytes(), b("DELIVERY bob hi\n"));
}

// ---- server messages -------------------------------------------------

#[test]
fn parse_hello() {
    assert_eq!(
        ServerMessage::parse(b"HELLO alice"),
        ServerMessage::Hello(b("alice"))
    );
    assert_eq!(ServerMessage::parse(b"HELLO"), ServerMessage::Hello(b("")));
}

#[test]
fn parse_replies_without_arguments() {
    let cases = [
        ("IN-USE", ServerMessage::InUse),
        ("BUSY", ServerMessage::Busy),
        ("SEND-OK", ServerMessage::SendOk),
        ("BAD-DEST-USER", ServerMessage::BadDestUser),
        ("BAD-RQST-HDR", ServerMessage::BadRequestHeader),
        ("BAD-RQST-BODY", ServerMessage::BadRequestBody),
        ("SEND-OK ", ServerMessage::SendOk),
        ("BUSY try later", ServerMessage::Busy),
    ];
    for (line, expected) in cases {
        assert_eq!(ServerMessage::parse(line.as_bytes()), expected, "{line:?}");
    }
}

#[test]
fn parse_list_ok_keeps_order() {
    assert_eq!(
        ServerMessage::parse(b"LIST-OK echobot,delaybot,alice"),
        ServerMessage::ListOk(vec![b("echobot"), b("delaybot"), b("alice")])
    );
}

#[test]
fn parse_list_ok_with_one_name_or_none() {
    assert_eq!(
        ServerMessage::parse(b"LIST-OK alice"),
        ServerMessage::ListOk(vec![b("alice")])
    );
    assert_eq!(
        ServerMessage::parse(b"LIST-OK"),
        ServerMessage::ListOk(vec![])
    );
    assert_eq!(
        ServerMessage::parse(b"LIST-OK "),
        ServerMessage::ListOk(vec![])
    );
    assert_eq!(
        ServerMessage::parse(b"LIST-OK a,,b,"),
        ServerMessage::ListOk(vec![b("a"), b("b")])
    );
}

#[test]
fn parse_delivery() {
    assert_eq!(
        ServerMessage::parse(b"DELIVERY bob hello  world "),
        ServerMessage::Delivery {
            from: b("bob"),
            body: b("hello  world ")
        }
    );
}

#[test]
fn parse_delivery_without_body() {
    assert_eq!(
        ServerMessage::parse(b"DELIVERY bob"),
        ServerMessage::Delivery {
            from: b("bob"),
            body: b("")
        }
    );
}

#[test]
fn parse_delivery_with_binary_body() {
    assert_eq!(
        ServerMessage::parse(b"DELIVERY bob \xff\x00\x1b[2J"),
        ServerMessage::Delivery {
            from: b("bob"),
            body: &[0xff, 0, 0x1b, b'[', b'2', b'J']
        }
    );
}

#[test]
fn parse_unknown_server_headers() {
    for line in ["", "hello alice", "WHAT", "SEND-OKAY", "LIST-OKAY a"] {
        assert_eq!(
            ServerMessage::parse(line.as_bytes()),
            ServerMessage::Unknown(b(line)),
            "{line:?}"
        );
    }
}

#[test]
fn encode_server_messages() {
    let cases = [
        (ServerMessage::Hello(b("alice")), "HELLO alice\n"),
        (ServerMessage::InUse, "IN-USE\n"),
        (ServerMessage::Busy, "BUSY\n"),
        (
            ServerMessage::ListOk(vec![b("echobot"), b("alice")]),
            "LIST-OK echobot,alice\n",
        ),
        (ServerMessage::ListOk(vec![]), "LIST-OK \n"),
        (ServerMessage::SendOk, "SEND-OK\n"),
        (ServerMessage::BadDestUser, "BAD-DEST-USER\n"),
        (
            ServerMessage::Delivery {
                from: b("bob"),
                body: b("hi there"),
            },
            "DELIVERY bob hi there\n",
        ),
        (ServerMessage::BadRequestHeader, "BAD-RQST-HDR\n"),
        (ServerMessage::BadRequestBody, "BAD-RQST-BODY\n"),
    ];
    for (msg, wire) in cases {
        assert_eq!(msg.to_bytes(), b(wire), "{msg:?}");
    }
}

#[test]
fn to_bytes_allocates_once() {
    let body = vec![b'x'; 100_000];
    let msg = ServerMessage::Delivery {
        from: b("bob"),
        body: &body,
    };
    let wire = msg.to_bytes();
    assert_eq!(wire.len(), b"DELIVERY bob \n".len() + body.len());
    assert!(wire.capacity() <= msg.max_encoded_len());
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9'], 1..20)
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no line break", |b| *b != b'\n' && *b != b'\r'),
        0..100,
    )
}

proptest! {
    #[test]
    fn client_send_round_trips(to in name(), body in body()) {
        let msg = ClientMessage::Send { to: &to, body: &body };
        let wire = msg.to_bytes();
        prop_assert_eq!(ClientMessage::parse(&wire[..wire.len() - 1]), msg);
    }

    #[test]
    fn server_delivery_round_trips(from in name(), body in body()) {
        let msg = ServerMessage::Delivery { from: &from, body: &body };
        let wire = msg.to_bytes();
        prop_assert_eq!(ServerMessage::parse(&wire[..wire.len() - 1]), msg);
    }

    #[test]
    fn server_list_round_trips(names in proptest::collection::vec(name(), 0..10)) {
        let msg = ServerMessage::ListOk(names.iter().map(Vec::as_slice).collect());
        let wire = msg.to_bytes();
        prop_assert_eq!(ServerMessage::parse(&wire[..wire.len() - 1]), msg);
    }

    /// Parsing never panics, and whatever it parses re-encodes to one line.
    #[test]
    fn parse_any_line_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
        let c = ClientMessage::parse(&line).to_bytes();
        let parsed = ServerMessage::parse(&line);
        let s = parsed.to_bytes();
        prop_assert!(s.len() <= parsed.max_encoded_len());
        prop_assert_eq!(c.iter().filter(|&&b| b == b'\n').count(), 1);
        prop_assert_eq!(s.iter().filter(|&&b| b == b'\n').count(), 1);
    }
}
