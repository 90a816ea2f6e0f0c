//! The `readline` thread: rustyline reads each line with the prompt of the
//! moment, and the line goes to the main loop. Its helper completes names
//! and commands, keeps the history per server and name, and tells the other
//! threads what rustyline does (see [`super::shared`]).

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustyline::completion::Completer;
use rustyline::config::BellStyle;
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{
    Cmd, ColorMode, CompletionType, ConditionalEventHandler, Config, Context, EditMode, Editor,
    Event, EventContext, EventHandler, Helper, KeyEvent, Movement, RepeatCount,
};
use tokio::sync::mpsc::UnboundedSender;

use super::complete::complete;
use super::files::{history_path, history_settings, open_private, warning, Log};
use super::phase::Phase;
use super::printer::{lock, retitle, write_direct};
use super::shared::{Drawn, Shared, State};
use super::style::Style;
use super::terminal;
use crate::client::cli::EditModeChoice;
use crate::client::command::{Command, Dialect, QUIT};
use crate::client::inputs::{Budget, Typed, UserInput};
use crate::client::render::{Kind, Line};
use crate::client::safe::SafeText;
use crate::client::settings::HistoryChoice;
use crate::client::text;

/// How long a lone Esc waits for the rest of a key's sequence.
const ESCAPE_WAIT_MS: u16 = 50;
/// How long Tab waits for a fresh list of names.
const NAMES_WAIT: Duration = Duration::from_millis(300);
/// A list of names older than this is refreshed when Tab is pressed.
const NAMES_MAX_AGE: Duration = Duration::from_secs(5);
/// How long a line that may change the prompt waits for the main loop.
const ANSWER_WAIT: Duration = Duration::from_millis(300);

/// The editor, with its helper and keys.
pub(crate) fn editor(
    shared: &Arc<Shared>,
    inputs: &UnboundedSender<UserInput>,
    edit_mode: EditModeChoice,
) -> rustyline::Result<Editor<ChatHelper, FileHistory>> {
    let config = history_settings(Config::builder())?
        // First: choosing the keys sets the key sequences' timeout too.
        .edit_mode(match edit_mode {
            EditModeChoice::Emacs => EditMode::Emacs,
            EditModeChoice::Vi => EditMode::Vi,
        })
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .keyseq_timeout(Some(ESCAPE_WAIT_MS))
        .bell_style(BellStyle::None)
        // The helper draws the prompt's colours, and is told of every
        // redraw.
        .color_mode(ColorMode::Forced)
        .build();
    let mut editor = Editor::with_config(config)?;
    editor.set_helper(Some(ChatHelper {
        shared: Arc::clone(shared),
        inputs: inputs.clone(),
    }));
    for (key, leaving) in [
        (KeyEvent::ctrl('C'), Leaving::CtrlC),
        (KeyEvent::ctrl('D'), Leaving::CtrlD),
        #[cfg(unix)]
        (KeyEvent::ctrl('Z'), Leaving::Suspend),
    ] {
        let handler = LeavingKey {
            shared: Arc::clone(shared),
            leaving,
        };
        editor.bind_sequence(key, EventHandler::Conditional(Box::new(handler)));
    }
    // Between prompts Ctrl-Z stops nothing (see `terminal::Modes`): the key
    // that stands for "none" then, which rustyline would take for its own
    // suspend, does what it did.
    #[cfg(unix)]
    {
        let none = char::from(nix::libc::_POSIX_VDISABLE);
        let cmd = if none.is_control() {
            Cmd::Noop
        } else {
            Cmd::SelfInsert(1, none)
        };
        editor.bind_sequence(KeyEvent::new(none, rustyline::Modifiers::NONE), cmd);
    }
    Ok(editor)
}

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
            if !state.direct {
                if let Some((prompt, styled)) = state.phase.prompt(state.with.as_ref(), &self.style)
                {
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
/// with tabs as spaces.
pub(crate) fn clean(line: &str) -> String {
    line.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|&c| !crate::client::safe::needs_escape(c))
        .collect()
}

/// rustyline's helper.
pub(crate) struct ChatHelper {
    shared: Arc<Shared>,
    inputs: UnboundedSender<UserInput>,
}

impl ChatHelper {
    /// rustyline read a key and is about to act on it: the messages count as
    /// read. (The program ending stops it here.)
    fn key(&self) -> MutexGuard<'_, State> {
        key(&self.shared)
    }

    /// rustyline asks for a hint or about highlighting only just before it
    /// draws the edit rows again for a key: the drawing that follows is not
    /// after a message. (A key that changes nothing, such as Tab with
    /// nothing to complete, is followed by no drawing, so only these mark
    /// one.)
    fn redraw_follows(&self) -> MutexGuard<'_, State> {
        let mut state = self.key();
        state.keyed = true;
        state
    }

    /// The names to complete `line`: fresh ones when those held are stale
    /// or match nothing, waited for briefly.
    fn names_for(&self, line: &str, cursor: usize) -> Vec<SafeText<'static>> {
        let mut state = self.shared.lock();
        let stale = state
            .names_at
            .is_none_or(|at| at.elapsed() >= NAMES_MAX_AGE);
        if line.starts_with('@') && (stale || complete(line, cursor, &state.names).is_none()) {
            let asked = Instant::now();
            let _ = self.inputs.send(UserInput::RefreshNames);
            let deadline = asked + NAMES_WAIT;
            while state.names_at.is_none_or(|at| at < asked) && Instant::now() < deadline {
                state = self.shared.wait_until(state, deadline);
            }
        }
        state.names.clone()
    }
}

fn key(shared: &Shared) -> MutexGuard<'_, State> {
    let mut state = shared.checkpoint(shared.lock(), false);
    if state.unread > 0 {
        state.unread = 0;
        // From rustyline's own thread, between its writes.
        write_direct(&retitle(&mut state));
    }
    state
}

impl Completer for ChatHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let chatting = matches!(self.key().phase, Phase::Chatting { .. });
        if !chatting {
            return Ok((pos, Vec::new()));
        }
        let names = self.names_for(line, pos);
        let Some(found) = complete(line, pos, &names) else {
            return Ok((pos, Vec::new()));
        };
        if !found.choices.is_empty() {
            // Several: the list is a line above the prompt, not again for
            // the line as the last Tab left it.
            let list = found
                .choices
                .iter()
                .map(SafeText::as_str)
                .collect::<Vec<_>>()
                .join("  ");
            let left = format!("{}{}", found.with, &line[found.range.end..]);
            let mut state = self.shared.lock();
            let last = state.listed.replace((left, list.clone()));
            drop(state);
            if last.is_none_or(|(left, last)| left != line || last != list) {
                let list = SafeText::neutralise_str(&list).into_owned();
                self.shared.own_line(Line::Text(Kind::Info, list));
            }
        }
        Ok((found.range.start, vec![found.with]))
    }
}

impl Hinter for ChatHelper {
    type Hint = String;

    /// Called as each `readline` first draws (and after each edit): the
    /// gate opens; the line typed is kept for the way out.
    fn hint(&self, line: &str, _pos: usize, _: &Context<'_>) -> Option<String> {
        let mut state = self.redraw_follows();
        if state.reading && !state.open {
            state.open = true;
            #[cfg(unix)]
            self.shared.modes.note_editing();
            // The title too, from rustyline's own thread.
            let mut title = retitle(&mut state);
            if std::mem::take(&mut state.suspended) {
                title = format!(
                    "{}{}",
                    terminal::TITLE_SAVE,
                    terminal::set_title(&state.title)
                );
            }
            write_direct(&title);
            self.shared.notify();
        }
        if !state.searching {
            state.draft = line.to_string();
        }
        None
    }
}

impl Highlighter for ChatHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        default: bool,
    ) -> Cow<'b, str> {
        let mut state = self.shared.checkpoint(self.shared.lock(), true);
        state.keyed = false;
        state.searching = !default;
        let shown = if default {
            state.prompt.clone()
        } else {
            prompt.to_string()
        };
        state.drawn = Some(Drawn {
            prompt: shown,
            ..Drawn::default()
        });
        Cow::Borrowed(prompt)
    }

    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if let Some(drawn) = &mut self.shared.lock().drawn {
            drawn.line = line.to_string();
            drawn.cursor = pos;
        }
        Cow::Borrowed(line)
    }

    /// Every key redraws the edit rows, so that each drawing is seen here.
    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        drop(self.redraw_follows());
        true
    }
}

impl Validator for ChatHelper {
    /// Enter: the gate closes before rustyline gives the terminal back.
    fn validate(&self, _: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        drop(self.key());
        self.shared.close_gate();
        Ok(ValidationResult::Valid(None))
    }
}

impl Helper for ChatHelper {}

/// The keys after which rustyline may give the terminal back.
#[derive(Clone, Copy)]
enum Leaving {
    CtrlC,
    CtrlD,
    #[cfg(unix)]
    Suspend,
}

/// Ctrl-C clears the line (Ctrl-Y brings it back), or ends the search;
/// on an empty line, it quits. Ctrl-D on an empty line quits. Ctrl-Z
/// suspends. Each closes the gate first when it leaves.
struct LeavingKey {
    shared: Arc<Shared>,
    leaving: Leaving,
}

impl ConditionalEventHandler for LeavingKey {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext<'_>) -> Option<Cmd> {
        let state = key(&self.shared);
        let searching = state.searching;
        drop(state);
        let empty = ctx.line().is_empty();
        let cmd = match self.leaving {
            Leaving::CtrlC if searching => return Some(Cmd::Abort),
            // In vi keys the line ends, and the next one starts empty in
            // insert mode (a kill would leave command mode on, where what is
            // typed next is taken for commands).
            Leaving::CtrlC if !empty && ctx.mode() == EditMode::Vi => {
                self.shared.lock().clearing = true;
                Cmd::Interrupt
            }
            // All of it: a paste of several lines too.
            Leaving::CtrlC if !empty => return Some(Cmd::Kill(Movement::WholeBuffer)),
            Leaving::CtrlC => Cmd::Interrupt,
            Leaving::CtrlD if !empty => return None,
            Leaving::CtrlD => Cmd::EndOfFile,
            // The line ends, kept (see `Reader::run`), so that rustyline
            // gives the terminal back.
            #[cfg(unix)]
            Leaving::Suspend => {
                self.shared.lock().suspending = Some(ctx.pos());
                Cmd::AcceptLine
            }
        };
        self.shared.close_gate();
        Some(cmd)
    }
}
