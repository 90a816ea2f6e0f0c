//! The rich front end: rustyline reads the lines (editing, history, search,
//! completion, paste), and incoming lines are printed above its prompt
//! through rustyline's external printer.
//!
//! Three threads: the main loop, which never waits for the terminal (it
//! queues lines here, and stops reading the server while more than
//! [`BACKLOG_LIMIT`] waits); the `readline` thread ([`readline`]), which
//! runs rustyline and sends what is typed to the main loop; and the printer
//! thread ([`printer`]), the one owner of the external printer.
//! [`shared`] holds what they share, and how lines reach the terminal
//! once each and in order whatever rustyline is doing.
//!
//! - `phase`: asking for a name, chatting, offline: the prompt and the title.
//! - `complete`: what Tab offers. `style`: colours, timestamps, and what the
//!   neutraliser wrote in reverse video. `files`: the history's place and
//!   the log. `terminal`: the modes saved and put back, Ctrl-Z, the title.

mod complete;
mod files;
mod helper;
mod phase;
mod printer;
mod readline;
mod shared;
mod style;
mod terminal;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Local;
use tokio::sync::mpsc::UnboundedSender;

use super::command::Dialect;
use super::inputs::{Budget, UserInput};
use super::render::Line;
use super::safe::SafeText;
use super::screen::{Backlog, Screen};
use super::settings::Settings;
use super::text;
use files::Log;
use phase::Phase;
use printer::{lock, write_direct, Printer};
use readline::Reader;
use shared::{Chunk, Parked, Shared};
use style::{Palette, Style};

/// How much may wait for the terminal before the main loop stops reading
/// the server: enough for any burst a person can read, little enough to
/// show in a moment, and to keep a flood in bounded memory.
const BACKLOG_LIMIT: usize = 1 << 20;

/// The room left at the start of the lines of one read of the socket, for
/// what goes before them (the bell, a title: see `printer`), so that a huge
/// line is not copied to make room.
const BEFORE_ROOM: usize = 512;

/// On the way out, how long a `readline` under way has to stop (at once,
/// unless it waits for a key in a search).
const STOP_WAIT: Duration = Duration::from_millis(250);
/// ... and a message being given to it, to be taken.
const PRINT_WAIT: Duration = Duration::from_millis(50);
/// ... and the lines still waiting, to be written (the rest are counted;
/// `--log` has them).
const SHOW_LEFT_TIME: Duration = Duration::from_millis(500);

/// Shows lines above the prompt, through the printer thread.
pub(super) struct RichScreen {
    shared: Arc<Shared>,
    /// Lines added and not yet given to the printer thread; when they came
    /// (together: from one read of the socket), and whether they are logged.
    pending: Chunk,
    pending_at: Option<(chrono::DateTime<Local>, bool)>,
    backlog: Arc<Backlog>,
    style: Style,
    log: Arc<Mutex<Log>>,
    finished: bool,
    /// The server, which names the history and the log.
    address: String,
    port: u16,
}

impl Screen for RichScreen {
    fn add(&mut self, line: &Line<'_>) {
        let log = &self.log;
        let (at, logging) = *self
            .pending_at
            .get_or_insert_with(|| (Local::now(), lock(log).logging()));
        let pending = &mut self.pending;
        if pending.text.is_empty() {
            // Room for the bell and the title, which go first.
            pending.text.reserve(line.len() + BEFORE_ROOM);
        }
        self.style.push_line(&mut pending.text, line, at);
        pending.text.push('\n');
        pending.lines += 1;
        pending.messages += usize::from(matches!(line, Line::From { .. }));
        pending.counted += line.len();
        if logging {
            pending.plain.push((at, line.plain()));
        }
    }

    fn flush(&mut self) {
        self.pending_at = None;
        if self.pending.lines > 0 {
            let chunk = std::mem::take(&mut self.pending);
            self.backlog.add(chunk.counted);
            self.shared.show(chunk);
        }
    }

    fn show_final(&mut self, lines: &[Line<'_>]) {
        for line in lines {
            self.add(line);
        }
        self.finish();
    }

    fn dialect(&self) -> Dialect {
        Dialect::Rich
    }

    fn reconnects(&self) -> bool {
        true
    }

    fn ask_name(&mut self) {
        self.shared.lock().ask(Phase::AskingName);
        self.shared.notify();
    }

    fn logged_in(&mut self, name: &SafeText<'_>) {
        let name = name.clone().into_owned();
        self.style.me = Some(name.to_string());
        let warning = lock(&self.log).open(&self.address, self.port, &name);
        let mut state = self.shared.lock();
        state.hold(Phase::Chatting { me: name.clone() });
        state.login = Some(name);
        drop(state);
        self.shared.notify();
        if let Some(warning) = warning {
            self.shared.own_line(Line::notice(warning));
        }
    }

    fn caught_up(&mut self) {
        self.shared.lock().release();
        self.shared.notify();
    }

    fn offline(&mut self) {
        let mut state = self.shared.lock();
        if let Phase::Chatting { me } = &state.phase {
            state.phase = Phase::Offline { me: me.clone() };
        }
    }

    fn conversation(&mut self, with: Option<&SafeText<'_>>) {
        let mut state = self.shared.lock();
        state.with = with.map(|w| w.clone().into_owned());
        state.answers += 1;
        drop(state);
        self.shared.notify();
    }

    fn completes_names(&self) -> bool {
        true
    }

    fn names_changed(&mut self, names: Vec<SafeText<'static>>, listed: bool) {
        let mut state = self.shared.lock();
        state.names = names;
        if listed {
            state.names_at = Some(Instant::now());
        }
        drop(state);
        self.shared.notify();
    }

    fn backlog(&self) -> Option<Arc<Backlog>> {
        Some(Arc::clone(&self.backlog))
    }
}

impl Drop for RichScreen {
    fn drop(&mut self) {
        self.finish();
    }
}

impl RichScreen {
    /// Stops the other threads where they are, writes what rustyline has
    /// not shown and the line left half-typed, and gives the terminal back.
    /// It never waits for the user, and for rustyline briefly.
    fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.flush();
        let mut state = self.shared.lock();
        state.finishing = true;
        self.shared.notify();
        // The `readline` under way stops at its next step; the printer
        // thread gives it one. A print that waits, when rustyline is not
        // writing a message (sized to take about 50 ms), tells that it is in
        // a search, waiting for a key.
        let deadline = Instant::now() + STOP_WAIT;
        while state.reading && state.parked.is_none() && Instant::now() < deadline {
            let waits = state.printing.map(|since| since + PRINT_WAIT);
            let writing = state.taken.is_some_and(|at| at.elapsed() < STOP_WAIT);
            if waits.is_some_and(|waits| Instant::now() >= waits) && !writing {
                break;
            }
            state = self
                .shared
                .wait_until(state, waits.map_or(deadline, |waits| waits.min(deadline)));
        }
        let deadline = Instant::now() + PRINT_WAIT;
        while (state.direct || state.unconfirmed.is_some()) && Instant::now() < deadline {
            state = self.shared.wait_until(state, deadline);
        }
        let mut out = String::new();
        if state.reading && state.parked != Some(Parked::Cleared) {
            if let Some(drawn) = &state.drawn {
                let typed = drawn.line.get(..drawn.cursor).unwrap_or(&drawn.line);
                let before = format!("{}{typed}", drawn.prompt);
                out.push_str(&terminal::clear_edit_rows(&before, terminal::columns()));
            }
        }
        // A message rustyline holds (it never shows it now).
        let mut not_shown = 0;
        if let Some(held) = state.unconfirmed.take() {
            match held.copy {
                Some(copy) => out.push_str(&copy),
                None => not_shown = held.lines,
            }
        }
        let left = std::mem::take(&mut state.queue);
        let draft = std::mem::take(&mut state.draft);
        let logged_in = state.phase.me().is_some();
        let history = state.history.clone();
        drop(state);
        write_direct(&out);
        self.write_left(left, not_shown);
        // Each line of it (a paste may hold several) on its own.
        let draft: Vec<String> = draft
            .split('\n')
            .map(readline::clean)
            .filter(|line| !line.trim().is_empty())
            .collect();
        if let Some(path) = history.filter(|_| logged_in && !draft.is_empty()) {
            let _ = files::append_history(&path, &draft);
        }
        for line in &draft {
            let notice = Line::notice(text::not_sent(&SafeText::neutralise_str(line)));
            write_direct(&format!("{}\n", self.style.line(&notice, Local::now())));
        }
        write_direct(&format!(
            "{}{}{}{}",
            terminal::SYNC_END,
            terminal::PASTE_OFF,
            terminal::TITLE_RESTORE,
            terminal::SHOW_CURSOR
        ));
        self.shared.modes.restore(true);
    }

    /// Writes the lines still waiting, for [`SHOW_LEFT_TIME`] at most, and
    /// counts the rest (after `not_shown` lines already not shown).
    fn write_left(&mut self, left: impl IntoIterator<Item = Chunk>, mut not_shown: usize) {
        const PIECE: usize = 16 * 1024;
        let started = Instant::now();
        let mut log = lock(&self.log);
        for chunk in left {
            for (at, line) in &chunk.plain {
                log.write(*at, std::iter::once(line.as_str()));
            }
            // Whole lines, a few KiB at a time, while there is time.
            let mut rest = chunk.text.as_str();
            while !rest.is_empty() {
                if started.elapsed() >= SHOW_LEFT_TIME {
                    not_shown += rest.matches('\n').count();
                    break;
                }
                let cut = match rest.as_bytes().get(..PIECE) {
                    Some(piece) => piece
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(rest.len(), |i| i + 1),
                    None => rest.len(),
                };
                write_direct(&rest[..cut]);
                rest = &rest[cut..];
            }
        }
        if not_shown > 0 {
            let notice = Line::notice(text::not_shown(not_shown));
            write_direct(&format!("{}\n", self.style.line(&notice, Local::now())));
        }
    }
}

/// Takes the terminal: the `readline` thread and the printer thread. Typed
/// lines go to `inputs`.
pub(super) fn start(
    settings: &Settings,
    color: bool,
    inputs: UnboundedSender<UserInput>,
    budget: Arc<Budget>,
) -> io::Result<RichScreen> {
    let style = Style {
        palette: Palette::detect(color),
        timestamps: settings.timestamps,
        me: None,
    };
    let shared = Arc::new(Shared::new(style.clone()));
    let mut editor =
        helper::editor(&shared, &inputs, settings.edit_mode).map_err(io::Error::other)?;
    let external = editor.create_external_printer().map_err(io::Error::other)?;
    let log = Arc::new(Mutex::new(Log::new(settings.log)));
    let backlog = Backlog::new(BACKLOG_LIMIT);
    shared.modes.take_over();
    // Ctrl-Z stops the client from the `readline` thread alone.
    #[cfg(unix)]
    terminal::block_suspend(true);
    #[cfg(unix)]
    terminal::watch_continue(Arc::clone(&shared))?;
    let title = Phase::Waiting.title(0);
    write_direct(&format!(
        "{}{}",
        terminal::TITLE_SAVE,
        terminal::set_title(&title)
    ));
    shared.lock().title = title;
    let printer = Printer {
        shared: Arc::clone(&shared),
        printer: Box::new(external),
        log: Arc::clone(&log),
        bell: settings.bell,
        backlog: Arc::clone(&backlog),
        batch: printer::BATCH_FIRST,
    };
    std::thread::Builder::new()
        .name("printer".into())
        .spawn(move || printer.run())?;
    let reader = Reader {
        shared: Arc::clone(&shared),
        inputs,
        budget,
        style: style.clone(),
        history: settings.history.clone(),
        log: Arc::clone(&log),
        address: settings.address.clone(),
        port: settings.port,
        history_file: None,
        kept: Vec::new(),
    };
    std::thread::Builder::new()
        .name("readline".into())
        .spawn(move || reader.run(editor))?;
    Ok(RichScreen {
        shared,
        pending: Chunk::default(),
        pending_at: None,
        backlog,
        style,
        log,
        finished: false,
        address: settings.address.clone(),
        port: settings.port,
    })
}
