//! The printer thread: the one owner of rustyline's external printer. It
//! takes the lines waiting, logs them, and gives rustyline all of them at
//! once (up to what the terminal takes in [`BATCH_TIME`]) while a
//! `readline` runs, or writes them itself while none does
//! ([`super::shared`] says when each is allowed).

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustyline::ExternalPrinter;

use super::files::{write_whole, Log};
use super::phase::Phase;
use super::shared::{Shared, State, Unconfirmed, SENTINEL};
use super::terminal;
use crate::client::screen::Backlog;

/// The most text given to rustyline in one message, after which the next
/// message takes the rest: each message is one write to the terminal, and
/// rustyline reads no key until it is written. So a message holds what the
/// terminal takes in [`BATCH_TIME`], as far as the last one tells, within
/// these bounds.
const BATCH_MIN: usize = 4 * 1024;
pub(crate) const BATCH_FIRST: usize = 16 * 1024;
const BATCH_MAX: usize = 1024 * 1024;
const BATCH_TIME: Duration = Duration::from_millis(50);
/// The largest message a copy is kept of until rustyline has taken it (for
/// the way out): any batch; a larger one is a huge line, only counted then.
const COPY_MAX: usize = 2 * BATCH_MAX;

pub(crate) struct Printer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) printer: Box<dyn ExternalPrinter + Send>,
    pub(crate) log: Arc<Mutex<Log>>,
    pub(crate) bell: bool,
    pub(crate) backlog: Arc<Backlog>,
    /// The most the next message may hold.
    pub(crate) batch: usize,
}

impl Printer {
    /// Runs until the program ends.
    pub(crate) fn run(mut self) {
        let shared = Arc::clone(&self.shared);
        let mut state = shared.lock();
        loop {
            if state.finishing {
                // Two more sentinels: a `readline` waiting for a key in its
                // main loop takes the first, and stops (see
                // `Shared::checkpoint`); if it does not take it, the second
                // waits, which tells that it is in a search.
                for _ in 0..2 {
                    if !state.open {
                        break;
                    }
                    state = sentinel(self.printer.as_mut(), &shared, state);
                }
                return;
            }
            if state.open && std::mem::take(&mut state.redraw) {
                // Only the edit rows, drawn again (see `terminal::watch_continue`).
                state = sentinel(self.printer.as_mut(), &shared, state);
            } else if state.open && !state.queue.is_empty() {
                let (text, shown, lines) = self.batch(&mut state);
                // Taken from the queue: the main loop may read more while
                // rustyline writes these.
                self.backlog.shown(shown);
                let len = text.len();
                state.unconfirmed = Some(Unconfirmed {
                    copy: (len <= COPY_MAX).then(|| text.clone()),
                    lines,
                });
                let started = Instant::now();
                state.printing = Some(started);
                drop(state);
                let printed = self.printer.print(text).is_ok();
                self.pace(len, started.elapsed());
                state = shared.lock();
                // The sentinel goes in the same call (while rustyline may
                // still be in raw mode, closing the gate waits for it).
                if printed {
                    state = sentinel(self.printer.as_mut(), &shared, state);
                } else {
                    state.printing = None;
                }
                state.taken = Some(Instant::now());
                state.unconfirmed = None;
                shared.notify();
            } else if state.may_write_straight() {
                let (text, shown, _) = self.batch(&mut state);
                state.direct = true;
                drop(state);
                write_direct(&text);
                state = shared.lock();
                state.direct = false;
                self.backlog.shown(shown);
                shared.notify();
            } else {
                state = shared.wait(state);
            }
        }
    }

    /// The size of the next message, after one of `len` bytes waited
    /// `waited` for rustyline to take it: the time it took to write the one
    /// before (of about the same size), if it waited at all.
    fn pace(&mut self, len: usize, waited: Duration) {
        self.batch = if waited > Duration::from_millis(1) {
            let per_second = len as f64 / waited.as_secs_f64();
            (per_second * BATCH_TIME.as_secs_f64()) as usize
        } else {
            self.batch.saturating_mul(4)
        }
        .clamp(BATCH_MIN, BATCH_MAX);
    }

    /// Takes lines from the queue (up to the batch's size, or one chunk
    /// however large), logs them, and joins them, after the bell and the
    /// title if they are due. Returns the text, the bytes it takes from the
    /// backlog, and its lines. A chunk is never copied: the others join the
    /// first (and a chunk that would not fit waits for the next batch), and
    /// the bell and the title go into the room [`RichScreen`] leaves at its
    /// start.
    ///
    /// [`RichScreen`]: super::RichScreen
    fn batch(&mut self, state: &mut State) -> (String, usize, usize) {
        let mut text = String::new();
        let (mut counted, mut lines, mut messages) = (0, 0, 0);
        let mut log = lock(&self.log);
        while let Some(chunk) = state.queue.front() {
            if lines > 0 && text.len() + chunk.text.len() > self.batch {
                break;
            }
            let Some(chunk) = state.queue.pop_front() else {
                break;
            };
            for (at, line) in &chunk.plain {
                log.write(*at, std::iter::once(line.as_str()));
            }
            counted += chunk.counted;
            lines += chunk.lines;
            messages += chunk.messages;
            if text.is_empty() {
                text = chunk.text;
            } else {
                text.push_str(&chunk.text);
            }
        }
        drop(log);
        let mut before = String::new();
        if messages > 0 && matches!(state.phase, Phase::Chatting { .. }) {
            state.unread += messages;
            if self.bell {
                before.push_str(terminal::BELL);
            }
        }
        before.push_str(&retitle(state));
        if !before.is_empty() {
            text.insert_str(0, &before);
        }
        (text, counted, lines)
    }
}

/// Gives rustyline a sentinel, which shows nothing but makes it draw the
/// edit rows again; returns once it is taken, or waits (the lock is let go
/// meanwhile).
fn sentinel<'a>(
    printer: &mut (dyn ExternalPrinter + Send),
    shared: &'a Shared,
    mut state: MutexGuard<'a, State>,
) -> MutexGuard<'a, State> {
    state.printing = Some(Instant::now());
    drop(state);
    let _ = printer.print(SENTINEL.to_string());
    let mut state = shared.lock();
    state.printing = None;
    shared.notify();
    state
}

/// The title escape sequence if the title should change, else nothing.
pub(crate) fn retitle(state: &mut State) -> String {
    let title = state.phase.title(state.unread);
    if title == state.title {
        return String::new();
    }
    let set = terminal::set_title(&title);
    state.title = title;
    set
}

/// Writes to the terminal, straight (no `readline` runs, or none will).
/// If the terminal is gone there is nobody to tell.
pub(crate) fn write_direct(text: &str) {
    let _ = write_whole(&mut io::stdout().lock(), text.as_bytes());
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
