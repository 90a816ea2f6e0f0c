//! The real `chat-server` binary as a child process, as the integration tests
//! and the end-to-end bench start it.

use std::io::{self, BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long `chat-server` may take to announce its port.
const START_TIME: Duration = Duration::from_secs(20);

/// A running `chat-server` child process, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
}

impl ServerProcess {
    /// Starts `chat-server --address 127.0.0.1 --port 0 <args>`, its log going
    /// to `stderr`, and waits for its `Server is on. Now listening on port
    /// <port>` line.
    pub fn start(args: &[&str], stderr: Stdio) -> io::Result<ServerProcess> {
        ServerProcess::start_on(0, args, stderr)
    }

    /// Like [`start`](Self::start), on `port` (0 picks a free one).
    pub fn start_on(port: u16, args: &[&str], stderr: Stdio) -> io::Result<ServerProcess> {
        ServerProcess::start_binary(&super::binary("chat-server"), port, args, stderr)
    }

    /// Like [`start_on`](Self::start_on), with the `chat-server` binary at
    /// `binary`.
    pub fn start_binary(
        binary: &Path,
        port: u16,
        args: &[&str],
        stderr: Stdio,
    ) -> io::Result<ServerProcess> {
        let port = port.to_string();
        let mut command = Command::new(binary);
        command
            .args(["--address", "127.0.0.1", "--port", &port])
            .args(args)
            .stderr(stderr);
        ServerProcess::spawn(command)
    }

    /// Starts `command`, a server that announces its port as `chat-server`
    /// does, and waits for that line.
    pub fn spawn(mut command: Command) -> io::Result<ServerProcess> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take();
        // Killed on the way out if it does not announce its port.
        let mut server = ServerProcess { child, port: 0 };
        let stdout = stdout.ok_or_else(|| io::Error::other("chat-server has no stdout"))?;
        let (tx, rx) = mpsc::channel();
        // Reads the output to its end, so that the server never blocks on it.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && line.contains("Server is on") {
                    let _ = tx.send(announced_port(&line));
                    sent = true;
                }
            }
        });
        match rx.recv_timeout(START_TIME) {
            Ok(Some(port)) => {
                server.port = port;
                Ok(server)
            }
            other => Err(io::Error::other(format!(
                "chat-server did not announce its port within {START_TIME:?}: {other:?}"
            ))),
        }
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in `Server is on. Now listening on port <port>`.
fn announced_port(line: &str) -> Option<u16> {
    line.split("Now listening on port ")
        .nth(1)
        .and_then(|p| p.trim().parse().ok())
}
