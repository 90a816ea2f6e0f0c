//! The chat server.
//!
//! - [`config`]: the settings ([`Config`]).
//! - [`registry`]: who is logged in, in login order; routes a name to its outbox.
//! - [`outbox`]: each connection's bounded queue of outgoing bytes.
//! - [`connection`]: handshake and requests of one connection.
//! - [`bots`]: `echobot` and `delaybot`.
//! - [`pending`]: connections not logged in yet, counted per address.
//!
//! [`bind`] and [`serve`] are all a program needs; `chat-server` and
//! `chat --local` both use them.

mod bots;
mod config;
mod connection;
mod outbox;
mod pending;
mod registry;

pub use config::Config;

use connection::Shared;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

/// Binds with SO_REUSEADDR (tokio::net::TcpSocket, set_reuseaddr(true), listen backlog 1024).
pub async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves until `shutdown` completes. Never panics on client input.
///
/// When `shutdown` completes, the listener is closed and every connection is
/// dropped.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let shared = Arc::new(Shared::new(config));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection::handle(stream, peer, Arc::clone(&shared)));
                }
                Err(e) if is_connection_error(&e) => {
                    info!("a connection failed while being accepted: {e}");
                }
                Err(e) => {
                    // For example too many open files: keep serving the others,
                    // and retry after a pause instead of spinning.
                    error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    if e.is_panic() {
                        error!("a connection task panicked: {e}");
                    }
                }
            }
        }
    }
    info!("shutting down, closing {} connection(s)", connections.len());
    connections.shutdown().await;
    if shared.registry.user_count() != 0 {
        warn!("users still registered after shutdown");
    }
    Ok(())
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
