//! Line framing over a byte stream.
//!
//! TCP delivers bytes, not messages: one `read` may return half a line, or ten
//! lines and the start of an eleventh. [`LineFramer`] turns any sequence of
//! chunks into complete lines, and nothing else.
//!
//! Guarantees:
//! - A line is handed out only once its `\n` has arrived, so a caller can never
//!   print part of a message.
//! - A trailing `\r` before the `\n` is dropped (`HELLO-FROM a\r\n` is `HELLO-FROM a`).
//! - Lines are bytes. Decoding (if any) happens after the line is complete, so a
//!   UTF-8 character split between two reads is never damaged.
//! - Work is linear in the bytes fed: each byte is searched for `\n` once, and the
//!   buffer is compacted only when the consumed prefix is at least half of it.
//! - With a maximum line length, a longer line yields one [`Frame::TooLong`] and the
//!   rest of it is skipped as it arrives, so memory stays bounded by the maximum plus
//!   one chunk.

/// One unit handed out by [`LineFramer::next_frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its `\n` and without a trailing `\r`.
    Line(Vec<u8>),
    /// A line exceeded the maximum length. Its bytes are discarded, up to and
    /// including its `\n`, which may arrive in later chunks.
    TooLong,
}

/// Splits a byte stream into lines. Sans-IO: feed it with [`push`](Self::push),
/// drain it with [`next_frame`](Self::next_frame).
#[derive(Debug, Default)]
pub struct LineFramer {
    buf: Vec<u8>,
    /// Start of the bytes not yet handed out.
    start: usize,
    /// Everything in `buf[start..scanned]` is known to contain no `\n`.
    scanned: usize,
    max_line: Option<usize>,
    /// True while discarding the remainder of a line that was too long.
    skipping: bool,
}

impl LineFramer {
    /// A framer that accepts lines of any length.
    pub fn new() -> Self {
        Self::default()
    }

    /// A framer that reports lines longer than `max` bytes (not counting the
    /// `\n`) as [`Frame::TooLong`] instead of buffering them.
    pub fn with_max_line(max: usize) -> Self {
        LineFramer {
            max_line: Some(max),
            ..Self::default()
        }
    }

    /// Changes the maximum line length for the lines still to come (for
    /// example a small one during a handshake, a larger one after it).
    pub fn set_max_line(&mut self, max: Option<usize>) {
        self.max_line = max;
    }

    /// Appends bytes received from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            // Drop the consumed prefix. It is at least as long as what is kept,
            // so the copying is paid for by the bytes consumed before it.
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes held for a line whose end has not arrived yet.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True when a line has started but not ended (useful to report a
    /// connection closed mid-line).
    pub fn has_partial_line(&self) -> bool {
        self.pending() > 0 || self.skipping
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let from = self.scanned.max(self.start);
            match memchr::memchr(b'\n', &self.buf[from..]) {
                Some(offset) => {
                    let end = from + offset;
                    if self.skipping {
                        // The tail of an over-long line: drop it and carry on.
                        self.skipping = false;
                        self.consume_through(end);
                        continue;
                    }
                    if self.max_line.is_some_and(|max| end - self.start > max) {
                        self.consume_through(end);
                        return Some(Frame::TooLong);
                    }
                    return Some(Frame::Line(self.take_line(end)));
                }
                None => {
                    self.scanned = self.buf.len();
                    if self.skipping {
                        self.discard_all();
                        return None;
                    }
                    if self.max_line.is_some_and(|max| self.pending() > max) {
                        self.skipping = true;
                        self.discard_all();
                        return Some(Frame::TooLong);
                    }
                    return None;
                }
            }
        }
    }

    /// Removes the line ending at `newline` (an index of `\n`) and returns it.
    fn take_line(&mut self, newline: usize) -> Vec<u8> {
        let mut line = if self.start == 0 && self.buf.len() - (newline + 1) <= newline {
            // The line is most of the buffer (the common case for a huge
            // message): hand out the buffer itself and keep only the small rest,
            // instead of copying the large part.
            let rest = self.buf[newline + 1..].to_vec();
            let mut line = std::mem::replace(&mut self.buf, rest);
            line.truncate(newline);
            self.start = 0;
            self.scanned = 0;
            line
        } else {
            let line = self.buf[self.start..newline].to_vec();
            self.consume_through(newline);
            line
        };
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        line
    }

    fn consume_through(&mut self, newline: usize) {
        self.start = newline + 1;
        self.scanned = self.start;
        if self.start == self.buf.len() {
            self.discard_all();
        }
    }

    fn discard_all(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn drain(framer: &mut LineFramer) -> Vec<Frame> {
        std::iter::from_fn(|| framer.next_frame()).collect()
    }

    fn line(s: &str) -> Frame {
        Frame::Line(s.as_bytes().to_vec())
    }

    #[test]
    fn whole_lines_in_one_chunk() {
        let mut f = LineFramer::new();
        f.push(b"SEND-OK\nLIST-OK a,b\n");
        assert_eq!(drain(&mut f), vec![line("SEND-OK"), line("LIST-OK a,b")]);
        assert!(!f.has_partial_line());
    }

    #[test]
    fn partial_line_is_held_back_until_newline() {
        let mut f = LineFramer::new();
        f.push(b"DELIVERY bob hel");
        assert_eq!(f.next_frame(), None);
        assert!(f.has_partial_line());
        f.push(b"lo");
        assert_eq!(f.next_frame(), None);
        f.push(b"\nBUS");
        assert_eq!(drain(&mut f), vec![line("DELIVERY bob hello")]);
        assert_eq!(f.pending(), 3);
    }

    #[test]
    fn trailing_carriage_return_is_dropped_but_inner_one_kept() {
        let mut f = LineFramer::new();
        f.push(b"HELLO-FROM a\r\nx\ry\n\r\r\n");
        assert_eq!(
            drain(&mut f),
            vec![line("HELLO-FROM a"), line("x\ry"), line("\r")]
        );
    }

    #[test]
    fn empty_lines_are_lines() {
        let mut f = LineFramer::new();
        f.push(b"\n\n");
        assert_eq!(drain(&mut f), vec![line(""), line("")]);
    }

    #[test]
    fn utf8_character_split_across_chunks_is_intact() {
        let text = "DELIVERY bob ü€😀\n".as_bytes();
        let mut f = LineFramer::new();
        for b in text {
            f.push(std::slice::from_ref(b));
        }
        assert_eq!(drain(&mut f), vec![line("DELIVERY bob ü€😀")]);
    }

    #[test]
    fn invalid_utf8_passes_through_as_bytes() {
        let mut f = LineFramer::new();
        f.push(b"\xff\xfe\x00\n");
        assert_eq!(drain(&mut f), vec![Frame::Line(vec![0xff, 0xfe, 0x00])]);
    }

    #[test]
    fn huge_line_is_returned_whole() {
        let body = vec![b'x'; 5_000_000];
        let mut f = LineFramer::new();
        for chunk in body.chunks(65536) {
            f.push(chunk);
            assert_eq!(f.next_frame(), None);
        }
        f.push(b"\nnext");
        assert_eq!(f.next_frame(), Some(Frame::Line(body)));
        assert_eq!(f.pending(), 4);
    }

    #[test]
    fn line_at_the_maximum_is_accepted() {
        let mut f = LineFramer::with_max_line(5);
        f.push(b"12345\n");
        assert_eq!(drain(&mut f), vec![line("12345")]);
    }

    #[test]
    fn too_long_line_in_one_chunk() {
        let mut f = LineFramer::with_max_line(5);
        f.push(b"123456\nok\n");
        assert_eq!(drain(&mut f), vec![Frame::TooLong, line("ok")]);
    }

    #[test]
    fn too_long_line_is_reported_once_and_skipped_with_bounded_memory() {
        let mut f = LineFramer::with_max_line(10);
        let mut frames = Vec::new();
        for _ in 0..1000 {
            f.push(&[b'a'; 100]);
            frames.extend(drain(&mut f));
            assert!(f.pending() <= 110, "buffer grew to {}", f.pending());
        }
        assert_eq!(frames, vec![Frame::TooLong]);
        f.push(b"aaa\nLIST\n");
        assert_eq!(drain(&mut f), vec![line("LIST")]);
        assert!(!f.has_partial_line());
    }

    #[test]
    fn too_long_line_ending_in_the_next_chunk() {
        let mut f = LineFramer::with_max_line(4);
        f.push(b"abc");
        assert_eq!(f.next_frame(), None);
        f.push(b"def\nxy\n");
        assert_eq!(drain(&mut f), vec![Frame::TooLong, line("xy")]);
    }

    #[test]
    fn the_maximum_can_change_between_lines() {
        let mut f = LineFramer::with_max_line(4);
        f.push(b"abcd\n123456789\n");
        assert_eq!(f.next_frame(), Some(line("abcd")));
        f.set_max_line(Some(100));
        assert_eq!(f.next_frame(), Some(line("123456789")));
        f.set_max_line(None);
        f.push(&[b'x'; 1000]);
        assert_eq!(f.next_frame(), None);
    }

    #[test]
    fn many_small_lines_in_one_large_chunk() {
        let mut input = Vec::new();
        for i in 0..10_000 {
            input.extend_from_slice(format!("DELIVERY u{i} m\n").as_bytes());
        }
        let mut f = LineFramer::new();
        f.push(&input);
        let frames = drain(&mut f);
        assert_eq!(frames.len(), 10_000);
        assert_eq!(frames[9_999], line("DELIVERY u9999 m"));
    }

    fn lines_whole(input: &[u8]) -> Vec<Frame> {
        let mut f = LineFramer::new();
        f.push(input);
        drain(&mut f)
    }

    proptest! {
        /// Any split of a byte stream into chunks gives exactly the lines that
        /// feeding it whole gives.
        #[test]
        fn any_split_gives_the_same_lines(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(0xc3u8), Just(0xbcu8), any::<u8>()],
                0..400,
            ),
            cuts in proptest::collection::vec(0usize..400, 0..20),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut f = LineFramer::new();
            let mut got = Vec::new();
            let mut prev = 0;
            for cut in cuts.into_iter().chain([input.len()]) {
                f.push(&input[prev..cut]);
                got.extend(drain(&mut f));
                prev = cut;
            }
            prop_assert_eq!(got, lines_whole(&input));
        }

        /// With a maximum, splitting never changes which lines are accepted
        /// and which are reported as too long.
        #[test]
        fn any_split_gives_the_same_frames_with_a_maximum(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a')], 0..300),
            chunk in 1usize..50,
            max in 0usize..20,
        ) {
            let mut whole = LineFramer::with_max_line(max);
            whole.push(&input);
            let expected = drain(&mut whole);
            let mut f = LineFramer::with_max_line(max);
            let mut got = Vec::new();
            for piece in input.chunks(chunk) {
                f.push(piece);
                got.extend(drain(&mut f));
            }
            // A too-long line without its newline yet is reported as soon as it
            // passes the maximum, which can only be earlier, never different.
            prop_assert_eq!(got, expected);
        }

        /// Every line handed out is exactly a piece of the input between newlines.
        #[test]
        fn lines_match_split_on_newline(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            let expected: Vec<Frame> = {
                let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
                parts.pop(); // the part after the last newline is not a line yet
                parts.into_iter().map(|p| {
                    let p = p.strip_suffix(b"\r").unwrap_or(p);
                    Frame::Line(p.to_vec())
                }).collect()
            };
            prop_assert_eq!(lines_whole(&input), expected);
        }
    }
}
