//! The outbox's tests: a socket that takes what the test says, on tokio's
//! paused clock where time matters.

use super::*;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::time::Instant;

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

    /// Everything queued and not written, as it would be written if nothing
    /// more came (pauses left out).
    pub(in crate::server) fn queued(&self) -> Vec<u8> {
        let state = self.lock();
        let paced = state.paced.iter().map(|paced| &paced.data[..]);
        state
            .segments
            .iter()
            .map(|segment| segment.unwritten())
            .chain(paced)
            .flatten()
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

/// `outbox` on `socket`, with its writer task running.
fn writing(
    outbox: Outbox,
    socket: &Socket,
) -> (Arc<Outbox>, tokio::task::JoinHandle<io::Result<()>>) {
    let outbox = Arc::new(outbox);
    outbox.attach(Box::new(socket.clone()));
    let writer = tokio::spawn({
        let outbox = Arc::clone(&outbox);
        async move { outbox.run_writer().await }
    });
    (outbox, writer)
}

/// A socket that takes at most `room` more bytes, shared with the test. If
/// `unacknowledged` is set, it also has a kernel's send queue: what it takes
/// is queued there until the peer takes it ([`Socket::peer_takes`]).
#[derive(Clone, Default)]
struct Socket(Arc<Mutex<SocketInner>>);

#[derive(Default)]
struct SocketInner {
    got: Vec<u8>,
    room: usize,
    waker: Option<std::task::Waker>,
    broken: bool,
    unacknowledged: Option<usize>,
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
    /// A socket whose kernel's send queue can be looked at, with room for
    /// `room` bytes.
    fn with_send_queue(room: usize) -> Socket {
        let socket = Socket::with_room(room);
        socket.0.lock().unwrap().unacknowledged = Some(0);
        socket
    }
    /// The peer takes (and acknowledges) `n` bytes: the send queue shrinks,
    /// but the socket has no more room.
    fn peer_takes(&self, n: usize) {
        let mut inner = self.0.lock().unwrap();
        let queued = inner.unacknowledged.as_mut().expect("a send queue");
        *queued -= n.min(*queued);
    }
}

impl SocketWrite for Socket {
    fn unacknowledged(&self) -> Option<usize> {
        self.0.lock().unwrap().unacknowledged
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
        if let Some(queued) = &mut inner.unacknowledged {
            *queued += n;
        }
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
    outbox.reply_paced(Paced {
        data: b"bcd".to_vec(),
        pieces: vec![(Duration::ZERO, 1), (Duration::from_millis(1), 2)],
    });
    outbox.reply(line("e"));
    assert_eq!(socket.got(), b"", "replies wait for the flush");
    outbox.flush();
    assert_eq!(
        socket.got(),
        b"a\neb",
        "written at once, the paced answer last, up to its pause"
    );
    outbox.close();
    assert_eq!(outbox.deliver(line("late")), Pushed::Gone);
    outbox.run_writer().await.unwrap();
    assert_eq!(socket.got(), b"a\nebcd");
    assert_eq!(outbox.counted(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_paced_answer_holds_up_only_what_comes_while_it_is_under_way() {
    let socket = Socket::with_room(usize::MAX);
    let (outbox, writer) = writing(outbox(usize::MAX), &socket);
    let half_second = Duration::from_millis(500);
    // Two lines, the second cut in two pieces half a second apart.
    let paced = |text: &str| Paced {
        data: format!("{text}\n{text}-x\n").into_bytes(),
        pieces: vec![(Duration::ZERO, text.len() + 3), (half_second, 0)],
    };
    // The replies to three requests read together, two of them paced.
    outbox.reply(line("ok1\n"));
    outbox.reply_paced(paced("a"));
    outbox.reply(line("ok2\n"));
    outbox.reply_paced(paced("b"));
    outbox.reply(line("ok3\n"));
    outbox.flush();
    tokio::task::yield_now().await;
    // Those that are not paced first, then the first paced answer starts.
    assert_eq!(socket.got(), b"ok1\nok2\nok3\na\na-");
    // A line that comes while it is under way waits for its end.
    tokio::time::sleep(half_second / 5).await;
    assert_eq!(outbox.deliver(line("m\n")), Pushed::Queued);
    assert_eq!(socket.got(), b"ok1\nok2\nok3\na\na-");
    // Its end, that line, then the next paced answer, in one write.
    tokio::time::sleep(half_second).await;
    assert_eq!(socket.got(), b"ok1\nok2\nok3\na\na-x\nm\nb\nb-");
    tokio::time::sleep(half_second).await;
    assert_eq!(socket.got(), b"ok1\nok2\nok3\na\na-x\nm\nb\nb-x\n");
    outbox.close();
    writer.await.unwrap().unwrap();
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
    let socket = Socket::with_room(4);
    let (outbox, writer) = writing(Outbox::new(10, Duration::from_secs(5)), &socket);
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
    outbox.wait_for_room().await;
    assert!(!outbox.is_killed(), "it reads, slowly");
    reader.await.unwrap();
    // Now it takes nothing more: over the limit, its writer kills it after
    // the stall time, and the sender goes on.
    assert_eq!(outbox.deliver(line("0123456789")), Pushed::Full);
    let waited = Instant::now();
    outbox.wait_for_room().await;
    assert!(waited.elapsed() <= Duration::from_secs(6));
    assert_eq!(outbox.killed().await, Killed::Stalled);
    assert_eq!(outbox.deliver(line("x")), Pushed::Gone);
    assert_eq!(outbox.counted(), (0, 0));
    writer.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_stalled_outbox_over_the_limit_is_killed_after_the_stall_time() {
    let socket = Socket::with_room(0);
    let (outbox, writer) = writing(Outbox::new(10, Duration::from_secs(5)), &socket);
    assert_eq!(outbox.deliver(line("0123456789abc")), Pushed::Full);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(outbox.stalled_for(), Duration::from_secs(4));
    assert_eq!(
        outbox.deliver(line("x")),
        Pushed::Full,
        "not stalled long enough"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(outbox.killed_because(), Some(Killed::Stalled));
    assert_eq!(outbox.deliver(line("x")), Pushed::Gone);
    writer.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_takes_bytes_however_slowly_is_never_killed() {
    // The socket takes 100 bytes, then has no room for anything more, for
    // as long as the test lasts; but the peer takes a few bytes now and then.
    let socket = Socket::with_send_queue(100);
    let (outbox, writer) = writing(Outbox::new(10, Duration::from_secs(5)), &socket);
    outbox.reply(|buf| buf.resize(OWN_BOUND + 200, b'x'));
    outbox.flush();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_secs(4)).await;
        socket.peer_takes(1);
    }
    assert!(!outbox.is_killed(), "it reads, slowly");
    assert_eq!(socket.got().len(), 100, "the socket had no room for more");
    // Once it takes nothing more, it is killed after the stall time (and a
    // quarter of it at most, between two looks at the send queue).
    let stopped = Instant::now();
    assert_eq!(outbox.killed().await, Killed::Stalled);
    let after = stopped.elapsed();
    assert!(
        after > Duration::from_secs(1) && after <= Duration::from_millis(6250),
        "{after:?}"
    );
    writer.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_its_replies_is_killed_after_the_stall_time() {
    let socket = Socket::with_send_queue(1000);
    let (outbox, writer) = writing(Outbox::new(usize::MAX, Duration::from_secs(5)), &socket);
    outbox.reply(|buf| buf.resize(OWN_BOUND + 2000, b'x'));
    outbox.flush();
    // Its requests wait for their replies, which wait for a socket that
    // takes nothing: after the stall time, it is killed, and the wait ends.
    let started = Instant::now();
    outbox.wait_for_own_room().await;
    assert_eq!(outbox.killed_because(), Some(Killed::Stalled));
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    writer.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_socket_that_takes_nothing_is_killed_only_once_someone_waits_on_it() {
    let socket = Socket::with_send_queue(10);
    let (outbox, writer) = writing(Outbox::new(1000, Duration::from_secs(1)), &socket);
    assert_eq!(outbox.deliver(line(&"x".repeat(100))), Pushed::Queued);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!outbox.is_killed());
    // A message that puts it over its limit: it has taken nothing for far
    // longer than the stall time, so it is killed at once.
    assert_eq!(outbox.deliver(line(&"y".repeat(1000))), Pushed::Full);
    let started = Instant::now();
    outbox.wait_for_room().await;
    assert_eq!(outbox.killed_because(), Some(Killed::Stalled));
    assert_eq!(started.elapsed(), Duration::ZERO);
    writer.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_closing_outbox_gives_up_on_a_socket_that_takes_nothing() {
    let socket = Socket::with_send_queue(10);
    let (outbox, writer) = writing(Outbox::new(1000, Duration::ZERO), &socket);
    outbox.reply(line("0123456789abcdef"));
    outbox.flush();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!outbox.is_killed(), "nobody waits on it");
    socket.make_room(2);
    tokio::task::yield_now().await;
    // Closing waits for the rest as long as the socket takes bytes, and a
    // second (whatever the stall time) once it takes nothing.
    let closed = Instant::now();
    outbox.close();
    tokio::time::sleep(Duration::from_millis(500)).await;
    socket.make_room(3);
    outbox.finished().await;
    assert_eq!(outbox.killed_because(), Some(Killed::Stalled));
    assert_eq!(closed.elapsed(), Duration::from_millis(1500));
    assert_eq!(socket.got(), b"0123456789abcde");
    writer.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_outbox_that_ends_in_a_pause_lets_its_waiting_senders_go_on() {
    let socket = Socket::with_room(usize::MAX);
    let (outbox, writer) = writing(Outbox::new(10, Duration::from_secs(1)), &socket);
    outbox.reply_paced(Paced {
        data: b"0123456789".to_vec(),
        pieces: vec![(Duration::ZERO, 5), (Duration::from_secs(1), 10)],
    });
    outbox.flush();
    tokio::task::yield_now().await;
    assert_eq!(outbox.deliver(line("from a sender")), Pushed::Full);
    // Its connection ends in the pause, and its writer with it.
    writer.abort();
    let _ = writer.await;
    outbox.end();
    tokio::time::timeout(Duration::from_secs(60), outbox.wait_for_room())
        .await
        .expect("the sender waits no more");
    assert_eq!(outbox.killed_because(), Some(Killed::Ended));
    assert_eq!(outbox.deliver(line("x")), Pushed::Gone);
    assert_eq!(outbox.counted(), (0, 0));
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

#[tokio::test(start_paused = true)]
async fn a_write_that_completes_after_the_outbox_died_counts_nothing() {
    for _ in 0..40 {
        let socket = Socket::with_room(0);
        let (outbox, writer) = writing(Outbox::new(10, Duration::from_secs(1)), &socket);
        assert_eq!(outbox.deliver(line("0123456789abc")), Pushed::Full);
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Its connection ends while its write waits for the socket; then
        // the socket takes the bytes.
        outbox.end();
        socket.make_room(100);
        writer.await.unwrap().unwrap();
        assert_eq!(outbox.counted(), (0, 0));
        assert_eq!(outbox.deliver(line("x")), Pushed::Gone);
    }
}
