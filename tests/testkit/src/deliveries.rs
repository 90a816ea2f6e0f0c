//! What the two benchmarks share: the 64-byte message body and the stream of
//! deliveries that the protocol micro-benchmarks parse and the e2e flood
//! scenarios send to the client.

/// A 64-byte message body.
pub const BODY64: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";

/// Who the deliveries come from; the client prints `From bob: <body>`.
pub const SENDER: &str = "bob";

/// `n` lines of `DELIVERY bob <64 bytes>\n`.
pub fn delivery_lines(n: usize) -> Vec<u8> {
    [b"DELIVERY ", SENDER.as_bytes(), b" ", BODY64, b"\n"]
        .concat()
        .repeat(n)
}
