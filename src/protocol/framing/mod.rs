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

    /// Every complete line, in order, as [`frames`](Self::frames) hands them
    /// out, lines over the maximum (if one is set) left out: on a framer
    /// without a maximum, every line.
    pub fn lines(&mut self) -> impl Iterator<Item = &[u8]> {
        self.frames().filter_map(|frame| match frame {
            Frame::Line(line) => Some(line),
            Frame::TooLong => None,
        })
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
mod tests;
