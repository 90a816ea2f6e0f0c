//! Text that is safe to show on a terminal, and the one neutraliser that
//! makes it.
//!
//! Everything the client shows, prints in a prompt, offers for completion or
//! writes to a log is a [`SafeText`]. The only ways to make one are
//! [`SafeText::neutralise`], for bytes that came from elsewhere (the server,
//! other users, the command line, the system), [`From<&'static str>`] for the
//! program's own text, numbers, and joining safe texts. So a sender cannot
//! control the recipient's terminal by construction: a control character in
//! a name or a message cannot reach the screen without passing the
//! neutraliser, which turns control characters (C0 except tab, DEL, C1) and
//! the bidirectional overrides into visible escapes such as `\x1b`, and
//! invalid UTF-8 into U+FFFD.

use std::borrow::Cow;
use std::fmt;

/// Text with no control character (but tab) and no bidirectional override.
/// See the module documentation for how one is made.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SafeText<'a>(Cow<'a, str>);

impl<'a> SafeText<'a> {
    /// Makes remote bytes safe to show: invalid UTF-8 becomes U+FFFD and
    /// control characters become visible escapes. Text that needs no change
    /// is borrowed, not copied.
    #[inline]
    #[allow(unsafe_code)]
    pub fn neutralise(bytes: &'a [u8]) -> SafeText<'a> {
        // The common case, printable ASCII and tabs, needs nothing done.
        if is_plain_ascii(bytes) {
            debug_assert!(std::str::from_utf8(bytes).is_ok());
            // SAFETY: every byte is ASCII (checked just above), and ASCII text
            // is valid UTF-8. Checking it again with `from_utf8` would double
            // the cost of showing a message.
            return SafeText(Cow::Borrowed(unsafe {
                std::str::from_utf8_unchecked(bytes)
            }));
        }
        SafeText(neutralise_slow(bytes))
    }

    /// Like [`neutralise`](Self::neutralise), for text already known to be
    /// UTF-8 (it may still hold control characters).
    pub fn neutralise_str(text: &'a str) -> SafeText<'a> {
        SafeText::neutralise(text.as_bytes())
    }

    /// True when `bytes` are shown exactly as they are (nothing had to be
    /// escaped or replaced).
    pub fn is_verbatim(bytes: &[u8]) -> bool {
        matches!(SafeText::neutralise(bytes).0, Cow::Borrowed(_))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> SafeText<'static> {
        SafeText(Cow::Owned(self.0.into_owned()))
    }

    /// The pieces joined into one text (joining safe texts is safe).
    pub fn concat(parts: &[&SafeText<'_>]) -> SafeText<'static> {
        let mut text = String::with_capacity(parts.iter().map(|part| part.len()).sum());
        for part in parts {
            text.push_str(part.as_str());
        }
        SafeText(Cow::Owned(text))
    }

    /// A decimal number.
    pub fn number(n: impl Into<u64>) -> SafeText<'static> {
        SafeText(Cow::Owned(n.into().to_string()))
    }
}

impl From<&'static str> for SafeText<'static> {
    /// The program's own text. It is checked in debug builds (and so in
    /// every test): a control character in it is a bug.
    fn from(text: &'static str) -> SafeText<'static> {
        debug_assert!(
            !text.chars().any(needs_escape),
            "program text with a control character: {text:?}"
        );
        SafeText(Cow::Borrowed(text))
    }
}

impl fmt::Display for SafeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for SafeText<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for SafeText<'_> {
    type Target = str;

    /// Reading a safe text as a `str` is always allowed; only making one is
    /// restricted.
    fn deref(&self) -> &str {
        &self.0
    }
}

/// [`SafeText::neutralise`] for text that is not plain ASCII.
#[cold]
#[inline(never)]
fn neutralise_slow(bytes: &[u8]) -> Cow<'_, str> {
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

/// True for characters that could act on a terminal or hide from the
/// reader: C0 controls except tab, DEL, C1 controls, the bidirectional
/// overrides, isolates and marks (which can make text display in an order
/// other than the one it was sent in), the line and paragraph separators,
/// and the invisible zero-width space and byte order mark. (Zero-width
/// joiners and non-joiners stay: emoji and some scripts need them.)
pub(crate) fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{061c}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{200b}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn safe(bytes: &[u8]) -> String {
        SafeText::neutralise(bytes).as_str().to_string()
    }

    #[test]
    fn escape_sequences_are_made_visible() {
        assert_eq!(
            safe(b"\x1b[2J\x07x\ry\x08\x7f"),
            "\\x1b[2J\\x07x\\x0dy\\x08\\x7f"
        );
        assert_eq!(safe("a\u{9b}b\u{202e}c".as_bytes()), "a\\u{9b}b\\u{202e}c");
        assert_eq!(safe(b"\x1b]52;c;SGVsbG8=\x07"), "\\x1b]52;c;SGVsbG8=\\x07");
        assert_eq!(safe(b"tab\there \x00"), "tab\there \\x00");
        assert_eq!(
            safe("a\u{200b}b\u{2028}c\u{feff}d\u{200f}".as_bytes()),
            "a\\u{200b}b\\u{2028}c\\u{feff}d\\u{200f}"
        );
        // Emoji built with joiners stay whole.
        assert_eq!(safe("👨\u{200d}👩".as_bytes()), "👨\u{200d}👩");
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(safe(b"ok \xff\xfe end"), "ok \u{fffd}\u{fffd} end");
        assert_eq!(safe("ü€😀".as_bytes()), "ü€😀");
    }

    #[test]
    fn plain_text_is_borrowed_and_verbatim() {
        let bytes = b"hello world";
        assert!(matches!(SafeText::neutralise(bytes).0, Cow::Borrowed(_)));
        assert!(SafeText::is_verbatim(bytes));
        assert!(SafeText::is_verbatim("ü".as_bytes()));
        assert!(!SafeText::is_verbatim(b"a\x1bb"));
        assert!(!SafeText::is_verbatim(b"\xff"));
    }

    #[test]
    fn joining_and_numbers() {
        let name = SafeText::neutralise(b"b\x1bob");
        let joined = SafeText::concat(&[&"From ".into(), &name, &": ".into()]);
        assert_eq!(joined.as_str(), "From b\\x1bob: ");
        assert_eq!(SafeText::number(42u32).as_str(), "42");
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
        fn neutralised_text_never_contains_controls(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let shown = SafeText::neutralise(&bytes);
            prop_assert!(!shown.as_str().chars().any(needs_escape));
        }
    }
}
