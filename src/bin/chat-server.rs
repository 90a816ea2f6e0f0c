//! `chat-server`: the chat server on its own. The flags are `chat::server::Cli`;
//! the work is in `chat::server`.

use chat::server::{self, Cli};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing::{error, info, Level};

#[tokio::main]
async fn main() -> ExitCode {
    let cli: Cli = match chat::parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(if cli.quiet { Level::ERROR } else { Level::INFO })
        .init();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => info!("open-file limit: {limit}"),
        Err(e) => error!("could not raise the open-file limit: {e}"),
    }
    let listener = match listen(&cli).await {
        Ok(listener) => listener,
        Err(e) => {
            error!("cannot listen on {}:{}: {e}", cli.address, cli.port);
            return ExitCode::FAILURE;
        }
    };
    match server::serve(listener, cli.config(), shutdown_signal()).await {
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
