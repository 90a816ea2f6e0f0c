//! Rendering of events as lines of text.
//!
//! Remote text (names and messages) is made safe here, in one place: a sender
//! must not be able to control the recipient's terminal. Control characters
//! (C0 except tab, DEL, C1) become visible escapes such as `\x1b`, and invalid
//! UTF-8 becomes U+FFFD.

use std::borrow::Cow;

use colored::Colorize;

use super::session::Event;
use super::text;

/// The kind of a line, which decides its colour in rich mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The assignment's informational lines.
    Info,
    /// Errors reported by the server or the connection.
    Error,
    /// Lines of our own: hints and notices.
    Notice,
}

/// One line of output, without its line ending.
///
/// Remote text that needs no change is borrowed from where it was received
/// (the connection's buffer), so showing a message copies it only into the
/// output, and a huge message is not copied at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// `From <name>: <message>`, kept in parts so that rich mode can colour the
    /// name and a huge message is never copied into a second string.
    From {
        name: Cow<'a, str>,
        message: Cow<'a, str>,
    },
    /// Any other line.
    Text(Kind, Cow<'a, str>),
}

impl<'a> Line<'a> {
    pub fn info(text: impl Into<Cow<'a, str>>) -> Line<'a> {
        Line::Text(Kind::Info, text.into())
    }

    pub fn error(text: impl Into<Cow<'a, str>>) -> Line<'a> {
        Line::Text(Kind::Error, text.into())
    }

    pub fn notice(text: impl Into<Cow<'a, str>>) -> Line<'a> {
        Line::Text(Kind::Notice, text.into())
    }

    /// The plain text of the line, without its `\n`, in pieces: the same
    /// text as [`plain`](Self::plain) without building it first, so that a
    /// huge message is never copied and a flood of small ones costs no
    /// formatting.
    pub fn plain_parts(&self) -> [&[u8]; 4] {
        match self {
            // The pieces of text::message_from.
            Line::From { name, message } => [
                text::FROM_PREFIX.as_bytes(),
                name.as_bytes(),
                text::FROM_SEPARATOR.as_bytes(),
                message.as_bytes(),
            ],
            Line::Text(_, text) => [text.as_bytes(), b"", b"", b""],
        }
    }

    /// Appends the line as plain text, with its `\n`.
    pub fn append_plain(&self, out: &mut Vec<u8>) {
        for part in self.plain_parts() {
            out.extend_from_slice(part);
        }
        out.push(b'\n');
    }

    /// The line as plain text, without its `\n`.
    pub fn plain(&self) -> String {
        match self {
            Line::From { name, message } => text::message_from(name, message),
            Line::Text(_, text) => text.to_string(),
        }
    }

    /// The line with colours, without its `\n`.
    pub fn colored(&self) -> String {
        match self {
            Line::From { name, message } => {
                text::message_from(&name.cyan().bold().to_string(), message)
            }
            Line::Text(Kind::Info, text) => text.to_string(),
            Line::Text(Kind::Error, text) => text.red().to_string(),
            Line::Text(Kind::Notice, text) => text.yellow().to_string(),
        }
    }
}

/// Renders an event as the lines the assignment prescribes, handing each to
/// `emit` in order.
pub fn render<'a>(event: Event<'a>, mut emit: impl FnMut(Line<'a>)) {
    match event {
        Event::Sent => emit(Line::info(text::SENT)),
        Event::NoSuchUser => emit(Line::error(text::NO_SUCH_USER)),
        Event::Message { from, body } => emit(Line::From {
            name: safe_text(from),
            message: safe_text(body),
        }),
        Event::Users(names) => {
            emit(Line::info(text::user_count(names.len())));
            for name in names {
                emit(Line::info(text::user_entry(&safe_text(name))));
            }
        }
        Event::BadHeader => emit(Line::error(text::BAD_HEADER)),
        Event::BadBody => emit(Line::error(text::BAD_BODY)),
        Event::Unexpected => emit(Line::notice(text::UNEXPECTED_REPLY)),
        Event::Hint => emit(Line::notice(text::COMMAND_HINT)),
    }
}

/// Makes remote bytes safe to show: invalid UTF-8 becomes U+FFFD and control
/// characters become visible escapes. Text that needs no change is borrowed,
/// not copied.
#[inline]
#[allow(unsafe_code)]
pub(crate) fn safe_text(bytes: &[u8]) -> Cow<'_, str> {
    // The common case, printable ASCII and tabs, needs nothing done.
    if is_plain_ascii(bytes) {
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: every byte is ASCII (checked just above), and ASCII text is
        // valid UTF-8. Checking it again with `from_utf8` would double the
        // cost of showing a message.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    safe_text_slow(bytes)
}

/// [`safe_text`] for text that is not plain ASCII.
#[cold]
#[inline(never)]
fn safe_text_slow(bytes: &[u8]) -> Cow<'_, str> {
    let text = String::from_utf8_lossy(bytes);
    if !text.chars().any(needs_escape) {
        return text;
    }
    let mut safe = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            let code = u32::from(c);
            if code < 0x80 {
                safe.push_str(&format!("\\x{code:02x}"));
            } else {
                safe.push_str(&format!("\\u{{{code:x}}}"));
            }
        } else {
            safe.push(c);
        }
    }
    Cow::Owned(safe)
}

/// True when every byte is printable ASCII or a tab. Checked without a branch
/// per byte, so that the compiler checks many bytes at once: this runs for
/// every name and message received.
fn is_plain_ascii(bytes: &[u8]) -> bool {
    bytes.chunks(32).all(|chunk| {
        chunk.iter().fold(true, |ok, &b| {
            ok & ((b' '..=b'~').contains(&b) | (b == b'\t'))
        })
    })
}

/// True for characters that could act on a terminal: C0 controls except tab,
/// DEL, C1 controls, and the bidirectional overrides and isolates (which can
/// make text display in an order other than the one it was sent in).
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain(event: Event) -> Vec<String> {
        let mut lines = Vec::new();
        render(event, |line| lines.push(line.plain()));
        lines
    }

    #[test]
    fn assignment_lines() {
        assert_eq!(plain(Event::Sent), [text::SENT]);
        assert_eq!(plain(Event::NoSuchUser), [text::NO_SUCH_USER]);
        assert_eq!(plain(Event::BadHeader), [text::BAD_HEADER]);
        assert_eq!(plain(Event::BadBody), [text::BAD_BODY]);
        assert_eq!(
            plain(Event::Message {
                from: &b"bob"[..],
                body: &b"hi there"[..]
            }),
            ["From bob: hi there"]
        );
    }

    #[test]
    fn user_list_keeps_the_server_order() {
        assert_eq!(
            plain(Event::Users(vec![
                &b"echobot"[..],
                &b"zed"[..],
                &b"amy"[..]
            ])),
            ["There are 3 online users:", "- echobot", "- zed", "- amy"]
        );
        assert_eq!(
            plain(Event::Users(vec![&b"a"[..]])),
            ["There are 1 online users:", "- a"]
        );
    }

    #[test]
    fn append_plain_matches_plain() {
        for line in [
            Line::From {
                name: "bob".into(),
                message: "hi there".into(),
            },
            Line::info(text::SENT),
        ] {
            let mut out = b"before\n".to_vec();
            line.append_plain(&mut out);
            assert_eq!(out, format!("before\n{}\n", line.plain()).into_bytes());
        }
    }

    #[test]
    fn escape_sequences_are_made_visible() {
        assert_eq!(
            safe_text(&b"\x1b[2J\x07x\ry\x08\x7f"[..]),
            "\\x1b[2J\\x07x\\x0dy\\x08\\x7f"
        );
        assert_eq!(
            safe_text("a\u{9b}b\u{202e}c".as_bytes()),
            "a\\u{9b}b\\u{202e}c"
        );
        assert_eq!(
            safe_text(&b"\x1b]52;c;SGVsbG8=\x07"[..]),
            "\\x1b]52;c;SGVsbG8=\\x07"
        );
        assert_eq!(safe_text(&b"tab\there \x00"[..]), "tab\there \\x00");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(
            safe_text(&b"ok \xff\xfe end"[..]),
            "ok \u{fffd}\u{fffd} end"
        );
        assert_eq!(safe_text("ü€😀".as_bytes()), "ü€😀");
    }

    #[test]
    fn names_in_lists_and_senders_are_neutralised() {
        let lines = plain(Event::Users(vec![&b"\x1b]0;pwned\x07"[..]]));
        assert_eq!(lines[1], "- \\x1b]0;pwned\\x07");
        let lines = plain(Event::Message {
            from: &b"e\x1bvil"[..],
            body: &b"\x1b[31mred"[..],
        });
        assert_eq!(lines[0], "From e\\x1bvil: \\x1b[31mred");
    }

    #[test]
    fn plain_ascii_check() {
        assert!(is_plain_ascii(b""));
        assert!(is_plain_ascii(b"hello\tworld ~!"));
        let mut long = vec![b'a'; 100];
        assert!(is_plain_ascii(&long));
        for bad in [0x1b, 0x7f, 0x80, 0xff, b'\r', 0] {
            long[77] = bad;
            assert!(!is_plain_ascii(&long), "{bad:#x}");
            long[77] = b'a';
        }
    }

    proptest! {
        /// Whatever arrives, what is shown contains no control character but tab.
        #[test]
        fn safe_text_never_contains_controls(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let shown = safe_text(&bytes);
            prop_assert!(!shown.chars().any(needs_escape));
        }
    }
}
