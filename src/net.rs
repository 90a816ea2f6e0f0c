//! Socket helpers shared by the client and the server.

use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Resolves `host` (a name or an address) and `port` to the first address it
/// names.
pub async fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the host name has no address"))
}

/// Writes all of `buf` to `writer`, one `write` call at a time.
///
/// A single `write` on a socket may accept only part of the buffer (the kernel's
/// send buffer is full, the peer reads slowly). This loop is the one place in the
/// project where bytes go to a socket: it keeps calling `write` with what is
/// left until everything has been accepted.
pub async fn write_fully<W>(writer: &mut W, mut buf: &[u8]) -> io::Result<()>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    while !buf.is_empty() {
        let written = writer.write(buf).await?;
        if written == 0 {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the connection accepted no more bytes",
            ));
        }
        buf = &buf[written..];
    }
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A writer that accepts at most `step` bytes per call.
    struct Trickle {
        got: Vec<u8>,
        step: usize,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.got.extend_from_slice(&buf[..n]);
            self.calls += 1;
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
        let mut w = Trickle {
            got: Vec::new(),
            step: 7,
            calls: 0,
        };
        write_fully(&mut w, &data).await.unwrap();
        assert_eq!(w.got, data);
        assert_eq!(w.calls, 10_000usize.div_ceil(7));
    }

    #[tokio::test]
    async fn a_writer_that_accepts_nothing_is_an_error_not_a_hang() {
        let mut w = Trickle {
            got: Vec::new(),
            step: 0,
            calls: 0,
        };
        let err = write_fully(&mut w, b"abc").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }
}
