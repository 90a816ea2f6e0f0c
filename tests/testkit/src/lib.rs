//! What the integration tests and the benchmarks of `chat` share: the real
//! `chat-server` binary as a child process ([`ServerProcess`]) and a blocking
//! protocol peer ([`Client`]); driving the `chat` client through pipes and
//! against scripted fake servers ([`client`]); rich mode in a terminal
//! emulator ([`screen`]); a process's memory and CPU time ([`procfs`]); a
//! seeded generator ([`rng`]); and the stream of deliveries the benchmarks
//! send ([`deliveries`]).
//!
//! The binaries are found where cargo says they are when it runs a test or
//! a benchmark (`CARGO_BIN_EXE_<name>`, see [`binary`]).

pub mod client;
pub mod deliveries;
pub mod procfs;
pub mod rng;
pub mod screen;
mod server_process;

pub use deliveries::{delivery_lines, BODY64, SENDER};
pub use server_process::ServerProcess;

use std::path::PathBuf;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

/// The path of the package's binary `name` (`chat`, `chat-server`), which
/// cargo gives the tests and benchmarks it runs. Panics, saying so, when the
/// program was not started by cargo.
pub fn binary(name: &str) -> PathBuf {
    let var = format!("CARGO_BIN_EXE_{name}");
    match std::env::var_os(&var) {
        Some(path) => PathBuf::from(path),
        None => panic!("{var} is not set: run the tests with `cargo test`"),
    }
}

/// Starts `chat-server --port 0 <args>` (see [`ServerProcess::start`]). Its log
/// goes to the test's stderr only when `CHAT_TEST_SERVER_LOG` is set.
pub fn start_server(args: &[&str]) -> ServerProcess {
    let stderr = if std::env::var_os("CHAT_TEST_SERVER_LOG").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    start_server_with(args, stderr)
}

/// Like [`start_server`], on a given port (to start a server again where
/// one was).
pub fn start_server_on(port: u16, args: &[&str]) -> ServerProcess {
    ServerProcess::start_on(port, args, Stdio::null())
        .unwrap_or_else(|e| panic!("cannot start chat-server: {e}"))
}

/// Like [`start_server`], with the server's log going to `stderr`.
pub fn start_server_with(args: &[&str], stderr: Stdio) -> ServerProcess {
    ServerProcess::start(args, stderr).unwrap_or_else(|e| panic!("cannot start chat-server: {e}"))
}

/// The line the client shows for a message from `name`: `From name: message`.
pub fn from(name: &str, message: &str) -> String {
    use chat::client::{text, SafeText};
    text::message_from(
        &SafeText::neutralise_str(name),
        &SafeText::neutralise_str(message),
    )
    .to_string()
}

/// A port on this machine on which nothing listens (it was free a moment
/// ago).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How long a test waits for an expected line before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A blocking test client with a read timeout, so nothing hangs forever.
pub struct Client {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Client {
    pub fn connect(server: &ServerProcess) -> Client {
        Client::connect_port(server.port)
    }

    /// Connects to a server on this machine's `port`.
    pub fn connect_port(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
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
    pub fn login(server: &ServerProcess, name: &str) -> Client {
        Client::login_port(server.port, name)
    }

    /// Like [`login`](Self::login), to a server on this machine's `port`.
    pub fn login_port(port: u16, name: &str) -> Client {
        let mut c = Client::connect_port(port);
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
        assert!(try_send(&mut self.writer, bytes), "write");
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

/// Sends all of `bytes`; false if the connection failed (or timed out).
pub fn try_send(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    stream.write_all(bytes).is_ok()
}

/// Resident memory (VmRSS) of process `pid`, in KiB; 0 if it cannot be read.
pub fn rss_kib(pid: u32) -> u64 {
    procfs::status_kib(pid, "VmRSS").unwrap_or(0)
}
