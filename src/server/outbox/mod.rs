//! The queue of bytes waiting to be written to one connection.
//!
//! Anyone may push to an outbox without waiting. The bytes are kept
//! contiguously, in one buffer (one more per pause of `delaybot`'s answers),
//! so the memory an outbox holds is the bytes it counts. Whoever pushes to an
//! outbox whose writer is idle writes straight to the socket
//! ([`write_now`](crate::net::write_now)),
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

mod state;

use super::lock;
use crate::net::write_fully_reporting;
use state::{OwnBytes, Segment, State, Status};
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
const KEEP_CAPACITY: usize = 1024;

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
        state.append_own(encode);
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
        // The pieces, then the rest at once.
        let rest = (Duration::ZERO, paced.data.len());
        for &(pause, end) in paced.pieces.iter().chain([&rest]) {
            let end = end.clamp(start, paced.data.len());
            if !pause.is_zero() {
                state.start_segment(pause);
            }
            state.append_own(|buf| buf.extend_from_slice(&paced.data[start..end]));
            start = end;
        }
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
            state.segments[0].drained();
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
mod tests;
