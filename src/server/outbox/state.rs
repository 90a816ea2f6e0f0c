//! An outbox's state, behind its lock: the bytes waiting (contiguous, in
//! segments split only at `delaybot`'s pauses), the paced answers that wait
//! for their turn, how many bytes answer the connection's own requests, who
//! may write to the socket now, and when the peer was last seen to take
//! anything.

use super::{Killed, Paced, Sink, KEEP_CAPACITY, SEGMENT_COST};
use crate::net::write_now;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Open,
    /// No more pushes; the writer sends what is queued and stops.
    Closing,
    /// Everything was sent after closing.
    Done,
    Killed(Killed),
}

/// Who has the socket, and what the writer task does with it. One value, so
/// that no way of stopping (a write that fails, a kill, a task dropped in a
/// pause) can leave it half changed.
pub(super) enum Writer {
    /// No socket yet: bytes only queue.
    Unattached,
    /// Nobody is writing: whoever pushes bytes writes them straight to the
    /// socket.
    Idle(Sink),
    /// The writer task has the socket and waits for it to take bytes;
    /// `since` is when it started, or when the peer was last seen to take
    /// anything.
    Writing { since: Instant },
    /// The writer task waits out a pause of `delaybot`'s answer: nobody
    /// writes meanwhile.
    Pausing(Sink),
    /// No socket any more (killed, or handed back after everything was
    /// sent).
    Gone,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Writer::Unattached => f.write_str("Unattached"),
            Writer::Idle(_) => f.write_str("Idle"),
            Writer::Writing { since } => f.debug_struct("Writing").field("since", since).finish(),
            Writer::Pausing(_) => f.write_str("Pausing"),
            Writer::Gone => f.write_str("Gone"),
        }
    }
}

/// One stretch of contiguous bytes, written after `pause`.
#[derive(Debug, Default)]
pub(super) struct Segment {
    pub(super) pause: Duration,
    pub(super) bytes: Vec<u8>,
    /// `bytes[..head]` is written already.
    pub(super) head: usize,
}

impl Segment {
    pub(super) fn unwritten(&self) -> &[u8] {
        &self.bytes[self.head..]
    }

    /// Everything in it is written: empty it, and free its buffer if large,
    /// so that an idle connection holds little.
    pub(super) fn drained(&mut self) {
        if self.bytes.capacity() > KEEP_CAPACITY {
            self.bytes = Vec::new();
        }
        self.bytes.clear();
        self.head = 0;
    }
}

/// Where in the byte stream the replies to the connection's own requests
/// are, to count those not written yet.
#[derive(Debug, Default)]
pub(super) struct OwnBytes {
    /// Stream positions `[start, end)` of own bytes, in order.
    pub(super) runs: VecDeque<(u64, u64)>,
    /// Own bytes not written yet.
    pub(super) waiting: usize,
}

impl OwnBytes {
    pub(super) fn pushed(&mut self, start: u64, end: u64) {
        match self.runs.back_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => self.runs.push_back((start, end)),
        }
        self.waiting += (end - start) as usize;
    }

    /// The stream from `from` to `to` has been written.
    pub(super) fn written(&mut self, from: u64, to: u64) {
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

/// What a paced answer costs while it waits for its turn: its bytes, and
/// the segments it will start.
fn paced_cost(paced: &Paced) -> usize {
    let pauses = paced.pieces.iter().filter(|(pause, _)| !pause.is_zero());
    paced.data.len() + pauses.count() * SEGMENT_COST
}

#[derive(Debug)]
pub(super) struct State {
    /// Never empty. Pushes append to the last segment.
    pub(super) segments: VecDeque<Segment>,
    /// Paced answers not started yet, in order (see
    /// [`start_paced`](Self::start_paced)).
    pub(super) paced: VecDeque<Paced>,
    /// What those cost (see [`paced_cost`]); all of it replies to the
    /// connection's own requests.
    pub(super) paced_cost: usize,
    /// Bytes not written yet (those being written included), plus the cost
    /// of the segments after the first, plus `paced_cost`.
    pub(super) bytes: usize,
    pub(super) own: OwnBytes,
    /// Stream positions: after the last byte queued, and after the last
    /// byte written to the socket.
    pub(super) pushed: u64,
    pub(super) written: u64,
    /// Bytes of the stream the peer is known to have taken (acknowledged):
    /// what was written less the kernel's send queue, when last looked at.
    pub(super) taken: u64,
    pub(super) writer: Writer,
    pub(super) status: Status,
}

impl State {
    pub(super) fn new() -> Self {
        State {
            segments: VecDeque::from([Segment::default()]),
            paced: VecDeque::new(),
            paced_cost: 0,
            bytes: 0,
            own: OwnBytes::default(),
            pushed: 0,
            written: 0,
            taken: 0,
            writer: Writer::Unattached,
            status: Status::Open,
        }
    }

    pub(super) fn is_live(&self) -> bool {
        matches!(self.status, Status::Open | Status::Closing)
    }

    pub(super) fn extra_segments(&self) -> usize {
        (self.segments.len() - 1) * SEGMENT_COST
    }

    pub(super) fn own_cost(&self) -> usize {
        self.own.waiting + self.extra_segments() + self.paced_cost
    }

    /// Appends with `encode`.
    pub(super) fn append(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let last = self.segments.back_mut().expect("never empty");
        let before = last.bytes.len();
        encode(&mut last.bytes);
        let added = last.bytes.len() - before;
        self.bytes += added;
        self.pushed += added as u64;
    }

    /// Appends with `encode`, counted as a reply to the connection's own
    /// request.
    pub(super) fn append_own(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let start = self.pushed;
        self.append(encode);
        self.own.pushed(start, self.pushed);
    }

    /// Queues a paced answer (counted as a reply to the connection's own
    /// request), to start in its turn ([`start_paced`](Self::start_paced)).
    pub(super) fn push_paced(&mut self, paced: Paced) {
        let cost = paced_cost(&paced);
        self.bytes += cost;
        self.paced_cost += cost;
        self.paced.push_back(paced);
    }

    /// Whether a paced answer is under way: a pause of it is still ahead, or
    /// being waited out. Its last piece is ready to go once none is.
    pub(super) fn pacing(&self) -> bool {
        self.segments.len() > 1
            || !self.segments[0].pause.is_zero()
            || matches!(self.writer, Writer::Pausing(_))
    }

    /// Starts the next paced answer, unless one is under way: its pieces go
    /// after everything queued so far, its pauses between them. Until it has
    /// ended, whatever is queued goes after its last piece.
    pub(super) fn start_paced(&mut self) {
        while !self.pacing() {
            let Some(paced) = self.paced.pop_front() else {
                return;
            };
            let cost = paced_cost(&paced);
            self.bytes -= cost;
            self.paced_cost -= cost;
            let mut start = 0;
            // The pieces, then the rest at once.
            let rest = (Duration::ZERO, paced.data.len());
            for &(pause, end) in paced.pieces.iter().chain([&rest]) {
                let end = end.clamp(start, paced.data.len());
                if !pause.is_zero() {
                    self.start_segment(pause);
                }
                self.append_own(|buf| buf.extend_from_slice(&paced.data[start..end]));
                start = end;
            }
        }
    }

    fn start_segment(&mut self, pause: Duration) {
        self.segments.push_back(Segment {
            pause,
            ..Segment::default()
        });
        self.bytes += SEGMENT_COST;
    }

    /// Counts `n` more bytes as written to the socket: the writer made
    /// progress. A dead outbox, whose queue is gone, counts nothing.
    pub(super) fn written(&mut self, n: usize) {
        if !self.is_live() {
            return;
        }
        let from = self.written;
        self.written += n as u64;
        self.own.written(from, self.written);
        self.bytes -= n;
        if let Writer::Writing { since } = &mut self.writer {
            *since = Instant::now();
        }
    }

    /// Notes the kernel's send queue as it is `now` (`None`: the platform
    /// does not tell): if the peer has taken bytes since the last look, the
    /// writer has made progress.
    pub(super) fn looked_at_send_queue(&mut self, queued: Option<usize>, now: Instant) {
        let Some(queued) = queued else { return };
        let taken = self.written.saturating_sub(queued as u64);
        if taken > self.taken {
            self.taken = taken;
            if let Writer::Writing { since } = &mut self.writer {
                *since = now;
            }
        }
    }

    /// How long the writer has been waiting for the socket to take anything
    /// (zero unless it is writing).
    pub(super) fn stalled_for(&self, now: Instant) -> Duration {
        match self.writer {
            Writer::Writing { since } => now.saturating_duration_since(since),
            _ => Duration::ZERO,
        }
    }

    /// The outbox is dead: its queue is dropped, its socket closed (once the
    /// connection drops its read half too), and nothing more is counted.
    pub(super) fn kill(&mut self, why: Killed) {
        self.status = Status::Killed(why);
        self.writer = Writer::Gone;
        self.segments = VecDeque::from([Segment::default()]);
        self.paced = VecDeque::new();
        self.paced_cost = 0;
        self.own = OwnBytes::default();
        self.bytes = 0;
    }

    /// Writes the first segment straight to the socket if nobody else is
    /// writing and no pause comes first. Returns whether the writer task is
    /// needed (bytes left, a pause to wait out, or a failed write to see).
    pub(super) fn write_now(&mut self) -> bool {
        if !self.is_live() {
            return false;
        }
        let front = &self.segments[0];
        if !front.pause.is_zero() || front.head == front.bytes.len() {
            return self.segments.len() > 1;
        }
        let Writer::Idle(sink) = &mut self.writer else {
            // Not attached yet (attaching writes), or the writer task is on
            // it.
            return false;
        };
        match write_now(sink, front.unwritten()) {
            Ok(n) => {
                self.segments[0].head += n;
                self.written(n);
                let front = &mut self.segments[0];
                if front.head == front.bytes.len() {
                    front.drained();
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
