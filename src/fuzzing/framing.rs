//! The line framer against a model: a whole-buffer split at each `\n`.

use crate::protocol::framing::OwnedFrame;
use crate::protocol::{Frame, LineFramer};

use super::Input;

/// Drains `framer` one frame at a time.
fn drain(framer: &mut LineFramer, out: &mut Vec<OwnedFrame>) {
    while let Some(frame) = framer.next_frame() {
        out.push(frame.into());
    }
}

/// Drains `framer` with one iterator, keeping every borrowed line until the
/// end, and checks that the lines are consumed as they are handed out.
fn drain_together(framer: &mut LineFramer, out: &mut Vec<OwnedFrame>) {
    let frames: Vec<Frame> = framer.frames().collect();
    out.extend(frames.into_iter().map(OwnedFrame::from));
    assert!(
        framer.next_frame().is_none(),
        "frames() left a frame behind"
    );
}

/// `LineFramer` against a whole-buffer split.
///
/// Input: byte 0 chooses the maximum line length (odd: `byte >> 1`, even:
/// none); byte 1 (mod 16) is how many chunk sizes follow; the sizes are used in
/// turn (0 pushes an empty chunk, then one byte); the rest is the stream.
/// Chunks are pushed and received into `buffer_to_fill` in turn.
pub fn framing(data: &[u8]) {
    let mut input = Input { data };
    let config = input.byte();
    let max = (config & 1 == 1).then_some(usize::from(config >> 1));
    let count = usize::from(input.byte() % 16);
    let sizes: Vec<usize> = input.take(count).iter().map(|&s| usize::from(s)).collect();
    let stream = input.data;

    let expected = split_at_newlines(stream, max);
    let new_framer = || match max {
        Some(max) => LineFramer::with_max_line(max),
        None => LineFramer::new(),
    };

    // The whole stream in one chunk.
    let mut whole = new_framer();
    whole.push(stream);
    let mut whole_frames = Vec::new();
    drain(&mut whole, &mut whole_frames);
    assert_eq!(whole_frames, expected, "whole stream, max {max:?}");

    // The stream in chunks of the chosen sizes.
    let mut framer = new_framer();
    let mut frames = Vec::new();
    let mut fed = 0;
    for (i, chunk) in chunks(stream, &sizes).into_iter().enumerate() {
        feed(&mut framer, chunk, i % 2 == 1, max);
        fed += chunk.len();
        drain_together(&mut framer, &mut frames);
        check_held(&framer, &stream[..fed], max);
    }
    assert_eq!(fed, stream.len());
    check_lines(&frames, max);
    assert_eq!(frames, expected, "chunk sizes {sizes:?}, max {max:?}");
    if max.is_none() {
        check_rejoined(&frames, stream);
        let tail = stream.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        assert_eq!(framer.has_partial_line(), !tail.is_empty());
    }
    changing_maximum(stream, &sizes);
}

/// What splitting the whole stream at each `\n` gives, with `max` applied:
/// the frames a framer must hand out for it, however it is fed.
fn split_at_newlines(stream: &[u8], max: Option<usize>) -> Vec<OwnedFrame> {
    let mut parts: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    let tail = parts.pop().unwrap_or_default();
    let mut expected: Vec<OwnedFrame> = parts
        .iter()
        .map(|part| {
            let line = part.strip_suffix(b"\r").unwrap_or(part);
            match max {
                Some(max) if line.len() > max => OwnedFrame::TooLong,
                _ => OwnedFrame::Line(line.to_vec()),
            }
        })
        .collect();
    // A line of the maximum may still be followed by `\r\n`.
    if max.is_some_and(|max| tail.len() > max + 1) {
        // A partial line already too long is reported before its end.
        expected.push(OwnedFrame::TooLong);
    }
    expected
}

/// `stream` cut into chunks of `sizes`, used in turn; a size of 0 gives an
/// empty chunk followed by a one-byte one. Without sizes, one chunk (which is
/// empty for an empty stream).
fn chunks<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() || i == 0 {
        let size = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(rest.len());
        i += 1;
        if size == 0 {
            out.push(&rest[..0]);
        }
        let (chunk, after) = rest.split_at(size.max(1).min(rest.len()));
        out.push(chunk);
        rest = after;
    }
    out
}

/// Feeds one chunk, pushed or (`receive`) written straight into the framer's
/// buffer as the client and the server do, and checks that every byte is
/// kept, and no more than the maximum allows.
fn feed(framer: &mut LineFramer, chunk: &[u8], receive: bool, max: Option<usize>) {
    let before = framer.pending();
    if receive {
        let room = framer.buffer_to_fill(chunk.len());
        assert!(room.len() >= chunk.len(), "buffer_to_fill lent too little");
        room[..chunk.len()].copy_from_slice(chunk);
        framer.filled(chunk.len());
    } else {
        framer.push(chunk);
    }
    assert_eq!(
        framer.pending(),
        before + chunk.len(),
        "every byte fed is kept"
    );
    if let Some(max) = max {
        assert!(
            framer.pending() <= max + 1 + chunk.len(),
            "pending {} > max {max} + 1 + chunk {}",
            framer.pending(),
            chunk.len()
        );
    }
}

/// After draining, a framer holds at most the maximum, or (without one)
/// exactly the bytes after the last newline fed so far.
fn check_held(framer: &LineFramer, fed: &[u8], max: Option<usize>) {
    match max {
        Some(max) => assert!(
            framer.pending() <= max + 1,
            "pending {} > max {max} + 1",
            framer.pending()
        ),
        None => {
            let held = fed.iter().rev().take_while(|&&b| b != b'\n').count();
            assert_eq!(framer.pending(), held, "pending after {} bytes", fed.len());
        }
    }
}

/// No line handed out contains a newline or exceeds the maximum.
fn check_lines(frames: &[OwnedFrame], max: Option<usize>) {
    for frame in frames {
        if let OwnedFrame::Line(line) = frame {
            assert!(
                !line.contains(&b'\n'),
                "a line contains a newline: {line:?}"
            );
            if let Some(max) = max {
                assert!(
                    line.len() <= max,
                    "a line longer than the maximum was handed out"
                );
            }
        }
    }
}

/// The lines and their newlines give back the stream up to its last newline
/// (less the `\r` dropped before a newline).
fn check_rejoined(frames: &[OwnedFrame], stream: &[u8]) {
    let mut joined = Vec::new();
    for frame in frames {
        if let OwnedFrame::Line(line) = frame {
            joined.extend_from_slice(line);
            joined.push(b'\n');
        }
    }
    let mut parts: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    parts.pop();
    let whole_split: Vec<u8> = parts
        .iter()
        .flat_map(|part| {
            part.strip_suffix(b"\r")
                .unwrap_or(part)
                .iter()
                .copied()
                .chain([b'\n'])
        })
        .collect();
    assert_eq!(joined, whole_split);
}

/// `LineFramer` with its maximum changed between chunks (as the server does
/// after login), against a plain model of the rules written for this check.
/// Chunks are `sizes[0]` bytes (at least 1); before chunk `i` the maximum
/// becomes none if `sizes[i]` is a multiple of 3, else `sizes[i] / 4`.
fn changing_maximum(stream: &[u8], sizes: &[usize]) {
    /// The rules, one line at a time: a complete line longer than the
    /// maximum (a trailing `\r` not counted) is `TooLong`; a partial line
    /// longer than the maximum plus one (room for a `\r`) after a push is
    /// `TooLong` at once, and the rest of it, up to its newline, is dropped.
    #[derive(Default)]
    struct Model {
        max: Option<usize>,
        pending: Vec<u8>,
        skipping: bool,
    }
    impl Model {
        fn push(&mut self, chunk: &[u8], out: &mut Vec<OwnedFrame>) {
            for &byte in chunk {
                if byte != b'\n' {
                    self.pending.push(byte);
                    continue;
                }
                let line = std::mem::take(&mut self.pending);
                if std::mem::take(&mut self.skipping) {
                    continue;
                }
                let line = line.strip_suffix(b"\r").unwrap_or(&line);
                out.push(match self.max {
                    Some(max) if line.len() > max => OwnedFrame::TooLong,
                    _ => OwnedFrame::Line(line.to_vec()),
                });
            }
            if !self.skipping && self.max.is_some_and(|max| self.pending.len() > max + 1) {
                out.push(OwnedFrame::TooLong);
                self.skipping = true;
            }
            if self.skipping {
                self.pending.clear();
            }
        }
    }

    let chunk = sizes.first().copied().unwrap_or(7).max(1);
    let mut framer = LineFramer::new();
    let mut model = Model::default();
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for (i, piece) in stream.chunks(chunk).enumerate() {
        if let Some(&size) = sizes.get(i % sizes.len().max(1)) {
            let max = (size % 3 != 0).then_some(size / 4);
            framer.set_max_line(max);
            model.max = max;
        }
        framer.push(piece);
        drain_together(&mut framer, &mut got);
        model.push(piece, &mut want);
        assert_eq!(got, want, "chunks of {chunk}, sizes {sizes:?}");
        if let Some(max) = model.max {
            assert!(
                framer.pending() <= max + 1,
                "pending {} > max {max} + 1",
                framer.pending()
            );
        }
    }
}
