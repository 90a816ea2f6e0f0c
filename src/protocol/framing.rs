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
//! - Lines are handed out as slices of the framer's own buffer: framing copies
//!   nothing and allocates nothing per line, whether the line is 10 bytes or
//!   100 MB long. A reader can even receive straight into that buffer
//!   ([`buffer_to_fill`](LineFramer::buffer_to_fill)), so bytes are never
//!   copied from the socket's buffer to the framer's.
//! - Work is linear in the bytes fed: each byte is searched for `\n` once, and the
//!   buffer is compacted only when the consumed prefix is at least half of it.
//! - With a maximum line length (a trailing `\r` not counted), a longer line
//!   yields one [`Frame::TooLong`] and the rest of it is skipped as it arrives, so
//!   memory stays bounded by the maximum plus one byte and one chunk.
//! - A buffer that grew for a huge line is given back once the line is consumed.
//!
//! Because lines borrow the buffer, the borrow checker enforces the one rule
//! of use: finish with the lines before pushing more bytes.
//!
//! (Longer than 500 lines because its unit and property tests live at the
//! bottom; the framer itself is about 230 lines.)

/// One unit handed out by [`LineFramer::next_frame`] and [`Frames`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its `\n` and without a trailing `\r`.
    Line(&'a [u8]),
    /// A line exceeded the maximum length. Its bytes are discarded, up to and
    /// including its `\n`, which may arrive in later chunks.
    TooLong,
}

/// A [`Frame`] that owns its bytes: for keeping frames after the framer has
/// moved on (the tests and the fuzz checks compare lists of them).
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedFrame {
    Line(Vec<u8>),
    TooLong,
}

#[cfg(any(test, feature = "fuzzing"))]
impl From<Frame<'_>> for OwnedFrame {
    fn from(frame: Frame<'_>) -> OwnedFrame {
        match frame {
            Frame::Line(line) => OwnedFrame::Line(line.to_vec()),
            Frame::TooLong => OwnedFrame::TooLong,
        }
    }
}

/// A buffer larger than this is released (or shrunk) once what it holds has
/// been consumed, so that one huge line does not pin its memory forever.
const KEEP_CAPACITY: usize = 1 << 20;

/// Splits a byte stream into lines. Sans-IO: feed it with [`push`](Self::push)
/// (or [`buffer_to_fill`](Self::buffer_to_fill) and [`filled`](Self::filled)),
/// drain it with [`next_frame`](Self::next_frame) or [`frames`](Self::frames).
#[derive(Debug, Default)]
pub struct LineFramer {
    /// The bytes received are `buf[..end]`. The rest is room to receive into,
    /// kept initialised so that it can be lent out as a plain `&mut [u8]`.
    buf: Vec<u8>,
    end: usize,
    cursor: Cursor,
}

/// Where the framer is in its buffer. Kept apart from the buffer so that
/// [`Frames`] can move it while lines borrow the buffer.
#[derive(Debug, Default)]
struct Cursor {
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
        let mut framer = Self::default();
        framer.set_max_line(Some(max));
        framer
    }

    /// Changes the maximum line length for the lines still to come (for
    /// example a small one during a handshake, a larger one after it).
    pub fn set_max_line(&mut self, max: Option<usize>) {
        self.cursor.max_line = max;
    }

    /// Appends bytes received from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.compact();
        self.buf.truncate(self.end);
        self.buf.extend_from_slice(chunk);
        self.end = self.buf.len();
    }

    /// Room for at least `min` more bytes, to receive into directly (for
    /// example with `read`); then tell the framer how many arrived with
    /// [`filled`](Self::filled). Bytes written there are not part of the
    /// stream until then.
    pub fn buffer_to_fill(&mut self, min: usize) -> &mut [u8] {
        self.compact();
        if self.buf.len() - self.end < min {
            self.buf.resize(self.end + min, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Takes the first `n` bytes of the last [`buffer_to_fill`](Self::buffer_to_fill)
    /// into the stream (at most as many as it lent).
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// Drops the bytes already handed out, when that is worth a copy.
    fn compact(&mut self) {
        let start = self.cursor.start;
        if start == self.end {
            // Everything was consumed: nothing to copy.
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
            self.end = 0;
        } else if start > 0 && start * 2 >= self.end {
            // The consumed prefix is at least as long as what is kept, so the
            // copying is paid for by the bytes consumed before it.
            self.buf.copy_within(start..self.end, 0);
            self.end -= start;
            if self.buf.capacity() > KEEP_CAPACITY && self.end <= self.buf.capacity() / 4 {
                self.buf.truncate(self.end.max(KEEP_CAPACITY));
                self.buf.shrink_to_fit();
            }
        } else {
            return;
        }
        self.cursor.scanned -= start;
        self.cursor.start = 0;
    }

    /// Bytes held for a line whose end has not arrived yet.
    pub fn pending(&self) -> usize {
        self.end - self.cursor.start
    }

    /// True when a line has started but not ended (useful to report a
    /// connection closed mid-line).
    pub fn has_partial_line(&self) -> bool {
        self.pending() > 0 || self.cursor.skipping
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        self.frames().next()
    }

    /// Every complete frame, in order. The lines borrow the framer's buffer,
    /// so all of them can be kept until the next [`push`](Self::push).
    pub fn frames(&mut self) -> Frames<'_> {
        Frames {
            buf: &self.buf[..self.end],
            cursor: &mut self.cursor,
        }
    }
}

/// The complete frames in a [`LineFramer`]: see [`LineFramer::frames`].
/// Each frame is consumed as it is handed out.
#[derive(Debug)]
pub struct Frames<'a> {
    buf: &'a [u8],
    cursor: &'a mut Cursor,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        let buf = self.buf;
        let c = &mut *self.cursor;
        loop {
            let from = c.scanned.max(c.start);
            let Some(offset) = memchr::memchr(b'\n', &buf[from..]) else {
                c.scanned = buf.len();
                if c.skipping {
                    c.start = buf.len();
                    return None;
                }
                // One byte more than the maximum may still be the `\r` of `\r\n`.
                if c.max_line
                    .is_some_and(|max| buf.len() - c.start > max.saturating_add(1))
                {
                    // Too long already: say so now and skip the rest as it comes.
                    c.skipping = true;
                    c.start = buf.len();
                    return Some(Frame::TooLong);
                }
                return None;
            };
            let end = from + offset;
            let line = &buf[c.start..end];
            c.start = end + 1;
            c.scanned = c.start;
            if c.skipping {
                // The tail of an over-long line: drop it and carry on.
                c.skipping = false;
                continue;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if c.max_line.is_some_and(|max| line.len() > max) {
                return Some(Frame::TooLong);
            }
            return Some(Frame::Line(line));
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Frames that own their bytes, to compare with.
    type Got = OwnedFrame;

    fn drain(framer: &mut LineFramer) -> Vec<Got> {
        framer.frames().map(Got::from).collect()
    }

    fn next(framer: &mut LineFramer) -> Option<Got> {
        framer.next_frame().map(Got::from)
    }

    fn line(s: &str) -> Got {
        Got::Line(s.as_bytes().to_vec())
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
        assert_eq!(next(&mut f), None);
        assert!(f.has_partial_line());
        f.push(b"lo");
        assert_eq!(next(&mut f), None);
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
        assert_eq!(drain(&mut f), vec![Got::Line(vec![0xff, 0xfe, 0x00])]);
    }

    #[test]
    fn huge_line_is_returned_whole() {
        let body = vec![b'x'; 5_000_000];
        let mut f = LineFramer::new();
        for chunk in body.chunks(65536) {
            f.push(chunk);
            assert_eq!(next(&mut f), None);
        }
        f.push(b"\nnext");
        assert_eq!(next(&mut f), Some(Got::Line(body)));
        assert_eq!(f.pending(), 4);
    }

    #[test]
    fn lines_from_one_push_can_be_kept_together() {
        let mut f = LineFramer::new();
        f.push(b"a\nbb\r\nccc");
        let lines: Vec<Frame> = f.frames().collect();
        assert_eq!(lines, [Frame::Line(b"a"), Frame::Line(b"bb")]);
        assert_eq!(f.pending(), 3);
        f.push(b"\n");
        assert_eq!(drain(&mut f), vec![line("ccc")]);
    }

    #[test]
    fn bytes_received_into_the_buffer_are_framed_like_pushed_ones() {
        let mut f = LineFramer::new();
        let room = f.buffer_to_fill(4);
        assert!(room.len() >= 4);
        room[..4].copy_from_slice(b"ab\nc");
        // Written but not filled yet: not part of the stream.
        assert_eq!(next(&mut f), None);
        f.filled(4);
        assert_eq!(next(&mut f), Some(line("ab")));
        assert_eq!(f.pending(), 1);
        f.push(b"d");
        let room = f.buffer_to_fill(100);
        room[..2].copy_from_slice(b"e\n");
        f.filled(2);
        assert_eq!(drain(&mut f), vec![line("cde")]);
        // Claiming more than was lent takes only what was lent.
        let lent = f.buffer_to_fill(1).len();
        f.filled(lent + 10);
        assert_eq!(f.pending(), lent);
    }

    #[test]
    fn memory_of_a_huge_line_is_given_back() {
        let mut f = LineFramer::new();
        f.push(&vec![b'x'; 8 * KEEP_CAPACITY]);
        f.push(b"\nrest");
        assert_eq!(drain(&mut f).len(), 1);
        f.push(b" of a line");
        assert!(f.buf.capacity() <= KEEP_CAPACITY, "{}", f.buf.capacity());
        f.push(&vec![b'y'; 8 * KEEP_CAPACITY]);
        f.push(b"\n");
        assert_eq!(drain(&mut f).len(), 1);
        f.push(b"next");
        assert!(f.buf.capacity() <= KEEP_CAPACITY, "{}", f.buf.capacity());
        f.push(b"\n");
        assert_eq!(drain(&mut f), vec![line("next")]);
    }

    #[test]
    fn line_at_the_maximum_is_accepted() {
        let mut f = LineFramer::with_max_line(5);
        f.push(b"12345\n");
        assert_eq!(drain(&mut f), vec![line("12345")]);
    }

    #[test]
    fn the_carriage_return_of_a_line_at_the_maximum_does_not_count() {
        let mut f = LineFramer::with_max_line(5);
        f.push(b"12345\r");
        assert_eq!(next(&mut f), None, "the newline may still come");
        f.push(b"\n123456\r\n12345\r\r\n");
        assert_eq!(
            drain(&mut f),
            vec![line("12345"), Got::TooLong, Got::TooLong]
        );
        f.push(b"123456x");
        assert_eq!(drain(&mut f), vec![Got::TooLong], "too long already");
    }

    #[test]
    fn too_long_line_in_one_chunk() {
        let mut f = LineFramer::with_max_line(5);
        f.push(b"123456\nok\n");
        assert_eq!(drain(&mut f), vec![Got::TooLong, line("ok")]);
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
        assert_eq!(frames, vec![Got::TooLong]);
        f.push(b"aaa\nLIST\n");
        assert_eq!(drain(&mut f), vec![line("LIST")]);
        assert!(!f.has_partial_line());
    }

    #[test]
    fn too_long_line_ending_in_the_next_chunk() {
        let mut f = LineFramer::with_max_line(4);
        f.push(b"abc");
        assert_eq!(next(&mut f), None);
        f.push(b"def\nxy\n");
        assert_eq!(drain(&mut f), vec![Got::TooLong, line("xy")]);
    }

    #[test]
    fn the_maximum_can_change_between_lines() {
        let mut f = LineFramer::with_max_line(4);
        f.push(b"abcd\n123456789\n");
        assert_eq!(next(&mut f), Some(line("abcd")));
        f.set_max_line(Some(100));
        assert_eq!(next(&mut f), Some(line("123456789")));
        f.set_max_line(None);
        f.push(&[b'x'; 1000]);
        assert_eq!(next(&mut f), None);
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

    fn lines_whole(input: &[u8]) -> Vec<Got> {
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
            let expected: Vec<Got> = {
                let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
                parts.pop(); // the part after the last newline is not a line yet
                parts.into_iter().map(|p| {
                    let p = p.strip_suffix(b"\r").unwrap_or(p);
                    Got::Line(p.to_vec())
                }).collect()
            };
            prop_assert_eq!(lines_whole(&input), expected);
        }
    }
}
