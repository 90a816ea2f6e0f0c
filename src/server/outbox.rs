//! The bounded queue of bytes waiting to be written to one connection.
//!
//! Anyone may push to an outbox without waiting: senders are never slowed down by a
//! slow recipient. The connection's writer takes items out one at a time and writes
//! them with [`write_fully`]. When a push would make the queued bytes exceed the
//! limit, the outbox is *killed*: its queue is dropped and the connection is closed
//! at once (the connection task watches [`Outbox::killed`]).

use super::lock;
use crate::net::write_fully;
use std::collections::VecDeque;
use std::io;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::sync::Notify;

/// One unit of output. The writer finishes an item before it starts the next, so
/// nothing is ever interleaved inside an item.
#[derive(Debug)]
pub(super) enum Item {
    /// Bytes written at once.
    Bytes(Vec<u8>),
    /// Bytes written in pieces: for each `(pause, end)`, wait `pause`, then write up
    /// to offset `end` (exclusive); anything after the last `end` follows at once.
    /// Used by `delaybot`.
    Paced {
        data: Vec<u8>,
        pieces: Vec<(Duration, usize)>,
    },
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Bytes(b) => b.len(),
            Item::Paced { data, .. } => data.len(),
        }
    }
}

/// What became of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pushed {
    /// Queued.
    Queued,
    /// The queue would have overflowed: the outbox is now killed and its
    /// connection is being closed.
    Overflow,
    /// The outbox is closing or dead; the item was dropped.
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    /// No more pushes; the writer sends what is queued and stops.
    Closing,
    Killed,
}

#[derive(Debug)]
struct State {
    items: VecDeque<Item>,
    /// Bytes queued, including the item the writer is writing now.
    bytes: usize,
    status: Status,
}

/// See the module documentation.
#[derive(Debug)]
pub(super) struct Outbox {
    state: Mutex<State>,
    max_bytes: usize,
    wake_writer: Notify,
    kill: Notify,
}

impl Outbox {
    pub(super) fn new(max_bytes: usize) -> Self {
        Outbox {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                status: Status::Open,
            }),
            max_bytes,
            wake_writer: Notify::new(),
            kill: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Queues `item` without waiting.
    pub(super) fn push(&self, item: Item) -> Pushed {
        let len = item.len();
        {
            let mut state = self.lock();
            if state.status != Status::Open {
                return Pushed::Gone;
            }
            if state.bytes.saturating_add(len) > self.max_bytes {
                state.status = Status::Killed;
                state.items = VecDeque::new();
                state.bytes = 0;
                drop(state);
                self.kill.notify_one();
                self.wake_writer.notify_one();
                return Pushed::Overflow;
            }
            state.bytes += len;
            state.items.push_back(item);
        }
        self.wake_writer.notify_one();
        Pushed::Queued
    }

    /// Queues bytes to be written at once.
    pub(super) fn push_bytes(&self, bytes: Vec<u8>) -> Pushed {
        self.push(Item::Bytes(bytes))
    }

    /// Accepts no more items; the writer ends once the queue is empty.
    pub(super) fn close(&self) {
        let mut state = self.lock();
        if state.status == Status::Open {
            state.status = Status::Closing;
        }
        drop(state);
        self.wake_writer.notify_one();
    }

    /// True once the outbox overflowed.
    pub(super) fn is_killed(&self) -> bool {
        self.lock().status == Status::Killed
    }

    /// Completes when the outbox overflows. Only one task may wait on it.
    pub(super) async fn killed(&self) {
        loop {
            if self.is_killed() {
                return;
            }
            self.kill.notified().await;
        }
    }

    /// Writes queued items to `writer` until the outbox is closed and empty
    /// (`Ok`), killed (`Ok`), or a write fails (`Err`). Only one task may run it.
    pub(super) async fn run_writer<W>(&self, writer: &mut W) -> io::Result<()>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        loop {
            let item = {
                let mut state = self.lock();
                match state.status {
                    Status::Killed => return Ok(()),
                    status => match state.items.pop_front() {
                        Some(item) => Some(item),
                        None if status == Status::Closing => return Ok(()),
                        None => None,
                    },
                }
            };
            let Some(item) = item else {
                self.wake_writer.notified().await;
                continue;
            };
            let len = item.len();
            match &item {
                Item::Bytes(bytes) => write_fully(writer, bytes).await?,
                Item::Paced { data, pieces } => {
                    let mut start = 0;
                    for &(pause, end) in pieces {
                        let end = end.clamp(start, data.len());
                        if !pause.is_zero() {
                            tokio::time::sleep(pause).await;
                        }
                        write_fully(writer, &data[start..end]).await?;
                        start = end;
                    }
                    write_fully(writer, &data[start..]).await?;
                }
            }
            let mut state = self.lock();
            state.bytes = state.bytes.saturating_sub(len);
        }
    }
}

#[cfg(test)]
impl Outbox {
    /// Everything queued, as it would be written (pauses left out).
    pub(super) fn queued(&self) -> Vec<u8> {
        let state = self.lock();
        let mut out = Vec::new();
        for item in &state.items {
            match item {
                Item::Bytes(bytes) => out.extend_from_slice(bytes),
                Item::Paced { data, .. } => out.extend_from_slice(data),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_are_written_in_order_and_writer_ends_after_close() {
        let outbox = Outbox::new(100);
        assert_eq!(outbox.push_bytes(b"a\n".to_vec()), Pushed::Queued);
        assert_eq!(
            outbox.push(Item::Paced {
                data: b"bcd".to_vec(),
                pieces: vec![(Duration::ZERO, 1), (Duration::from_millis(1), 2)],
            }),
            Pushed::Queued
        );
        outbox.close();
        assert_eq!(outbox.push_bytes(b"late".to_vec()), Pushed::Gone);
        let mut out = Vec::new();
        outbox.run_writer(&mut out).await.unwrap();
        assert_eq!(out, b"a\nbcd");
    }

    #[tokio::test]
    async fn overflow_kills_and_drops_the_queue() {
        let outbox = Outbox::new(10);
        assert_eq!(outbox.push_bytes(vec![b'x'; 6]), Pushed::Queued);
        assert_eq!(outbox.push_bytes(vec![b'x'; 5]), Pushed::Overflow);
        assert!(outbox.is_killed());
        outbox.killed().await;
        assert_eq!(outbox.push_bytes(vec![b'x'; 1]), Pushed::Gone);
        let mut out = Vec::new();
        outbox.run_writer(&mut out).await.unwrap();
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn written_bytes_no_longer_count() {
        let outbox = Outbox::new(10);
        outbox.push_bytes(vec![b'x'; 8]);
        outbox.close();
        let mut out = Vec::new();
        outbox.run_writer(&mut out).await.unwrap();
        assert_eq!(outbox.lock().bytes, 0);
    }
}
