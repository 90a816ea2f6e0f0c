//! rustyline's editor and its helper: completion of names and commands,
//! the keys that leave a line (Ctrl-C, Ctrl-D, Ctrl-Z), and the calls
//! through which the other threads learn what rustyline does (see
//! [`super::shared`]).

use std::borrow::Cow;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use rustyline::completion::Completer;
use rustyline::config::BellStyle;
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
use super::files::history_settings;
use super::phase::Phase;
use super::printer::{retitle, write_direct};
use super::shared::{Drawn, Shared, State};
use super::terminal;
use crate::client::cli::EditModeChoice;
use crate::client::inputs::UserInput;
use crate::client::render::{Kind, Line};
use crate::client::safe::SafeText;

/// How long a lone Esc waits for the rest of a key's sequence.
const ESCAPE_WAIT_MS: u16 = 50;
/// How long Tab waits for a fresh list of names.
const NAMES_WAIT: Duration = Duration::from_millis(300);
/// A list of names older than this is refreshed when Tab is pressed.
const NAMES_MAX_AGE: Duration = Duration::from_secs(5);

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
