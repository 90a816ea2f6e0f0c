//! The rich front end: a readline prompt with line editing, history, tab
//! completion and colour, with incoming lines printed above the prompt.
//!
//! rustyline blocks while it reads a line, so it runs on a thread of its own
//! and sends what is typed to the main loop as [`UserInput`]. Incoming lines go the
//! other way through rustyline's external printer, which clears the prompt,
//! prints the line, and redraws the prompt with the half-typed line and the
//! cursor where they were.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use colored::Colorize;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Config, Context, Editor, Event, EventContext, EventHandler,
    ExternalPrinter, Helper, KeyEvent, Movement, RepeatCount,
};
use tokio::sync::mpsc;

use super::app::{Screen, UserInput};
use super::command::{QUIT, WHO};
use super::render::Line;

/// At most this many lines are kept in the history file.
pub(super) const HISTORY_SIZE: usize = 1000;

/// Completion asks the server for a fresh user list when its list is older.
const NAMES_MAX_AGE: Duration = Duration::from_secs(5);

/// The prompt while asking for a name.
const LOGIN_PROMPT: &str = "> ";

/// Messages from the main loop to the readline thread.
enum Control {
    /// Read the next name (during login, the thread waits for this before each
    /// line, so that the prompt never shows while a login attempt runs).
    AskName,
    /// Logged in: from now on, read lines with this name in the prompt.
    LoggedIn(String),
}

/// Names offered by tab completion, shared with the readline thread.
#[derive(Default)]
struct Names {
    names: Vec<String>,
    /// When a fresh list was last asked for; `None` before login.
    asked: Option<Instant>,
}

/// What rustyline calls for completion.
struct ChatHelper {
    names: Arc<Mutex<Names>>,
    inputs: mpsc::UnboundedSender<UserInput>,
}

impl ChatHelper {
    /// Asks for a fresh user list if ours is old (the answer arrives later,
    /// silently, and serves the next Tab).
    fn refresh_if_stale(&self) {
        let Ok(mut names) = self.names.lock() else {
            return;
        };
        if names.asked.is_some_and(|at| at.elapsed() >= NAMES_MAX_AGE) {
            names.asked = Some(Instant::now());
            let _ = self.inputs.send(UserInput::RefreshNames);
        }
    }
}

impl Completer for ChatHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        // Only the first word completes: a recipient or a command.
        if before.contains(char::is_whitespace) {
            return Ok((pos, Vec::new()));
        }
        Ok((
            0,
            candidates(before, &self.names, || self.refresh_if_stale()),
        ))
    }
}

/// Completions for the first word of a line: `@name` or a command.
fn candidates(word: &str, names: &Mutex<Names>, refresh: impl FnOnce()) -> Vec<Pair> {
    if let Some(prefix) = word.strip_prefix('@') {
        refresh();
        let Ok(names) = names.lock() else {
            return Vec::new();
        };
        names
            .names
            .iter()
            .filter(|name| name.starts_with(prefix))
            .map(|name| Pair {
                display: name.clone(),
                replacement: format!("@{name} "),
            })
            .collect()
    } else {
        [WHO, QUIT]
            .into_iter()
            .filter(|command| command.starts_with(word))
            .map(|command| Pair {
                display: command.to_string(),
                replacement: command.to_string(),
            })
            .collect()
    }
}

impl Hinter for ChatHelper {
    type Hint = String;
}
impl Highlighter for ChatHelper {}
impl Validator for ChatHelper {}
impl Helper for ChatHelper {}

/// Ctrl-C clears a line that has text, and quits on an empty one.
struct CtrlC;

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        if ctx.line().is_empty() {
            Some(Cmd::Interrupt)
        } else {
            Some(Cmd::Kill(Movement::WholeLine))
        }
    }
}

/// Shows lines above the prompt.
pub(super) struct RichScreen {
    /// Declared first, so dropped first: the terminal settings are given back
    /// as soon as the screen goes away.
    terminal: TerminalGuard,
    printer: Box<dyn ExternalPrinter + Send>,
    control: std_mpsc::Sender<Control>,
    names: Arc<Mutex<Names>>,
    color: bool,
    /// Lines added and not yet printed, with their line endings.
    pending: String,
}

impl Screen for RichScreen {
    fn add(&mut self, line: &Line<'_>) {
        self.pending.push_str(&if self.color {
            line.colored()
        } else {
            line.plain()
        });
        self.pending.push('\n');
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            // If the terminal is gone there is nobody to tell.
            let _ = self.printer.print(std::mem::take(&mut self.pending));
        }
    }

    fn show_final(&mut self, lines: &[Line<'_>]) {
        // The readline thread would print these only when it next runs, and
        // the program is about to end: give the terminal back and write them
        // directly.
        for line in lines {
            self.add(line);
        }
        let text = std::mem::take(&mut self.pending);
        self.terminal.restore();
        let mut out = io::stdout();
        let _ = write!(out, "{text}");
        let _ = out.flush();
    }

    fn ask_name(&mut self) {
        let _ = self.control.send(Control::AskName);
    }

    fn logged_in(&mut self, name: &str) {
        if let Ok(mut names) = self.names.lock() {
            // The first list is asked for at login, by the main loop.
            names.asked = Some(Instant::now());
        }
        let _ = self.control.send(Control::LoggedIn(name.to_string()));
    }

    fn completes_names(&self) -> bool {
        true
    }

    fn names_changed(&mut self, names: &mut dyn Iterator<Item = &str>) {
        if let Ok(mut shared) = self.names.lock() {
            shared.names = names.map(str::to_string).collect();
        }
    }
}

/// Settings of the rich front end.
pub(super) struct Options {
    /// Where the history lives; `None` keeps no history.
    pub history: Option<PathBuf>,
    /// Whether to colour lines.
    pub color: bool,
}

/// Starts the readline thread. Typed lines go to `inputs`.
pub(super) fn start(
    options: Options,
    inputs: mpsc::UnboundedSender<UserInput>,
) -> io::Result<RichScreen> {
    let terminal = TerminalGuard::save();
    let config = Config::builder()
        .max_history_size(HISTORY_SIZE)
        .map_err(io::Error::other)?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ChatHelper, FileHistory> =
        Editor::with_config(config).map_err(io::Error::other)?;
    let names = Arc::new(Mutex::new(Names::default()));
    editor.set_helper(Some(ChatHelper {
        names: Arc::clone(&names),
        inputs: inputs.clone(),
    }));
    editor.bind_sequence(
        KeyEvent::ctrl('C'),
        EventHandler::Conditional(Box::new(CtrlC)),
    );
    if let Some(path) = &options.history {
        prepare_history_file(path)?;
        // A missing or unreadable history is not a reason to refuse to start.
        let _ = editor.load_history(path);
    }
    let printer = editor.create_external_printer().map_err(io::Error::other)?;
    let (control_tx, control_rx) = std_mpsc::channel();
    let history = options.history;
    std::thread::spawn(move || read_lines(editor, control_rx, inputs, history));
    Ok(RichScreen {
        terminal,
        printer: Box::new(printer),
        control: control_tx,
        names,
        color: options.color,
        pending: String::new(),
    })
}

/// The readline thread: reads lines until the input ends or the user quits.
fn read_lines(
    mut editor: Editor<ChatHelper, FileHistory>,
    control: std_mpsc::Receiver<Control>,
    inputs: mpsc::UnboundedSender<UserInput>,
    history: Option<PathBuf>,
) {
    let mut prompt: Option<(String, String)> = None;
    loop {
        if prompt.is_none() {
            match control.recv() {
                Ok(Control::AskName) => {}
                Ok(Control::LoggedIn(name)) => {
                    let raw = format!("{name}> ");
                    let styled = if colored::control::SHOULD_COLORIZE.should_colorize() {
                        raw.bold().to_string()
                    } else {
                        raw.clone()
                    };
                    prompt = Some((raw, styled));
                }
                Err(_) => return,
            }
        }
        let read = match &prompt {
            Some(prompt) => editor.readline(&(prompt.0.as_str(), prompt.1.as_str())),
            None => editor.readline(LOGIN_PROMPT),
        };
        let input = match read {
            Ok(line) => {
                // Only what is typed after login is history: names are not,
                // and neither is `!quit` (Up and Enter would end the program).
                if prompt.is_some() && !line.trim().is_empty() && line.trim() != QUIT {
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(path) = &history {
                        let _ = editor.append_history(path);
                    }
                }
                UserInput::Line(line)
            }
            Err(ReadlineError::Interrupted) => UserInput::Interrupt,
            Err(_) => UserInput::Eof,
        };
        let last = match &input {
            UserInput::Line(line) => line.trim() == QUIT,
            _ => true,
        };
        if inputs.send(input).is_err() || last {
            return;
        }
    }
}

/// The history file, unless `--no-history`: `--history-file`, or
/// `chat/history.txt` in the platform's data directory.
pub(super) fn history_path(explicit: Option<&Path>, disabled: bool) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    if let Some(path) = explicit {
        return Some(path.to_path_buf());
    }
    directories::ProjectDirs::from("", "", "chat").map(|dirs| dirs.data_dir().join("history.txt"))
}

/// Creates the history file (and its folder) readable by its owner only.
fn prepare_history_file(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.flush()
}

/// Saves the terminal's settings and puts them back when dropped, so that
/// every exit path (quit, server gone while typing, a failed connection)
/// leaves the terminal as it was found.
pub(super) struct TerminalGuard {
    #[cfg(unix)]
    saved: Option<nix::sys::termios::Termios>,
}

impl TerminalGuard {
    pub(super) fn save() -> TerminalGuard {
        TerminalGuard {
            #[cfg(unix)]
            saved: nix::sys::termios::tcgetattr(io::stdin()).ok(),
        }
    }

    /// Puts the saved settings back and erases a prompt that may still be on
    /// the last line. Doing it twice does no harm.
    pub(super) fn restore(&self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            use nix::sys::termios::{tcsetattr, SetArg};
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, saved);
        }
        // Erase a prompt that may still be on the last line.
        let mut out = io::stdout();
        let _ = write!(out, "\r\x1b[K");
        let _ = out.flush();
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        self.restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Mutex<Names> {
        Mutex::new(Names {
            names: list.iter().map(|n| n.to_string()).collect(),
            asked: None,
        })
    }

    fn replacements(pairs: Vec<Pair>) -> Vec<String> {
        pairs.into_iter().map(|p| p.replacement).collect()
    }

    #[test]
    fn at_completes_names_with_the_prefix() {
        let names = names(&["alice", "albert", "bob"]);
        let mut refreshed = false;
        let got = candidates("@al", &names, || refreshed = true);
        assert_eq!(replacements(got), ["@alice ", "@albert "]);
        assert!(refreshed, "completing names checks their age");
        assert_eq!(replacements(candidates("@", &names, || {})).len(), 3);
        assert!(candidates("@z", &names, || {}).is_empty());
    }

    #[test]
    fn commands_complete_at_the_start_of_a_line() {
        let names = names(&["alice"]);
        assert_eq!(replacements(candidates("!w", &names, || {})), ["!who"]);
        assert_eq!(
            replacements(candidates("!", &names, || {})),
            ["!who", "!quit"]
        );
        assert!(candidates("x", &names, || {}).is_empty());
    }

    #[test]
    fn history_path_choices() {
        assert_eq!(
            history_path(Some(Path::new("/x/h")), false),
            Some(PathBuf::from("/x/h"))
        );
        assert_eq!(history_path(Some(Path::new("/x/h")), true), None);
        if let Some(default) = history_path(None, false) {
            assert!(default.ends_with("history.txt"));
        }
    }
}
