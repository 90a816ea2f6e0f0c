//! The little rich mode itself does to the terminal around rustyline: its
//! modes saved and put back, Ctrl-Z, the window title, and the edit rows
//! cleared on the way out.

use std::io;
use std::sync::Mutex;

use unicode_width::UnicodeWidthChar;

use super::printer::lock;

/// Bracketed paste off (rustyline turns it on for each line it reads).
pub(crate) const PASTE_OFF: &str = "\x1b[?2004l";
/// Save the window title (on the terminal's title stack), and put it back.
pub(crate) const TITLE_SAVE: &str = "\x1b[22;0t";
pub(crate) const TITLE_RESTORE: &str = "\x1b[23;0t";
pub(crate) const SHOW_CURSOR: &str = "\x1b[?25h";
/// Ends a synchronized update (DEC mode 2026): rustyline begins one for
/// each message it shows, and one stopped on the way out is never ended by
/// it. (Terminals without the mode ignore it.)
pub(crate) const SYNC_END: &str = "\x1b[?2026l";
pub(crate) const BELL: &str = "\x07";

/// Sets the window title (OSC 2). The title is safe text.
pub(crate) fn set_title(title: &str) -> String {
    format!("\x1b]2;{title}\x07")
}

/// The terminal's width in columns (80 if it cannot be told).
pub(crate) fn columns() -> usize {
    terminal_size::terminal_size_of(io::stdout())
        .map_or(80, |(width, _)| usize::from(width.0).max(1))
}

/// What clears the edit rows from the cursor: up to the row where the
/// prompt starts, and everything below. `before_cursor` is the prompt and
/// the text before the cursor, which rustyline wraps at `columns` (a
/// character that does not fit goes to the next row whole; the cursor after
/// a full row is on the next one).
pub(crate) fn clear_edit_rows(before_cursor: &str, columns: usize) -> String {
    let (mut row, mut col) = (0, 0);
    for c in before_cursor.chars() {
        if c == '\n' {
            (row, col) = (row + 1, 0);
            continue;
        }
        let width = if c == '\t' {
            8 - col % 8
        } else {
            c.width().unwrap_or(0)
        };
        col += width;
        if col > columns {
            (row, col) = (row + 1, width);
        }
    }
    if col == columns {
        row += 1;
    }
    match row {
        0 => "\r\x1b[J".to_string(),
        rows => format!("\r\x1b[{rows}A\x1b[J"),
    }
}

/// The terminal's modes as the user has them, put back on the way out, and
/// while Ctrl-Z has stopped the client. Between two lines read (while no
/// prompt is shown, as during a login) what is typed is neither echoed nor
/// edited by the system, and Ctrl-Z stops nothing: it waits for the next
/// prompt.
#[derive(Debug, Default)]
pub(crate) struct Modes {
    saved: Mutex<Saved>,
}

#[derive(Debug, Default)]
struct Saved {
    #[cfg(unix)]
    modes: Option<nix::sys::termios::Termios>,
    /// The modes rustyline reads a line in (see [`Modes::note_editing`]).
    #[cfg(unix)]
    editing: Option<nix::sys::termios::Termios>,
    #[cfg(windows)]
    modes: Option<u32>,
    /// Given back for good: never taken again.
    ended: bool,
}

impl Modes {
    /// Saves the modes the terminal has now as the user's (at the start, and
    /// again after a suspension: the user may have changed them), and stops
    /// the echo until the next prompt.
    pub(crate) fn take_over(&self) {
        let mut saved = lock(&self.saved);
        if saved.ended {
            return;
        }
        #[cfg(unix)]
        {
            use nix::sys::termios::{
                tcgetattr, tcsetattr, LocalFlags, SetArg, SpecialCharacterIndices,
            };
            saved.modes = tcgetattr(io::stdin()).ok();
            if let Some(user) = &saved.modes {
                let mut quiet = user.clone();
                quiet.local_flags &= !(LocalFlags::ECHO | LocalFlags::ICANON);
                quiet.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
                quiet.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
                // Ctrl-Z waits for the next prompt too, which suspends
                // properly (see `suspend`).
                quiet.control_chars[SpecialCharacterIndices::VSUSP as usize] =
                    nix::libc::_POSIX_VDISABLE;
                let _ = tcsetattr(io::stdin(), SetArg::TCSADRAIN, &quiet);
            }
        }
        #[cfg(windows)]
        {
            saved.modes = console::save();
        }
    }

    /// Notes the modes rustyline has set to read a line in, to put them
    /// back should the client be stopped and continued from outside.
    #[cfg(unix)]
    pub(crate) fn note_editing(&self) {
        let editing = nix::sys::termios::tcgetattr(io::stdin()).ok();
        lock(&self.saved).editing = editing;
    }

    /// Puts back the modes rustyline reads a line in: a stop made by
    /// another program (SIGTSTP) leaves the terminal as the shell wants it
    /// (bash puts its own modes back), and rustyline sets its modes only
    /// when a line starts.
    #[cfg(unix)]
    pub(crate) fn resume_editing(&self) {
        use nix::sys::termios::{tcsetattr, SetArg};
        let saved = lock(&self.saved);
        if let (false, Some(editing)) = (saved.ended, &saved.editing) {
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, editing);
        }
    }

    /// Puts the user's modes back; for good when `ended`.
    pub(crate) fn restore(&self, ended: bool) {
        let mut saved = lock(&self.saved);
        saved.ended |= ended;
        #[cfg(unix)]
        if let Some(user) = &saved.modes {
            use nix::sys::termios::{tcsetattr, SetArg};
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, user);
        }
        #[cfg(windows)]
        if let Some(mode) = saved.modes {
            console::set(mode);
        }
    }
}

/// Makes the thread that calls it the only one to take SIGTSTP: called
/// before rich mode starts its threads (they inherit it), and undone in the
/// thread that suspends (see [`suspend`]).
#[cfg(unix)]
pub(crate) fn block_suspend(block: bool) {
    use nix::sys::signal::{SigSet, Signal};
    let set = SigSet::from(Signal::SIGTSTP);
    let _ = if block {
        set.thread_block()
    } else {
        set.thread_unblock()
    };
}

/// Ctrl-Z: gives the terminal back as the user has it, stops the process
/// group as the terminal's own Ctrl-Z would, and once continued (`fg`)
/// takes the terminal again. The signal reaches only the calling thread
/// (every other one blocks it), so it stops the process before `kill`
/// returns, and returns after SIGCONT. Where nothing could continue the
/// process (an orphaned process group, as a client that leads its own
/// session) the system drops the signal and it returns at once: false.
#[cfg(unix)]
pub(crate) fn suspend(modes: &Modes) -> bool {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, OnceLock};
    static CONTINUED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    let continued = CONTINUED.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let _ = signal_hook::flag::register(signal_hook::consts::SIGCONT, Arc::clone(&flag));
        flag
    });
    continued.store(false, Ordering::SeqCst);
    super::printer::write_direct(&format!("{TITLE_RESTORE}{SHOW_CURSOR}"));
    modes.restore(false);
    let _ = kill(Pid::from_raw(0), Signal::SIGTSTP);
    modes.take_over();
    continued.load(Ordering::SeqCst)
}

/// Watches for SIGCONT: when the client goes on after a stop it did not
/// make itself (a SIGTSTP from another program; Ctrl-Z is `suspend`, while
/// no `readline` runs), rustyline's modes are put back and the edit rows
/// drawn again.
#[cfg(unix)]
pub(crate) fn watch_continue(shared: std::sync::Arc<super::shared::Shared>) -> io::Result<()> {
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    let (mut woken, wake) = UnixStream::pair()?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGCONT, wake)?;
    std::thread::Builder::new()
        .name("continued".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while matches!(woken.read(&mut byte), Ok(1)) {
                let mut state = shared.lock();
                if state.reading && !state.finishing {
                    shared.modes.resume_editing();
                    state.redraw = true;
                    drop(state);
                    shared.notify();
                }
            }
        })?;
    Ok(())
}

/// The console's input modes on Windows (rustyline sets its own for each
/// line it reads, and puts these back after).
#[cfg(windows)]
#[allow(unsafe_code)]
mod console {
    use windows_sys::Win32::System::Console::{
        GetConsoleMode, GetStdHandle, SetConsoleMode, ENABLE_ECHO_INPUT, ENABLE_LINE_INPUT,
        STD_INPUT_HANDLE,
    };

    /// The modes, after which the echo stops until the first prompt.
    pub(super) fn save() -> Option<u32> {
        let mut mode = 0;
        // SAFETY: a handle from GetStdHandle, and a pointer to a local.
        let got = unsafe { GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mut mode) };
        if got == 0 {
            return None;
        }
        set(mode & !(ENABLE_ECHO_INPUT | ENABLE_LINE_INPUT));
        Some(mode)
    }

    pub(super) fn set(mode: u32) {
        // SAFETY: a handle from GetStdHandle, and modes it can take.
        unsafe {
            SetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), mode);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edit_rows_are_cleared_from_where_the_prompt_starts() {
        assert_eq!(clear_edit_rows("alice> hi", 80), "\r\x1b[J");
        // 10 columns: "alice> hel" fills the first row, the cursor is on
        // the second.
        assert_eq!(clear_edit_rows("alice> hel", 10), "\r\x1b[1A\x1b[J");
        assert_eq!(clear_edit_rows("alice> hello", 10), "\r\x1b[1A\x1b[J");
        // A wide character that does not fit goes to the next row whole.
        assert_eq!(clear_edit_rows("alice> he日", 10), "\r\x1b[1A\x1b[J");
        assert_eq!(clear_edit_rows("alice> h日", 10), "\r\x1b[1A\x1b[J");
        assert_eq!(clear_edit_rows("> one\ntwo\nth", 80), "\r\x1b[2A\x1b[J");
    }
}
