//! Helpers for the client's end-to-end tests: the `chat` binary driven through
//! pipes, raw protocol peers, and scripted fake servers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use super::TIMEOUT;

pub const CHAT: &str = env!("CARGO_BIN_EXE_chat");
pub const CLIENT_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/client.py");

/// How a scenario starts the client: the binary itself, or `python3 client.py`
/// as the course's check does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    Binary,
    ClientPy,
}

impl Launch {
    /// The command that starts the client on `port`, in plain mode.
    pub fn command(self, port: u16, extra: &[&str]) -> Command {
        let port = port.to_string();
        let mut cmd = match self {
            Launch::Binary => {
                let mut cmd = Command::new(CHAT);
                cmd.arg("--plain");
                cmd
            }
            Launch::ClientPy => {
                let mut cmd = Command::new("python3");
                cmd.arg(CLIENT_PY).env("CHAT_CLIENT_BINARY", CHAT);
                cmd
            }
        };
        cmd.args(["--address", "127.0.0.1", "--port", &port])
            .args(extra)
            .env_remove("NO_COLOR");
        cmd
    }
}

// ---- the client through pipes ---------------------------------------------

/// The client with piped standard input and output.
pub struct Piped {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: mpsc::Receiver<Vec<u8>>,
    /// Everything the client has printed so far.
    pub output: Vec<u8>,
}

impl Piped {
    pub fn spawn(mut cmd: Command) -> Piped {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start chat");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, chunks) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = vec![0; 1 << 16];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Piped {
            child,
            stdin,
            chunks,
            output: Vec::new(),
        }
    }

    pub fn binary(port: u16) -> Piped {
        Piped::spawn(Launch::Binary.command(port, &[]))
    }

    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes standard input (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Takes standard input, to write to it from elsewhere.
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin is open")
    }

    /// The client's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The output as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Waits until the output contains `needle`; panics after [`TIMEOUT`].
    pub fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.text().contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.output.extend_from_slice(&chunk),
                Err(_) => panic!(
                    "timed out waiting for {needle:?}; output so far:\n{}",
                    self.text()
                ),
            }
        }
    }

    /// Collects output for a while, whatever comes.
    pub fn collect_for(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Ok(chunk) = self.chunks.recv_timeout(left) {
                self.output.extend_from_slice(&chunk);
            }
        }
    }

    /// Waits until the output has at least `n` bytes.
    pub fn expect_bytes(&mut self, n: usize) {
        let deadline = Instant::now() + TIMEOUT * 3;
        while self.output.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.output.extend_from_slice(&chunk),
                Err(_) => panic!("timed out with {} of {n} bytes", self.output.len()),
            }
        }
    }

    /// Waits for the process to end and collects the rest of its output.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_millis(200)) {
                    self.output.extend_from_slice(&chunk);
                }
                return status;
            }
            if Instant::now() >= deadline {
                panic!("the client did not exit; output so far:\n{}", self.text());
            }
            while let Ok(chunk) = self.chunks.try_recv() {
                self.output.extend_from_slice(&chunk);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- scripted fake servers ------------------------------------------------

/// One accepted connection of a fake server.
pub struct FakeConn {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
}

impl FakeConn {
    /// Reads one line from the client (without its `\n`).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line.trim_end_matches('\n').to_string()
    }

    /// Answers the client's `HELLO-FROM` with `HELLO`; returns the name.
    pub fn accept_login(&mut self) -> String {
        let hello = self.line();
        let name = hello
            .strip_prefix("HELLO-FROM ")
            .unwrap_or_else(|| panic!("expected HELLO-FROM, got {hello:?}"))
            .to_string();
        self.write(format!("HELLO {name}\n").as_bytes());
        name
    }

    /// Writes bytes in one `write_all`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
        self.stream.flush().unwrap();
    }

    /// Writes every byte in its own TCP write, with a pause after each.
    pub fn trickle(&mut self, bytes: &[u8], pause: Duration) {
        for b in bytes {
            self.write(std::slice::from_ref(b));
            thread::sleep(pause);
        }
    }
}

/// A server that accepts one connection and runs `script` on it in a thread.
pub fn fake_server<F, T>(script: F) -> (u16, JoinHandle<T>)
where
    F: FnOnce(FakeConn) -> T + Send + 'static,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(TIMEOUT * 3)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        script(FakeConn { reader, stream })
    });
    (port, handle)
}
