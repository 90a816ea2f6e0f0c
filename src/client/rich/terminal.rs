//! The terminal itself: its modes, its size, and the few control sequences
//! rich mode writes.

use std::io;

/// Bracketed paste on: pasted text arrives marked, so that it is not taken
/// for typed keys.
pub(crate) const PASTE_ON: &str = "\x1b[?2004h";
pub(crate) const PASTE_OFF: &str = "\x1b[?2004l";
/// Save the window title (on the terminal's title stack), and put it back.
pub(crate) const TITLE_SAVE: &str = "\x1b[22;0t";
pub(crate) const TITLE_RESTORE: &str = "\x1b[23;0t";
/// Ask where the cursor is; the answer is `ESC [ row ; col R`.
pub(crate) const ASK_CURSOR: &str = "\x1b[6n";
/// To the start of the row, and clear it.
pub(crate) const CLEAR_ROW: &str = "\r\x1b[K";
/// To the start of the row, and clear it and everything below.
pub(crate) const CLEAR_BELOW: &str = "\r\x1b[J";
pub(crate) const HIDE_CURSOR: &str = "\x1b[?25l";
pub(crate) const SHOW_CURSOR: &str = "\x1b[?25h";
pub(crate) const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";
pub(crate) const BELL: &str = "\x07";

/// Sets the window title (OSC 2). The title is safe text.
pub(crate) fn set_title(title: &str) -> String {
    format!("\x1b]2;{title}\x07")
}

/// Whether the terminal is known to rewrap lines when it gets narrower
/// (which settles the one case a cursor report cannot, see
/// [`rows_above_cursor`](super::draw::rows_above_cursor)): tmux, which says
/// so in `TMUX` and names itself in `TERM` (`tmux*` or `screen*`, its
/// defaults), unless GNU screen runs in it (`STY`). Both are needed: a
/// terminal started from a tmux pane (an xterm, which cuts lines) inherits
/// `TMUX` but sets its own `TERM`. Other terminals' variables are not
/// trusted, for the same reason.
pub(crate) fn known_to_rewrap() -> bool {
    let term = std::env::var("TERM").unwrap_or_default();
    rewraps_given(
        std::env::var_os("TMUX").is_some(),
        &term,
        std::env::var_os("STY").is_some(),
    )
}

fn rewraps_given(tmux: bool, term: &str, screen: bool) -> bool {
    let names_tmux = term.starts_with("tmux") || term.starts_with("screen");
    tmux && names_tmux && !screen
}

/// The terminal's width in columns (80 if it cannot be told).
pub(crate) fn columns() -> usize {
    terminal_size::terminal_size_of(io::stdout())
        .map_or(80, |(width, _)| usize::from(width.0).max(1))
}

/// The terminal's settings from before rich mode, put back by
/// [`restore`](Self::restore).
#[derive(Clone)]
pub(crate) struct Modes {
    #[cfg(unix)]
    saved: Option<nix::sys::termios::Termios>,
}

impl Modes {
    /// Saves the settings and switches the terminal to raw mode: every key
    /// comes at once, Ctrl-C and Ctrl-Z are keys, nothing is echoed.
    pub(crate) fn raw() -> io::Result<Modes> {
        #[cfg(unix)]
        {
            use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
            let saved = tcgetattr(io::stdin()).map_err(io::Error::from)?;
            let mut raw = saved.clone();
            cfmakeraw(&mut raw);
            tcsetattr(io::stdin(), SetArg::TCSANOW, &raw).map_err(io::Error::from)?;
            Ok(Modes { saved: Some(saved) })
        }
        #[cfg(not(unix))]
        Ok(Modes {})
    }

    /// Back to raw mode after [`restore`](Self::restore) (after a suspend).
    pub(crate) fn raw_again(&self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            use nix::sys::termios::{cfmakeraw, tcsetattr, SetArg};
            let mut raw = saved.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, &raw);
        }
    }

    /// Puts the saved settings back. Doing it twice does no harm.
    pub(crate) fn restore(&self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            use nix::sys::termios::{tcsetattr, SetArg};
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tmux_itself_is_known_to_rewrap() {
        assert!(rewraps_given(true, "tmux-256color", false));
        assert!(rewraps_given(true, "screen", false));
        assert!(rewraps_given(true, "screen-256color", false));
        // An xterm started from a tmux pane.
        assert!(!rewraps_given(true, "xterm-256color", false));
        // GNU screen in tmux, or screen alone.
        assert!(!rewraps_given(true, "screen", true));
        assert!(!rewraps_given(false, "screen", true));
        assert!(!rewraps_given(false, "tmux-256color", false));
    }
}
