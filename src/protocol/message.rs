//! Typed protocol messages in both directions, with `parse` and `encode`.
//!
//! Names and message bodies are kept as bytes: the protocol relays bodies byte
//! for byte, and a client must survive whatever a server sends. Deciding what is
//! valid (for example which names are allowed) is the server's job, not the
//! parser's; the parser only finds the header and splits the arguments.
//!
//! Messages borrow their fields from the line they were parsed from (or, to be
//! encoded, from wherever the caller keeps them): parsing copies nothing and
//! allocates nothing, except the list of names in a `LIST-OK`.
//!
//! `encode` appends one line, `\n` included. The protocol cannot carry a `\n`
//! inside a field, so a field that contains one is cut at the first `\n` or `\r`
//! instead of letting it inject a second message.
//!
//! (Longer than 500 lines because its tests, one per message form and
//! error case, live at the bottom; the code itself is about 240 lines.)

/// The header words, exactly as they appear on the wire. Parsing matches
/// these and encoding writes them, so the two can never disagree.
pub mod header {
    pub const HELLO_FROM: &[u8] = b"HELLO-FROM";
    pub const LIST: &[u8] = b"LIST";
    pub const SEND: &[u8] = b"SEND";
    pub const HELLO: &[u8] = b"HELLO";
    pub const IN_USE: &[u8] = b"IN-USE";
    pub const BUSY: &[u8] = b"BUSY";
    pub const LIST_OK: &[u8] = b"LIST-OK";
    pub const SEND_OK: &[u8] = b"SEND-OK";
    pub const BAD_DEST_USER: &[u8] = b"BAD-DEST-USER";
    pub const DELIVERY: &[u8] = b"DELIVERY";
    pub const BAD_RQST_HDR: &[u8] = b"BAD-RQST-HDR";
    pub const BAD_RQST_BODY: &[u8] = b"BAD-RQST-BODY";
}

/// A message sent by a client to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage<'a> {
    /// `HELLO-FROM <name>`: log in. The name is whatever follows the first space
    /// (empty when there is none).
    HelloFrom(&'a [u8]),
    /// `LIST`: ask who is online. `LIST` with anything after it is `Unknown`.
    List,
    /// `SEND <to> <body>`: the body is everything after the first space that
    /// follows the name, and may be empty.
    Send { to: &'a [u8], body: &'a [u8] },
    /// Any other line, kept whole.
    Unknown(&'a [u8]),
}

/// A message sent by the server to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage<'a> {
    /// `HELLO <name>`: logged in as `name`.
    Hello(&'a [u8]),
    /// `IN-USE`: the name is taken.
    InUse,
    /// `BUSY`: the server is full.
    Busy,
    /// `LIST-OK <n1>,<n2>,...`: who is online, in the server's order.
    ListOk(Vec<&'a [u8]>),
    /// `SEND-OK`: the last SEND was delivered.
    SendOk,
    /// `BAD-DEST-USER`: the destination of the last SEND is not logged in.
    BadDestUser,
    /// `DELIVERY <from> <body>`: a message from another user.
    Delivery { from: &'a [u8], body: &'a [u8] },
    /// `BAD-RQST-HDR`: the last request had a bad header.
    BadRequestHeader,
    /// `BAD-RQST-BODY`: the last request had a bad body.
    BadRequestBody,
    /// Any other line, kept whole.
    Unknown(&'a [u8]),
}

/// Splits a line at its first space: `(header, Some(rest))`, or `(line, None)`
/// when there is no space.
fn split_header(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(b' ', line) {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    }
}

/// Splits `<name> <body>` at the first space. Without a space the whole text is
/// the name and the body is empty.
fn split_name_body(rest: &[u8]) -> (&[u8], &[u8]) {
    let (name, body) = split_header(rest);
    (name, body.unwrap_or_default())
}

/// The part of `field` that `encode` sends: up to (not including) its first
/// line break. A server judges a message by this part (`SEND bob \rb`
/// carries an empty message).
pub fn wire_field(field: &[u8]) -> &[u8] {
    let end = memchr::memchr2(b'\n', b'\r', field).unwrap_or(field.len());
    &field[..end]
}

/// Appends `field` up to (not including) its first line break.
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(wire_field(field));
}

fn push_line(out: &mut Vec<u8>, header: &[u8], fields: &[&[u8]]) {
    out.extend_from_slice(header);
    for field in fields {
        out.push(b' ');
        push_field(out, field);
    }
    out.push(b'\n');
}

impl<'a> ClientMessage<'a> {
    /// Parses one line (without its `\n`).
    pub fn parse(line: &'a [u8]) -> ClientMessage<'a> {
        let (head, rest) = split_header(line);
        match (head, rest) {
            (header::HELLO_FROM, rest) => ClientMessage::HelloFrom(rest.unwrap_or_default()),
            (header::LIST, None) => ClientMessage::List,
            (header::SEND, rest) => {
                let (to, body) = split_name_body(rest.unwrap_or_default());
                ClientMessage::Send { to, body }
            }
            _ => ClientMessage::Unknown(line),
        }
    }

    /// Appends this message as one line, `\n` included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ClientMessage::HelloFrom(name) => push_line(out, header::HELLO_FROM, &[name]),
            ClientMessage::List => push_line(out, header::LIST, &[]),
            ClientMessage::Send { to, body } => push_line(out, header::SEND, &[to, body]),
            ClientMessage::Unknown(line) => {
                push_field(out, line);
                out.push(b'\n');
            }
        }
    }

    /// This message as one line, `\n` included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

impl<'a> ServerMessage<'a> {
    /// Parses one line (without its `\n`).
    ///
    /// Replies that carry no argument are recognised by their header alone, so a
    /// server that adds trailing text (`SEND-OK ` or `BUSY now`) is still
    /// understood.
    pub fn parse(line: &'a [u8]) -> ServerMessage<'a> {
        // Most lines a client receives are messages: recognise them first.
        if let Some(rest) = line
            .strip_prefix(header::DELIVERY)
            .and_then(|rest| rest.strip_prefix(b" "))
        {
            let (from, body) = split_name_body(rest);
            return ServerMessage::Delivery { from, body };
        }
        let (head, rest) = split_header(line);
        let rest = rest.unwrap_or_default();
        match head {
            header::HELLO => ServerMessage::Hello(rest),
            header::IN_USE => ServerMessage::InUse,
            header::BUSY => ServerMessage::Busy,
            header::LIST_OK => ServerMessage::ListOk(
                rest.split(|&b| b == b',')
                    .filter(|name| !name.is_empty())
                    .collect(),
            ),
            header::SEND_OK => ServerMessage::SendOk,
            header::BAD_DEST_USER => ServerMessage::BadDestUser,
            header::DELIVERY => {
                let (from, body) = split_name_body(rest);
                ServerMessage::Delivery { from, body }
            }
            header::BAD_RQST_HDR => ServerMessage::BadRequestHeader,
            header::BAD_RQST_BODY => ServerMessage::BadRequestBody,
            _ => ServerMessage::Unknown(line),
        }
    }

    /// Appends this message as one line, `\n` included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ServerMessage::Hello(name) => push_line(out, header::HELLO, &[name]),
            ServerMessage::InUse => push_line(out, header::IN_USE, &[]),
            ServerMessage::Busy => push_line(out, header::BUSY, &[]),
            ServerMessage::ListOk(names) => {
                out.extend_from_slice(header::LIST_OK);
                out.push(b' ');
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    push_field(out, name);
                }
                out.push(b'\n');
            }
            ServerMessage::SendOk => push_line(out, header::SEND_OK, &[]),
            ServerMessage::BadDestUser => push_line(out, header::BAD_DEST_USER, &[]),
            ServerMessage::Delivery { from, body } => {
                push_line(out, header::DELIVERY, &[from, body])
            }
            ServerMessage::BadRequestHeader => push_line(out, header::BAD_RQST_HDR, &[]),
            ServerMessage::BadRequestBody => push_line(out, header::BAD_RQST_BODY, &[]),
            ServerMessage::Unknown(line) => {
                push_field(out, line);
                out.push(b'\n');
            }
        }
    }

    /// This message as one line, `\n` included, in a buffer allocated once
    /// (a `DELIVERY` of a 16 MiB message is not grown step by step).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.max_encoded_len());
        self.encode(&mut out);
        out
    }

    /// The most bytes [`encode`](Self::encode) appends: the fields whole
    /// (encoding may only cut them shorter), the header, spaces, commas and
    /// the `\n`.
    pub fn max_encoded_len(&self) -> usize {
        let fields = match self {
            ServerMessage::Hello(field) | ServerMessage::Unknown(field) => field.len(),
            ServerMessage::ListOk(names) => names.iter().map(|name| name.len() + 1).sum(),
            ServerMessage::Delivery { from, body } => from.len() + body.len(),
            _ => 0,
        };
        // Room for the longest header (13 bytes), two spaces and the newline.
        16 + fields
    }
}

#[cfg(test)]
mod tests {
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
}
