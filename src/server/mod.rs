//! The chat server.
//!
//! - [`config`]: the settings ([`Config`]) and the command line ([`Cli`]).
//! - [`admission`]: connections not logged in yet, counted per address.
//! - [`connection`]: one connection: admission, handshake, then the logged-in
//!   loop.
//! - [`requests`]: what a logged-in user's requests do (no I/O).
//! - [`registry`]: who is logged in, in login order; routes a name to its outbox.
//! - [`outbox`]: each connection's bounded queue of outgoing bytes.
//! - [`bots`]: `echobot` and `delaybot`.
//!
//! [`bind`] and [`serve`] are all a program needs; `chat-server` and
//! `chat --local` both use them.

mod admission;
mod bots;
mod config;
mod connection;
mod outbox;
mod registry;
mod requests;

pub use config::{Cli, Config};

use admission::Admission;
use registry::Registry;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
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

/// What every connection shares.
#[derive(Debug)]
struct Shared {
    config: Config,
    registry: Registry,
    admission: Admission,
    next_id: AtomicU64,
}

impl Shared {
    fn new(config: Config) -> Self {
        Shared {
            registry: Registry::new(config.max_clients, config.hide_users, config.bots),
            admission: Admission::new(config.max_pending_per_address),
            config,
            next_id: AtomicU64::new(1),
        }
    }

    /// A number for a new connection, to tell connections apart in the log.
    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// Locks `mutex`, also after a panic elsewhere poisoned it: every lock in the
/// server guards data that is consistent between method calls, so a panic in
/// one connection must not take the others down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
