//! The client's TCP connection: framing on the way in, a writer task on the way out.
//!
//! Reading and writing are independent. Outgoing requests are queued to a task
//! that owns the write half, so a server that reads slowly (or a 20 MB message)
//! never stops the client from reading and printing what arrives meanwhile.

use std::io;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::inputs::Permit;
use crate::net::{read_into, write_fully};
use crate::protocol::{Frame, LineFramer, ServerMessage};

/// One request waiting to be written, with the share of the input budget it
/// holds until then.
type Outgoing = (Vec<u8>, Permit);

/// Size of one read from the socket.
const READ_CHUNK: usize = 64 * 1024;
/// While a long line arrives, a read asks for as much as is already held of
/// it, up to this: a huge message then takes 100 reads instead of 1,600.
const MAX_READ_CHUNK: usize = 1 << 20;

/// A connection to a chat server.
pub(super) struct Connection {
    reader: OwnedReadHalf,
    framer: LineFramer,
    outgoing: Option<mpsc::UnboundedSender<Outgoing>>,
    writer: JoinHandle<io::Result<()>>,
}

impl Connection {
    /// Connects to `host:port` (a name or an address).
    pub(super) async fn connect(host: &str, port: u16) -> io::Result<Connection> {
        let stream = TcpStream::connect((host, port)).await?;
        // Lines are small and interactive: send each one at once.
        stream.set_nodelay(true)?;
        Ok(Connection::new(stream))
    }

    /// Wraps an established stream.
    pub(super) fn new(stream: TcpStream) -> Connection {
        let (reader, writer) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        Connection {
            reader,
            framer: LineFramer::new(),
            outgoing: Some(tx),
            writer: tokio::spawn(write_queue(writer, rx)),
        }
    }

    /// Queues a request (one encoded line). It is written in order, in the
    /// background.
    pub(super) fn send(&self, request: Vec<u8>) {
        self.send_holding(request, Permit::none());
    }

    /// Queues a request made from a typed line, which holds `permit` until
    /// the request has been written.
    pub(super) fn send_holding(&self, request: Vec<u8>, permit: Permit) {
        if let Some(tx) = &self.outgoing {
            // If the writer has stopped, the connection is broken, and the
            // reading side reports it.
            let _ = tx.send((request, permit));
        }
    }

    /// The messages received in full so far, in order; each is consumed as it
    /// is handed out. Never waits. The messages borrow the connection's
    /// buffer, so they are used (and dropped) before the next
    /// [`receive`](Self::receive).
    pub(super) fn messages(&mut self) -> impl Iterator<Item = ServerMessage<'_>> {
        // Once logged in, the client sets no maximum line length: every line
        // is handed out.
        self.framer.lines().map(ServerMessage::parse)
    }

    /// Like [`messages`](Self::messages), with `None` for a line longer
    /// than the limit set with [`limit_lines`](Self::limit_lines) (which is
    /// not kept: the rest of it is skipped as it arrives).
    pub(super) fn limited_messages(&mut self) -> impl Iterator<Item = Option<ServerMessage<'_>>> {
        self.framer.frames().map(|frame| match frame {
            Frame::Line(line) => Some(ServerMessage::parse(line)),
            Frame::TooLong => None,
        })
    }

    /// Sets the longest line kept, in bytes (`None`: any length), for the
    /// lines still to come.
    pub(super) fn limit_lines(&mut self, max: Option<usize>) {
        self.framer.set_max_line(max);
    }

    /// Waits for bytes from the server and frames them. Returns `Ok(false)` when
    /// the server has closed the connection. Cancel-safe: if the future is
    /// dropped before it completes, no bytes are lost.
    pub(super) async fn receive(&mut self) -> io::Result<bool> {
        // Straight into the framer's buffer: received bytes are never copied
        // before they are shown.
        let size = read_size(self.framer.pending());
        read_into(&mut self.reader, &mut self.framer, size).await
    }

    /// Closes the connection without waiting for the server: the requests
    /// still queued are written if the socket takes them at once (the
    /// writer gets one turn), and dropped if not.
    pub(super) async fn close(mut self) {
        self.outgoing = None;
        tokio::task::yield_now().await;
        self.writer.abort();
    }
}

/// How many bytes to ask for, with `pending` bytes of a line held already:
/// the amount grows with the line (so that a huge message is read in large
/// steps) without ever wasting much room on a small one.
fn read_size(pending: usize) -> usize {
    pending.clamp(READ_CHUNK, MAX_READ_CHUNK)
}

/// Writes queued requests in order until the queue is closed.
async fn write_queue(
    mut writer: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) -> io::Result<()> {
    while let Some((bytes, permit)) = queue.recv().await {
        write_fully(&mut writer, &bytes).await?;
        drop(permit);
    }
    writer.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A server that takes nothing more: closing does not wait for the
    /// requests it has not taken (on tokio's paused clock, which moves on
    /// by itself while every task waits, so a wait shows as time gone by).
    #[tokio::test(start_paused = true)]
    async fn closing_never_waits_for_a_server_that_takes_nothing() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stream, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let (_server, _) = accepted.unwrap();
        let connection = Connection::new(stream.unwrap());
        // More than the kernel's buffers on both sides take.
        connection.send(vec![b'm'; 32 << 20]);
        tokio::task::yield_now().await;
        let started = tokio::time::Instant::now();
        connection.close().await;
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[test]
    fn reads_grow_with_a_long_line_up_to_the_maximum() {
        assert_eq!(read_size(0), READ_CHUNK);
        assert_eq!(read_size(100), READ_CHUNK);
        assert_eq!(read_size(300_000), 300_000);
        assert_eq!(read_size(100 << 20), MAX_READ_CHUNK);
    }
}
