//! Writing plain mode's lines to standard output and standard error: on a
//! thread of their own ([`Writer`]), so that the main loop never waits for
//! either (a full pipe, a paused pager, a terminal stopped with Ctrl-S);
//! without the standard library's line buffering; continuing after partial
//! writes.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::screen::Backlog;

/// Standard output without the standard library's line buffering, which
/// searches every write for its last newline (a pass over a huge message):
/// a duplicate of its file descriptor, or, if none can be made (or on a
/// system without file descriptors), the usual `io::stdout()`. Every write is whole lines, so nothing waits in a buffer.
pub(super) fn unbuffered_stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(io::stdout())
}

/// Writes all of `parts`, in order, to `out`, one `writev` at a time
/// (standard output, not a socket, so not `net::write_fully`). The lines are
/// written from `str`s, so they are valid UTF-8 already and go out without
/// a second pass over them.
pub(crate) fn write_out(out: &mut impl Write, mut parts: &mut [IoSlice<'_>]) -> io::Result<()> {
    // Skip empty parts first: with nothing left to write, nothing is called.
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match out.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Where a piece of output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stream {
    /// Standard output: the assignment's lines.
    Out,
    /// Standard error: the client's own lines.
    Err,
}

/// Bytes to write: whole lines, or (for a line too big to copy in one go)
/// a part of one, whose other parts come next.
struct Piece {
    stream: Stream,
    bytes: Vec<u8>,
}

/// Buffers the writer gives back for the next batches, at most this many
/// and each of at most [`SPARE_CAPACITY`] bytes: a flood then allocates
/// (and faults in) no new memory, and at most 2 MiB is kept for it.
const SPARES: usize = 2;
const SPARE_CAPACITY: usize = 1 << 20;

/// What the main loop and the writer thread share.
struct Shared {
    state: Mutex<State>,
    /// Work for the writer, or the end.
    work: Condvar,
    /// The writer has written everything it was given.
    idle: Condvar,
    /// What waits to be written, in bytes; the main loop stops reading the
    /// server while it is over its limit.
    backlog: Arc<Backlog>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Piece>,
    /// The writer took pieces and has not written them all yet.
    writing: bool,
    /// Nothing more will come: the writer ends once the queue is empty.
    closed: bool,
    spares: Vec<Vec<u8>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes pieces of output on a thread of its own, in the order they were
/// given, whatever the stream: on a terminal, which shows both, the lines
/// keep their order. Giving never waits. The thread is never joined: while
/// it waits for a stream that takes nothing, the program can still end
/// (it ends with the process).
pub(super) struct Writer {
    shared: Arc<Shared>,
}

impl Writer {
    /// Starts the thread that writes to `out` and `err`, counting in
    /// `backlog` what waits.
    pub(super) fn start(
        out: Box<dyn Write + Send>,
        err: Box<dyn Write + Send>,
        backlog: Arc<Backlog>,
    ) -> Writer {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            idle: Condvar::new(),
            backlog,
        });
        let writing = Arc::clone(&shared);
        let started = std::thread::Builder::new()
            .name("output".into())
            .spawn(move || write_pieces(&writing, out, err));
        if started.is_err() {
            // Without a thread nothing can be written: say that everything
            // was, so that nobody waits for it.
            shared.lock().closed = true;
        }
        Writer { shared }
    }

    /// Queues `bytes` for `stream`; gives back an empty buffer for the next
    /// batch (one the writer is done with, when there is one).
    pub(super) fn give(&self, stream: Stream, bytes: Vec<u8>) -> Vec<u8> {
        let mut state = self.shared.lock();
        if state.closed {
            // Nothing more is written: dropped.
            let mut bytes = bytes;
            bytes.clear();
            return bytes;
        }
        self.shared.backlog.add(bytes.len());
        state.queue.push_back(Piece { stream, bytes });
        if !state.writing {
            self.shared.work.notify_one();
        }
        state.spares.pop().unwrap_or_default()
    }

    /// No more pieces: waits until everything given has been written, or
    /// `within` has gone by. True if everything was written.
    pub(super) fn finish(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut state = self.shared.lock();
        state.closed = true;
        self.shared.work.notify_one();
        while state.writing || !state.queue.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .shared
                .idle
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// The writer thread: writes what it is given, in order, each run of
/// pieces for the same stream in as few system calls as it takes, until
/// the writer is finished and everything is written. A stream that fails
/// (a closed pipe) is written to no more; what was for it counts as
/// written.
fn write_pieces(shared: &Shared, mut out: Box<dyn Write + Send>, mut err: Box<dyn Write + Send>) {
    let mut broken = [false, false];
    let mut taken = Vec::new();
    loop {
        {
            let mut state = shared.lock();
            // Buffers done with, for the next batches.
            for piece in taken.drain(..) {
                let Piece { mut bytes, .. } = piece;
                if state.spares.len() < SPARES && bytes.capacity() <= SPARE_CAPACITY {
                    bytes.clear();
                    state.spares.push(bytes);
                }
            }
            while state.queue.is_empty() {
                state.writing = false;
                if state.closed {
                    // Only `finish` waits for this.
                    shared.idle.notify_all();
                    return;
                }
                state = shared
                    .work
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            state.writing = true;
            taken.extend(state.queue.drain(..));
        }
        let mut rest = &taken[..];
        while let Some(first) = rest.first() {
            let run = rest
                .iter()
                .position(|piece| piece.stream != first.stream)
                .unwrap_or(rest.len());
            let (pieces, after) = rest.split_at(run);
            rest = after;
            let (to, broken): (&mut Box<dyn Write + Send>, _) = match first.stream {
                Stream::Out => (&mut out, &mut broken[0]),
                Stream::Err => (&mut err, &mut broken[1]),
            };
            if !*broken {
                let mut parts: Vec<IoSlice<'_>> = pieces
                    .iter()
                    .map(|piece| IoSlice::new(&piece.bytes))
                    .collect();
                *broken = write_out(to, &mut parts).and_then(|()| to.flush()).is_err();
            }
            shared
                .backlog
                .shown(pieces.iter().map(|piece| piece.bytes.len()).sum());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes nothing until told to, then keeps everything.
    #[derive(Clone, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Gate {
        fn open(&self) {
            *self.open.0.lock().unwrap() = true;
            self.open.1.notify_all();
        }
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut open = self.open.0.lock().unwrap();
            while !*open {
                open = self.open.1.wait(open).unwrap();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn giving_never_waits_for_a_stream_that_takes_nothing_and_the_backlog_says_so() {
        let out = Gate::default();
        let backlog = Backlog::new(10);
        let writer = Writer::start(
            Box::new(out.clone()),
            Box::new(io::sink()),
            Arc::clone(&backlog),
        );
        for _ in 0..100 {
            writer.give(Stream::Out, b"a line\n".to_vec());
        }
        assert!(backlog.full());
        assert!(!writer.finish(Duration::from_millis(50)), "nothing written");
        out.open();
        assert!(writer.finish(Duration::from_secs(10)));
        assert!(!backlog.full());
        assert_eq!(*out.written.lock().unwrap(), b"a line\n".repeat(100));
    }

    #[test]
    fn nothing_is_taken_after_the_end() {
        let out = Gate::default();
        out.open();
        let writer = Writer::start(
            Box::new(out.clone()),
            Box::new(io::sink()),
            Backlog::new(10),
        );
        writer.give(Stream::Out, b"before\n".to_vec());
        assert!(writer.finish(Duration::from_secs(10)));
        let back = writer.give(Stream::Out, b"after\n".to_vec());
        assert!(back.is_empty(), "dropped, not handed back to be added to");
        assert_eq!(*out.written.lock().unwrap(), b"before\n");
    }

    #[test]
    fn a_closed_stream_counts_as_written() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let backlog = Backlog::new(0);
        let writer = Writer::start(Box::new(Closed), Box::new(Closed), Arc::clone(&backlog));
        writer.give(Stream::Out, b"one\n".to_vec());
        writer.give(Stream::Err, b"two\n".to_vec());
        assert!(writer.finish(Duration::from_secs(10)));
        assert!(!backlog.full());
    }
}
