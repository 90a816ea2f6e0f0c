//! Starting the real `chat-server` binary for integration tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `chat-server` child process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `chat-server --port 0 <args>` and waits (up to 20 s) for its
/// `Server is on. Now listening on port <port>` line. Its log goes to the test's
/// stderr only when `CHAT_TEST_SERVER_LOG` is set.
pub fn start_server(args: &[&str]) -> Server {
    let stderr = if std::env::var_os("CHAT_TEST_SERVER_LOG").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--address", "127.0.0.1", "--port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("cannot start chat-server");
    let stdout = child.stdout.take().expect("no stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && line.contains("Server is on") {
                let port = line
                    .split("Now listening on port ")
                    .nth(1)
                    .and_then(|p| p.trim().parse::<u16>().ok());
                let _ = tx.send(port);
                sent = true;
            }
        }
    });
    let port = match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Some(port)) => port,
        other => {
            let _ = child.kill();
            panic!("chat-server did not announce its port: {other:?}");
        }
    };
    Server { child, port }
}
