//! Helpers for the client's end-to-end tests: the `chat` binary driven through
//! pipes, raw protocol peers, and scripted fake servers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chat::client::{text, SafeText};
use expectrl::Expect;

pub use super::TIMEOUT;

/// The `chat` binary under test.
pub fn chat() -> PathBuf {
    super::binary("chat")
}

/// The course's entry point, `client.py` at the root of the package.
pub const CLIENT_PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../client.py");

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
                let mut cmd = Command::new(chat());
                cmd.arg("--plain");
                cmd
            }
            Launch::ClientPy => {
                let mut cmd = Command::new("python3");
                cmd.arg(CLIENT_PY).env("CHAT_CLIENT_BINARY", chat());
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

/// The client with piped standard input, output and error.
pub struct Piped {
    child: Child,
    stdin: Option<ChildStdin>,
    chunks: mpsc::Receiver<Chunk>,
    /// Everything the client has printed on standard output so far.
    pub output: Vec<u8>,
    /// Everything the client has printed on standard error so far.
    pub errors: Vec<u8>,
}

/// Bytes read from the client's standard output or error.
enum Chunk {
    Out(Vec<u8>),
    Err(Vec<u8>),
}

/// Passes what `from` gives on to `tx`, each piece made a chunk by `make`.
fn forward(
    mut from: impl Read + Send + 'static,
    tx: mpsc::Sender<Chunk>,
    make: fn(Vec<u8>) -> Chunk,
) {
    thread::spawn(move || {
        let mut buf = vec![0; 1 << 16];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || tx.send(make(buf[..n].to_vec())).is_err() {
                break;
            }
        }
    });
}

impl Piped {
    pub fn spawn(mut cmd: Command) -> Piped {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat");
        let stdin = child.stdin.take();
        let (tx, chunks) = mpsc::channel();
        forward(child.stdout.take().unwrap(), tx.clone(), Chunk::Out);
        forward(child.stderr.take().unwrap(), tx, Chunk::Err);
        Piped {
            child,
            stdin,
            chunks,
            output: Vec::new(),
            errors: Vec::new(),
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

    /// Standard output as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).into_owned()
    }

    /// Standard error as text.
    pub fn errors_text(&self) -> String {
        String::from_utf8_lossy(&self.errors).into_owned()
    }

    /// Keeps a chunk where it came from.
    fn take(&mut self, chunk: Chunk) {
        match chunk {
            Chunk::Out(bytes) => self.output.extend_from_slice(&bytes),
            Chunk::Err(bytes) => self.errors.extend_from_slice(&bytes),
        }
    }

    /// Waits until standard output contains `needle`; panics after
    /// [`TIMEOUT`].
    pub fn expect(&mut self, needle: &str) {
        self.expect_in(needle, false);
    }

    /// Waits until standard error contains `needle`; panics after
    /// [`TIMEOUT`].
    pub fn expect_err(&mut self, needle: &str) {
        self.expect_in(needle, true);
    }

    fn expect_in(&mut self, needle: &str, errors: bool) {
        let deadline = Instant::now() + TIMEOUT;
        let found = |p: &Piped| {
            let text = if errors { p.errors_text() } else { p.text() };
            text.contains(needle)
        };
        while !found(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.take(chunk),
                Err(_) => panic!(
                    "timed out waiting for {needle:?}; output so far:\n{}\nerrors so far:\n{}",
                    self.text(),
                    self.errors_text()
                ),
            }
        }
    }

    /// Collects output for a while, whatever comes.
    pub fn collect_for(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if let Ok(chunk) = self.chunks.recv_timeout(left) {
                self.take(chunk);
            }
        }
    }

    /// Waits until standard output has at least `n` bytes.
    pub fn expect_bytes(&mut self, n: usize) {
        let deadline = Instant::now() + TIMEOUT * 3;
        while self.output.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.take(chunk),
                Err(_) => panic!("timed out with {} of {n} bytes", self.output.len()),
            }
        }
    }

    /// Waits for the process to end and collects the rest of its output.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Until both pipes are at their end (on a busy machine the
                // readers may be well behind the exit).
                let rest = Instant::now() + TIMEOUT;
                while let Ok(chunk) = self
                    .chunks
                    .recv_timeout(rest.saturating_duration_since(Instant::now()))
                {
                    self.take(chunk);
                }
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the client did not exit; output so far:\n{}\nerrors so far:\n{}",
                    self.text(),
                    self.errors_text()
                );
            }
            while let Ok(chunk) = self.chunks.try_recv() {
                self.take(chunk);
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

/// Logs in as `name` against a fake server running `script` after the login.
pub fn logged_in<F>(name: &str, script: F) -> (Piped, JoinHandle<()>)
where
    F: FnOnce(FakeConn) + Send + 'static,
{
    let (port, server) = fake_server(move |mut conn| {
        conn.accept_login();
        script(conn);
    });
    let mut client = Piped::binary(port);
    client.expect(text::WELCOME);
    client.send_line(name);
    client.expect(&text::logged_in(&SafeText::neutralise_str(name)));
    (client, server)
}

/// Standard output after the login line.
pub fn after_login(client: &Piped, name: &str) -> String {
    let text = client.text();
    let marker = format!("{}\n", text::logged_in(&SafeText::neutralise_str(name)));
    let at = text.find(&marker).expect("login line") + marker.len();
    text[at..].to_string()
}

// ---- the client in a terminal ----------------------------------------------

/// `chat` with `args`, started by a shell in a pseudo-terminal of 80 by 24
/// that records the terminal's settings (`stty -g`) before and after it, and
/// then prints its exit status. Rich mode unless `args` say `--plain`.
pub struct InShell {
    pub session: expectrl::session::OsSession,
    dir: std::path::PathBuf,
}

impl InShell {
    pub fn start(name: &str, port: u16, args: &str) -> InShell {
        let dir = std::env::temp_dir().join(format!("chat-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let chat = chat();
        let chat = chat.display();
        let script = format!(
            "stty cols 80 rows 24; stty -g > before; '{chat}' --port {port} --no-history {args}; \
             status=$?; stty -g > after; echo STATUS=$status."
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script])
            .current_dir(&dir)
            .env("TERM", "xterm-256color")
            .env("NO_COLOR", "1")
            .env("HOME", &dir)
            .env("XDG_CONFIG_HOME", &dir)
            .env("XDG_DATA_HOME", &dir);
        let mut session = expectrl::Session::spawn(cmd).unwrap();
        session.set_expect_timeout(Some(TIMEOUT));
        session.expect(text::WELCOME).unwrap();
        InShell { session, dir }
    }

    /// Types `name` and Enter, as a terminal sends them, and waits until
    /// logged in.
    pub fn login(&mut self, name: &str) {
        self.session.send(format!("{name}\r")).unwrap();
        self.session
            .expect(text::logged_in(&SafeText::neutralise_str(name)).as_str())
            .unwrap();
    }

    /// The client's process id: the shell's only child.
    pub fn client_pid(&self) -> u32 {
        let shell = self.session.get_process().pid();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children.trim().parse().expect("one child")
    }

    /// Waits until the client has ended; checks that the terminal's
    /// settings are those it had before; returns the exit status.
    pub fn status(mut self) -> i32 {
        let found = self
            .session
            .expect(expectrl::Regex(r"STATUS=([0-9]+)\."))
            .unwrap();
        let status = String::from_utf8_lossy(found.get(1).unwrap())
            .parse()
            .unwrap();
        let before = std::fs::read_to_string(self.dir.join("before")).unwrap();
        let after = std::fs::read_to_string(self.dir.join("after")).unwrap();
        assert!(!before.trim().is_empty());
        assert_eq!(before, after, "the terminal's settings were not given back");
        let _ = std::fs::remove_dir_all(&self.dir);
        status
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
