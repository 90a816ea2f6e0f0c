//! The checks run by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and, without
//! libFuzzer, by `tests/fuzz_corpus.rs` on every file of `fuzz/corpus/`.
//!
//! Each function takes the raw fuzzer input, drives one part of the library
//! with it and panics when an invariant does not hold. Keeping them here, in
//! the library, means the fuzz targets are one line each and the corpus replay
//! test checks exactly what the fuzzer checked.
//!
//! Not part of the public API: hidden from the documentation, may change at any
//! time.

use crate::client::command::{Command, Dialect, LoginInput};
use crate::client::render::{render, Line};
use crate::client::safe::needs_escape;
use crate::client::session::{Action, Session};
use crate::client::SafeText;
use crate::protocol::framing::OwnedFrame;
use crate::protocol::{ClientMessage, Frame, LineFramer, ServerMessage};

/// A fuzz target's check: panics when an invariant does not hold.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name (the folder names under `fuzz/corpus/`), with
/// their checks.
pub const TARGETS: &[(&str, Check)] = &[
    ("framing", framing),
    ("parse_client", parse_client),
    ("parse_server", parse_server),
    ("client_session", client_session),
];

/// Reads the input from the front, a byte or a slice at a time; reads past the
/// end give zeros and empty slices.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        taken
    }
}

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

fn no_line_break(field: &[u8]) -> bool {
    !field.contains(&b'\n') && !field.contains(&b'\r')
}

/// Checks that `wire` is one line: exactly one `\n`, at the end.
fn assert_one_line(wire: &[u8]) {
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

fn assert_safe(lines: &[Line]) {
    for line in lines {
        let plain = line.plain();
        if let Some(c) = plain.chars().find(|&c| needs_escape(c)) {
            panic!("rendered line contains {c:?}: {plain:?}");
        }
        let mut written = Vec::new();
        line.append_plain(&mut written);
        assert_eq!(
            written,
            format!("{plain}\n").into_bytes(),
            "append_plain differs from plain"
        );
    }
}

/// Checks what a typed command asks to send: one request, which parses back to
/// itself (a typed line can never inject a second request).
fn check_action<'a>(action: Action<'a>, lines: &mut Vec<Line<'a>>) {
    match action {
        Action::Send(wire) => {
            assert_one_line(&wire);
            let request = ClientMessage::parse(&wire[..wire.len() - 1]);
            assert_eq!(
                request.to_bytes(),
                wire,
                "the request parses back to itself"
            );
        }
        Action::Show(event) => render(event, |line| lines.push(line)),
        Action::Quit | Action::Nothing => {}
    }
}

/// The client's receive path on any server stream, with commands in between:
/// `LineFramer::frames` -> `ServerMessage::parse` -> `Session::receive` -> `render`.
///
/// Input: a sequence of records, each a control byte and maybe bytes. Control
/// `c`: `c & 3` of 0, 1 or 2 feeds the next `c >> 2` bytes to the framer as one
/// chunk; 3 is a command chosen by `(c >> 2) & 3`: `!who`, `@x y`, a silent
/// `LIST`, or a typed line made of the next `c >> 4` bytes.
pub fn client_session(data: &[u8]) {
    let mut input = Input { data };
    let mut framer = LineFramer::new();
    let mut session = Session::new("me");
    while !input.data.is_empty() {
        // Declared first: the lines may borrow from it, and from the framer.
        let typed: String;
        let mut lines = Vec::new();
        let control = input.byte();
        if control & 3 != 3 {
            framer.push(input.take(usize::from(control >> 2)));
            for frame in framer.frames() {
                let Frame::Line(line) = frame else {
                    panic!("a framer without maximum reported a line too long");
                };
                if let Some(event) = session.receive(ServerMessage::parse(line)) {
                    render(event, |line| lines.push(line));
                }
                while let Some(notice) = session.next_notice() {
                    render(notice, |line| lines.push(line));
                }
            }
        } else {
            let action = match (control >> 2) & 3 {
                0 => session.command(Command::parse("!who", Dialect::Plain)),
                1 => session.command(Command::parse("@x y", Dialect::Plain)),
                2 => Action::Send(session.silent_list().to_bytes()),
                _ => {
                    typed =
                        String::from_utf8_lossy(input.take(usize::from(control >> 4))).into_owned();
                    // The name prompt accepts what it can send.
                    if let LoginInput::Name(name) = LoginInput::parse(&typed) {
                        let wire = ClientMessage::HelloFrom(name.as_bytes()).to_bytes();
                        assert_one_line(&wire);
                        assert_eq!(
                            ClientMessage::parse(&wire[..wire.len() - 1]),
                            ClientMessage::HelloFrom(name.as_bytes())
                        );
                    }
                    // Rich mode's commands are a superset of plain mode's:
                    // odd lengths are typed in one, even in the other.
                    let dialect = if control & 0x10 == 0 {
                        Dialect::Plain
                    } else {
                        Dialect::Rich
                    };
                    session.command(Command::parse(&typed, dialect))
                }
            };
            check_action(action, &mut lines);
        }
        assert_safe(&lines);
        // Names offered for completion are printable and have no spaces,
        // and the user's own name comes last.
        for name in session.names().chain(session.names_by_recency()) {
            assert!(!name.is_empty());
            assert!(
                !name.chars().any(|c| c.is_whitespace() || needs_escape(c)),
                "{name:?}"
            );
        }
        let ordered = session.names_by_recency();
        if ordered.contains(&"me") {
            assert_eq!(ordered.last(), Some(&"me"), "the user's own name last");
        }
    }
    // Remote text on its own, whatever the bytes.
    let shown = SafeText::neutralise(data);
    assert!(
        !shown.chars().any(needs_escape),
        "the neutraliser let through {shown:?}"
    );
}
