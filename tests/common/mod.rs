//! Helpers shared by the integration tests: starting the real `chat-server`
//! binary, and (in [`client`]) driving the `chat` client.
#![allow(dead_code)]

pub mod client;
pub mod rng;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
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
    start_server_with(args, stderr)
}

/// Like [`start_server`], with the server's log going to `stderr`.
pub fn start_server_with(args: &[&str], stderr: Stdio) -> Server {
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

/// How long a test waits for an expected line before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking test client with a read timeout, so nothing hangs forever.
pub struct Client {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Client {
    pub fn connect(server: &Server) -> Client {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    /// Connects and logs in as `name`, asserting `HELLO <name>`.
    pub fn login(server: &Server, name: &str) -> Client {
        let mut c = Client::connect(server);
        c.send(&format!("HELLO-FROM {name}\n"));
        assert_eq!(c.line(), format!("HELLO {name}"));
        c
    }

    /// Sends `line` and a `\n`.
    pub fn send_line(&mut self, line: &str) {
        self.send(&format!("{line}\n"));
    }

    pub fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes());
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// The next line as bytes, without its `\n`. Panics on timeout or EOF.
    pub fn line_bytes(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut buf)
            .expect("read a line");
        assert!(n > 0, "connection closed while a line was expected");
        assert_eq!(buf.pop(), Some(b'\n'), "incomplete line {buf:?}");
        buf
    }

    pub fn line(&mut self) -> String {
        String::from_utf8_lossy(&self.line_bytes()).into_owned()
    }

    /// Asserts that the server closes the connection (after whatever it sent).
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "unexpected bytes before close: {rest:?}"),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                assert!(rest.is_empty(), "unexpected bytes before reset: {rest:?}")
            }
            Err(e) => panic!("connection was not closed: {e}"),
        }
    }

    /// Asserts that nothing arrives for `ms` milliseconds.
    pub fn expect_silence(&mut self, ms: u64) {
        self.reader
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(ms)))
            .unwrap();
        let mut buf = [0u8; 1];
        match self.reader.read(&mut buf) {
            Ok(0) => panic!("connection closed unexpectedly"),
            Ok(_) => panic!("unexpected data: {:?}", buf),
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                "{e}"
            ),
        }
        self.reader
            .get_ref()
            .set_read_timeout(Some(TIMEOUT))
            .unwrap();
    }

    pub fn list(&mut self) -> String {
        self.send("LIST\n");
        self.line()
    }
}

/// Resident memory (VmRSS) of process `pid`, in KiB; 0 if it cannot be read.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
