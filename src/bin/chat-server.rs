//! `chat-server`: the chat server on its own. The flags are `chat::server::Cli`;
//! the work is in `chat::server`.

use chat::server::{self, Cli};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing::{error, info, warn, Level};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

/// Log lines held for standard error while it is not read; more are dropped.
const LOG_LINES_HELD: usize = 10_000;
/// How often dropped log lines are reported.
const DROPPED_REPORT_EVERY: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let cli: Cli = match chat::parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let large_buffers_returned = chat::give_back_large_buffers();
    let runtime = match cli.threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if n > 0 {
                builder.worker_threads(n);
            }
            builder.enable_all().build()
        }
    };
    match runtime {
        Ok(runtime) => runtime.block_on(run(cli, large_buffers_returned)),
        Err(e) => {
            eprintln!("chat-server: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, large_buffers_returned: bool) -> ExitCode {
    let (_flush_logs_at_exit, dropped) = log_to_stderr(cli.quiet);
    if !large_buffers_returned {
        warn!("could not set the allocator to give large buffers back");
    }
    tokio::spawn(report_dropped(dropped.clone()));
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => info!("open-file limit: {limit}"),
        Err(e) => error!("could not raise the open-file limit: {e}"),
    }
    // Caught from now on, before the startup line says the server is on.
    let signals = StopSignals::new();
    let listener = match listen(&cli).await {
        Ok(listener) => listener,
        Err(e) => {
            error!("cannot listen on {}:{}: {e}", cli.address, cli.port);
            return ExitCode::FAILURE;
        }
    };
    let stopped_by = std::cell::Cell::new(None);
    let stop = async {
        stopped_by.set(Some(signals.stopped().await));
        None
    };
    let served = server::serve(listener, cli.config(), stop).await;
    if dropped.dropped_lines() > 0 {
        warn!("{} log lines were dropped in all", dropped.dropped_lines());
    }
    match (served, stopped_by.get()) {
        (Err(e), _) => {
            error!("server failed: {e}");
            ExitCode::FAILURE
        }
        (Ok(()), Some(Stop::HangUp)) => {
            info!("stopped");
            // As a program killed by SIGHUP: the stop was not asked for.
            ExitCode::from(128 + 1)
        }
        (Ok(()), _) => {
            info!("stopped");
            ExitCode::SUCCESS
        }
    }
}

/// Logs to standard error through a bounded buffer and a thread of its own,
/// so that a standard error nobody reads (a full pipe, a paused pager, a slow
/// terminal) never holds up the server: lines that do not fit are dropped,
/// and counted. The guard writes what is held when the program ends.
fn log_to_stderr(quiet: bool) -> (WorkerGuard, ErrorCounter) {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_LINES_HELD)
        .thread_name("chat-server-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(if quiet { Level::ERROR } else { Level::INFO })
        .init();
    (guard, dropped)
}

/// Says now and then how many log lines were dropped since it last said so.
async fn report_dropped(dropped: ErrorCounter) {
    let mut reported = 0;
    loop {
        tokio::time::sleep(DROPPED_REPORT_EVERY).await;
        let now = dropped.dropped_lines();
        if now > reported {
            warn!(
                "{} log lines dropped: standard error is not read fast enough",
                now - reported
            );
            reported = now;
        }
    }
}

/// Binds the address and port asked for, and says so on stdout.
async fn listen(cli: &Cli) -> std::io::Result<TcpListener> {
    let addr = chat::net::resolve(&cli.address, cli.port).await?;
    let listener = server::bind(addr).await?;
    let local = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    // If stdout is gone, the server still works; nothing to do about it.
    let _ = writeln!(out, "Server is on. Now listening on port {}", local.port());
    let _ = out.flush();
    info!("listening on {local}");
    Ok(listener)
}

/// The signals that stop the server, caught from the moment this is made:
/// tokio's `ctrl_c()` catches SIGINT only once first awaited, so a signal
/// right after the startup line could end the server by its default action.
struct StopSignals {
    #[cfg(unix)]
    interrupt: Option<Signal>,
    #[cfg(unix)]
    terminate: Option<Signal>,
    #[cfg(unix)]
    hangup: Option<Signal>,
}

impl StopSignals {
    #[cfg(unix)]
    fn new() -> Self {
        StopSignals {
            interrupt: catch(SignalKind::interrupt(), "SIGINT"),
            terminate: catch(SignalKind::terminate(), "SIGTERM"),
            hangup: catch(SignalKind::hangup(), "SIGHUP"),
        }
    }

    #[cfg(windows)]
    fn new() -> Self {
        StopSignals {}
    }

    /// Completes on SIGINT (Ctrl-C), SIGTERM or SIGHUP, and says which.
    #[cfg(unix)]
    async fn stopped(self) -> Stop {
        let (name, stop) = tokio::select! {
            () = received(self.interrupt) => ("SIGINT", Stop::Asked),
            () = received(self.terminate) => ("SIGTERM", Stop::Asked),
            () = received(self.hangup) => ("SIGHUP", Stop::HangUp),
        };
        info!("{name} received, shutting down");
        stop
    }

    /// Completes on Ctrl-C, or when the console window is closed (the
    /// equivalent of SIGHUP), and says which.
    #[cfg(windows)]
    async fn stopped(self) -> Stop {
        let interrupt = async {
            if let Err(e) = tokio::signal::ctrl_c().await {
                error!("cannot listen for Ctrl-C: {e}");
                std::future::pending::<()>().await;
            }
        };
        let closed = async {
            match tokio::signal::windows::ctrl_close() {
                Ok(mut closed) => {
                    closed.recv().await;
                }
                Err(e) => {
                    error!("cannot listen for the console closing: {e}");
                    std::future::pending::<()>().await;
                }
            }
        };
        let (name, stop) = tokio::select! {
            () = interrupt => ("Ctrl-C", Stop::Asked),
            () = closed => ("the console closing", Stop::HangUp),
        };
        info!("{name} received, shutting down");
        stop
    }
}

/// Catches the signal `kind` from now on (`None`, logged, if it cannot be).
#[cfg(unix)]
fn catch(kind: SignalKind, name: &str) -> Option<Signal> {
    signal(kind)
        .inspect_err(|e| error!("cannot listen for {name}: {e}"))
        .ok()
}

/// Completes when `caught` is received (never, if it is not caught).
#[cfg(unix)]
async fn received(caught: Option<Signal>) {
    match caught {
        Some(mut caught) => {
            caught.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Why the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Ctrl-C (SIGINT) or SIGTERM: asked to stop.
    Asked,
    /// SIGHUP: the terminal went away (on Windows, the console closed).
    HangUp,
}
