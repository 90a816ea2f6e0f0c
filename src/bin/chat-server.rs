//! `chat-server`: the chat server on its own. See `chat::server` for the work.

use chat::server::{self, Config};
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tracing::{error, info, Level};

/// A chat server for the VU Computer Networks chat protocol.
///
/// Prints `Server is on. Now listening on port <port>` on stdout once it accepts
/// connections, logs to stderr, and stops cleanly on Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "chat-server", version)]
struct Args {
    /// Address to listen on: an IP address or a host name (the first address it
    /// resolves to is used).
    #[arg(long, default_value = "127.0.0.1")]
    address: String,

    /// TCP port to listen on. 0 picks a free port; the startup line shows which.
    #[arg(long, default_value_t = 5378)]
    port: u16,

    /// Most users logged in at once (the bots do not count). Further logins get
    /// BUSY. 0 makes every login BUSY.
    #[arg(long, default_value_t = Config::default().max_clients)]
    max_clients: usize,

    /// Privacy mode: LIST answers with the bots' names only.
    #[arg(long)]
    hide_users: bool,

    /// Do not run the built-in echobot and delaybot.
    #[arg(long)]
    no_bots: bool,

    /// Longest request line accepted, in bytes (without the newline). A longer
    /// line is answered with BAD-RQST-BODY and discarded; before login it ends
    /// the connection.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_line_bytes)]
    max_line_bytes: usize,

    /// Most bytes waiting to be sent to one user. A user whose queue would grow
    /// beyond this (it does not read) is disconnected; the sender still gets
    /// SEND-OK.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_queue_bytes)]
    max_queue_bytes: usize,

    /// Seconds a connection may take to log in before it is closed; 0 waits
    /// for ever.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    login_timeout: u64,

    /// Most connections from one address that have not logged in yet; further
    /// ones are closed at once. 0 means no limit.
    #[arg(long, value_name = "N", default_value_t = Config::default().max_pending_per_address)]
    max_pending_per_address: usize,

    /// Log only errors.
    #[arg(long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Args = match chat::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(if args.quiet {
            Level::ERROR
        } else {
            Level::INFO
        })
        .init();

    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => info!("open-file limit: {limit}"),
        Err(e) => error!("could not raise the open-file limit: {e}"),
    }

    let addr = match chat::net::resolve(&args.address, args.port).await {
        Ok(addr) => addr,
        Err(e) => {
            error!("cannot resolve {}: {e}", args.address);
            return ExitCode::FAILURE;
        }
    };
    let listener = match server::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            error!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = match listener.local_addr() {
        Ok(local) => local,
        Err(e) => {
            error!("cannot read the listening address: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        // If stdout is gone, the server still works; nothing to do about it.
        let port = local.port();
        let _ = writeln!(out, "Server is on. Now listening on port {port}");
        let _ = out.flush();
    }
    info!("listening on {local}");

    let config = Config {
        max_clients: args.max_clients,
        hide_users: args.hide_users,
        bots: !args.no_bots,
        max_line_bytes: args.max_line_bytes,
        max_queue_bytes: args.max_queue_bytes,
        login_timeout: (args.login_timeout > 0)
            .then(|| std::time::Duration::from_secs(args.login_timeout)),
        max_pending_per_address: args.max_pending_per_address,
    };
    match server::serve(listener, config, shutdown_signal()).await {
        Ok(()) => {
            info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => info!("Ctrl-C received, shutting down"),
        () = term => info!("SIGTERM received, shutting down"),
    }
}
