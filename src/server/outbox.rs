//! The queue of bytes waiting to be written to one connection.
//!
//! Anyone may push to an outbox without waiting. The bytes are kept
//! contiguously, in one buffer (one more per pause of `delaybot`'s answers),
//! so the memory an outbox holds is the bytes it counts. Whoever pushes to an
//! outbox whose writer is idle writes straight to the socket ([`write_now`]),
//! with no task woken; the connection's writer task ([`Outbox::run_writer`])
//! writes only what the socket did not take at once, and the pauses.
//!
//! Two bounds, both counted here:
//! - Replies to the connection's own requests (bots' answers and messages to
//!   oneself included): while more than [`OWN_BOUND`] of them wait, the
//!   connection stops reading its requests ([`Outbox::wait_for_own_room`]).
//! - Everything waiting, against the `--max-queue-bytes` limit: a message from
//!   another user that finds the queue over it is still queued, and its
//!   sender waits until there is room again ([`Outbox::wait_for_room`]). Only
//!   when the connection is over the limit *and* its socket has taken nothing
//!   for the stall time is it *killed*: its queue is dropped and the
//!   connection closed at once.
//!
//! Memory held for a connection is therefore at most the limit, plus one
//! message from each sender that waits for room, plus its own replies.

use super::lock;
use crate::net::{write_fully_reporting, write_now};
use std::collections::VecDeque;
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Where an outbox writes: the write half of its connection's socket.
pub(super) type Sink = Box<dyn AsyncWrite + Send + Unpin>;

/// Most bytes of replies to its own requests a connection may have waiting
/// before its requests are no longer read.
pub(super) const OWN_BOUND: usize = 256 * 1024;
/// What one buffer costs besides its bytes (counted for `delaybot`'s
/// pauses, each of which starts a buffer).
const SEGMENT_COST: usize = 64;
/// A drained buffer with more room than this is freed rather than kept, so
/// that an idle connection holds little, and memory comes back after a burst.
const KEEP_CAPACITY: usize = 4 * 1024;

/// Bytes to queue in pieces: for each `(pause, end)`, wait `pause`, then
/// write up to offset `end` (exclusive); anything after the last `end`
/// follows at once. `delaybot`'s answers are paced; others have no pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Paced {
    pub(super) data: Vec<u8>,
    pub(super) pieces: Vec<(Duration, usize)>,
}

/// What became of a message from another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pushed {
    /// Queued (or written already).
    Queued,
    /// Queued, and the outbox is over its limit: the sender should wait for
    /// room ([`Outbox::wait_for_room`]) before its next request.
    Full,
    /// The outbox was over its limit and its socket has taken nothing for
    /// the stall time: it is now killed, and the message was dropped.
    Killed,
    /// The outbox is closing or dead; the message was dropped.
    Gone,
}

/// Why an outbox was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Killed {
    /// Over the limit, and its socket took nothing for the stall time.
    Stalled,
    /// Writing to its socket failed.
    WriteFailed(io::ErrorKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    /// No more pushes; the writer sends what is queued and stops.
    Closing,
    /// Everything was sent after closing.
    Done,
    Killed(Killed),
}

/// One stretch of contiguous bytes, written after `pause`.
#[derive(Debug, Default)]
struct Segment {
    pause: Duration,
    bytes: Vec<u8>,
    /// `bytes[..head]` is written already.
    head: usize,
}

impl Segment {
    fn unwritten(&self) -> &[u8] {
        &self.bytes[self.head..]
    }
}

/// Where in the byte stream the replies to the connection's own requests
/// are, to count those not written yet.
#[derive(Debug, Default)]
struct OwnBytes {
    /// Stream positions `[start, end)` of own bytes, in order.
    runs: VecDeque<(u64, u64)>,
    /// Own bytes not written yet.
    waiting: usize,
}

impl OwnBytes {
    fn pushed(&mut self, start: u64, end: u64) {
        match self.runs.back_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => self.runs.push_back((start, end)),
        }
        self.waiting += (end - start) as usize;
    }

    /// The stream from `from` to `to` has been written.
    fn written(&mut self, from: u64, to: u64) {
        while let Some(&(start, end)) = self.runs.front() {
            if start >= to {
                break;
            }
            self.waiting -= (end.min(to) - start.max(from)) as usize;
            if end > to {
                break;
            }
            self.runs.pop_front();
        }
    }
}

struct State {
    /// Never empty. Pushes append to the last segment.
    segments: VecDeque<Segment>,
    /// Bytes not written yet (those being written included), plus the cost
    /// of the segments after the first.
    bytes: usize,
    own: OwnBytes,
    /// Stream positions: after the last byte queued, and after the last
    /// byte written.
    pushed: u64,
    written: u64,
    /// The socket, while nobody is writing to it.
    sink: Option<Sink>,
    /// The writer task is waiting out a pause: nobody may write meanwhile.
    pausing: bool,
    /// The writer task is writing; `since` is when it started or last made
    /// progress.
    writing: bool,
    since: Instant,
    status: Status,
}

impl State {
    fn extra_segments(&self) -> usize {
        (self.segments.len() - 1) * SEGMENT_COST
    }

    fn own_cost(&self) -> usize {
        self.own.waiting + self.extra_segments()
    }

    /// Appends with `encode`; returns how many bytes it added.
    fn append(&mut self, encode: impl FnOnce(&mut Vec<u8>)) -> usize {
        let last = self.segments.back_mut().expect("never empty");
        let before = last.bytes.len();
        encode(&mut last.bytes);
        let added = last.bytes.len() - before;
        self.bytes += added;
        self.pushed += added as u64;
        added
    }

    fn start_segment(&mut self, pause: Duration) {
        self.segments.push_back(Segment {
            pause,
            ..Segment::default()
        });
        self.bytes += SEGMENT_COST;
    }

    /// Counts `n` more bytes as written.
    fn written(&mut self, n: usize) {
        let from = self.written;
        self.written += n as u64;
        self.own.written(from, self.written);
        self.bytes -= n;
    }

    /// How long the writer has been waiting for the socket to take anything.
    fn stalled_for(&self, now: Instant) -> Duration {
        if self.writing {
            now.saturating_duration_since(self.since)
        } else {
            Duration::ZERO
        }
    }

    fn kill(&mut self, why: Killed) {
        self.status = Status::Killed(why);
        // Closes the socket (once the connection drops its read half too).
        self.sink = None;
        self.segments = VecDeque::from([Segment::default()]);
        self.own = OwnBytes::default();
        self.bytes = 0;
    }

    /// Writes the first segment straight to the socket if nobody else is
    /// writing and no pause comes first. Returns whether the writer task is
    /// needed (bytes left, or a pause to wait out).
    fn write_now(&mut self) -> bool {
        if !matches!(self.status, Status::Open | Status::Closing) || self.pausing {
            return false;
        }
        let front = &self.segments[0];
        if !front.pause.is_zero() || front.head == front.bytes.len() {
            return self.segments.len() > 1;
        }
        let Some(sink) = self.sink.as_mut() else {
            return true;
        };
        match write_now(sink, front.unwritten()) {
            Ok(n) => {
                self.segments[0].head += n;
                self.written(n);
                let front = &mut self.segments[0];
                if front.head == front.bytes.len() {
                    front.bytes.clear();
                    front.head = 0;
                    self.segments.len() > 1
                } else {
                    true
                }
            }
            Err(e) => {
                self.kill(Killed::WriteFailed(e.kind()));
                true
            }
        }
    }
}

/// What the writer task does next.
enum Work {
    Write {
        bytes: Vec<u8>,
        head: usize,
        sink: Sink,
    },
    Pause(Duration),
    Wait,
    Finished,
}

/// Whether the bounds are exceeded: (everything over the limit, own replies
/// over their bound). Waiters are woken when either stops being true.
type Over = (bool, bool);

/// See the module documentation.
pub(super) struct Outbox {
    state: Mutex<State>,
    max_bytes: usize,
    stall: Duration,
    wake_writer: Notify,
    kill: Notify,
    /// Woken when room appears, and when the outbox closes or dies.
    room: Notify,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Outbox")
            .field("bytes", &state.bytes)
            .field("own", &state.own.waiting)
            .field("status", &state.status)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An outbox with room for `max_bytes`, whose connection is killed once
    /// it is over that and its socket takes nothing for `stall`.
    pub(super) fn new(max_bytes: usize, stall: Duration) -> Self {
        Outbox {
            state: Mutex::new(State {
                segments: VecDeque::from([Segment::default()]),
                bytes: 0,
                own: OwnBytes::default(),
                pushed: 0,
                written: 0,
                sink: None,
                pausing: false,
                writing: false,
                since: Instant::now(),
                status: Status::Open,
            }),
            max_bytes,
            stall,
            wake_writer: Notify::new(),
            kill: Notify::new(),
            room: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn over(&self, state: &State) -> Over {
        (state.bytes > self.max_bytes, state.own_cost() > OWN_BOUND)
    }

    /// Wakes whoever waits for something that `before` said was missing.
    fn changed(&self, state: &State, before: Over) {
        let after = self.over(state);
        let ended = matches!(state.status, Status::Killed(_) | Status::Done);
        if (before.0 && !after.0) || (before.1 && !after.1) || ended {
            self.room.notify_waiters();
        }
        if matches!(state.status, Status::Killed(_)) {
            // The writer stops, whether it waits for bytes, a pause or the
            // socket.
            self.kill.notify_one();
            self.wake_writer.notify_one();
        }
    }

    /// Writes straight to the socket if possible; wakes the writer task for
    /// whatever is left.
    fn write_or_wake(&self, state: &mut State) {
        let before = self.over(state);
        if state.write_now() {
            self.wake_writer.notify_one();
        }
        self.changed(state, before);
    }

    /// Gives the outbox its socket. Until then bytes only queue.
    pub(super) fn attach(&self, sink: Sink) {
        self.lock().sink = Some(sink);
    }

    /// Takes the socket back once the writer has ended (to shut it down).
    pub(super) fn detach(&self) -> Option<Sink> {
        self.lock().sink.take()
    }

    /// Queues a reply to the connection's own request, encoded by `encode`.
    /// Nothing is written until [`flush`](Self::flush), so that the replies
    /// to a batch of requests go out in one write. Returns whether more than
    /// [`OWN_BOUND`] of own replies wait now.
    pub(super) fn reply(&self, encode: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut state = self.lock();
        if state.status != Status::Open {
            return false;
        }
        let start = state.pushed;
        state.append(encode);
        let end = state.pushed;
        state.own.pushed(start, end);
        state.own_cost() > OWN_BOUND
    }

    /// Queues a paced answer to the connection's own request (see
    /// [`reply`](Self::reply)).
    pub(super) fn reply_paced(&self, paced: &Paced) -> bool {
        let mut state = self.lock();
        if state.status != Status::Open {
            return false;
        }
        let mut start = 0;
        for &(pause, end) in &paced.pieces {
            let end = end.clamp(start, paced.data.len());
            if !pause.is_zero() {
                state.start_segment(pause);
            }
            let from = state.pushed;
            state.append(|buf| buf.extend_from_slice(&paced.data[start..end]));
            let to = state.pushed;
            state.own.pushed(from, to);
            start = end;
        }
        let from = state.pushed;
        state.append(|buf| buf.extend_from_slice(&paced.data[start..]));
        let to = state.pushed;
        state.own.pushed(from, to);
        state.own_cost() > OWN_BOUND
    }

    /// Writes the queued replies (see [`reply`](Self::reply)).
    pub(super) fn flush(&self) {
        let mut state = self.lock();
        self.write_or_wake(&mut state);
    }

    /// Queues a message from another user, encoded by `encode`, to be
    /// written at the next [`flush`](Self::flush). Once queued it is sent
    /// even if the connection closes meanwhile (closing sends what is
    /// queued). See [`Pushed`].
    pub(super) fn queue(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Pushed {
        let mut state = self.lock();
        if let Some(refused) = self.refusal(&mut state) {
            return refused;
        }
        state.append(encode);
        if self.over(&state).0 {
            Pushed::Full
        } else {
            Pushed::Queued
        }
    }

    /// [`queue`](Self::queue), then [`flush`](Self::flush).
    pub(super) fn deliver(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Pushed {
        let pushed = self.queue(encode);
        if matches!(pushed, Pushed::Queued | Pushed::Full) {
            self.flush();
            if self.killed_because().is_some() {
                return Pushed::Gone;
            }
        }
        pushed
    }

    fn refusal(&self, state: &mut State) -> Option<Pushed> {
        if state.status != Status::Open {
            return Some(Pushed::Gone);
        }
        let before = self.over(state);
        if before.0 && state.stalled_for(Instant::now()) >= self.stall {
            state.kill(Killed::Stalled);
            self.changed(state, before);
            return Some(Pushed::Killed);
        }
        None
    }

    /// Accepts no more bytes; the writer ends once everything queued is sent.
    pub(super) fn close(&self) {
        let mut state = self.lock();
        if state.status == Status::Open {
            state.status = Status::Closing;
        }
        drop(state);
        self.wake_writer.notify_one();
        self.room.notify_waiters();
    }

    /// Why the outbox was killed, if it was.
    pub(super) fn killed_because(&self) -> Option<Killed> {
        match self.lock().status {
            Status::Killed(why) => Some(why),
            _ => None,
        }
    }

    /// Kills the outbox if its socket has taken nothing for the stall time
    /// (or for `at_least`, if longer); returns whether it did.
    pub(super) fn kill_if_stalled(&self, at_least: Duration) -> bool {
        let mut state = self.lock();
        if !matches!(state.status, Status::Open | Status::Closing)
            || state.stalled_for(Instant::now()) < self.stall.max(at_least)
        {
            return false;
        }
        let before = self.over(&state);
        state.kill(Killed::Stalled);
        self.changed(&state, before);
        true
    }

    /// Completes once `ready` holds for the state (checked whenever room
    /// appears), or the outbox is no longer open, or after `limit`.
    async fn wait_until(&self, limit: Duration, ready: impl Fn(&State) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.lock();
                if state.status != Status::Open || ready(&state) {
                    return;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Completes once the outbox has sent everything after being closed, or
    /// was killed.
    pub(super) async fn finished(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if matches!(self.lock().status, Status::Done | Status::Killed(_)) {
                return;
            }
            notified.await;
        }
    }

    /// Completes once at most [`OWN_BOUND`] bytes of own replies wait (or
    /// the outbox is no longer open).
    pub(super) async fn wait_for_own_room(&self) {
        const FOR_EVER: Duration = Duration::from_secs(365 * 24 * 3600);
        self.wait_until(FOR_EVER, |state| state.own_cost() <= OWN_BOUND)
            .await;
    }

    /// Waits, as the sender of a message that found this outbox full, until
    /// it is within its limit again. Returns [`Pushed::Killed`] if instead
    /// its socket took nothing for the stall time (it is killed then),
    /// [`Pushed::Gone`] if it closed, [`Pushed::Queued`] when there is room.
    pub(super) async fn wait_for_room(&self) -> Pushed {
        loop {
            let wait = {
                let state = self.lock();
                if state.status != Status::Open {
                    return Pushed::Gone;
                }
                if state.bytes <= self.max_bytes {
                    return Pushed::Queued;
                }
                self.stall
                    .saturating_sub(state.stalled_for(Instant::now()))
                    .max(Duration::from_millis(10))
            };
            let max_bytes = self.max_bytes;
            self.wait_until(wait, |state| state.bytes <= max_bytes)
                .await;
            if self.kill_if_stalled(Duration::ZERO) {
                return Pushed::Killed;
            }
        }
    }

    /// What to do next, for the writer task.
    fn next_work(&self, state: &mut State, spare: &mut Vec<u8>) -> Work {
        loop {
            if matches!(state.status, Status::Killed(_) | Status::Done) {
                return Work::Finished;
            }
            let front = &mut state.segments[0];
            if !front.pause.is_zero() {
                state.pausing = true;
                return Work::Pause(std::mem::take(&mut front.pause));
            }
            if front.head < front.bytes.len() {
                let Some(sink) = state.sink.take() else {
                    return Work::Wait;
                };
                let bytes = std::mem::replace(&mut front.bytes, std::mem::take(spare));
                let head = std::mem::take(&mut front.head);
                state.writing = true;
                state.since = Instant::now();
                return Work::Write { bytes, head, sink };
            }
            if state.segments.len() > 1 {
                let before = self.over(state);
                state.segments.pop_front();
                state.bytes -= SEGMENT_COST;
                self.changed(state, before);
                continue;
            }
            // Everything is written.
            let front = &mut state.segments[0];
            if front.bytes.capacity() > KEEP_CAPACITY {
                front.bytes = Vec::new();
            }
            front.bytes.clear();
            front.head = 0;
            if state.status == Status::Closing {
                state.status = Status::Done;
                self.room.notify_waiters();
                return Work::Finished;
            }
            return Work::Wait;
        }
    }

    /// Writes what the pushers could not write at once, and waits out the
    /// pauses, until the outbox is closed and empty (`Ok`), killed (`Ok`, at
    /// once, see [`killed_because`](Self::killed_because)), or a write fails
    /// (`Err`). Only one task may run it.
    pub(super) async fn run_writer(&self) -> io::Result<()> {
        let mut spare = Vec::new();
        loop {
            let work = {
                let mut state = self.lock();
                self.next_work(&mut state, &mut spare)
            };
            match work {
                Work::Finished => return Ok(()),
                Work::Wait => self.wake_writer.notified().await,
                Work::Pause(pause) => {
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = self.kill.notified() => {}
                    }
                    self.lock().pausing = false;
                }
                Work::Write {
                    mut bytes,
                    head,
                    mut sink,
                } => {
                    let write = write_fully_reporting(&mut sink, &bytes[head..], |n| {
                        let mut state = self.lock();
                        let before = self.over(&state);
                        state.written(n);
                        state.since = Instant::now();
                        self.changed(&state, before);
                    });
                    let written = tokio::select! {
                        written = write => written,
                        // Killed while the socket takes nothing: stop now.
                        () = self.kill.notified() => Ok(()),
                    };
                    let mut state = self.lock();
                    state.writing = false;
                    if !matches!(state.status, Status::Killed(_)) {
                        state.sink = Some(sink);
                    }
                    if let Err(e) = written {
                        let before = self.over(&state);
                        state.kill(Killed::WriteFailed(e.kind()));
                        self.changed(&state, before);
                        return Err(e);
                    }
                    bytes.clear();
                    if bytes.capacity() <= KEEP_CAPACITY {
                        spare = bytes;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
impl Outbox {
    pub(super) fn is_killed(&self) -> bool {
        self.killed_because().is_some()
    }

    /// Completes when the outbox is killed.
    async fn killed(&self) -> Killed {
        loop {
            if let Some(why) = self.killed_because() {
                return why;
            }
            self.kill.notified().await;
        }
    }

    /// How long the socket has taken nothing while bytes were waiting for it.
    pub(super) fn stalled_for(&self) -> Duration {
        self.lock().stalled_for(Instant::now())
    }

    /// Everything queued and not written, as it would be written (pauses
    /// left out).
    pub(super) fn queued(&self) -> Vec<u8> {
        let state = self.lock();
        state
            .segments
            .iter()
            .flat_map(|segment| segment.unwritten())
            .copied()
            .collect()
    }

    /// Bytes counted as waiting (segments' cost included), and of those the
    /// replies to the connection's own requests.
    pub(super) fn counted(&self) -> (usize, usize) {
        let state = self.lock();
        (state.bytes, state.own.waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    /// A socket that takes at most `room` more bytes, shared with the test.
    #[derive(Clone, Default)]
    struct Socket(Arc<Mutex<SocketInner>>);

    #[derive(Default)]
    struct SocketInner {
        got: Vec<u8>,
        room: usize,
        waker: Option<std::task::Waker>,
        broken: bool,
    }

    impl Socket {
        fn with_room(room: usize) -> Socket {
            let socket = Socket::default();
            socket.make_room(room);
            socket
        }
        fn got(&self) -> Vec<u8> {
            self.0.lock().unwrap().got.clone()
        }
        fn make_room(&self, room: usize) {
            let mut inner = self.0.lock().unwrap();
            inner.room = room;
            if let Some(waker) = inner.waker.take() {
                waker.wake();
            }
        }
    }

    impl AsyncWrite for Socket {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let mut inner = self.0.lock().unwrap();
            if inner.broken {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            let n = buf.len().min(inner.room);
            if n == 0 {
                inner.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            inner.room -= n;
            inner.got.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn line(text: &str) -> impl FnOnce(&mut Vec<u8>) + '_ {
        move |buf| buf.extend_from_slice(text.as_bytes())
    }

    fn outbox(max: usize) -> Outbox {
        Outbox::new(max, Duration::from_secs(10))
    }

    #[tokio::test]
    async fn bytes_go_out_in_order_with_the_pauses_and_the_writer_ends_after_close() {
        let outbox = outbox(100);
        let socket = Socket::with_room(usize::MAX);
        outbox.attach(Box::new(socket.clone()));
        outbox.reply(line("a\n"));
        outbox.reply_paced(&Paced {
            data: b"bcd".to_vec(),
            pieces: vec![(Duration::ZERO, 1), (Duration::from_millis(1), 2)],
        });
        outbox.reply(line("e"));
        assert_eq!(socket.got(), b"", "replies wait for the flush");
        outbox.flush();
        assert_eq!(socket.got(), b"a\nb", "written at once, up to the pause");
        outbox.close();
        assert_eq!(outbox.deliver(line("late")), Pushed::Gone);
        outbox.run_writer().await.unwrap();
        assert_eq!(socket.got(), b"a\nbcde");
        assert_eq!(outbox.counted(), (0, 0));
    }

    #[tokio::test]
    async fn a_message_to_an_idle_outbox_is_written_without_the_writer() {
        let outbox = outbox(100);
        let socket = Socket::with_room(usize::MAX);
        outbox.attach(Box::new(socket.clone()));
        assert_eq!(outbox.deliver(line("DELIVERY a b\n")), Pushed::Queued);
        assert_eq!(socket.got(), b"DELIVERY a b\n");
        assert_eq!(outbox.counted(), (0, 0));
    }

    #[tokio::test]
    async fn small_messages_are_held_contiguously() {
        let outbox = outbox(usize::MAX);
        for _ in 0..100_000 {
            outbox.deliver(line("DELIVERY a b\n"));
        }
        let state = outbox.lock();
        assert_eq!(state.segments.len(), 1);
        assert_eq!(state.bytes, 1_300_000);
        assert!(state.segments[0].bytes.capacity() < 2 * 1_300_000);
    }

    #[tokio::test]
    async fn own_replies_are_counted_until_written() {
        let outbox = outbox(1000);
        let socket = Socket::with_room(5);
        outbox.attach(Box::new(socket.clone()));
        outbox.reply(line("SEND-OK\n"));
        assert_eq!(outbox.deliver(line("DELIVERY x y\n")), Pushed::Queued);
        outbox.reply(line("LIST-OK a\n"));
        assert_eq!(outbox.counted(), (8 + 13 + 10 - 5, 8 - 5 + 10));
        socket.make_room(10);
        outbox.flush();
        assert_eq!(outbox.counted(), (8 + 13 + 10 - 15, 10));
        socket.make_room(100);
        outbox.flush();
        assert_eq!(outbox.counted(), (0, 0));
        assert_eq!(socket.got(), b"SEND-OK\nDELIVERY x y\nLIST-OK a\n");
    }

    #[tokio::test(start_paused = true)]
    async fn over_the_limit_a_reader_is_waited_for_and_a_stalled_one_killed() {
        let outbox = Arc::new(Outbox::new(10, Duration::from_secs(5)));
        let socket = Socket::with_room(4);
        outbox.attach(Box::new(socket.clone()));
        let writer = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move { outbox.run_writer().await }
        });
        assert_eq!(outbox.deliver(line("0123456789")), Pushed::Queued);
        assert_eq!(outbox.deliver(line("abcdefgh")), Pushed::Full);
        tokio::task::yield_now().await;
        // The socket takes more now and then: the sender waits for room.
        let reader = tokio::spawn({
            let socket = socket.clone();
            async move {
                for _ in 0..3 {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    socket.make_room(4);
                }
            }
        });
        assert_eq!(outbox.wait_for_room().await, Pushed::Queued);
        assert!(!outbox.is_killed(), "it reads, slowly");
        reader.await.unwrap();
        // Now it takes nothing more: over the limit, it is killed after the
        // stall time, and the sender goes on.
        assert_eq!(outbox.deliver(line("0123456789")), Pushed::Full);
        let waited = Instant::now();
        assert_eq!(outbox.wait_for_room().await, Pushed::Killed);
        assert!(waited.elapsed() <= Duration::from_secs(6));
        assert_eq!(outbox.killed().await, Killed::Stalled);
        assert_eq!(outbox.deliver(line("x")), Pushed::Gone);
        assert_eq!(outbox.counted(), (0, 0));
        // The connection's task stops the writer when the outbox is killed.
        writer.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_outbox_over_the_limit_is_killed_by_the_next_message() {
        let outbox = Arc::new(Outbox::new(10, Duration::from_secs(5)));
        let socket = Socket::with_room(0);
        outbox.attach(Box::new(socket.clone()));
        let writer = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move { outbox.run_writer().await }
        });
        assert_eq!(outbox.deliver(line("0123456789abc")), Pushed::Full);
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(outbox.stalled_for(), Duration::from_secs(4));
        assert_eq!(
            outbox.deliver(line("x")),
            Pushed::Full,
            "not stalled long enough"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(outbox.deliver(line("x")), Pushed::Killed);
        assert_eq!(outbox.killed_because(), Some(Killed::Stalled));
        // The connection's task stops the writer when the outbox is killed.
        writer.abort();
    }

    #[tokio::test]
    async fn own_room_is_waited_for() {
        let outbox = Arc::new(outbox(usize::MAX));
        let socket = Socket::with_room(0);
        outbox.attach(Box::new(socket.clone()));
        outbox.reply(|buf| buf.resize(OWN_BOUND + 1, b'x'));
        outbox.flush();
        let waiter = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move { outbox.wait_for_own_room().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        socket.make_room(10);
        outbox.run_writer_once_for_test().await;
        waiter.await.unwrap();
    }

    impl Outbox {
        /// Lets the writer task write what the socket takes now.
        async fn run_writer_once_for_test(&self) {
            let _ = tokio::time::timeout(Duration::from_millis(50), self.run_writer()).await;
        }
    }

    #[tokio::test]
    async fn a_failed_write_kills() {
        let outbox = outbox(100);
        let socket = Socket::default();
        socket.0.lock().unwrap().broken = true;
        outbox.attach(Box::new(socket));
        assert_eq!(outbox.deliver(line("x\n")), Pushed::Gone);
        assert_eq!(
            outbox.killed_because(),
            Some(Killed::WriteFailed(io::ErrorKind::BrokenPipe))
        );
    }
}
