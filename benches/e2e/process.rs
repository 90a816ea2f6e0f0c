//! A child process (the client, the raw copy, a start-up baseline) with its
//! standard input held open and its standard output counted as it comes, and
//! the connection it makes to this process.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How much of the output is kept, to show in an error.
const HEAD: usize = 4096;

/// Counts what a child prints on a pipe, on a thread of its own.
pub struct Output {
    rx: mpsc::Receiver<(u64, u64, Instant)>,
    /// Bytes printed so far.
    pub bytes: u64,
    lines: u64,
    last: Option<Instant>,
    head: Arc<Mutex<Vec<u8>>>,
}

impl Output {
    fn watch(pipe: impl Read + Send + 'static) -> Output {
        let (tx, rx) = mpsc::channel();
        let head = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&head);
        thread::spawn(move || count(pipe, &tx, &keep));
        Output {
            rx,
            bytes: 0,
            lines: 0,
            last: None,
            head,
        }
    }

    fn take(&mut self, (bytes, lines, at): (u64, u64, Instant)) {
        self.bytes = bytes;
        self.lines = lines;
        self.last = Some(at);
    }

    /// Waits until `lines` lines in all have been printed; returns when the
    /// last of them arrived.
    pub fn wait_lines(&mut self, lines: u64, timeout: Duration) -> io::Result<Instant> {
        self.wait(timeout, |o| o.lines >= lines)
            .map_err(|e| io::Error::other(format!("{e} (waiting for {lines} lines)")))
    }

    /// Waits until `bytes` bytes in all have been printed.
    pub fn wait_bytes(&mut self, bytes: u64, timeout: Duration) -> io::Result<Instant> {
        self.wait(timeout, |o| o.bytes >= bytes)
            .map_err(|e| io::Error::other(format!("{e} (waiting for {bytes} bytes)")))
    }

    fn wait(&mut self, timeout: Duration, done: impl Fn(&Output) -> bool) -> io::Result<Instant> {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(update) => self.take(update),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(io::Error::other(format!(
                        "timed out after {timeout:?} with {} bytes, {} lines printed; first output: {:?}",
                        self.bytes,
                        self.lines,
                        self.head_text()
                    )))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other(format!(
                        "the output ended after {} bytes, {} lines; first output: {:?}",
                        self.bytes,
                        self.lines,
                        self.head_text()
                    )))
                }
            }
        }
        Ok(self.last.unwrap_or_else(Instant::now))
    }

    fn head_text(&self) -> String {
        let head = self.head.lock().map(|h| h.clone()).unwrap_or_default();
        String::from_utf8_lossy(&head[..head.len().min(300)]).into_owned()
    }
}

/// Reads `pipe` until the child closes it (it exits or is killed), sending
/// the bytes and lines so far, and when they came, after every read; keeps
/// the first [`HEAD`] bytes in `head`.
fn count(mut pipe: impl Read, tx: &mpsc::Sender<(u64, u64, Instant)>, head: &Mutex<Vec<u8>>) {
    let mut buf = vec![0; 256 * 1024];
    let (mut bytes, mut lines) = (0u64, 0u64);
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let now = Instant::now();
        bytes += n as u64;
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        if let Ok(mut head) = head.lock() {
            if head.len() < HEAD {
                let take = n.min(HEAD - head.len());
                head.extend_from_slice(&buf[..take]);
            }
        }
        // Nobody listening any more: keep draining so the child never blocks.
        let _ = tx.send((bytes, lines, now));
    }
}

/// A running child with its standard input held open and its output counted;
/// killed when dropped.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    pub out: Output,
}

impl Proc {
    pub fn spawn(mut command: Command) -> io::Result<Proc> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        Ok(Proc {
            stdin: child.stdin.take(),
            out: Output::watch(stdout),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Types `line` and a newline on the child's standard input.
    pub fn type_line(&mut self, line: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("stdin closed"))?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    /// Types `!quit` (if `quit`), closes standard input, and waits (bounded)
    /// for the process to end; kills it if it does not.
    pub fn finish(mut self, quit: bool) -> io::Result<()> {
        if quit {
            let _ = self.type_line("!quit");
        }
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(io::Error::other(
            "the process did not end within 5 s of !quit; killed",
        ))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Accepts one connection (the child's), waiting at most `timeout`.
pub fn accept(listener: &TcpListener, timeout: Duration) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                return Ok(stream);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(io::Error::other("nobody connected in time"));
                }
                thread::sleep(Duration::from_millis(1));
            }
            Err(err) => return Err(err),
        }
    }
}
