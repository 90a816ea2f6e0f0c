//! The rich front end: a prompt with line editing, history, completion,
//! conversations and colour, with incoming lines printed above it.
//!
//! - `keys`: the bytes of the terminal as keys, pastes and cursor reports.
//! - `editor`: the line editor (emacs keys, history, Ctrl-R).
//! - `draw`: the edit row, one row whatever its length.
//! - `complete`: Tab.
//! - `style`: colours, sender colours, timestamps.
//! - `files`: the history and the log, per server and name.
//! - `phase`: asking for a name, chatting, offline: the prompt and the title.
//! - `terminal`: modes, size and control sequences.
//! - `ui`: the thread that owns the terminal (`ui/screen.rs`: what it draws;
//!   `ui/pace.rs`: how much at a time; `ui/tab.rs`: completing;
//!   `ui/login.rs`: the files opened at login; `ui/leave.rs`: Ctrl-Z and
//!   the way out).
//!
//! The terminal belongs to a thread of its own ([`ui`]); the main loop sends
//! it lines and prompt changes and never waits for it, so the network and
//! the session go on whatever the terminal or the user are doing. Why not a
//! readline crate: rustyline, which this front end used before, blocks the
//! thread that prints while its editor is in a sub-mode (Ctrl-R, Tab), and
//! redraws a wrapped line from the wrong row after a resize on terminals
//! that rewrap lines, erasing lines above it; neither can be fixed from
//! outside it. The editing itself is small and is tested here key by key.

mod complete;
mod draw;
mod editor;
mod files;
mod keys;
mod phase;
mod style;
mod terminal;
mod ui;

use std::io::{self, Read};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use chrono::Local;
use tokio::sync::mpsc::UnboundedSender;

use super::command::Dialect;
use super::inputs::{Budget, UserInput};
use super::output::unbuffered_stdout;
use super::render::Line;
use super::safe::SafeText;
use super::screen::{Backlog, Screen};
use super::settings::Settings;
use style::{Palette, Style};
use terminal::Modes;
use ui::{Ui, UiEvent, UiOptions, SHOW_LEFT_TIME};

/// How long quitting waits for the terminal thread to give the terminal back:
/// the time it may spend printing what is left, and the writes around it.
/// However small, a write to a slow terminal can wait long: the kernel wakes
/// a writer only once the terminal has taken a good part of its buffer (up
/// to 0.7 s measured at 25 KB/s), and the frame under way, the last one
/// shown and the last notice may each wait that long.
const FINISH_TIME: Duration = SHOW_LEFT_TIME.saturating_add(Duration::from_millis(2500));

/// How much may wait for the terminal thread before the main loop stops
/// reading the server: enough for any burst a person can read, little
/// enough to show in a moment, and to keep a flood in bounded memory.
const BACKLOG_LIMIT: usize = 1 << 20;

/// Shows lines above the prompt, through the terminal thread.
pub(super) struct RichScreen {
    events: std_mpsc::Sender<UiEvent>,
    /// Lines added and not yet sent to the terminal thread.
    batch: Vec<(Line<'static>, chrono::DateTime<Local>)>,
    /// The terminal's settings, to put back if the thread cannot.
    modes: Modes,
    /// What the terminal thread was given and has not shown yet.
    backlog: Arc<Backlog>,
    finished: bool,
    /// The server, which names the history and the log.
    address: String,
    port: u16,
}

impl RichScreen {
    /// Tells the terminal thread to show what is left and give the terminal
    /// back, and waits (briefly) for it.
    fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.flush();
        let (done, finished) = std_mpsc::channel();
        if self.events.send(UiEvent::Finish(done)).is_err()
            || finished.recv_timeout(FINISH_TIME).is_err()
        {
            // The thread is stuck (a terminal that does not take output):
            // at least the settings go back.
            self.modes.restore();
        }
    }

    fn tell(&self, event: UiEvent) {
        // If the terminal thread is gone, the program is ending anyway.
        let _ = self.events.send(event);
    }
}

impl Drop for RichScreen {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Screen for RichScreen {
    fn add(&mut self, line: &Line<'_>) {
        self.batch.push((line.clone().into_owned(), Local::now()));
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            let bytes = batch.iter().map(|(line, _)| line.len()).sum();
            self.backlog.add(bytes);
            self.tell(UiEvent::Lines(batch, bytes));
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
        self.tell(UiEvent::AskName);
    }

    fn logged_in(&mut self, name: &SafeText<'_>) {
        self.tell(UiEvent::LoggedIn {
            name: name.clone().into_owned(),
            address: self.address.clone(),
            port: self.port,
        });
    }

    fn offline(&mut self) {
        self.tell(UiEvent::Offline);
    }

    fn conversation(&mut self, with: Option<&SafeText<'_>>) {
        self.tell(UiEvent::Conversation(with.map(|w| w.clone().into_owned())));
    }

    fn completes_names(&self) -> bool {
        true
    }

    fn names_changed(&mut self, names: Vec<SafeText<'static>>) {
        self.tell(UiEvent::Names(names));
    }

    fn backlog(&self) -> Option<Arc<Backlog>> {
        Some(Arc::clone(&self.backlog))
    }
}

/// Takes the terminal: raw mode, the terminal thread, the thread that reads
/// keys, and the one that watches for resizes. Typed lines go to `inputs`.
pub(super) fn start(
    settings: &Settings,
    color: bool,
    inputs: UnboundedSender<UserInput>,
    budget: Arc<Budget>,
) -> io::Result<RichScreen> {
    let modes = Modes::raw()?;
    let (events, events_rx) = std_mpsc::channel();
    let options = UiOptions {
        style: Style {
            palette: Palette::detect(color),
            timestamps: settings.timestamps,
            me: None,
        },
        history: settings.history.clone(),
        log: settings.log,
        bell: settings.bell,
    };
    let backlog = Backlog::new(BACKLOG_LIMIT);
    let ui = Ui::new(
        unbuffered_stdout(),
        modes.clone(),
        inputs,
        Arc::clone(&budget),
        Arc::clone(&backlog),
        options,
    );
    std::thread::Builder::new()
        .name("terminal".into())
        .spawn(move || ui.run(events_rx))?;
    spawn_key_reader(events.clone(), budget);
    watch_resizes(events.clone());
    Ok(RichScreen {
        events,
        batch: Vec::new(),
        modes,
        backlog,
        finished: false,
        address: settings.address.clone(),
        port: settings.port,
    })
}

/// Reads standard input on a thread of its own and passes the bytes on.
/// Before each read it waits for room in `budget`, so that a paste cannot
/// be read faster than the server takes it. A blocking read cannot be
/// cancelled: the thread ends with the process.
fn spawn_key_reader(events: std_mpsc::Sender<UiEvent>, budget: Arc<Budget>) {
    std::thread::spawn(move || {
        let mut buf = vec![0; 4096];
        loop {
            budget.wait_for_room();
            match io::stdin().lock().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if events.send(UiEvent::Keys(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = events.send(UiEvent::InputClosed);
    });
}

/// Passes the terminal's resize signal (SIGWINCH) to the terminal thread.
fn watch_resizes(events: std_mpsc::Sender<UiEvent>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut resizes) = signal(SignalKind::window_change()) else {
            return;
        };
        tokio::spawn(async move {
            while resizes.recv().await.is_some() {
                if events.send(UiEvent::Resize).is_err() {
                    break;
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = events;
}
