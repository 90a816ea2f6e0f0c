//! Socket helpers shared by the client and the server: the defaults, name
//! resolution, reading into a [`LineFramer`], and the one loop that writes to
//! a socket.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::protocol::LineFramer;

/// The address a client connects to and a server listens on by default.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1";

/// The course's port, the default of both programs.
pub const DEFAULT_PORT: u16 = 5378;

/// `host` without the square brackets an IPv6 address is written in next to
/// a port (`[::1]` is `::1`), so that both spellings name the same host.
pub fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host)
}

/// True when `host` is written with a port after it (`127.0.0.1:5378`,
/// `localhost:5378`, `[::1]:5378`), which is no host: the port is given
/// apart. (An IPv6 address has two colons or more.)
pub fn has_port(host: &str) -> bool {
    (host.starts_with('[') && host.contains("]:")) || host.matches(':').count() == 1
}

/// What is wrong with `host` as the host to connect to or listen on, if
/// anything: empty, stray brackets, or a port after it.
pub fn host_problem(host: &str) -> Option<&'static str> {
    if host.trim().is_empty() {
        Some("must not be empty")
    } else if unbracketed(host).contains(['[', ']']) {
        Some("brackets go around a whole IPv6 address, as in [::1]")
    } else if has_port(host) {
        Some("give the host alone; the port has a setting of its own (--port)")
    } else {
        None
    }
}

/// Checks a host given on the command line (for clap): see
/// [`host_problem`].
pub fn host_argument(host: &str) -> Result<String, String> {
    match host_problem(host) {
        Some(problem) => Err(problem.to_string()),
        None => Ok(host.to_string()),
    }
}

/// Resolves `host` (a name or an address, an IPv6 address with or without
/// its brackets) and `port` to the first address it names.
pub async fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    tokio::net::lookup_host((unbracketed(host), port))
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host name has no address"))
}

/// Reads once from `reader` straight into `framer`'s buffer, asking for at
/// least `min` bytes of room, so that received bytes are never copied before
/// they are framed. Returns `Ok(false)` at end of stream. Cancel-safe: if the
/// future is dropped before it completes, no bytes are lost.
pub async fn read_into<R>(reader: &mut R, framer: &mut LineFramer, min: usize) -> io::Result<bool>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let n = reader.read(framer.buffer_to_fill(min)).await?;
    if n == 0 {
        return Ok(false);
    }
    framer.filled(n);
    Ok(true)
}

/// Writes all of `buf` to `writer`, one `write` call at a time.
///
/// A single `write` on a socket may accept only part of the buffer (the kernel's
/// send buffer is full, the peer reads slowly). This loop is the one place in the
/// project where bytes go to a socket: it keeps calling `write` with what is
/// left until everything has been accepted.
///
/// The project writes this loop itself instead of calling the all-in-one
/// helper that tokio and the standard library offer, because the assignment
/// asks for the partial-write handling to be the program's own: here it is
/// visible, tested (see the tests below), and in exactly one place.
pub async fn write_fully<W>(writer: &mut W, buf: &[u8]) -> io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    write_fully_reporting(writer, buf, |_| {}).await
}

/// [`write_fully`], calling `progress(n)` each time a `write` accepted `n`
/// bytes (the server uses it to tell a peer that reads slowly from one that
/// does not read at all).
pub async fn write_fully_reporting<W, F>(
    writer: &mut W,
    mut buf: &[u8],
    mut progress: F,
) -> io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
    F: FnMut(usize),
{
    while !buf.is_empty() {
        let written = writer.write(buf).await?;
        if written == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the connection accepted no more bytes",
            ));
        }
        progress(written);
        buf = &buf[written..];
    }
    writer.flush().await
}

/// Writes as much of `buf` as `writer` accepts at once, without waiting, and
/// returns how many bytes that was: [`write_fully`]'s loop, run until it
/// would have to wait. The server uses it to write straight to a socket
/// from whichever task has something for it.
pub fn write_now<W>(writer: &mut W, buf: &[u8]) -> io::Result<usize>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut written = 0;
    let polled = {
        let all = std::pin::pin!(write_fully_reporting(writer, buf, |n| written += n));
        // Polled once and dropped if it would wait: nothing ever needs waking.
        all.poll(&mut Context::from_waker(Waker::noop()))
    };
    match polled {
        Poll::Ready(Err(e)) => Err(e),
        Poll::Ready(Ok(())) | Poll::Pending => Ok(written),
    }
}

/// Bytes written to `stream` that its peer has not acknowledged yet: the
/// kernel's send queue, both those sent and not acknowledged and those not
/// sent yet. The server watches it shrink to tell a peer that reads, however
/// slowly, from one that reads nothing: the socket has room for more only
/// once a good part of its buffer has drained, long after the peer started
/// taking bytes again.
///
/// On Linux this is the `SIOCOUTQ` ioctl; elsewhere `None` (the platform's
/// equivalent is not used), and the server judges progress from writes alone.
#[cfg(target_os = "linux")]
pub fn unacknowledged(stream: &tokio::net::TcpStream) -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCOUTQ (TIOCOUTQ in libc's names) stores one int through the
    // pointer, which points to `queued`, alive and writable for the call;
    // the descriptor is the stream's own, open while it is borrowed.
    #[allow(unsafe_code)]
    let done = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    if done == 0 {
        usize::try_from(queued).ok()
    } else {
        None
    }
}

/// See the Linux version: elsewhere, not known.
#[cfg(not(target_os = "linux"))]
pub fn unacknowledged(_stream: &tokio::net::TcpStream) -> Option<usize> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A socket whose send buffer takes at most `step` bytes per call, and
    /// `room` bytes in all (then it would wait).
    struct SlowSocket {
        got: Vec<u8>,
        step: usize,
        calls: usize,
        room: usize,
    }

    impl SlowSocket {
        fn new(step: usize, room: usize) -> SlowSocket {
            SlowSocket {
                got: Vec::new(),
                step,
                calls: 0,
                room,
            }
        }
    }

    impl AsyncWrite for SlowSocket {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if self.room == 0 {
                return Poll::Pending;
            }
            let n = buf.len().min(self.step).min(self.room);
            self.got.extend_from_slice(&buf[..n]);
            self.calls += 1;
            self.room -= n;
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn partial_writes_are_continued_until_all_bytes_are_written() {
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let mut w = SlowSocket::new(7, usize::MAX);
        write_fully(&mut w, &data).await.unwrap();
        assert_eq!(w.got, data);
        assert_eq!(w.calls, 10_000usize.div_ceil(7));
    }

    #[tokio::test]
    async fn reading_into_a_framer_frames_what_arrives_and_reports_the_end() {
        let mut stream: &[u8] = b"LIST\nSEND bob hi\nSEN";
        let mut framer = LineFramer::new();
        assert!(read_into(&mut stream, &mut framer, 64).await.unwrap());
        let lines: Vec<_> = framer.frames().collect();
        assert_eq!(
            lines,
            [
                crate::protocol::Frame::Line(b"LIST"),
                crate::protocol::Frame::Line(b"SEND bob hi")
            ]
        );
        assert_eq!(framer.pending(), 3);
        assert!(!read_into(&mut stream, &mut framer, 4).await.unwrap());
    }

    #[test]
    fn writing_now_writes_what_is_accepted_and_stops_where_it_would_wait() {
        let mut w = SlowSocket::new(3, 10);
        assert_eq!(write_now(&mut w, b"0123456789abcdef").unwrap(), 10);
        assert_eq!(w.got, b"0123456789");
        w.room = 100;
        assert_eq!(write_now(&mut w, b"abcdef").unwrap(), 6);
        assert_eq!(w.got, b"0123456789abcdef");
        let mut zero = SlowSocket::new(0, usize::MAX);
        assert!(write_now(&mut zero, b"x").is_err());
    }

    #[tokio::test]
    async fn progress_is_reported_per_write() {
        let mut w = SlowSocket::new(4, usize::MAX);
        let mut steps = Vec::new();
        write_fully_reporting(&mut w, b"0123456789", |n| steps.push(n))
            .await
            .unwrap();
        assert_eq!(steps, [4, 4, 2]);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_send_queue_is_what_the_peer_has_not_taken() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut peer = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut stream, _) = listener.accept().await.unwrap();
        assert_eq!(unacknowledged(&stream), Some(0));
        // Far more than the peer's receive buffer holds: some stays queued.
        let data = vec![b'x'; 8 << 20];
        let written = write_now(&mut stream, &data).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let queued = unacknowledged(&stream).unwrap();
        assert!(queued > 0 && queued < written, "{queued} of {written}");
        // Once the peer reads, the queue shrinks.
        let mut sink = vec![0; 64 << 10];
        let mut read = 0;
        while unacknowledged(&stream).unwrap() >= queued {
            assert!(read < written, "read everything, the queue did not shrink");
            read += peer.read(&mut sink).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn a_writer_that_accepts_nothing_is_an_error_not_a_hang() {
        let mut w = SlowSocket::new(0, usize::MAX);
        let err = write_fully(&mut w, b"abc").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn a_host_with_a_port_after_it_is_told_apart() {
        for host in ["127.0.0.1:5378", "localhost:5378", "[::1]:5378", "host:"] {
            assert!(has_port(host), "{host}");
            assert!(host_argument(host).is_err(), "{host}");
        }
        for host in ["127.0.0.1", "localhost", "::1", "[::1]", "fe80::1%eth0"] {
            assert!(!has_port(host), "{host}");
            assert_eq!(host_argument(host).as_deref(), Ok(host));
        }
        assert!(host_argument(" ").is_err());
        for host in ["[::1", "::1]", "[[::1]]", "a[b]"] {
            assert!(host_argument(host).is_err(), "{host}");
        }
    }

    #[tokio::test]
    async fn an_ipv6_address_resolves_with_or_without_brackets() {
        let bare = resolve("::1", 9).await.unwrap();
        assert_eq!(bare, "[::1]:9".parse::<SocketAddr>().unwrap());
        assert_eq!(resolve("[::1]", 9).await.unwrap(), bare);
        assert_eq!(unbracketed("[::1"), "[::1");
        assert_eq!(unbracketed("example.org"), "example.org");
    }
}
