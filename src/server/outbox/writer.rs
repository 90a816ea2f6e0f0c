//! The connection's writer task ([`Outbox::run_writer`]): it writes what
//! the pushers could not write at once, waits out `delaybot`'s pauses, and
//! gives up on a socket that takes nothing while anyone waits on it.

use super::state::{State, Status, Writer};
use super::{Killed, Outbox, Sink, KEEP_CAPACITY, SEGMENT_COST};
use crate::net::write_fully_reporting;
use std::io;
use std::time::Duration;
use tokio::time::Instant;

/// The shortest time between two looks at the kernel's send queue.
const LOOK_EVERY_AT_LEAST: Duration = Duration::from_millis(10);

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

/// What ended a wait of the writer task for its socket.
enum Woken {
    Killed,
    Written(io::Result<()>),
    /// Time to look at the socket's progress (or the bounds changed).
    Look,
}

impl Outbox {
    /// What to do next, for the writer task.
    fn next_work(&self, state: &mut State, spare: &mut Vec<u8>) -> Work {
        loop {
            if !state.is_live() {
                return Work::Finished;
            }
            // Once the paced answer under way has ended, the next one starts
            // (what it costs stays the same).
            state.start_paced();
            let front = &mut state.segments[0];
            if !front.pause.is_zero() {
                return match std::mem::replace(&mut state.writer, Writer::Gone) {
                    Writer::Idle(sink) => {
                        state.writer = Writer::Pausing(sink);
                        Work::Pause(std::mem::take(&mut front.pause))
                    }
                    // Not attached yet: attaching wakes the writer.
                    other => {
                        state.writer = other;
                        Work::Wait
                    }
                };
            }
            if front.head < front.bytes.len() {
                let since = Instant::now();
                return match std::mem::replace(&mut state.writer, Writer::Writing { since }) {
                    Writer::Idle(sink) => {
                        let bytes = std::mem::replace(&mut front.bytes, std::mem::take(spare));
                        let head = std::mem::take(&mut front.head);
                        Work::Write { bytes, head, sink }
                    }
                    other => {
                        state.writer = other;
                        Work::Wait
                    }
                };
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

    /// Writes what the pushers could not write at once, waits out the
    /// pauses, and kills the outbox when someone waits on it and its socket
    /// takes nothing for the stall time; until the outbox is closed and
    /// empty (`Ok`), killed (`Ok`, at once, see
    /// [`killed_because`](Self::killed_because)), or a write fails (`Err`).
    /// Only one task may run it.
    pub(in crate::server) async fn run_writer(&self) -> io::Result<()> {
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
                        biased;
                        () = self.kill.notified() => {}
                        () = tokio::time::sleep(pause) => {}
                    }
                    let mut state = self.lock();
                    if let Writer::Pausing(sink) =
                        std::mem::replace(&mut state.writer, Writer::Gone)
                    {
                        state.writer = Writer::Idle(sink);
                    }
                }
                Work::Write {
                    mut bytes,
                    head,
                    mut sink,
                } => {
                    let written = self.write_out(&bytes[head..], &mut sink).await;
                    let mut state = self.lock();
                    if state.is_live() {
                        state.writer = Writer::Idle(sink);
                    }
                    match written {
                        Woken::Written(Err(e)) => {
                            if state.is_live() {
                                let before = self.over(&state);
                                state.kill(Killed::WriteFailed(e.kind()));
                                self.changed(&state, before);
                            }
                            return Err(e);
                        }
                        Woken::Killed => return Ok(()),
                        Woken::Written(Ok(())) | Woken::Look => {}
                    }
                    bytes.clear();
                    if bytes.capacity() <= KEEP_CAPACITY {
                        spare = bytes;
                    }
                }
            }
        }
    }

    /// Writes all of `bytes` to `sink`, looking at the socket's progress now
    /// and then while someone waits on it; returns [`Woken::Killed`] if the
    /// outbox was killed meanwhile (by this or otherwise).
    async fn write_out(&self, bytes: &[u8], sink: &mut Sink) -> Woken {
        self.look_at_progress(sink);
        let mut done = 0;
        loop {
            let look_at = self.next_look();
            let woken = {
                let write = write_fully_reporting(&mut *sink, &bytes[done..], |n| {
                    done += n;
                    let mut state = self.lock();
                    let before = self.over(&state);
                    state.written(n);
                    self.changed(&state, before);
                });
                tokio::select! {
                    biased;
                    () = self.kill.notified() => Woken::Killed,
                    written = write => Woken::Written(written),
                    () = sleep_until(look_at) => Woken::Look,
                    () = self.wake_writer.notified() => Woken::Look,
                }
            };
            match woken {
                Woken::Look => {
                    if self.kill_if_stalled(sink) {
                        return Woken::Killed;
                    }
                }
                Woken::Killed => return Woken::Killed,
                Woken::Written(written) => {
                    if !self.lock().is_live() {
                        return Woken::Killed;
                    }
                    return Woken::Written(written);
                }
            }
        }
    }

    /// When the writer, waiting for its socket, should next look at its
    /// progress: a quarter of the stall limit from now, or when the limit
    /// is reached if sooner; never while nobody waits on it.
    fn next_look(&self) -> Option<Instant> {
        let state = self.lock();
        let Writer::Writing { since } = state.writer else {
            return None;
        };
        let limit = self.stall_limit(&state)?;
        let soon = Instant::now() + (limit / 4).max(LOOK_EVERY_AT_LEAST);
        Some(soon.min(since + limit))
    }

    /// Notes how much of what was written the peer has taken, from the
    /// kernel's send queue.
    fn look_at_progress(&self, sink: &Sink) {
        let queued = sink.unacknowledged();
        self.lock().looked_at_send_queue(queued, Instant::now());
    }

    /// Kills the outbox if someone waits on it (or it is closing) and its
    /// socket has taken nothing for the stall time, judged from the kernel's
    /// send queue as it is now. Returns whether it did.
    fn kill_if_stalled(&self, sink: &Sink) -> bool {
        let queued = sink.unacknowledged();
        let now = Instant::now();
        let mut state = self.lock();
        state.looked_at_send_queue(queued, now);
        let Some(limit) = self.stall_limit(&state) else {
            return false;
        };
        if state.stalled_for(now) < limit {
            return false;
        }
        let before = self.over(&state);
        state.kill(Killed::Stalled);
        self.changed(&state, before);
        true
    }
}

/// Completes at `at`, or never.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
