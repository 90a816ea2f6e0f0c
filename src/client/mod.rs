//! The chat client.
//!
//! - `cli`: the command line ([`Cli`]); `settings`: the command line over
//!   the config file over the defaults.
//! - `command`: what the user types, parsed (plain and rich dialects).
//! - `session`: the logged-in session, sans-IO (requests out, events in).
//! - `safe`: [`SafeText`], text safe to show, and the one neutraliser.
//! - `render`: events as lines of text.
//! - [`text`]: every exact line of the interface (public: the tests match
//!   these, never copies of them).
//! - `connection`: the TCP connection (framing in, a writer task out).
//! - `login`: asking for a name, one login attempt and its answer.
//! - `inputs`: what the user does, and the budget that bounds reading it.
//! - `app`: hosting, the main loop and reconnecting, shared by both front
//!   ends through `screen`'s trait; `outcome`: how the program ended, as its
//!   exit status.
//! - `reconnect`: rich mode's reconnecting, with backoff.
//! - `local`: `--local`, a server hosted inside the client.
//! - `plain`: the line-oriented front end (the assignment's interface on
//!   standard output, the client's own lines on standard error); `output`:
//!   the thread that writes its lines, so that the main loop never waits
//!   for standard output or standard error.
//! - `rich`: the terminal front end on rustyline (editing, history,
//!   completion, colour).

mod app;
mod cli;
pub(crate) mod command;
mod connection;
mod inputs;
mod local;
mod login;
mod outcome;
mod output;
mod plain;
mod reconnect;
pub(crate) mod render;
mod rich;
pub(crate) mod safe;
mod screen;
pub(crate) mod session;
mod settings;
pub mod text;

use std::io::IsTerminal;
use std::process::ExitCode;

use tokio::sync::mpsc;

pub use cli::{Cli, ColorChoice};
use inputs::{Budget, Inputs, UserInput, INPUT_BUDGET};
#[cfg(unix)]
pub use plain::enlarge_pipe;
pub use plain::PIPE_BUFFER;
pub use render::{render, Line};
pub use safe::SafeText;
pub use session::{Event, Session};
use settings::Settings;

/// Runs the client with parsed arguments until it ends, and tells how it
/// ended as the exit status.
pub async fn run(cli: Cli) -> ExitCode {
    // First: signals, which may already wait (see `hold_signals`).
    let (tx, rx) = mpsc::unbounded_channel();
    forward_signals(tx.clone());
    release_signals();
    let plain = use_plain_mode(cli.plain);
    let settings = match Settings::load(cli, plain) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("chat: {}", err.shown());
            return ExitCode::from(2);
        }
    };
    let budget = Budget::new(INPUT_BUDGET);
    // Rich mode is always typed at a terminal; plain mode may be too.
    let mut inputs = Inputs::new(rx, std::io::stdin().is_terminal());
    if plain {
        colored::control::set_override(false);
        plain::spawn_stdin_reader(tx, budget);
        let mut screen = plain::PlainScreen::new();
        let outcome = app::run(&settings, &mut inputs, &mut screen).await;
        screen.finish(outcome);
        return outcome.into();
    }
    let color = use_color(settings.color);
    colored::control::set_override(color);
    match rich::start(&settings, color, tx, budget) {
        Ok(mut screen) => app::run(&settings, &mut inputs, &mut screen).await.into(),
        Err(err) => {
            eprintln!("chat: cannot use the terminal: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Colour in rich mode: `--color always`, or `auto` when NO_COLOR is not set
/// (standard output is a terminal whenever rich mode is used).
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Plain mode is used with `--plain`, when standard input or output is not a
/// terminal, and on the terminals rustyline cannot edit on (TERM `dumb`,
/// `cons25` or `emacs`), or of no known type (on Unix, TERM unset or empty:
/// escape sequences could mean anything there; the Windows console has no
/// TERM).
fn use_plain_mode(asked: bool) -> bool {
    let term = std::env::var_os("TERM");
    let untyped = cfg!(unix) && term.as_ref().is_none_or(|term| term.is_empty());
    asked
        || !std::io::stdin().is_terminal()
        || !std::io::stdout().is_terminal()
        || untyped
        || term
            .is_some_and(|term| ["dumb", "cons25", "emacs"].contains(&term.to_str().unwrap_or("")))
}

/// The signals that end the client: SIGINT, SIGTERM, SIGHUP.
#[cfg(unix)]
fn ending_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    set
}

/// Blocks the signals that end the client in the calling thread, the
/// program's first: one that comes before [`run`] handles them (in the
/// first milliseconds, while the program starts) then waits for it, instead
/// of ending the program by its default action. Called first thing in
/// `main`; [`run`] (or [`release_signals`], on the way out before it)
/// unblocks them.
pub fn hold_signals() {
    #[cfg(unix)]
    {
        use nix::sys::signal::{pthread_sigmask, SigmaskHow};
        let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ending_signals()), None);
    }
}

/// Unblocks the signals [`hold_signals`] blocked (and any that the parent
/// blocked, since the client handles them): one that waits is taken now.
pub fn release_signals() {
    #[cfg(unix)]
    {
        use nix::sys::signal::{pthread_sigmask, SigmaskHow};
        let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&ending_signals()), None);
    }
}

/// Turns SIGINT (Ctrl-C in plain mode), SIGTERM and SIGHUP into
/// [`UserInput::Signal`], so that they end the program through the normal
/// way out, whatever the front end is doing (the main loop never waits for
/// it): the terminal given back, a half-typed line kept, then the exit
/// status 128 + the signal's number.
fn forward_signals(tx: mpsc::UnboundedSender<UserInput>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        for kind in [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ] {
            let Ok(mut signals) = signal(kind) else {
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                while signals.recv().await.is_some() {
                    if tx.send(UserInput::Signal(kind.as_raw_value())).is_err() {
                        break;
                    }
                }
            });
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        /// SIGINT's number, as the C library has it everywhere.
        const SIGINT: i32 = 2;
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(UserInput::Signal(SIGINT)).is_err() {
                break;
            }
        }
    });
}
