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
mod tests;
