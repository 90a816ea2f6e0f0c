//! The chat client.
//!
//! - `cli`: the command line ([`Cli`]).
//! - `command`: what the user types, parsed.
//! - `session`: the logged-in session, sans-IO (requests out, events in).
//! - `render`: events as lines of text, with remote text made safe.
//! - `connection`: the TCP connection (framing in, a writer task out).
//! - `app`: login and the main loop, shared by both front ends.
//! - `local`: `--local`, a server hosted inside the client.
//! - `plain`: the line-oriented front end (the assignment's interface).
//! - `rich`: the readline front end (editing, history, completion, colour).
//! - [`text`]: every exact line of the interface (public: the tests match
//!   these, never copies of them).

mod app;
mod cli;
pub(crate) mod command;
mod connection;
mod local;
mod plain;
pub(crate) mod render;
mod rich;
pub(crate) mod session;
pub mod text;

use std::io::IsTerminal;
use std::process::ExitCode;

use tokio::sync::mpsc;

use app::{Inputs, UserInput};
pub use cli::{Cli, ColorChoice};
pub use plain::{enlarge_pipe, PIPE_BUFFER};
pub use render::{render, Line};
pub use session::{Event, Session};

/// Runs the client with parsed arguments until it ends, and tells how it
/// ended as the exit status.
pub async fn run(cli: Cli) -> ExitCode {
    let (tx, rx) = mpsc::unbounded_channel();
    forward_signals(tx.clone());
    let inputs = Inputs::new(rx);
    if use_plain_mode(&cli) {
        colored::control::set_override(false);
        plain::spawn_stdin_reader(tx);
        let mut screen = plain::PlainScreen::new();
        return app::run(&cli, inputs, &mut screen).await.into();
    }
    colored::control::set_override(use_color(cli.color));
    let options = rich::Options {
        history: rich::history_path(cli.history_file.as_deref(), cli.no_history),
        color: use_color(cli.color),
    };
    match rich::start(options, tx) {
        Ok(mut screen) => app::run(&cli, inputs, &mut screen).await.into(),
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
/// terminal, and when TERM is `dumb`.
fn use_plain_mode(cli: &Cli) -> bool {
    cli.plain
        || !std::io::stdin().is_terminal()
        || !std::io::stdout().is_terminal()
        || std::env::var_os("TERM").is_some_and(|term| term == "dumb")
}

/// Turns Ctrl-C (SIGINT), SIGTERM and SIGHUP into [`UserInput::Interrupt`], so that
/// they end the program like `!quit`, through the normal exit path.
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
                    if tx.send(UserInput::Interrupt).is_err() {
                        break;
                    }
                }
            });
        }
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if tx.send(UserInput::Interrupt).is_err() {
                break;
            }
        }
    });
}
