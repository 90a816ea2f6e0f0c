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
//! A line is never interrupted. A paced answer (`delaybot`'s) leaves a line
//! incomplete from its first piece to its last, so while one is under way
//! everything else waits behind its last piece. It waits for its turn
//! apart (its own buffer, counted the same), and starts only once the one
//! before it has ended: lines that came before its turn are not held up by
//! it ([`Outbox::reply_paced`]).
//!
//! Two bounds, both counted here:
//! - Replies to the connection's own requests (bots' answers and messages to
//!   oneself included): while more than [`OWN_BOUND`] of them wait, the
//!   connection stops reading its requests ([`Outbox::wait_for_own_room`]).
//! - Everything waiting, against the `--max-queue-bytes` limit: a message from
//!   another user that finds the queue over it is still queued, and its
//!   sender waits until there is room again ([`Outbox::wait_for_room`]).
//!
//! While anyone waits on the connection that way (or it is closing), and its
//! socket takes nothing for the stall time, the writer task *kills* it: its
//! queue is dropped and the connection closed at once. "Takes nothing" is
//! judged from the kernel's send queue where the platform tells
//! ([`SocketWrite::unacknowledged`]): a peer that reads, however slowly,
//! makes it shrink, long before the socket has room for more.
//!
//! Memory held for a connection is therefore at most the limit, plus one
//! message from each sender that waits for room, plus its own replies.

mod state;
mod writer;

use super::lock;
use state::{State, Status, Writer};
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::sync::Notify;

/// The write half of a connection's socket, as an outbox uses it.
pub(super) trait SocketWrite: AsyncWrite + Send + Unpin {
    /// Bytes written to the socket that the peer has not acknowledged yet
    /// (the kernel's send queue), if the platform tells.
    fn unacknowledged(&self) -> Option<usize>;
}

impl SocketWrite for tokio::net::tcp::OwnedWriteHalf {
    fn unacknowledged(&self) -> Option<usize> {
        crate::net::unacknowledged(self.as_ref())
    }
}

/// Where an outbox writes: the write half of its connection's socket.
pub(super) type Sink = Box<dyn SocketWrite>;

/// Most bytes of replies to its own requests a connection may have waiting
/// before its requests are no longer read.
pub(super) const OWN_BOUND: usize = 256 * 1024;
/// What one buffer costs besides its bytes (counted for `delaybot`'s
/// pauses, each of which starts a buffer).
const SEGMENT_COST: usize = 64;
/// A drained buffer with more room than this is freed rather than kept, so
/// that an idle connection holds little, and memory comes back after a burst.
const KEEP_CAPACITY: usize = 1024;
/// After closing, how long the socket may take nothing before the rest is
/// dropped (or the stall time, if longer).
const CLOSING_STALL: Duration = Duration::from_secs(1);

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
    /// The outbox is closing or dead; the message was dropped.
    Gone,
}

/// Why an outbox was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Killed {
    /// Someone waited on it (or it was closing), and its socket took nothing
    /// for the stall time.
    Stalled,
    /// Writing to its socket failed.
    WriteFailed(io::ErrorKind),
    /// Its connection ended otherwise (reading failed, or the server
    /// stopped): see [`Outbox::end`].
    Ended,
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
            .field("writer", &state.writer)
            .field("status", &state.status)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An outbox with room for `max_bytes`, whose connection is killed once
    /// anyone waits on it and its socket takes nothing for `stall`.
    pub(super) fn new(max_bytes: usize, stall: Duration) -> Self {
        Outbox {
            state: Mutex::new(State::new()),
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

    /// How long the socket may take nothing before the connection is
    /// killed: the stall time while senders wait for room or the
    /// connection's own requests wait for their replies, at least
    /// [`CLOSING_STALL`] once it is closing; `None` while nobody waits.
    fn stall_limit(&self, state: &State) -> Option<Duration> {
        match state.status {
            Status::Closing => Some(self.stall.max(CLOSING_STALL)),
            Status::Open => {
                let (full, own) = self.over(state);
                (full || own).then_some(self.stall)
            }
            Status::Done | Status::Killed(_) => None,
        }
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

    /// Writes straight to the socket if possible, after starting the next
    /// paced answer if `start_paced` and none is under way; wakes the writer
    /// task for whatever is left, and when it waits for its socket while
    /// someone now waits on it (so that it keeps the stall time).
    fn write_or_wake(&self, state: &mut State, start_paced: bool) {
        let before = self.over(state);
        if start_paced {
            state.start_paced();
        }
        let stalled_writer =
            matches!(state.writer, Writer::Writing { .. }) && self.stall_limit(state).is_some();
        if state.write_now() || stalled_writer {
            self.wake_writer.notify_one();
        }
        self.changed(state, before);
    }

    /// Gives the outbox its socket. Until then bytes only queue.
    pub(super) fn attach(&self, sink: Sink) {
        let mut state = self.lock();
        if matches!(state.writer, Writer::Unattached) && state.is_live() {
            state.writer = Writer::Idle(sink);
            self.wake_writer.notify_one();
        }
    }

    /// Takes the socket back once the writer has ended with everything sent
    /// (to shut it down).
    pub(super) fn detach(&self) -> Option<Sink> {
        let mut state = self.lock();
        if state.status != Status::Done {
            return None;
        }
        match std::mem::replace(&mut state.writer, Writer::Gone) {
            Writer::Idle(sink) => Some(sink),
            _ => None,
        }
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
    /// [`reply`](Self::reply)). One without pauses is a reply like any
    /// other. One with pauses waits for its turn: it starts at a
    /// [`flush`](Self::flush), or once the paced answer before it has ended,
    /// after everything queued by then (so a line that is not paced never
    /// waits for a paced answer that had not started when it came), and
    /// whatever comes while it is under way waits for its last piece.
    pub(super) fn reply_paced(&self, paced: Paced) -> bool {
        let mut state = self.lock();
        if state.status != Status::Open {
            return false;
        }
        if paced.pieces.iter().all(|(pause, _)| pause.is_zero()) {
            state.append_own(|buf| buf.extend_from_slice(&paced.data));
        } else {
            state.push_paced(paced);
        }
        state.own_cost() > OWN_BOUND
    }

    /// Writes the queued replies (see [`reply`](Self::reply)), after
    /// starting the next paced answer if none is under way. For the
    /// connection's own request handling, once it has queued the replies to
    /// the requests read together.
    pub(super) fn flush(&self) {
        let mut state = self.lock();
        self.write_or_wake(&mut state, true);
    }

    /// Writes what is queued, for a message from another user: without
    /// starting a paced answer, which waits for its own connection's
    /// [`flush`](Self::flush) (its replies to the requests read with it
    /// first).
    pub(super) fn flush_message(&self) {
        let mut state = self.lock();
        self.write_or_wake(&mut state, false);
    }

    /// Queues a message from another user, encoded by `encode`, to be
    /// written at the next [`flush_message`](Self::flush_message) (or
    /// [`flush`](Self::flush)). Once queued it is sent
    /// even if the connection closes meanwhile (closing sends what is
    /// queued). See [`Pushed`].
    pub(super) fn queue(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Pushed {
        let mut state = self.lock();
        if state.status != Status::Open {
            return Pushed::Gone;
        }
        state.append(encode);
        if self.over(&state).0 {
            Pushed::Full
        } else {
            Pushed::Queued
        }
    }

    /// [`queue`](Self::queue), then [`flush_message`](Self::flush_message).
    pub(super) fn deliver(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Pushed {
        let pushed = self.queue(encode);
        if matches!(pushed, Pushed::Queued | Pushed::Full) {
            self.flush_message();
            if self.killed_because().is_some() {
                return Pushed::Gone;
            }
        }
        pushed
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

    /// The connection is over, however it ended: unless everything was sent
    /// already, the outbox is killed ([`Killed::Ended`]), so that it accepts
    /// nothing more, counts nothing more, and whoever waits on it goes on.
    pub(super) fn end(&self) {
        let mut state = self.lock();
        if state.is_live() {
            let before = self.over(&state);
            state.kill(Killed::Ended);
            self.changed(&state, before);
        }
    }

    /// Why the outbox was killed, if it was.
    pub(super) fn killed_because(&self) -> Option<Killed> {
        match self.lock().status {
            Status::Killed(why) => Some(why),
            _ => None,
        }
    }

    /// Completes once `ready` holds for the state (checked whenever room
    /// appears), or the outbox is no longer open.
    async fn wait_until(&self, ready: impl Fn(&State) -> bool) {
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
            notified.await;
        }
    }

    /// Completes once the outbox has sent everything after being closed, or
    /// was killed.
    pub(super) async fn finished(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.lock().is_live() {
                return;
            }
            notified.await;
        }
    }

    /// Completes once at most [`OWN_BOUND`] bytes of own replies wait, or the
    /// outbox is no longer open (its writer kills it if its socket takes
    /// nothing for the stall time meanwhile).
    pub(super) async fn wait_for_own_room(&self) {
        self.wait_until(|state| state.own_cost() <= OWN_BOUND).await;
    }

    /// Waits, as the sender of a message that found this outbox full, until
    /// it is within its limit again, or no longer open (its writer kills it
    /// if its socket takes nothing for the stall time meanwhile).
    pub(super) async fn wait_for_room(&self) {
        let max_bytes = self.max_bytes;
        self.wait_until(|state| state.bytes <= max_bytes).await;
    }
}

#[cfg(test)]
mod tests;
