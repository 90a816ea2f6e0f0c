//! The chat server.
//!
//! - `config`: the settings ([`Config`]) and the command line ([`Cli`]).
//! - `admission`: connections not logged in yet, counted in all and per
//!   address.
//! - `connection`: one connection: admission, handshake, then the logged-in
//!   loop.
//! - `requests`: what a logged-in user's requests do (no I/O).
//! - `registry`: who is logged in, in login order; routes a name to its outbox.
//! - `outbox`: each connection's bounded queue of outgoing bytes, written
//!   straight to the socket by whoever has bytes for it when it is idle.
//! - `bots`: `echobot` and `delaybot`.
//!
//! [`bind`] and [`serve`] are all a program needs; `chat-server` and
//! `chat --local` both use them. [`serve`] can stop with a [`Farewell`] to
//! every user (`chat --local` says so when the hosting user leaves).

mod admission;
mod bots;
mod config;
mod connection;
mod outbox;
mod registry;
mod requests;

pub use config::{Cli, Config, MIN_LINE_BYTES};

use crate::protocol::ServerMessage;
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

/// A last message from the server to every user, sent as it stops: each
/// user gets `DELIVERY <from> <text>` (see [`serve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farewell {
    /// The name the message comes from (for `chat --local`, the hosting user).
    pub from: String,
    /// The message.
    pub text: String,
}

/// How long a farewell may take to reach the users before the server stops.
const FAREWELL_TIME: Duration = Duration::from_secs(1);

/// Serves until `shutdown` completes. Never panics on client input.
///
/// When `shutdown` completes, the listener is closed and every connection is
/// dropped. If it completes with a [`Farewell`], every logged-in user (but the
/// one named in it) first gets that message, written before its connection
/// closes; the server waits at most a second for that.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = Option<Farewell>>,
) -> io::Result<()> {
    let shared = Arc::new(Shared::new(config));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    let farewell = loop {
        tokio::select! {
            farewell = &mut shutdown => break farewell,
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
    };
    drop(listener);
    if let Some(farewell) = farewell {
        say_farewell(&shared.registry, &farewell).await;
    }
    info!("shutting down, closing {} connection(s)", connections.len());
    connections.shutdown().await;
    if shared.registry.user_count() != 0 {
        warn!("users still registered after shutdown");
    }
    Ok(())
}

/// Queues `farewell` for every user (but its sender), closes their outboxes,
/// and waits (at most [`FAREWELL_TIME`]) until it has been written.
async fn say_farewell(registry: &Registry, farewell: &Farewell) {
    let message = ServerMessage::Delivery {
        from: farewell.from.as_bytes(),
        body: farewell.text.as_bytes(),
    };
    let mut told = Vec::new();
    for (name, outbox) in registry.users() {
        if name != farewell.from.as_bytes() {
            outbox.deliver(|buf| message.encode(buf));
            outbox.close();
            told.push(outbox);
        }
    }
    let all_sent = async {
        for outbox in &told {
            outbox.finished().await;
        }
    };
    if tokio::time::timeout(FAREWELL_TIME, all_sent).await.is_err() {
        warn!("the farewell did not reach every user in time");
    }
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
            admission: Admission::new(config.max_pending, config.max_pending_per_address),
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
