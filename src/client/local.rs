//! `chat --local`: host a server inside the client when none is listening.

use std::io;

use tokio::task::JoinHandle;

use crate::server;

/// A server running inside this process. Dropping it stops the server, which
/// closes every connection, so the other users are told at once.
pub(super) struct LocalServer {
    task: JoinHandle<io::Result<()>>,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server on `host:port` if the port is free. Returns `None` when
/// something is already listening there (then the client simply joins it).
pub(super) async fn host(host: &str, port: u16) -> io::Result<Option<LocalServer>> {
    let addr = crate::net::resolve(host, port).await?;
    let listener = match server::bind(addr).await {
        Ok(listener) => listener,
        Err(err) if err.kind() == io::ErrorKind::AddrInUse => return Ok(None),
        Err(err) => return Err(err),
    };
    let task = tokio::spawn(server::serve(
        listener,
        server::Config::default(),
        std::future::pending(),
    ));
    Ok(Some(LocalServer { task }))
}
