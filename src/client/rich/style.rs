//! How rich mode shows lines: colour, each sender's own colour, your own
//! name in a style of its own, timestamps, and what the neutraliser wrote
//! (an escape such as `\x1b`) in reverse video, so that it cannot pass for
//! the same characters typed by the sender.

use chrono::{DateTime, Local};
use colored::{Color, ColoredString, Colorize};

use crate::client::render::{Kind, Line};
use crate::client::safe::SafeText;
use crate::client::text;

/// Colours for senders' names: middle tones that read on dark and on light
/// backgrounds (no near-white, no near-black, no pale yellow), from the
/// terminal's 256 colours.
const PALETTE_256: [u8; 16] = [
    31, 32, 35, 37, 61, 64, 91, 94, 97, 125, 128, 130, 133, 160, 166, 172,
];

/// The same idea with the basic colours, for terminals without 256.
const PALETTE_8: [Color; 6] = [
    Color::Red,
    Color::Green,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Yellow,
];

/// How many colours the terminal has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Palette {
    /// No colour at all.
    None,
    /// The basic 8.
    Basic,
    /// 256 colours.
    Full,
}

impl Palette {
    /// What the environment says the terminal can do, when colour is on.
    pub(crate) fn detect(color: bool) -> Palette {
        if !color {
            return Palette::None;
        }
        let term = std::env::var("TERM").unwrap_or_default();
        let colorterm = std::env::var("COLORTERM").unwrap_or_default();
        if term.contains("256color")
            || matches!(colorterm.as_str(), "truecolor" | "24bit")
            || matches!(
                term.as_str(),
                "xterm-kitty" | "alacritty" | "foot" | "xterm-ghostty"
            )
        {
            Palette::Full
        } else {
            Palette::Basic
        }
    }
}

/// The colour of a sender's name: derived from the name alone (FNV-1a, so
/// the same in every run and on every machine).
pub(crate) fn name_color(name: &str, palette: Palette) -> Option<Color> {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    match palette {
        Palette::None => None,
        Palette::Basic => Some(PALETTE_8[hash as usize % PALETTE_8.len()]),
        Palette::Full => Some(Color::AnsiColor(
            PALETTE_256[hash as usize % PALETTE_256.len()],
        )),
    }
}

/// Everything needed to turn lines into what the terminal shows.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    pub(crate) palette: Palette,
    pub(crate) timestamps: bool,
    /// The user's own name, once logged in.
    pub(crate) me: Option<String>,
}

/// Reverse video on and off: what the neutraliser wrote. (Not a colour: it
/// shows with colour off too.)
const MARK_ON: &str = "\x1b[7m";
const MARK_OFF: &str = "\x1b[27m";

/// `text` with what the neutraliser wrote in reverse video.
pub(crate) fn marked(text: &SafeText<'_>) -> String {
    let mut shown = String::with_capacity(text.len());
    push_marked(&mut shown, text);
    shown
}

/// Appends `text` to `out`, what the neutraliser wrote in reverse video.
fn push_marked(out: &mut String, text: &SafeText<'_>) {
    if !text.has_marks() {
        out.push_str(text);
        return;
    }
    for (piece, mark) in text.pieces() {
        if mark {
            out.push_str(MARK_ON);
            out.push_str(piece);
            out.push_str(MARK_OFF);
        } else {
            out.push_str(piece);
        }
    }
}

impl Style {
    /// `name` styled: your own name bold and underlined, others in their
    /// colour, bold.
    pub(crate) fn name(&self, name: &SafeText<'_>) -> String {
        let text = marked(name);
        if self.palette == Palette::None {
            return text;
        }
        let styled: ColoredString = if self.me.as_deref() == Some(name.as_str()) {
            text.bold().underline()
        } else {
            match name_color(name, self.palette) {
                Some(color) => text.color(color).bold(),
                None => text.bold(),
            }
        };
        styled.to_string()
    }

    /// The line as shown, without its line ending, received at `at`.
    pub(crate) fn line(&self, line: &Line<'_>, at: DateTime<Local>) -> String {
        let mut shown = String::new();
        self.push_line(&mut shown, line, at);
        shown
    }

    /// Appends [`line`](Self::line) to `out` (without a copy of its text of
    /// its own, when there is no colour: under a flood, most lines), after
    /// `[HH:MM] ` (the local time `at`) with timestamps on.
    pub(crate) fn push_line(&self, out: &mut String, line: &Line<'_>, at: DateTime<Local>) {
        if self.timestamps {
            let stamp = format!("[{}] ", at.format("%H:%M"));
            match self.palette {
                Palette::None => out.push_str(&stamp),
                _ => out.push_str(&stamp.dimmed().to_string()),
            }
        }
        match (line, self.palette) {
            (Line::From { name, message }, palette) => {
                out.push_str(text::FROM_PREFIX);
                if palette == Palette::None {
                    push_marked(out, name);
                } else {
                    out.push_str(&self.name(name));
                }
                out.push_str(text::FROM_SEPARATOR);
                push_marked(out, message);
            }
            (Line::Text(_, text), Palette::None) | (Line::Text(Kind::Info, text), _) => {
                push_marked(out, text);
            }
            (Line::Text(Kind::Error, text), _) => out.push_str(&marked(text).red().to_string()),
            (Line::Text(Kind::Notice, text), _) => {
                out.push_str(&marked(text).yellow().to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32, minute: u32) -> DateTime<Local> {
        Local.with_ymd_and_hms(2026, 1, 2, hour, minute, 0).unwrap()
    }

    fn style(palette: Palette, timestamps: bool) -> Style {
        colored::control::set_override(true);
        Style {
            palette,
            timestamps,
            me: Some("me".into()),
        }
    }

    fn from(name: &'static str) -> Line<'static> {
        Line::From {
            name: name.into(),
            message: "hi".into(),
        }
    }

    #[test]
    fn a_name_has_the_same_colour_in_every_run() {
        // Fixed values: a change of the hash or the palette shows here.
        assert_eq!(
            name_color("alice", Palette::Full),
            Some(Color::AnsiColor(94))
        );
        assert_eq!(name_color("bob", Palette::Full), Some(Color::AnsiColor(61)));
        assert_eq!(name_color("alice", Palette::Basic), Some(Color::Yellow));
        assert_eq!(name_color("bob", Palette::Basic), Some(Color::Blue));
        assert_eq!(name_color("alice", Palette::None), None);
        let mut spread: Vec<String> = ["alice", "bob", "carol", "dave", "eve", "zed"]
            .iter()
            .filter_map(|n| name_color(n, Palette::Full))
            .map(|color| format!("{color:?}"))
            .collect();
        spread.sort();
        spread.dedup();
        assert!(spread.len() >= 4, "names spread over the palette");
    }

    #[test]
    fn senders_in_colour_and_you_in_your_own_style() {
        let s = style(Palette::Full, false);
        let line = s.line(&from("alice"), at(12, 34));
        assert_eq!(line, "From \u{1b}[1;38;5;94malice\u{1b}[0m: hi");
        let mine = s.line(&from("me"), at(12, 34));
        assert_eq!(mine, "From \u{1b}[1;4mme\u{1b}[0m: hi");
    }

    #[test]
    fn timestamps_come_first() {
        let s = style(Palette::None, true);
        assert_eq!(s.line(&from("bob"), at(9, 5)), "[09:05] From bob: hi");
        assert_eq!(
            s.line(&Line::error(text::SERVER_FULL), at(23, 59)),
            format!("[23:59] {}", text::SERVER_FULL)
        );
    }

    #[test]
    fn what_the_neutraliser_wrote_is_in_reverse_video_with_or_without_colour() {
        for palette in [Palette::None, Palette::Full] {
            let s = style(palette, false);
            let line = Line::From {
                name: "bob".into(),
                message: SafeText::neutralise(b"\\x1b typed, \x1b sent"),
            };
            let shown = s.line(&line, at(0, 0));
            assert!(
                shown.ends_with(": \\x1b typed, \x1b[7m\\x1b\x1b[27m sent"),
                "{shown:?}"
            );
        }
        let s = style(Palette::None, false);
        let name = SafeText::neutralise(b"e\x07ve");
        assert_eq!(s.name(&name), "e\x1b[7m\\x07\x1b[27mve");
        let notice = Line::notice(text::not_sent(&SafeText::neutralise(b"\xff")));
        assert_eq!(
            s.line(&notice, at(0, 0)),
            "Not sent: \x1b[7m\u{fffd}\x1b[27m"
        );
    }

    #[test]
    fn without_colour_the_text_is_the_plain_text() {
        let s = style(Palette::None, false);
        for line in [
            from("bob"),
            Line::notice(text::COMMAND_HINT),
            Line::info(text::SENT),
        ] {
            assert_eq!(s.line(&line, at(0, 0)), line.plain().as_str());
        }
    }
}
