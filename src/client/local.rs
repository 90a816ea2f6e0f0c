//! `chat --local`: host a server inside the client when none is listening.
//!
//! The server runs on a thread and a runtime of its own, so that nothing the
//! client does (its terminal, its own connection) can ever hold up the other
//! users of the server.

use std::io;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::server;

/// How long quitting waits for the server to close its connections.
const STOP_TIME: Duration = Duration::from_secs(2);

/// A server running inside this process. Dropping it stops the server, which
/// closes every connection, so the other users are told at once.
pub(super) struct LocalServer {
    stop: Option<oneshot::Sender<Option<server::Farewell>>>,
    stopped: std_mpsc::Receiver<()>,
}

impl LocalServer {
    /// Stops the server, every other user first told that `host` (the user
    /// of this client) left.
    pub(super) fn farewell(mut self, host: &str) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(Some(server::Farewell {
                from: host.to_string(),
                text: super::text::HOST_LEFT.to_string(),
            }));
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(None);
        }
        // Give the server a moment to close its connections cleanly; the
        // thread ends with the process anyway.
        let _ = self.stopped.recv_timeout(STOP_TIME);
    }
}

/// Starts a server on `host:port` if the port is free. Returns `None` when
/// something is already listening there (then the client simply joins it).
pub(super) async fn host(host: &str, port: u16) -> io::Result<Option<LocalServer>> {
    let addr = crate::net::resolve(host, port).await?;
    let (ready_tx, ready_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<Option<server::Farewell>>();
    let (stopped_tx, stopped) = std_mpsc::channel();
    std::thread::Builder::new()
        .name("local-server".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match server::bind(addr).await {
                    Ok(listener) => listener,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let stop = async move { stop_rx.await.ok().flatten() };
                let _ = server::serve(listener, server::Config::default(), stop).await;
            });
            let _ = stopped_tx.send(());
        })?;
    match ready_rx.await {
        Ok(Ok(())) => Ok(Some(LocalServer {
            stop: Some(stop_tx),
            stopped,
        })),
        Ok(Err(err)) if err.kind() == io::ErrorKind::AddrInUse => Ok(None),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(io::Error::other("the local server's thread ended")),
    }
}
