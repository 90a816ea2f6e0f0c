//! The outbox's tests: a socket that takes what the test says, on tokio's
//! paused clock where time matters.

use super::*;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// What the tests look at (the request handler's tests too).
impl Outbox {
    pub(in crate::server) fn is_killed(&self) -> bool {
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
    pub(in crate::server) fn stalled_for(&self) -> Duration {
        self.lock().stalled_for(Instant::now())
    }

    /// Everything queued and not written, as it would be written (pauses
    /// left out).
    pub(in crate::server) fn queued(&self) -> Vec<u8> {
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
    pub(in crate::server) fn counted(&self) -> (usize, usize) {
        let state = self.lock();
        (state.bytes, state.own.waiting)
    }
}

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

#[test]
fn a_large_message_written_at_once_leaves_no_large_buffer_behind() {
    let outbox = outbox(1 << 20);
    let socket = Socket::with_room(usize::MAX);
    outbox.attach(Box::new(socket.clone()));
    let big = "x".repeat(100_000);
    assert_eq!(outbox.deliver(line(&big)), Pushed::Queued);
    assert_eq!(socket.got().len(), big.len(), "written straight away");
    let kept = outbox.lock().segments[0].bytes.capacity();
    assert!(kept <= KEEP_CAPACITY, "{kept} bytes kept by an idle outbox");
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
