//! The terminal thread of rich mode: it owns the terminal, reads keys, edits
//! the line, and prints what arrives above it.
//!
//! Everything reaches it as a [`UiEvent`] on one channel: keys (from a
//! thread that reads standard input), lines to show and prompt changes (from
//! the main loop, which never waits for this thread), and resizes. So the
//! network side never waits for the terminal, and the terminal is only ever
//! written from here: nothing can interleave.
//!
//! The edit row is always exactly one row ([`super::draw`]), so printing a
//! line above it is: clear the row, print, draw the row again. After a
//! resize that made the terminal narrower than the row, a terminal that
//! rewraps lines (tmux, VTE, kitty, ...) has moved part of the row onto
//! the next rows; one that does not (xterm) has cut it. Which one, the
//! cursor tells: the thread asks the terminal where the cursor is, and
//! clears from the start of the row wherever it now is. Nothing above the
//! row is ever cleared, so no received line can be lost.
//!
//! `screen` prints lines and draws the edit row, in frames sized by `pace`;
//! `tab` completes; `login` opens the history and log files once logged in;
//! `leave` gives the terminal back.

mod leave;
mod login;
mod pace;
mod screen;
mod tab;

use pace::Pace;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};
use tokio::sync::mpsc::UnboundedSender;

use super::draw::Prompt;
use super::editor::{Editor, Outcome};
use super::files::Files;
use super::keys::{Decoder, Key, TermInput};
use super::phase::Phase;
use super::style::Style;
use super::terminal::{self, Modes};
use crate::client::command::QUIT;
use crate::client::inputs::{Budget, Typed, UserInput};
use crate::client::output::write_out;
use crate::client::render::Line;
use crate::client::safe::SafeText;
use crate::client::screen::Backlog;
use crate::client::settings::HistoryChoice;

/// What the terminal thread is told.
pub(crate) enum UiEvent {
    /// Bytes the user's terminal sent.
    Keys(Vec<u8>),
    /// Standard input ended.
    InputClosed,
    /// Lines to show, in order, with when they came, and their size (what
    /// the backlog counts).
    Lines(Vec<(Line<'static>, DateTime<Local>)>, usize),
    /// Ask for a name.
    AskName,
    /// Logged in as `name` to the server at `address`:`port`.
    LoggedIn {
        name: SafeText<'static>,
        address: String,
        port: u16,
    },
    /// The connection is lost; the client tries to reconnect.
    Offline,
    /// The current conversation.
    Conversation(Option<SafeText<'static>>),
    /// Names to complete, in the order to offer them.
    Names(Vec<SafeText<'static>>),
    /// The terminal may have changed size.
    Resize,
    /// Show what is left, give the terminal back, then say so.
    Finish(Sender<()>),
}

/// Settings of the terminal thread.
pub(crate) struct UiOptions {
    pub(crate) style: Style,
    pub(crate) history: HistoryChoice,
    pub(crate) log: bool,
    pub(crate) bell: bool,
}

/// How long a lone ESC waits for the rest of a sequence.
const ESCAPE_WAIT: Duration = Duration::from_millis(40);
/// How long the terminal may take to say where the cursor is.
const CURSOR_WAIT: Duration = Duration::from_millis(300);
/// On the way out, lines still held are printed for this long at most; the
/// rest are counted, not shown (they are in the log, with `--log`).
pub(crate) const SHOW_LEFT_TIME: Duration = Duration::from_millis(500);
/// How long Tab waits for a fresh list of names.
const NAMES_WAIT: Duration = Duration::from_millis(300);
/// At most this many lines shown before login are kept for the log.
const EARLY_LINES: usize = 100;
/// A list of names older than this is refreshed when Tab is pressed.
const NAMES_MAX_AGE: Duration = Duration::from_secs(5);

/// The terminal thread's state.
pub(crate) struct Ui {
    out: Box<dyn Write + Send>,
    /// What is to be written at the end of the current event, in one go.
    frame: String,
    /// The terminal's pace, and so the size of the next frame.
    pace: Pace,
    modes: Modes,
    inputs: UnboundedSender<UserInput>,
    budget: Arc<Budget>,
    backlog: Arc<Backlog>,
    /// Bytes of lines taken from the backlog and not yet written.
    taken: usize,
    /// The title or the bell are due at the next write.
    title_due: bool,
    bell_due: bool,
    options: UiOptions,
    editor: Editor,
    decoder: Decoder,
    phase: Phase,
    /// The current conversation, kept across reconnects.
    with: Option<SafeText<'static>>,
    prompt: Prompt,
    scroll: usize,
    columns: usize,
    /// The terminal is known to rewrap lines ([`terminal::known_to_rewrap`]).
    rewraps: bool,
    drawn: Option<screen::Drawn>,
    /// A resize made the terminal narrower than the row: waiting for the
    /// terminal to say where the cursor is.
    resizing: Option<(Instant, screen::Drawn)>,
    /// Lines that came while resizing, shown after.
    held: VecDeque<String>,
    names: Vec<SafeText<'static>>,
    names_at: Option<Instant>,
    /// Tab waits for fresh names until then.
    tab_wait: Option<Instant>,
    /// Messages since the user last pressed a key.
    unread: usize,
    files: Files,
    /// Lines typed while offline (kept in the history under a new name too).
    typed_offline: Vec<String>,
    /// Lines shown before login, for the log.
    early: Vec<(DateTime<Local>, String)>,
    finished: bool,
}

impl Ui {
    pub(crate) fn new(
        out: Box<dyn Write + Send>,
        modes: Modes,
        inputs: UnboundedSender<UserInput>,
        budget: Arc<Budget>,
        backlog: Arc<Backlog>,
        options: UiOptions,
    ) -> Ui {
        Ui {
            out,
            frame: String::new(),
            pace: Pace::default(),
            modes,
            inputs,
            budget,
            backlog,
            taken: 0,
            title_due: false,
            bell_due: false,
            options,
            editor: Editor::default(),
            decoder: Decoder::default(),
            phase: Phase::Waiting,
            with: None,
            prompt: Prompt::none(),
            scroll: 0,
            columns: terminal::columns(),
            rewraps: terminal::known_to_rewrap(),
            drawn: None,
            resizing: None,
            held: VecDeque::new(),
            names: Vec::new(),
            names_at: None,
            tab_wait: None,
            unread: 0,
            files: Files::default(),
            typed_offline: Vec::new(),
            early: Vec::new(),
            finished: false,
        }
    }

    /// Runs until told to finish (or until nobody can tell it anything).
    pub(crate) fn run(mut self, events: Receiver<UiEvent>) {
        self.frame.push_str(terminal::PASTE_ON);
        self.frame.push_str(terminal::TITLE_SAVE);
        self.set_title();
        self.write_frame();
        while !self.finished {
            let event = match self.deadline() {
                Some(deadline) => {
                    match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(event) => Some(event),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                None => match events.recv() {
                    Ok(event) => Some(event),
                    Err(_) => break,
                },
            };
            match event {
                Some(event) => self.on_event(event),
                None => self.on_timeout(),
            }
            // Everything else already waiting, then one write for all of it:
            // under a flood, one redraw of the edit row per write, not per
            // line.
            while !self.finished {
                match events.try_recv() {
                    Ok(event) => self.on_event(event),
                    Err(_) => break,
                }
            }
            self.output();
        }
        if !self.finished {
            self.finish();
            self.write_frame();
        }
    }

    /// The earliest moment something must happen without an event.
    fn deadline(&self) -> Option<Instant> {
        let escape = self
            .decoder
            .pending_escape()
            .then(|| Instant::now() + ESCAPE_WAIT);
        [
            escape,
            self.resizing.as_ref().map(|(at, _)| *at),
            self.tab_wait,
            // More lines to print: at once, after the keys that came.
            self.printable().then(Instant::now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timeout(&mut self) {
        let now = Instant::now();
        if self.decoder.pending_escape() {
            let mut inputs = Vec::new();
            self.decoder.flush_escape(&mut inputs);
            self.on_inputs(inputs);
        }
        if self.resizing.as_ref().is_some_and(|(at, _)| *at <= now) {
            // No answer: assume the row was not rewrapped.
            self.resized(0);
        }
        if self.tab_wait.is_some_and(|at| at <= now) {
            self.tab_wait = None;
            self.complete_now();
        }
    }

    fn on_event(&mut self, event: UiEvent) {
        match event {
            UiEvent::Keys(bytes) => {
                let mut inputs = Vec::new();
                self.decoder.feed(&bytes, &mut inputs);
                self.on_inputs(inputs);
            }
            UiEvent::InputClosed => {
                let _ = self.inputs.send(UserInput::Eof);
            }
            UiEvent::Lines(lines, bytes) => {
                self.taken += bytes;
                self.show(lines);
            }
            UiEvent::AskName => self.set_phase(Phase::AskingName),
            UiEvent::LoggedIn {
                name,
                address,
                port,
            } => self.logged_in(name, &address, port),
            UiEvent::Offline => {
                if let Phase::Chatting { me } = &self.phase {
                    let me = me.clone();
                    self.set_phase(Phase::Offline { me });
                }
            }
            UiEvent::Conversation(with) => {
                self.with = with;
                self.set_phase(self.phase.clone());
            }
            UiEvent::Names(names) => {
                self.names = names;
                self.names_at = Some(Instant::now());
                if self.tab_wait.take().is_some() {
                    self.complete_now();
                }
            }
            UiEvent::Resize => self.check_size(),
            UiEvent::Finish(done) => {
                self.finish();
                self.write_frame();
                let _ = done.send(());
            }
        }
    }

    fn on_inputs(&mut self, inputs: Vec<TermInput>) {
        for input in inputs {
            match input {
                TermInput::Key(key) => self.on_key(key),
                TermInput::Paste(text) => self.on_paste(&text),
                TermInput::CursorAt { col, .. } => self.on_cursor_report(usize::from(col)),
            }
        }
    }

    fn on_key(&mut self, key: Key) {
        if self.unread > 0 {
            self.unread = 0;
            self.set_title();
        }
        match self.editor.handle(key) {
            Outcome::Edited => self.draw_row(),
            Outcome::Nothing => {}
            Outcome::Submit(line) => self.submit(line),
            Outcome::Interrupt => {
                let _ = self.inputs.send(UserInput::Interrupt);
            }
            Outcome::Eof => {
                let _ = self.inputs.send(UserInput::Eof);
            }
            Outcome::Complete => self.start_completion(),
            Outcome::ClearScreen => {
                self.frame.push_str(terminal::CLEAR_SCREEN);
                self.drawn = None;
                self.draw_row();
            }
            Outcome::Suspend => self.suspend(),
        }
    }

    /// A paste is typed as it is: each line break is Enter, so N pasted
    /// lines are N lines sent, in order, each in the history; what follows
    /// the last line break stays on the edit row.
    fn on_paste(&mut self, text: &str) {
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut pieces = text.split('\n').peekable();
        while let Some(piece) = pieces.next() {
            let clean: String = piece
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control() && !crate::client::safe::needs_escape(*c))
                .collect();
            self.editor.insert(&clean);
            if pieces.peek().is_some() {
                let line = self.editor.take();
                self.submit(line);
            }
        }
        self.draw_row();
    }

    /// Enter: the line stays on the screen after its prompt, and goes to the
    /// main loop.
    fn submit(&mut self, line: String) {
        // What was typed stays on the screen as a line like the others,
        // after those that came before it.
        let now = Local::now();
        // The user's own text, typed or pasted: the editor holds no control
        // characters.
        let shown = [
            self.options.style.stamp(now),
            self.prompt.styled.clone(),
            line.clone(),
        ];
        self.held.push_back(shown.concat());
        if self.logging() {
            let echo = SafeText::concat(&[&self.prompt.text(), &SafeText::neutralise_str(&line)]);
            self.log(now, std::iter::once(echo.as_str()));
        }
        let logged_in = matches!(self.phase, Phase::Chatting { .. } | Phase::Offline { .. });
        if logged_in && line.trim() != QUIT {
            self.remember(&line);
            if matches!(self.phase, Phase::Offline { .. }) {
                self.typed_offline.push(line.clone());
            }
        }
        if self.phase == Phase::AskingName {
            // The prompt comes back when the client asks again.
            self.set_phase(Phase::Waiting);
        }
        let permit = self.budget.take(line.len());
        let _ = self
            .inputs
            .send(UserInput::Line(Typed { text: line, permit }));
        // The line, and the empty row after it.
        self.print_held();
    }

    fn warn(&mut self, line: SafeText<'static>) {
        self.show(vec![(Line::notice(line), Local::now())]);
    }

    /// A notice as shown now, styled (with the time, if timestamps are on).
    fn notice_now(&self, line: SafeText<'static>) -> String {
        self.options.style.line(&Line::notice(line), Local::now())
    }

    /// Prints what is held, rings and retitles as due, and writes it all.
    fn output(&mut self) {
        self.print_held();
        if std::mem::take(&mut self.bell_due) {
            self.frame.push_str(terminal::BELL);
        }
        if std::mem::take(&mut self.title_due) {
            self.set_title();
        }
        self.write_frame();
    }

    fn write_frame(&mut self) {
        if !self.frame.is_empty() {
            let frame = std::mem::take(&mut self.frame);
            self.pace.writing();
            // If the terminal is gone there is nobody to tell.
            let _ = write_out(
                &mut self.out,
                &mut [std::io::IoSlice::new(frame.as_bytes())],
            );
            let _ = self.out.flush();
            self.pace.wrote(frame.len());
        }
        if self.held.is_empty() {
            // All the lines taken are on the terminal now.
            self.backlog.shown(std::mem::take(&mut self.taken));
            self.pace.caught_up();
        }
    }
}
