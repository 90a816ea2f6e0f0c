//! The `readline` thread: rustyline reads each line with the prompt of the
//! moment, and the line goes to the main loop; the history is kept per
//! server and name. The editor's helper is in [`super::helper`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::Editor;
use tokio::sync::mpsc::UnboundedSender;

use super::files::{history_path, open_private, warning, Log};
use super::helper::ChatHelper;
use super::phase::Phase;
use super::printer::{lock, write_direct};
use super::shared::{PromptWait, Shared};
use super::style::Style;
use super::terminal;
use crate::client::command::{Command, Dialect, QUIT};
use crate::client::inputs::{Budget, Typed, UserInput};
use crate::client::render::Line;
use crate::client::safe::SafeText;
use crate::client::settings::HistoryChoice;
use crate::client::text;

/// How long a line that may change the prompt waits for the main loop.
const ANSWER_WAIT: Duration = Duration::from_millis(300);

/// What the `readline` thread has.
pub(crate) struct Reader {
    pub(crate) shared: Arc<Shared>,
    pub(crate) inputs: UnboundedSender<UserInput>,
    pub(crate) budget: Arc<Budget>,
    pub(crate) style: Style,
    pub(crate) history: HistoryChoice,
    pub(crate) log: Arc<Mutex<Log>>,
    /// The server, which names the history.
    pub(crate) address: String,
    pub(crate) port: u16,
    pub(crate) history_file: Option<PathBuf>,
    /// Lines not sent since the last login, for its history too.
    pub(crate) kept: Vec<String>,
}

impl Reader {
    /// Reads lines until the user quits or the program ends.
    pub(crate) fn run(mut self, mut editor: Editor<ChatHelper, FileHistory>) {
        #[cfg(unix)]
        terminal::block_suspend(false);
        // The line being typed when Ctrl-Z stopped the client, and the
        // cursor in it.
        let mut resumed: Option<(String, usize)> = None;
        while let Some((prompt, styled, typed_for)) = self.next_prompt(&mut editor) {
            let prompt_styled = (prompt.as_str(), styled.as_str());
            let read = match &resumed {
                Some((draft, cursor)) => {
                    editor.readline_with_initial(&prompt_styled, draft.split_at(*cursor))
                }
                None => editor.readline(&prompt_styled),
            };
            let mut state = self.shared.lock();
            let clearing = std::mem::take(&mut state.clearing)
                && matches!(read, Err(ReadlineError::Interrupted));
            if clearing {
                // Before anything may be written straight to the terminal;
                // rustyline has ended the line with a line break.
                let rows = format!("{prompt}{}\n", state.draft);
                write_direct(&terminal::clear_edit_rows(&rows, terminal::columns()));
                state.draft.clear();
            }
            state.reading = false;
            state.open = false;
            state.drawn = None;
            let suspending = state.suspending.take();
            // A line read is sent; any other end keeps the line typed for
            // the way out (a terminal that cannot be read any more included).
            if read.is_ok() && suspending.is_none() {
                state.draft.clear();
            }
            drop(state);
            self.shared.notify();
            let goes_on = match read {
                #[cfg(unix)]
                Ok(draft) if suspending.is_some() => {
                    if !terminal::suspend(&self.shared.modes) {
                        // Not stopped: the line is read on where it was.
                        let rows = format!("{prompt}{draft}\n");
                        write_direct(&terminal::clear_edit_rows(&rows, terminal::columns()));
                    }
                    self.shared.lock().suspended = true;
                    let cursor = suspending.unwrap_or(0).min(draft.len());
                    let cursor = (0..=cursor)
                        .rev()
                        .find(|&at| draft.is_char_boundary(at))
                        .unwrap_or(0);
                    resumed = Some((draft, cursor));
                    continue;
                }
                Ok(text) => self.submit(&mut editor, &text, &typed_for, &prompt),
                Err(ReadlineError::Interrupted) if clearing => true,
                Err(ReadlineError::Interrupted) => {
                    let _ = self.inputs.send(UserInput::Interrupt);
                    false
                }
                // Ctrl-D on an empty line, or a terminal that cannot be read.
                Err(_) => {
                    let _ = self.inputs.send(UserInput::Eof);
                    false
                }
            };
            resumed = None;
            if !goes_on {
                break;
            }
        }
        // Nothing more is read. The editor stays: what its printer may still
        // hold is shown, or written on the way out (see `super::finish`).
        let mut state = self.shared.lock();
        loop {
            state = self.shared.wait(state);
        }
    }

    /// Waits until there is a prompt to show (none while a login attempt
    /// runs), and opens the history of a new login first. `None` once the
    /// program ends.
    fn next_prompt(
        &mut self,
        editor: &mut Editor<ChatHelper, FileHistory>,
    ) -> Option<(String, String, Phase)> {
        let mut state = self.shared.lock();
        loop {
            if state.finishing {
                return None;
            }
            if let Some(name) = state.login.take() {
                drop(state);
                self.logged_in(editor, &name);
                state = self.shared.lock();
                continue;
            }
            if let Some((prompt, styled)) = state.phase.prompt(state.with.as_ref(), &self.style) {
                if state.prompt_may_start() {
                    state.reading = true;
                    state.keyed = false;
                    // A new line: Tab lists names for it again, and it is
                    // drawn whole.
                    state.listed = None;
                    state.redraw = false;
                    state.searching = false;
                    state.prompt = prompt.clone();
                    return Some((prompt, styled, state.phase.clone()));
                }
            } else if std::mem::take(&mut state.prompt_waits) != PromptWait::Nothing {
                // No prompt after all: the lines waiting are written straight.
                self.shared.notify();
            }
            state = self.shared.wait(state);
        }
    }

    /// Logged in as `name`: the history of this server and name, with the
    /// lines kept unsent since the last login.
    fn logged_in(&mut self, editor: &mut Editor<ChatHelper, FileHistory>, name: &SafeText<'_>) {
        self.style.me = Some(name.to_string());
        let path = history_path(&self.history, &self.address, self.port, name);
        let kept = std::mem::take(&mut self.kept);
        if path == self.history_file {
            return;
        }
        let _ = editor.clear_history();
        self.history_file = None;
        if let Some(path) = path {
            let opened = open_private(&path)
                .map_err(ReadlineError::from)
                .and_then(|_| editor.load_history(&path));
            match opened {
                Ok(()) => self.history_file = Some(path),
                Err(err) => self.warn(warning(text::no_history, &path, &err)),
            }
        }
        self.shared.lock().history = self.history_file.clone();
        for line in kept {
            self.remember(editor, &line);
        }
    }

    fn warn(&self, line: SafeText<'static>) {
        self.shared.own_line(Line::notice(line));
    }

    /// Adds a line to the history (and its file).
    fn remember(&mut self, editor: &mut Editor<ChatHelper, FileHistory>, line: &str) {
        if !matches!(editor.add_history_entry(line), Ok(true)) {
            return;
        }
        if let Some(path) = &self.history_file {
            if let Err(err) = editor.append_history(path) {
                let warning = warning(text::no_history, path, &err);
                self.history_file = None;
                self.shared.lock().history = None;
                self.warn(warning);
            }
        }
    }

    /// Enter: each line of what was typed (a paste may hold several), in
    /// order. A line goes to the main loop only when the client wants what
    /// its prompt asked for: one name at the name prompt, messages and
    /// commands at the chat prompt while connected. Any other line is not
    /// sent, says so, and is kept in the history (also of the next login),
    /// so that a line meant for the chat never becomes a name, nor a name a
    /// message. False after `!quit`, whose following lines are left for the
    /// way out.
    fn submit(
        &mut self,
        editor: &mut Editor<ChatHelper, FileHistory>,
        text: &str,
        typed_for: &Phase,
        prompt: &str,
    ) -> bool {
        let mut lines: Vec<String> = text.split('\n').map(clean).collect();
        if lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        let answers = self.shared.lock().answers;
        let mut sent = 0;
        for (i, line) in lines.iter().enumerate() {
            if lock(&self.log).logging() {
                let echo = SafeText::neutralise_str(&format!("{prompt}{line}")).into_owned();
                lock(&self.log).write(chrono::Local::now(), std::iter::once(echo.as_str()));
            }
            if line.trim().is_empty() {
                continue;
            }
            let quit = line.trim() == QUIT;
            let mut state = self.shared.lock();
            let refused = match (typed_for, &state.phase) {
                _ if quit => None,
                (Phase::AskingName, Phase::AskingName) => {
                    // The prompt comes back when the client asks again.
                    state.phase = Phase::Waiting;
                    None
                }
                (Phase::Chatting { .. } | Phase::Offline { .. }, Phase::Chatting { .. }) => None,
                (Phase::Chatting { .. } | Phase::Offline { .. }, Phase::Offline { .. }) => {
                    Some(SafeText::from(text::NOT_CONNECTED))
                }
                _ => Some(text::not_sent(&SafeText::neutralise_str(line))),
            };
            if quit {
                state.draft = lines[i + 1..].join("\n");
            }
            drop(state);
            if let Some(notice) = refused {
                self.remember(editor, line);
                self.kept.push(line.clone());
                self.warn(notice);
                continue;
            }
            if !quit && *typed_for != Phase::AskingName {
                self.remember(editor, line);
            }
            let typed = Typed {
                text: line.clone(),
                permit: self.budget.take(line.len()),
            };
            if self.inputs.send(UserInput::Line(typed)).is_err() || quit {
                return false;
            }
            sent += 1;
        }
        // A line that changes the conversation: the next prompt shows it.
        if let [line] = lines.as_slice() {
            if sent == 1
                && matches!(
                    Command::parse(line, Dialect::Rich),
                    Command::Converse(_) | Command::Reply("")
                )
            {
                let deadline = Instant::now() + ANSWER_WAIT;
                let mut state = self.shared.lock();
                while state.answers == answers && Instant::now() < deadline {
                    state = self.shared.wait_until(state, deadline);
                }
            }
        }
        true
    }
}

/// A typed line without control characters (a paste may bring them), and
/// with tabs as spaces. A carriage return (typed with Ctrl-V) stays: the
/// line is then not sent, and the user is told why, as in plain mode;
/// left out, it would join the words on either side of it.
pub(crate) fn clean(line: &str) -> String {
    line.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|&c| c == '\r' || !crate::client::safe::needs_escape(c))
        .collect()
}
