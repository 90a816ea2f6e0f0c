//! Terminal input, sans-IO: the bytes a terminal sends become keys, pasted
//! text and cursor position reports.
//!
//! Terminals send keys as bytes: printable text as UTF-8, Ctrl-letters as
//! C0 controls, and the other keys as escape sequences (`ESC [ A` for Up,
//! `ESC [ 3 ~` for Delete, `ESC b` for Alt-B, ...). With bracketed paste on,
//! pasted text comes between `ESC [ 200 ~` and `ESC [ 201 ~`. An answer to a
//! cursor position request is `ESC [ row ; col R`. A sequence may arrive
//! split across reads, so the decoder keeps an unfinished one until the rest
//! comes; an `ESC` alone at the end of what arrived is the Esc key only if
//! nothing follows soon ([`Decoder::flush_escape`]).

/// A key the line editor knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// A printable character.
    Char(char),
    /// Ctrl with a letter (lowercase) or one of `@ [ \ ] ^ _`.
    Ctrl(char),
    /// Alt (or Esc, then) a printable character.
    Alt(char),
    Enter,
    Tab,
    BackTab,
    Backspace,
    AltBackspace,
    Delete,
    Esc,
    Left,
    Right,
    Up,
    Down,
    /// Ctrl or Alt with Left: a word left.
    WordLeft,
    /// Ctrl or Alt with Right: a word right.
    WordRight,
    Home,
    End,
    PageUp,
    PageDown,
    /// Anything else (function keys, unknown sequences).
    Other,
}

/// One thing the terminal said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TermInput {
    Key(Key),
    /// Text pasted in one go (bracketed paste), line breaks included.
    Paste(String),
    /// The answer to a cursor position request: row and column, from 1.
    CursorAt {
        row: u16,
        col: u16,
    },
}

/// Turns the bytes a terminal sends into [`TermInput`]s.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    /// Bytes of an unfinished key or sequence.
    held: Vec<u8>,
    /// Pasted bytes, while a bracketed paste is open.
    paste: Option<Vec<u8>>,
}

/// How a decoding step ended.
enum Step {
    /// `n` bytes made this input.
    Done(usize, Option<TermInput>),
    /// The bytes so far are the start of something: wait for more.
    More,
}

const ESC: u8 = 0x1b;
const PASTE_END: &[u8] = b"\x1b[201~";

impl Decoder {
    /// Decodes `bytes` (following whatever came before), appending to `out`.
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<TermInput>) {
        self.held.extend_from_slice(bytes);
        let mut start = 0;
        while start < self.held.len() {
            if let Some(paste) = &mut self.paste {
                let rest = &self.held[start..];
                match find(rest, PASTE_END) {
                    Some(end) => {
                        paste.extend_from_slice(&rest[..end]);
                        let text = String::from_utf8_lossy(paste).into_owned();
                        self.paste = None;
                        out.push(TermInput::Paste(text));
                        start += end + PASTE_END.len();
                    }
                    None => {
                        // Keep what could be the start of the end marker.
                        let keep = partial_suffix(rest, PASTE_END);
                        paste.extend_from_slice(&rest[..rest.len() - keep]);
                        start = self.held.len() - keep;
                        break;
                    }
                }
                continue;
            }
            match decode(&self.held[start..]) {
                Step::Done(n, input) => {
                    start += n;
                    match input {
                        Some(TermInput::Paste(_)) => self.paste = Some(Vec::new()),
                        Some(input) => out.push(input),
                        None => {}
                    }
                }
                Step::More => break,
            }
        }
        self.held.drain(..start);
    }

    /// True when a lone `ESC` waits: if nothing follows soon, it is the Esc
    /// key ([`flush_escape`](Self::flush_escape)).
    pub(crate) fn pending_escape(&self) -> bool {
        self.paste.is_none() && self.held.first() == Some(&ESC)
    }

    /// Nothing followed an unfinished sequence: what was held is given as
    /// keys (a lone `ESC` is Esc; anything after it, Alt with it).
    pub(crate) fn flush_escape(&mut self, out: &mut Vec<TermInput>) {
        if !self.pending_escape() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        out.push(TermInput::Key(Key::Esc));
        self.feed(&held[1..], out);
    }
}

/// Decodes the first input in `bytes` (not empty).
fn decode(bytes: &[u8]) -> Step {
    let key = |n, key| Step::Done(n, Some(TermInput::Key(key)));
    match bytes[0] {
        ESC => decode_escape(bytes),
        b'\r' | b'\n' => key(1, Key::Enter),
        b'\t' => key(1, Key::Tab),
        0x7f | 0x08 => key(1, Key::Backspace),
        0 => key(1, Key::Ctrl('@')),
        c @ 0x01..=0x1a => key(1, Key::Ctrl(char::from(b'a' + c - 1))),
        c @ 0x1c..=0x1f => key(1, Key::Ctrl(char::from(b'\\' + c - 0x1c))),
        _ => decode_utf8(bytes),
    }
}

/// A UTF-8 character: printable ones are keys, the rest are ignored.
fn decode_utf8(bytes: &[u8]) -> Step {
    let len = match bytes[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Step::Done(1, None),
    };
    if bytes.len() < len {
        // Wait for the rest, unless what came is already not UTF-8.
        return match std::str::from_utf8(bytes) {
            Err(err) if err.error_len().is_some() => Step::Done(1, None),
            _ => Step::More,
        };
    }
    match std::str::from_utf8(&bytes[..len]) {
        Ok(text) => {
            let c = text.chars().next().unwrap_or('\u{fffd}');
            let input = (!c.is_control()).then_some(TermInput::Key(Key::Char(c)));
            Step::Done(len, input)
        }
        Err(_) => Step::Done(1, None),
    }
}

/// Input that starts with `ESC`.
fn decode_escape(bytes: &[u8]) -> Step {
    let key = |n, key| Step::Done(n, Some(TermInput::Key(key)));
    let Some(&second) = bytes.get(1) else {
        return Step::More;
    };
    match second {
        b'[' => decode_csi(bytes),
        b'O' => match bytes.get(2) {
            None => Step::More,
            Some(b'A') => key(3, Key::Up),
            Some(b'B') => key(3, Key::Down),
            Some(b'C') => key(3, Key::Right),
            Some(b'D') => key(3, Key::Left),
            Some(b'H') => key(3, Key::Home),
            Some(b'F') => key(3, Key::End),
            Some(_) => key(3, Key::Other),
        },
        0x7f | 0x08 => key(2, Key::AltBackspace),
        ESC => key(1, Key::Esc),
        b'\r' => key(2, Key::Enter),
        c if c.is_ascii_graphic() || c == b' ' => key(2, Key::Alt(char::from(c))),
        _ => key(1, Key::Esc),
    }
}

/// `ESC [` parameters, then a final byte.
fn decode_csi(bytes: &[u8]) -> Step {
    let key = |n, key| Step::Done(n, Some(TermInput::Key(key)));
    // Parameter bytes 0x30-0x3f, intermediate bytes 0x20-0x2f, final 0x40-0x7e.
    let body = &bytes[2..];
    let Some(end) = body.iter().position(|b| (0x40..=0x7e).contains(b)) else {
        // Too long to be a key: drop it rather than hold input for ever.
        if body.len() > 32 || body.iter().any(|b| !(0x20..=0x3f).contains(b)) {
            return Step::Done(bytes.len(), None);
        }
        return Step::More;
    };
    let n = 2 + end + 1;
    let params: Vec<u16> = std::str::from_utf8(&body[..end])
        .unwrap_or_default()
        .split(';')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let first = params.first().copied().unwrap_or(0);
    // xterm's modifier parameter: 3 is Alt, 5 is Ctrl (and 7, 9, ... combine).
    let modified = params.get(1).is_some_and(|&m| m >= 3);
    match body[end] {
        b'A' => key(n, Key::Up),
        b'B' => key(n, Key::Down),
        b'C' if modified => key(n, Key::WordRight),
        b'D' if modified => key(n, Key::WordLeft),
        b'C' => key(n, Key::Right),
        b'D' => key(n, Key::Left),
        b'H' => key(n, Key::Home),
        b'F' => key(n, Key::End),
        b'Z' => key(n, Key::BackTab),
        b'R' if params.len() == 2 => Step::Done(
            n,
            Some(TermInput::CursorAt {
                row: params[0],
                col: params[1],
            }),
        ),
        b'~' => match first {
            1 | 7 => key(n, Key::Home),
            4 | 8 => key(n, Key::End),
            3 => key(n, Key::Delete),
            5 => key(n, Key::PageUp),
            6 => key(n, Key::PageDown),
            200 => Step::Done(n, Some(TermInput::Paste(String::new()))),
            _ => key(n, Key::Other),
        },
        _ => key(n, Key::Other),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How many bytes at the end of `bytes` are a start of `marker`.
fn partial_suffix(bytes: &[u8], marker: &[u8]) -> usize {
    (1..marker.len().min(bytes.len() + 1))
        .rev()
        .find(|&k| bytes.ends_with(&marker[..k]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Vec<TermInput> {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut out);
        }
        decoder.flush_escape(&mut out);
        out
    }

    fn keys(bytes: &[u8]) -> Vec<Key> {
        decode_all(&[bytes])
            .into_iter()
            .map(|input| match input {
                TermInput::Key(key) => key,
                other => panic!("not a key: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn text_and_controls() {
        assert_eq!(
            keys("hé€😀".as_bytes()),
            [
                Key::Char('h'),
                Key::Char('é'),
                Key::Char('€'),
                Key::Char('😀')
            ]
        );
        assert_eq!(
            keys(b"\x01\x05\x17\x03\x04\x12\r\t\x7f\x08\x1f"),
            [
                Key::Ctrl('a'),
                Key::Ctrl('e'),
                Key::Ctrl('w'),
                Key::Ctrl('c'),
                Key::Ctrl('d'),
                Key::Ctrl('r'),
                Key::Enter,
                Key::Tab,
                Key::Backspace,
                Key::Backspace,
                Key::Ctrl('_'),
            ]
        );
    }

    #[test]
    fn escape_sequences() {
        assert_eq!(
            keys(b"\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[3~"),
            [
                Key::Up,
                Key::Down,
                Key::Right,
                Key::Left,
                Key::Up,
                Key::Home,
                Key::End,
                Key::Home,
                Key::End,
                Key::Delete
            ]
        );
        assert_eq!(
            keys(b"\x1b[1;5D\x1b[1;3C\x1bb\x1bf\x1b\x7f\x1b[Z\x1b[15~"),
            [
                Key::WordLeft,
                Key::WordRight,
                Key::Alt('b'),
                Key::Alt('f'),
                Key::AltBackspace,
                Key::BackTab,
                Key::Other
            ]
        );
    }

    #[test]
    fn a_lone_escape_waits_then_is_the_esc_key() {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        decoder.feed(b"a\x1b", &mut out);
        assert_eq!(out, [TermInput::Key(Key::Char('a'))]);
        assert!(decoder.pending_escape());
        decoder.flush_escape(&mut out);
        assert_eq!(out[1], TermInput::Key(Key::Esc));
        assert!(!decoder.pending_escape());
        // Unless the rest arrives in time.
        let mut out = Vec::new();
        decoder.feed(b"\x1b[", &mut out);
        decoder.feed(b"1;5", &mut out);
        assert!(out.is_empty());
        decoder.feed(b"Cx", &mut out);
        assert_eq!(
            out,
            [
                TermInput::Key(Key::WordRight),
                TermInput::Key(Key::Char('x'))
            ]
        );
    }

    #[test]
    fn cursor_reports() {
        assert_eq!(
            decode_all(&[b"\x1b[12;40R", b"\x1b[1;140Rz"]),
            [
                TermInput::CursorAt { row: 12, col: 40 },
                TermInput::CursorAt { row: 1, col: 140 },
                TermInput::Key(Key::Char('z'))
            ]
        );
    }

    #[test]
    fn bracketed_paste_in_any_pieces() {
        let whole = b"x\x1b[200~one\r\ntwo\x1b[A\ntab\there\x1b[201~y";
        let expected = vec![
            TermInput::Key(Key::Char('x')),
            TermInput::Paste("one\r\ntwo\x1b[A\ntab\there".into()),
            TermInput::Key(Key::Char('y')),
        ];
        assert_eq!(decode_all(&[whole]), expected);
        for cut in 1..whole.len() {
            let (a, b) = whole.split_at(cut);
            assert_eq!(decode_all(&[a, b]), expected, "cut at {cut}");
        }
    }

    #[test]
    fn utf8_split_across_reads_and_invalid_bytes() {
        let euro = "€".as_bytes();
        assert_eq!(
            decode_all(&[&euro[..1], &euro[1..2], &euro[2..]]),
            [TermInput::Key(Key::Char('€'))]
        );
        assert_eq!(
            keys(b"a\xffb\xc3("),
            [Key::Char('a'), Key::Char('b'), Key::Char('(')]
        );
        // A C1 control in UTF-8 is not a key.
        assert_eq!(
            keys("a\u{9b}b".as_bytes()),
            [Key::Char('a'), Key::Char('b')]
        );
    }

    #[test]
    fn an_endless_sequence_is_dropped_not_held() {
        let mut bytes = b"\x1b[".to_vec();
        bytes.extend(std::iter::repeat_n(b'1', 100));
        assert_eq!(
            decode_all(&[&bytes, b"q"]),
            [TermInput::Key(Key::Char('q'))]
        );
    }

    proptest! {
        /// Any bytes, in any pieces: decoding never panics, never holds
        /// more than a short unfinished sequence (outside a paste), and
        /// gives no control character as a printable key.
        #[test]
        fn any_input_in_any_pieces(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            cut in 0usize..200,
        ) {
            let cut = cut.min(bytes.len());
            let mut decoder = Decoder::default();
            let mut out = Vec::new();
            decoder.feed(&bytes[..cut], &mut out);
            decoder.feed(&bytes[cut..], &mut out);
            if decoder.paste.is_none() {
                prop_assert!(decoder.held.len() <= 36, "held {}", decoder.held.len());
            }
            for input in out {
                if let TermInput::Key(Key::Char(c)) = input {
                    prop_assert!(!c.is_control());
                }
            }
        }
    }
}
