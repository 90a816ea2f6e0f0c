//! The plain front end: the assignment's lines on standard output, one per
//! line, flushed at once, and nothing else there; the client's own lines
//! (hints, notices, connection errors) on standard error; lines typed on
//! standard input. No prompt, no colour, no escape sequence.
//!
//! Lines are written by a thread of their own (`output::Writer`): the main
//! loop never waits for standard output or standard error, and while more
//! than [`BACKLOG_LIMIT`] waits for them it stops reading the server (TCP
//! then slows the server down), as rich mode does.

use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::inputs::{Budget, Typed, UserInput};
use super::outcome::Outcome;
use super::output::{unbuffered_stdout, Stream, Writer};
use super::render::Line;
use super::screen::{Backlog, Screen};

/// Lines of at least this size are not gathered with their neighbours: they
/// are handed to the writer on their own, in pieces of at most
/// [`PIECE`] bytes, so that writing a huge message begins while the rest of
/// it is still being copied.
const GATHER_LIMIT: usize = 64 * 1024;
const PIECE: usize = 1 << 20;

/// How much may wait to be written before the main loop stops reading the
/// server: what a terminal shows in a moment, and a bounded amount of
/// memory in a flood.
const BACKLOG_LIMIT: usize = 1 << 20;

/// On the way out (`!quit`, the end of input, the server gone), how long
/// standard output and standard error have to take what still waits; what
/// they have not taken by then is dropped. After a signal, nothing waits.
pub(super) const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// Shows the assignment's lines on standard output, and the client's own on
/// standard error, through the writer thread.
pub(super) struct PlainScreen {
    writer: Writer,
    /// Lines added and not yet given to the writer.
    batch: Vec<u8>,
    backlog: Arc<Backlog>,
    finished: bool,
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
        let backlog = Backlog::new(BACKLOG_LIMIT);
        PlainScreen {
            writer: Writer::start(out, notes, Arc::clone(&backlog)),
            batch: Vec::new(),
            backlog,
            finished: false,
        }
    }

    /// Gives `bytes` to the writer, for `stream`.
    fn give(&mut self, stream: Stream, bytes: Vec<u8>) {
        if !bytes.is_empty() {
            let spare = self.writer.give(stream, bytes);
            if stream == Stream::Out {
                self.batch = spare;
            }
        }
    }

    /// Gives a big line to the writer, in pieces of at most [`PIECE`] bytes,
    /// copied into the buffers the writer is done with when there are any
    /// (memory already in use costs no page faults).
    fn give_big(&mut self, line: &Line<'_>) {
        let mut left = line.len() + 1;
        let mut piece = std::mem::take(&mut self.batch);
        piece.reserve_exact(left.min(PIECE));
        for part in line.plain_parts().into_iter().chain([&b"\n"[..]]) {
            let mut part = part;
            while !part.is_empty() {
                let room = PIECE - piece.len();
                let (now, later) = part.split_at(room.min(part.len()));
                piece.extend_from_slice(now);
                part = later;
                left -= now.len();
                if piece.len() == PIECE && left > 0 {
                    let mut next = self.writer.give(Stream::Out, piece);
                    next.reserve_exact(left.min(PIECE));
                    piece = next;
                }
            }
        }
        self.batch = self.writer.give(Stream::Out, piece);
    }

    /// Shows what was added, and then lets the writer finish: waits until
    /// everything has been written, or for [`OUTPUT_GRACE`] at most; after
    /// a signal, not at all. Nothing is written afterwards.
    pub(super) fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.flush();
        let grace = match outcome {
            Outcome::Signalled(_) => Duration::ZERO,
            _ => OUTPUT_GRACE,
        };
        self.writer.finish(grace);
    }
}

impl Default for PlainScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PlainScreen {
    fn drop(&mut self) {
        self.finish(Outcome::Quit);
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
        if line.len() < GATHER_LIMIT {
            line.append_plain(&mut self.batch);
        } else {
            self.flush();
            self.give_big(line);
        }
    }

    fn add_note(&mut self, line: &Line<'_>) {
        // The lines added before it go out first: on a terminal, which shows
        // both, they keep their order.
        self.flush();
        let mut bytes = Vec::with_capacity(line.len() + 1);
        line.append_plain(&mut bytes);
        self.give(Stream::Err, bytes);
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            self.give(Stream::Out, batch);
        }
    }

    fn backlog(&self) -> Option<Arc<Backlog>> {
        Some(Arc::clone(&self.backlog))
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
    use std::io::IoSlice;
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
        // A big line, and one of several pieces.
        for (step, big) in [(1 << 30, 2 * PIECE + 5), (7, GATHER_LIMIT + 5)] {
            let out = SlowOutput {
                written: Arc::default(),
                step,
            };
            let mut screen = PlainScreen::writing_to(Box::new(out.clone()), Box::new(io::sink()));
            let lines = [
                from("bob", "one".into()),
                Line::info("two"),
                from("carol", "x".repeat(big)),
                from("bob", "four".into()),
            ];
            screen.show(&lines);
            screen.finish(Outcome::Quit);
            let expected: String = lines
                .iter()
                .map(|line| format!("{}\n", line.plain()))
                .collect();
            let (written, _) = out.written.lock().unwrap().clone();
            assert!(
                String::from_utf8(written).unwrap() == expected,
                "step {step}, big {big}"
            );
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
        screen.finish(Outcome::Quit);
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
