//! What the threads of rich mode share: the lines waiting to be shown, where
//! the user is at, and the gate that says when the printer thread may give
//! lines to rustyline.
//!
//! rustyline's external printer holds one message at a time and shows it
//! only while its editor waits for a key in the main loop; outside a
//! `readline` call it writes straight to the terminal. So a message it still
//! held when `readline` returned would come out after one written straight
//! away. The printer thread therefore hands rustyline lines only while the
//! gate is open (a `readline` is running and not leaving it), writes
//! straight to the terminal only when no `readline` runs and nothing is
//! held, and follows every message with a sentinel that shows nothing
//! ([`SENTINEL`]): when the sentinel has been taken, the message has been,
//! so a message rustyline may still hold is always known.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};

use super::phase::Phase;
use super::style::Style;
use super::terminal::Modes;
use crate::client::render::Line;
use crate::client::safe::SafeText;

/// What the printer thread gives rustyline after each message: the cursor
/// up one row and back down to the start of the row, so nothing changes on
/// the screen, whether rustyline shows it above its edit rows (it adds no
/// line break to a message that ends with one) or, should `readline` have
/// just returned, writes it straight to the terminal.
pub(crate) const SENTINEL: &str = "\x1b[A\n";

/// How long closing the gate waits for a print that has just begun to get
/// past rustyline's check of its raw mode (a few instructions in): a print
/// that takes longer is waiting for rustyline to take the message before
/// it, so past that check already.
const PRINT_START: Duration = Duration::from_millis(50);

/// Where a `readline` that is asked to stop was stopped, and so what is on
/// the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parked {
    /// Before drawing anything for a key: the edit rows are as last drawn.
    Intact,
    /// After showing a message: the edit rows are cleared, and the cursor
    /// is at the start of the row after the message.
    Cleared,
}

/// The edit rows as rustyline last drew them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Drawn {
    /// The prompt, without styles.
    pub(crate) prompt: String,
    /// The line being edited (or found, in a search) and the cursor in it.
    pub(crate) line: String,
    pub(crate) cursor: usize,
}

/// Lines ready for the terminal: styled, each with its line break, as they
/// came in one read of the socket (or one line of rich mode's own).
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub(crate) text: String,
    pub(crate) lines: usize,
    /// How many are messages (`From ...`).
    pub(crate) messages: usize,
    /// The bytes the backlog counts (for lines from the main loop).
    pub(crate) counted: usize,
    /// The lines as plain text, with when they came, for the log (when it
    /// is kept).
    pub(crate) plain: Vec<(DateTime<Local>, SafeText<'static>)>,
}

/// A message rustyline may still hold: a copy of it, unless it is a huge
/// line (which the way out counts rather than writes: copying it would
/// double its memory), and how many lines it has.
#[derive(Debug)]
pub(crate) struct Unconfirmed {
    pub(crate) copy: Option<String>,
    pub(crate) lines: usize,
}

/// Everything the threads share, under one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Lines to show, in order.
    pub(crate) queue: VecDeque<Chunk>,
    /// A `readline` is running or about to start: nothing may be written
    /// straight to the terminal.
    pub(crate) reading: bool,
    /// The printer thread may call rustyline's printer.
    pub(crate) open: bool,
    /// Since when the printer thread has been in a call to the printer.
    pub(crate) printing: Option<Instant>,
    /// The last message given to rustyline, until its sentinel has been
    /// taken (until then rustyline may still hold it).
    pub(crate) unconfirmed: Option<Unconfirmed>,
    /// When rustyline last took a message (and began to write it).
    pub(crate) taken: Option<Instant>,
    /// The printer thread is writing straight to the terminal.
    pub(crate) direct: bool,
    /// Chunks ever queued (those taken are this less the queue's length).
    pub(crate) queued: u64,
    /// What the next prompt waits for.
    pub(crate) prompt_waits: PromptWait,
    pub(crate) phase: Phase,
    /// The current conversation.
    pub(crate) with: Option<SafeText<'static>>,
    /// Logged in as this name, and the readline thread has not opened its
    /// history yet.
    pub(crate) login: Option<SafeText<'static>>,
    /// Names to complete, in order, and when the server last listed them.
    pub(crate) names: Vec<SafeText<'static>>,
    pub(crate) names_at: Option<Instant>,
    /// The line as the last Tab that listed names left it, and the list,
    /// in the line being read.
    pub(crate) listed: Option<(String, String)>,
    /// Conversation changes and flushes of lines, counted: the readline
    /// thread waits for one after a line that may change the prompt.
    pub(crate) answers: u64,
    /// Messages since the user last pressed a key.
    pub(crate) unread: usize,
    /// The window title last set.
    pub(crate) title: String,
    /// The edit rows as last drawn, while a `readline` runs.
    pub(crate) drawn: Option<Drawn>,
    /// The line typed (not a line found by a search) and not sent: kept
    /// after a `readline` that ended without it, for the way out.
    pub(crate) draft: String,
    /// The prompt of the `readline` running, without styles.
    pub(crate) prompt: String,
    /// rustyline shows a prompt of its own (a search).
    pub(crate) searching: bool,
    /// Ctrl-Z was pressed with the cursor here: the line ends, to be
    /// typed on after the suspension.
    pub(crate) suspending: Option<usize>,
    /// Ctrl-Z gave the terminal back for a while.
    pub(crate) suspended: bool,
    /// Ctrl-C in vi mode ends the line to clear it (see `helper::LeavingKey`).
    pub(crate) clearing: bool,
    /// The client was continued after a stop it did not make (SIGTSTP from
    /// another program) while a `readline` ran: rustyline's modes are back,
    /// and the printer thread has it draw the edit rows again.
    pub(crate) redraw: bool,
    /// A key was read and the edit rows are about to be drawn for it (not
    /// set by a key after which rustyline draws nothing).
    pub(crate) keyed: bool,
    /// The program is ending: the `readline` running stops at its next
    /// call to the helper.
    pub(crate) finishing: bool,
    pub(crate) parked: Option<Parked>,
    /// The history file in use.
    pub(crate) history: Option<PathBuf>,
}

/// What the next prompt waits for, so that a line typed ahead never shows
/// above the lines that came before its prompt. Until it comes the printer
/// thread writes straight only those lines: writing on, in a flood, would
/// keep the prompt away for good.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PromptWait {
    /// Only for a straight write under way to end.
    #[default]
    Nothing,
    /// Logged in: for the lines that came before the login's answer or in
    /// the same read to be queued (see [`State::release`]).
    Login,
    /// For the chunks queued before this count to be shown.
    Shown(u64),
}

impl State {
    /// The client asks for a name: the prompt is shown after what is
    /// queued now.
    pub(crate) fn ask(&mut self, phase: Phase) {
        self.phase = phase;
        self.prompt_waits = PromptWait::Shown(self.queued);
    }

    /// Logged in: the prompt waits until [`State::release`].
    pub(crate) fn hold(&mut self, phase: Phase) {
        self.phase = phase;
        self.prompt_waits = PromptWait::Login;
    }

    /// What came with the login is queued: the prompt comes after it.
    pub(crate) fn release(&mut self) {
        if self.prompt_waits == PromptWait::Login {
            self.prompt_waits = PromptWait::Shown(self.queued);
        }
    }

    pub(crate) fn push(&mut self, chunk: Chunk) {
        self.queue.push_back(chunk);
        self.queued += 1;
    }

    /// Chunks ever taken from the queue.
    fn taken(&self) -> u64 {
        self.queued - self.queue.len() as u64
    }

    /// Whether the readline thread, which has a prompt to show, may show it
    /// now; if not, what it waits for is noted, and it waits.
    pub(crate) fn prompt_may_start(&mut self) -> bool {
        let mark = match self.prompt_waits {
            PromptWait::Login => return false,
            // The chunks of a straight write under way are taken already.
            PromptWait::Nothing => self.taken(),
            PromptWait::Shown(mark) => mark,
        };
        let start = !self.direct && self.taken() >= mark;
        self.prompt_waits = if start {
            PromptWait::Nothing
        } else {
            PromptWait::Shown(mark)
        };
        start
    }

    /// Whether the printer thread may write lines straight to the terminal.
    pub(crate) fn may_write_straight(&self) -> bool {
        let before_prompt = match self.prompt_waits {
            PromptWait::Nothing | PromptWait::Login => true,
            PromptWait::Shown(mark) => self.taken() < mark,
        };
        !self.reading && !self.queue.is_empty() && before_prompt
    }
}

/// [`State`] behind a lock, with a condition variable for every change.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    /// How rich mode's own lines are styled.
    style: Style,
    /// The terminal's modes as the user has them.
    pub(crate) modes: Modes,
}

impl Shared {
    pub(crate) fn new(style: Style) -> Shared {
        Shared {
            state: Mutex::default(),
            changed: Condvar::new(),
            style,
            modes: Modes::default(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every thread waiting for a change.
    pub(crate) fn notify(&self) {
        self.changed.notify_all();
    }

    /// Waits for a change.
    pub(crate) fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a change, at most until `deadline`.
    pub(crate) fn wait_until<'a>(
        &self,
        state: MutexGuard<'a, State>,
        deadline: Instant,
    ) -> MutexGuard<'a, State> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.changed
            .wait_timeout(state, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// Lines to show, from the main loop.
    pub(crate) fn show(&self, chunk: Chunk) {
        let mut state = self.lock();
        state.push(chunk);
        state.answers += 1;
        drop(state);
        self.notify();
    }

    /// A line of rich mode's own to show now.
    pub(crate) fn own_line(&self, line: Line<'static>) {
        let at = Local::now();
        let mut text = self.style.line(&line, at);
        text.push('\n');
        let chunk = Chunk {
            text,
            lines: 1,
            plain: vec![(at, line.plain())],
            ..Chunk::default()
        };
        self.lock().push(chunk);
        self.notify();
    }

    /// Closes the gate, from inside `readline` before it gives the terminal
    /// back, and lets a print that has just begun get past rustyline's
    /// check of its raw mode.
    pub(crate) fn close_gate(&self) {
        let mut state = self.lock();
        state.open = false;
        while let Some(since) = state.printing {
            let deadline = since + PRINT_START;
            if Instant::now() >= deadline {
                break;
            }
            state = self.wait_until(state, deadline);
        }
    }

    /// Called by each of rustyline's calls to the helper. Once the program
    /// is ending, the `readline` thread stops here for good (the terminal is
    /// given back without it); what the screen then shows is recorded.
    pub(crate) fn checkpoint<'a>(
        &self,
        mut state: MutexGuard<'a, State>,
        drawing: bool,
    ) -> MutexGuard<'a, State> {
        if state.finishing {
            // A message shows, then the edit rows are drawn again, with no
            // key before: drawing with no key read is after a message.
            let cleared = drawing && !state.keyed;
            state.parked = Some(if cleared {
                Parked::Cleared
            } else {
                Parked::Intact
            });
            self.notify();
            loop {
                state = self.wait(state);
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> Chunk {
        Chunk {
            text: "a line\n".into(),
            lines: 1,
            ..Chunk::default()
        }
    }

    #[test]
    fn a_prompt_asked_for_comes_after_the_lines_queued_before() {
        let mut state = State::default();
        state.push(line());
        state.ask(Phase::AskingName);
        state.push(line());
        // The line queued before the question is written first, straight.
        assert!(!state.prompt_may_start());
        assert!(state.may_write_straight());
        assert!(state.queue.pop_front().is_some());
        // Not the one after it: the prompt comes now.
        assert!(!state.may_write_straight());
        assert!(state.prompt_may_start());
        assert_eq!(state.prompt_waits, PromptWait::Nothing);
    }

    #[test]
    fn after_a_login_the_prompt_waits_for_what_came_with_it() {
        let mut state = State::default();
        state.push(line());
        state.hold(Phase::Chatting { me: "al".into() });
        // Messages that came before the login's answer, queued after it.
        state.push(line());
        assert!(!state.prompt_may_start());
        while state.queue.pop_front().is_some() {}
        assert!(!state.prompt_may_start(), "held until caught up");
        state.push(line());
        assert!(state.may_write_straight());
        state.release();
        state.push(line());
        assert!(!state.prompt_may_start());
        assert!(state.queue.pop_front().is_some());
        // Not the line queued after: the prompt comes first.
        assert!(!state.may_write_straight());
        assert!(state.prompt_may_start());
    }

    #[test]
    fn a_prompt_waits_for_a_straight_write_under_way_and_no_other() {
        let mut state = State {
            phase: Phase::Chatting { me: "al".into() },
            ..State::default()
        };
        for _ in 0..3 {
            state.push(line());
        }
        assert!(state.may_write_straight());
        assert!(state.queue.pop_front().is_some());
        state.direct = true;
        assert!(!state.prompt_may_start());
        state.direct = false;
        // Lines keep coming (a flood): the prompt goes first all the same.
        state.push(line());
        assert!(!state.may_write_straight());
        assert!(state.prompt_may_start());
        state.reading = true;
        assert!(!state.may_write_straight());
    }
}
