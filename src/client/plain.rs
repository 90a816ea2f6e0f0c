//! The plain front end: the assignment's lines on standard output, one per
//! line, flushed at once, and nothing else there; the client's own lines
//! (hints, notices, connection errors) on standard error; lines typed on
//! standard input. No prompt, no colour, no escape sequence.

use std::io::{self, BufRead, IoSlice, Write};

use tokio::sync::mpsc;

use std::sync::Arc;

use super::inputs::{Budget, Typed, UserInput};
use super::output::{unbuffered_stdout, write_out};
use super::render::Line;
use super::screen::Screen;

/// Lines of at least this size are written straight through instead of being
/// gathered with their neighbours (so a huge message is never copied).
const GATHER_LIMIT: usize = 64 * 1024;

/// Shows the assignment's lines on standard output, and the client's own on
/// standard error.
pub(super) struct PlainScreen {
    out: Box<dyn Write + Send>,
    batch: Vec<u8>,
    /// Set once standard output is gone (a closed pipe): then nothing more is
    /// written there.
    broken: bool,
    /// Where the client's own lines go.
    notes: Box<dyn Write + Send>,
    /// Set once standard error is gone.
    notes_broken: bool,
}

impl PlainScreen {
    pub(super) fn new() -> PlainScreen {
        #[cfg(unix)]
        enlarge_pipe(std::os::fd::AsFd::as_fd(&io::stdout()));
        // Standard error is not buffered: each line is one write.
        PlainScreen::writing_to(unbuffered_stdout(), Box::new(io::stderr()))
    }

    /// A screen that writes to `out` and `notes` instead of standard output
    /// and standard error.
    pub(super) fn writing_to(
        out: Box<dyn Write + Send>,
        notes: Box<dyn Write + Send>,
    ) -> PlainScreen {
        PlainScreen {
            out,
            batch: Vec::new(),
            broken: false,
            notes,
            notes_broken: false,
        }
    }

    /// Gathers a line, or writes it straight through if it is big (with the
    /// lines gathered before it, in one system call, without copying it).
    fn add_line(&mut self, line: &Line<'_>) -> io::Result<()> {
        let big = matches!(line, Line::From { message, .. } if message.len() >= GATHER_LIMIT);
        if !big {
            line.append_plain(&mut self.batch);
            return Ok(());
        }
        let [a, b, c, d] = line.plain_parts();
        let mut parts = [&self.batch[..], a, b, c, d, b"\n"].map(IoSlice::new);
        write_out(&mut self.out, &mut parts)?;
        self.batch.clear();
        Ok(())
    }

    /// Writes the lines gathered, with one system call.
    fn write_batch(&mut self) -> io::Result<()> {
        write_out(&mut self.out, &mut [IoSlice::new(&self.batch)])?;
        self.out.flush()
    }
}

impl Default for PlainScreen {
    fn default() -> Self {
        Self::new()
    }
}

/// The pipe buffer asked for when standard output is a pipe: the most an
/// unprivileged process may set by default (`/proc/sys/fs/pipe-max-size`).
pub const PIPE_BUFFER: usize = 1 << 20;

/// When `fd` is a pipe with a buffer smaller than [`PIPE_BUFFER`], enlarges
/// it. The default 64 KiB makes writing a 100 MB message 1,600 rounds of
/// "fill the pipe, wake the reader, wait for it", and that waiting, not the
/// client's work, was most of the time it took. Anything else (a terminal, a
/// file, a system that refuses) is left as it is. (Unix only: elsewhere pipes
/// are left as they are.)
#[cfg(unix)]
pub fn enlarge_pipe(fd: std::os::fd::BorrowedFd<'_>) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use nix::fcntl::{fcntl, FcntlArg};
        if let Ok(size) = fcntl(fd, FcntlArg::F_GETPIPE_SZ) {
            if usize::try_from(size).is_ok_and(|size| size < PIPE_BUFFER) {
                let _ = fcntl(fd, FcntlArg::F_SETPIPE_SZ(PIPE_BUFFER as i32));
            }
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = fd;
}

impl Screen for PlainScreen {
    fn add(&mut self, line: &Line<'_>) {
        if !self.broken && self.add_line(line).is_err() {
            self.broken = true;
        }
    }

    fn add_note(&mut self, line: &Line<'_>) {
        // The lines added before it go out first: on a terminal, which shows
        // both, they keep their order.
        self.flush();
        if self.notes_broken {
            return;
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        line.append_plain(&mut bytes);
        if write_out(&mut self.notes, &mut [IoSlice::new(&bytes)]).is_err() {
            self.notes_broken = true;
        }
    }

    fn flush(&mut self) {
        if !self.broken && self.write_batch().is_err() {
            self.broken = true;
        }
        self.batch.clear();
        if self.batch.capacity() > GATHER_LIMIT * 4 {
            // Do not keep the memory of an unusually large batch.
            self.batch = Vec::new();
        }
    }
}

/// Reads standard input on a thread of its own and sends each line.
///
/// Before each line it waits for room in `budget`, so that while the server
/// does not take what is sent, standard input is not read either.
///
/// A blocking read cannot be cancelled, so the thread is never joined: when
/// the program returns from `main`, it ends with the process, and the client
/// never waits for the user to press Enter.
pub(super) fn spawn_stdin_reader(tx: mpsc::UnboundedSender<UserInput>, budget: Arc<Budget>) {
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut stdin = stdin.lock();
        let mut buf = Vec::new();
        loop {
            budget.wait_for_room();
            buf.clear();
            match stdin.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {
                    if buf.last() == Some(&b'\n') {
                        buf.pop();
                    }
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let permit = budget.take(text.len());
                    if tx.send(UserInput::Line(Typed { text, permit })).is_err() {
                        return;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(UserInput::Eof);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::safe::SafeText;
    use std::sync::Mutex;

    /// Keeps what is written, taking at most `step` bytes per call (as a
    /// pipe or a slow terminal may), and counts the calls.
    #[derive(Clone)]
    struct SlowOutput {
        written: Arc<Mutex<(Vec<u8>, usize)>>,
        step: usize,
    }

    impl Write for SlowOutput {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step);
            let mut written = self.written.lock().unwrap();
            written.0.extend_from_slice(&buf[..n]);
            written.1 += 1;
            Ok(n)
        }

        /// Like `writev`: takes from several slices in one call.
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let some: Vec<u8> = bufs
                .iter()
                .flat_map(|buf| buf.iter().copied())
                .take(self.step)
                .collect();
            self.write(&some)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn from(name: &str, message: String) -> Line<'static> {
        Line::From {
            name: SafeText::neutralise_str(name).into_owned(),
            message: SafeText::neutralise_str(&message).into_owned(),
        }
    }

    #[test]
    fn small_and_big_lines_come_out_whole_and_in_order_through_partial_writes() {
        let big = "x".repeat(GATHER_LIMIT + 5);
        for step in [1 << 30, 7] {
            let out = SlowOutput {
                written: Arc::default(),
                step,
            };
            let mut screen = PlainScreen::writing_to(Box::new(out.clone()), Box::new(io::sink()));
            let lines = [
                from("bob", "one".into()),
                Line::info("two"),
                from("carol", big.clone()),
                from("bob", "four".into()),
            ];
            screen.show(&lines);
            let expected: String = lines
                .iter()
                .map(|line| format!("{}\n", line.plain()))
                .collect();
            let (written, calls) = out.written.lock().unwrap().clone();
            assert_eq!(String::from_utf8(written).unwrap(), expected, "step {step}");
            if step > expected.len() {
                // The first two lines go with the big one, the last alone.
                assert_eq!(calls, 2);
            }
        }
    }

    /// Records writes to standard output and standard error in one list,
    /// as a terminal that shows both would see them.
    #[derive(Clone)]
    struct Tagged {
        tag: &'static str,
        seen: Arc<Mutex<Vec<String>>>,
    }

    impl Write for Tagged {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let text = String::from_utf8_lossy(buf);
            let mut seen = self.seen.lock().unwrap();
            seen.extend(text.lines().map(|line| format!("{}: {line}", self.tag)));
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_clients_own_lines_go_to_standard_error_after_those_before_them() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tagged = |tag| {
            Box::new(Tagged {
                tag,
                seen: Arc::clone(&seen),
            })
        };
        let mut screen = PlainScreen::writing_to(tagged("out"), tagged("err"));
        screen.add(&from("bob", "one".into()));
        screen.add_note(&Line::notice("a note"));
        screen.add(&from("bob", "two".into()));
        screen.flush();
        screen.note(&[Line::error("an error")]);
        screen.show_final(&[Line::info("last")]);
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "out: From bob: one",
                "err: a note",
                "out: From bob: two",
                "err: an error",
                "out: last"
            ]
        );
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod pipe_tests {
    use super::*;
    use nix::fcntl::{fcntl, FcntlArg};
    use std::os::fd::AsFd;

    #[test]
    fn a_small_pipe_is_enlarged_a_large_one_kept_and_a_file_left_alone() {
        let (_reader, writer) = nix::unistd::pipe().unwrap();
        let before = fcntl(&writer, FcntlArg::F_GETPIPE_SZ).unwrap();
        assert!(usize::try_from(before).unwrap() < PIPE_BUFFER);
        enlarge_pipe(writer.as_fd());
        let after = fcntl(&writer, FcntlArg::F_GETPIPE_SZ).unwrap();
        assert!(after >= before);
        let limit: Option<usize> = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|text| text.trim().parse().ok());
        if limit.is_some_and(|limit| limit >= PIPE_BUFFER) {
            assert_eq!(usize::try_from(after).unwrap(), PIPE_BUFFER);
        }
        // Asked again, nothing changes.
        enlarge_pipe(writer.as_fd());
        assert_eq!(fcntl(&writer, FcntlArg::F_GETPIPE_SZ).unwrap(), after);
        // Not a pipe: nothing happens, and nothing fails.
        let file = std::fs::File::open("/dev/null").unwrap();
        enlarge_pipe(file.as_fd());
    }
}
