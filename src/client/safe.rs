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
//!
//! A safe text remembers where the neutraliser put something of its own (an
//! escape, a replacement character), so that a front end can show those
//! pieces so that they cannot pass for text that was sent as it is
//! ([`SafeText::pieces`]). Comparing safe texts compares their text only.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Text with no control character (but tab) and no bidirectional override.
/// See the module documentation for how one is made.
#[derive(Debug, Clone, Default)]
pub struct SafeText<'a> {
    text: Cow<'a, str>,
    /// The byte ranges of `text` that the neutraliser wrote in place of what
    /// came (escapes, replacement characters), in order; `None` when there
    /// are none (nearly always).
    marks: Option<Box<[Range<usize>]>>,
}

impl PartialEq for SafeText<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for SafeText<'_> {}

impl PartialOrd for SafeText<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SafeText<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl std::hash::Hash for SafeText<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

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
            return SafeText::plain(Cow::Borrowed(unsafe {
                std::str::from_utf8_unchecked(bytes)
            }));
        }
        neutralise_slow(bytes)
    }

    /// Text with nothing of the neutraliser's in it.
    fn plain(text: Cow<'a, str>) -> SafeText<'a> {
        SafeText { text, marks: None }
    }

    /// Like [`neutralise`](Self::neutralise), for text already known to be
    /// UTF-8 (it may still hold control characters).
    pub fn neutralise_str(text: &'a str) -> SafeText<'a> {
        SafeText::neutralise(text.as_bytes())
    }

    /// True when `bytes` are shown exactly as they are (nothing had to be
    /// escaped or replaced).
    pub fn is_verbatim(bytes: &[u8]) -> bool {
        matches!(SafeText::neutralise(bytes).text, Cow::Borrowed(_))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> SafeText<'static> {
        SafeText {
            text: Cow::Owned(self.text.into_owned()),
            marks: self.marks,
        }
    }

    /// The pieces joined into one text (joining safe texts is safe).
    pub fn concat(parts: &[&SafeText<'_>]) -> SafeText<'static> {
        let mut text = String::with_capacity(parts.iter().map(|part| part.len()).sum());
        let mut marks = Vec::new();
        for part in parts {
            let at = text.len();
            marks.extend(part.marks().iter().map(|m| m.start + at..m.end + at));
            text.push_str(part.as_str());
        }
        SafeText {
            text: Cow::Owned(text),
            marks: (!marks.is_empty()).then(|| marks.into_boxed_slice()),
        }
    }

    /// A decimal number.
    pub fn number(n: impl Into<u64>) -> SafeText<'static> {
        SafeText::plain(Cow::Owned(n.into().to_string()))
    }

    /// Whether the neutraliser put anything of its own in the text.
    pub fn has_marks(&self) -> bool {
        self.marks.is_some()
    }

    fn marks(&self) -> &[Range<usize>] {
        self.marks.as_deref().unwrap_or_default()
    }

    /// The text in pieces, in order, each with whether the neutraliser wrote
    /// it (an escape such as `\x1b`, or U+FFFD for bytes that were not
    /// UTF-8) rather than the sender. Joined, the pieces are the text.
    pub fn pieces(&self) -> impl Iterator<Item = (&str, bool)> + '_ {
        let text = self.as_str();
        let mut at = 0;
        let mut marks = self.marks().iter().peekable();
        std::iter::from_fn(move || {
            if at >= text.len() {
                return None;
            }
            match marks.peek() {
                Some(mark) if mark.start == at => {
                    at = mark.end;
                    Some((&text[marks.next()?.clone()], true))
                }
                Some(mark) => {
                    let piece = &text[at..mark.start];
                    at = mark.start;
                    Some((piece, false))
                }
                None => {
                    let piece = &text[at..];
                    at = text.len();
                    Some((piece, false))
                }
            }
        })
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
        SafeText::plain(Cow::Borrowed(text))
    }
}

impl fmt::Display for SafeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::borrow::Borrow<str> for SafeText<'_> {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl std::ops::Deref for SafeText<'_> {
    type Target = str;

    /// Reading a safe text as a `str` is always allowed; only making one is
    /// restricted.
    fn deref(&self) -> &str {
        &self.text
    }
}

/// [`SafeText::neutralise`] for text that is not plain ASCII: what
/// `String::from_utf8_lossy` makes of it (each invalid sequence one U+FFFD),
/// with the characters [`needs_escape`] finds escaped, and where each
/// replacement and escape is.
#[cold]
#[inline(never)]
fn neutralise_slow(bytes: &[u8]) -> SafeText<'_> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if !text.chars().any(needs_escape) {
            return SafeText::plain(Cow::Borrowed(text));
        }
    }
    let mut safe = String::with_capacity(bytes.len() + 16);
    let mut marks = Vec::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if needs_escape(c) {
                let start = safe.len();
                let code = u32::from(c);
                if code < 0x80 {
                    safe.push_str(&format!("\\x{code:02x}"));
                } else {
                    safe.push_str(&format!("\\u{{{code:x}}}"));
                }
                marks.push(start..safe.len());
            } else {
                safe.push(c);
            }
        }
        if !chunk.invalid().is_empty() {
            let start = safe.len();
            safe.push(char::REPLACEMENT_CHARACTER);
            marks.push(start..safe.len());
        }
    }
    SafeText {
        text: Cow::Owned(safe),
        marks: Some(marks.into_boxed_slice()),
    }
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
        assert!(matches!(SafeText::neutralise(bytes).text, Cow::Borrowed(_)));
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

    fn pieces(text: &SafeText<'_>) -> Vec<(String, bool)> {
        text.pieces().map(|(p, m)| (p.to_string(), m)).collect()
    }

    #[test]
    fn the_neutralisers_own_pieces_are_marked() {
        let text = SafeText::neutralise(b"a\\x1b\x1b[2J\xffz");
        assert_eq!(text.as_str(), "a\\x1b\\x1b[2J\u{fffd}z");
        assert_eq!(
            pieces(&text),
            [
                ("a\\x1b".to_string(), false),
                ("\\x1b".to_string(), true),
                ("[2J".to_string(), false),
                ("\u{fffd}".to_string(), true),
                ("z".to_string(), false),
            ]
        );
        // Typed by the sender, the same four characters are not marked.
        assert!(!SafeText::neutralise(b"\\x1b").has_marks());
        assert!(!SafeText::neutralise("\u{fffd}".as_bytes()).has_marks());
        // Joined, the marks move with their text.
        let joined = SafeText::concat(&[&"From ".into(), &SafeText::neutralise(b"\x07")]);
        assert_eq!(
            pieces(&joined),
            [("From ".to_string(), false), ("\\x07".to_string(), true)]
        );
        let owned = SafeText::neutralise(b"\x00").into_owned();
        assert_eq!(pieces(&owned), [("\\x00".to_string(), true)]);
        assert_eq!(pieces(&SafeText::default()), []);
    }

    /// The neutraliser before it marked its pieces: marking changed nothing
    /// it makes.
    fn neutralise_unmarked(bytes: &[u8]) -> String {
        let mut safe = String::new();
        for c in String::from_utf8_lossy(bytes).chars() {
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
        safe
    }

    proptest! {
        /// The text is what it always was, and the marked pieces are exactly
        /// the escapes and replacement characters of the neutraliser.
        #[test]
        fn marking_changes_nothing_shown(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let shown = SafeText::neutralise(&bytes);
            prop_assert_eq!(shown.as_str(), neutralise_unmarked(&bytes));
            let joined: String = shown.pieces().map(|(p, _)| p).collect();
            prop_assert_eq!(joined, shown.as_str());
            for (piece, marked) in shown.pieces() {
                if marked {
                    let replaced = piece == "\u{fffd}";
                    prop_assert!(replaced || piece.starts_with('\\'), "{:?}", piece);
                }
            }
        }

        /// Whatever arrives, what is shown contains no control character but tab.
        #[test]
        fn neutralised_text_never_contains_controls(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let shown = SafeText::neutralise(&bytes);
            prop_assert!(!shown.as_str().chars().any(needs_escape));
        }
    }
}
