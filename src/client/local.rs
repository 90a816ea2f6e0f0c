//! `chat --local`: host a server inside the client when none is listening.
//!
//! The server runs on a thread and a runtime of its own, so that nothing the
//! client does (its terminal, its own connection) can ever hold up the other
//! users of the server.

use std::io;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::server;

/// How long quitting waits for the server to close its connections.
const STOP_TIME: Duration = Duration::from_secs(2);

/// A server running inside this process, until [`stop`](Self::stop)ped.
/// Dropping it tells the server to stop too, without waiting.
pub(super) struct LocalServer {
    stop: Option<oneshot::Sender<Option<server::Farewell>>>,
    stopped: oneshot::Receiver<()>,
}

impl LocalServer {
    /// Stops the server, which closes every connection, so the other users
    /// are told at once: first that `host` (the user of this client) left,
    /// if given. Waits (at most [`STOP_TIME`]) for the server to close its
    /// connections cleanly; its thread ends with the process anyway.
    pub(super) async fn stop(mut self, host: Option<&str>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(host.map(|host| server::Farewell {
                from: host.to_string(),
                text: super::text::HOST_LEFT.to_string(),
            }));
        }
        let _ = tokio::time::timeout(STOP_TIME, &mut self.stopped).await;
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(None);
        }
    }
}

/// Starts a server on `host:port` if the port is free. Returns `None` when
/// something is already listening there (then the client simply joins it).
pub(super) async fn host(host: &str, port: u16) -> io::Result<Option<LocalServer>> {
    let addr = crate::net::resolve(host, port).await?;
    let (ready_tx, ready_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<Option<server::Farewell>>();
    let (stopped_tx, stopped) = oneshot::channel();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Waiting for a server that does not stop lets the client's runtime,
    /// its only thread, go on meanwhile (on tokio's paused clock, which
    /// moves only while every task waits).
    #[tokio::test(start_paused = true)]
    async fn stopping_a_server_that_does_not_stop_never_holds_up_the_runtime() {
        let (stop, _stop_rx) = oneshot::channel();
        let (_stopped_tx, stopped) = oneshot::channel();
        let server = LocalServer {
            stop: Some(stop),
            stopped,
        };
        let ticks = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ticks);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        tokio::task::yield_now().await;
        let started = tokio::time::Instant::now();
        server.stop(None).await;
        assert_eq!(started.elapsed(), STOP_TIME, "it waited for the server");
        tokio::time::sleep(Duration::from_millis(1)).await;
        let ticks = ticks.load(Ordering::Relaxed);
        assert!(
            ticks >= 150,
            "the runtime ticked {ticks} times while the server stopped"
        );
    }
}
