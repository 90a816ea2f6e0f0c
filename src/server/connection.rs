//! One client connection, in three steps: admission (a cap on connections not
//! logged in), the handshake (the first line, with a time limit), then the
//! logged-in loop until it closes.
//!
//! After login, a connection runs two halves side by side in one task: the reader
//! (parse requests, push replies and deliveries into outboxes, never waiting on
//! anyone; see `requests`) and the writer (empty this connection's outbox into
//! the socket). A slow peer therefore only ever blocks its own writer.

use super::admission::Crowded;
use super::outbox::{Killed, Outbox};
use super::registry::{Refusal, Registry};
use super::requests::RequestHandler;
use super::Shared;
use crate::net::{read_into, write_fully};
use crate::protocol::{ClientMessage, Frame, LineFramer, ServerMessage};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, info};

/// Longest first line accepted before login, whatever `--max-line-bytes`
/// says (which is for the requests after login). `HELLO-FROM` and the
/// longest allowed name fit easily; anything longer is refused without being
/// stored.
const HANDSHAKE_LINE_BYTES: usize = 1024;
/// Requests handled in a row before the other connections get their turn.
const REQUESTS_PER_TURN: usize = 16;
/// Bytes asked for per `read`.
const READ_CHUNK: usize = 8 * 1024;
/// How long a closing connection waits for the peer to finish sending.
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// How long a refusal may take to write, and closing the socket.
const FINAL_WRITE_TIME: Duration = Duration::from_secs(5);

/// The longest name, in bytes.
pub(super) const MAX_NAME_BYTES: usize = 255;

/// The name rule: 1 to [`MAX_NAME_BYTES`] ASCII letters and digits.
fn valid_name(name: &[u8]) -> bool {
    (1..=MAX_NAME_BYTES).contains(&name.len()) && name.iter().all(u8::is_ascii_alphanumeric)
}

/// What the first line of a connection asks for: a valid name to log in
/// with, or the refusal to answer (with why, for the log).
fn judge_hello(frame: Frame<'_>) -> Result<Vec<u8>, (ServerMessage<'static>, &'static str)> {
    let line = match frame {
        Frame::Line(line) => line,
        Frame::TooLong => return Err((ServerMessage::BadRequestBody, "line too long")),
    };
    match ClientMessage::parse(line) {
        ClientMessage::HelloFrom(name) if valid_name(name) => Ok(name.to_vec()),
        ClientMessage::HelloFrom(_) => Err((ServerMessage::BadRequestBody, "bad name")),
        _ => Err((
            ServerMessage::BadRequestHeader,
            "first line is not HELLO-FROM",
        )),
    }
}

/// Serves one accepted connection until it closes.
pub(super) async fn handle(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let id = shared.next_id();
    if let Err(e) = stream.set_nodelay(true) {
        debug!(id, "set_nodelay failed: {e}");
    }
    let admitted = match shared.admission.admit(peer.ip()) {
        Ok(admitted) => admitted,
        Err(Crowded::ThisAddress) => {
            info!(id, %peer, "connection refused: too many from this address not logged in");
            return;
        }
        Err(Crowded::Everywhere) => {
            info!(id, %peer, "connection refused: too many connections not logged in");
            return;
        }
    };
    info!(id, %peer, "connection opened");
    let mut conn = Connection {
        id,
        stream,
        framer: LineFramer::with_max_line(HANDSHAKE_LINE_BYTES),
        shared: Arc::clone(&shared),
    };
    let Some(name) = conn.handshake().await else {
        return;
    };
    let Some(outbox) = conn.log_in(&name).await else {
        return;
    };
    let session = Session {
        registry: &shared.registry,
        name: &name,
        id,
        outbox: &outbox,
    };
    drop(admitted);
    conn.run(session).await;
}

/// A connection and what it has read so far.
struct Connection {
    id: u64,
    stream: TcpStream,
    framer: LineFramer,
    shared: Arc<Shared>,
}

impl Connection {
    /// Reads and judges the first line within the login time limit. Returns
    /// the name asked for, or `None` once the connection has been refused or
    /// has ended.
    async fn handshake(&mut self) -> Option<Vec<u8>> {
        let first = match self.shared.config.login_timeout {
            Some(limit) => match tokio::time::timeout(limit, self.first_frame()).await {
                Ok(first) => first,
                Err(_) => {
                    info!(id = self.id, "connection closed: no login within {limit:?}");
                    return None;
                }
            },
            None => self.first_frame().await,
        };
        let judged = match first {
            Ok(Some(judged)) => judged,
            Ok(None) => {
                info!(id = self.id, "connection closed before login");
                return None;
            }
            Err(e) => {
                info!(id = self.id, "connection failed before login: {e}");
                return None;
            }
        };
        match judged {
            Ok(name) => Some(name),
            Err((reply, why)) => {
                info!(id = self.id, "login refused: {why}");
                self.refuse(reply).await;
                None
            }
        }
    }

    /// Reads until the first frame and judges it; `None` if the connection
    /// ends before a whole line.
    async fn first_frame(
        &mut self,
    ) -> io::Result<Option<Result<Vec<u8>, (ServerMessage<'static>, &'static str)>>> {
        loop {
            if let Some(frame) = self.framer.next_frame() {
                return Ok(Some(judge_hello(frame)));
            }
            if !read_into(&mut self.stream, &mut self.framer, HANDSHAKE_LINE_BYTES).await? {
                return Ok(None);
            }
        }
    }

    /// Logs `name` in, or refuses it (in use, or the server is full). Returns
    /// the new user's outbox, with `HELLO` queued in it.
    async fn log_in(&mut self, name: &[u8]) -> Option<Arc<Outbox>> {
        let shown = String::from_utf8_lossy(name);
        let config = &self.shared.config;
        let outbox = Arc::new(Outbox::new(config.max_queue_bytes, config.stall_timeout));
        // Queued before anyone can find the outbox, so that it comes before
        // any message to the new user.
        outbox.reply(|buf| ServerMessage::Hello(name).encode(buf));
        let refusal = match self
            .shared
            .registry
            .login(name, self.id, Arc::clone(&outbox))
        {
            Ok(()) => {
                info!(id = self.id, name = %shown, "logged in");
                return Some(outbox);
            }
            Err(Refusal::InUse) => {
                info!(id = self.id, name = %shown, "login refused: name in use");
                ServerMessage::InUse
            }
            Err(Refusal::Busy) => {
                info!(id = self.id, name = %shown, "login refused: server full");
                ServerMessage::Busy
            }
        };
        self.refuse(refusal).await;
        None
    }

    /// Sends a refusal, then closes so that the reply is delivered: shut down the
    /// write half, and read (and discard) until the peer closes or a second passes,
    /// so that unread input cannot turn into a reset that destroys the reply.
    async fn refuse(&mut self, reply: ServerMessage<'_>) {
        let (mut rd, mut wr) = self.stream.split();
        let bytes = reply.to_bytes();
        match tokio::time::timeout(FINAL_WRITE_TIME, write_fully(&mut wr, &bytes)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
        if tokio::time::timeout(FINAL_WRITE_TIME, wr.shutdown())
            .await
            .is_err()
        {
            return;
        }
        let _ = tokio::time::timeout(DRAIN_TIME, async {
            let mut scratch = vec![0; READ_CHUNK];
            while let Ok(n) = rd.read(&mut scratch).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }

    /// The logged-in loop: requests in, replies out, until the connection
    /// ends; `session` ends it however it ends.
    async fn run(self, session: Session<'_>) {
        let Connection {
            id,
            stream,
            mut framer,
            shared,
        } = self;
        let (name, outbox) = (session.name, session.outbox);
        framer.set_max_line(Some(shared.config.max_line_bytes));
        let (mut rd, wr) = stream.into_split();
        outbox.attach(Box::new(wr));
        outbox.flush();
        let mut handler = RequestHandler::new(&shared, name, outbox);
        let reading = read_requests(&mut handler, &mut rd, &mut framer);
        let writing = outbox.run_writer();
        tokio::pin!(reading, writing);
        let reason = tokio::select! {
            biased;
            written = &mut writing => ended(written, outbox, "closed by the server"),
            read = &mut reading => match read {
                Err(e) => format!("read failed: {e}"),
                Ok(()) => {
                    // End of input: every request read has been answered.
                    // Deliver what is owed (for as long as the peer takes
                    // it), then close.
                    shared.registry.leave(name, id);
                    outbox.close();
                    ended(writing.await, outbox, "closed by peer")
                }
            },
        };
        let sink = outbox.detach();
        // The name is free before the peer sees the connection close.
        drop(session);
        if let Some(mut sink) = sink {
            // Everything was sent: say so to the peer.
            let _ = tokio::time::timeout(FINAL_WRITE_TIME, sink.shutdown()).await;
        }
        info!(id, name = %String::from_utf8_lossy(name), "disconnected: {reason}");
    }
}

/// Why a connection ended, once its writer has: `done` if it sent everything
/// it had to.
fn ended(written: io::Result<()>, outbox: &Outbox, done: &str) -> String {
    match (written, outbox.killed_because()) {
        (Err(e), _) => format!("write failed: {e}"),
        (Ok(()), None) => done.to_string(),
        (Ok(()), Some(Killed::Stalled)) => {
            "not reading: its socket took nothing for the stall time while someone waited on it"
                .to_string()
        }
        (Ok(()), Some(Killed::WriteFailed(kind))) => format!("write failed: {kind}"),
        (Ok(()), Some(Killed::Ended)) => "ended".to_string(),
    }
}

/// Handles requests until end of input (`Ok`) or a read error. Reads no more
/// while the handler says to wait; gives the other connections their turn
/// now and then.
async fn read_requests<R>(
    handler: &mut RequestHandler<'_>,
    rd: &mut R,
    framer: &mut LineFramer,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
{
    loop {
        for (i, frame) in framer.frames().enumerate() {
            if let Some(wait) = handler.handle(frame) {
                handler.wait(wait).await;
            }
            if i % REQUESTS_PER_TURN == REQUESTS_PER_TURN - 1 {
                // A client that sends many requests at once gets its turn
                // like any other, not one turn for all of them.
                handler.flush();
                tokio::task::yield_now().await;
            }
        }
        handler.flush();
        if !read_into(rd, framer, READ_CHUNK).await? {
            return Ok(());
        }
    }
}

/// A logged-in session, ended when the connection's task ends, however it
/// ends (the end of input, an error, a kill, the task aborted as the server
/// stops): its outbox accepts nothing more and wakes whoever waits on it,
/// and its name is free again.
struct Session<'a> {
    registry: &'a Registry,
    name: &'a [u8],
    id: u64,
    outbox: &'a Outbox,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.outbox.end();
        if self.registry.logout(self.name, self.id) {
            debug!(id = self.id, name = %String::from_utf8_lossy(self.name), "name freed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rule() {
        for ok in ["a", "alice", "abc123", "1234", "ABCdef9"] {
            assert!(valid_name(ok.as_bytes()), "{ok}");
        }
        assert!(valid_name(&[b'x'; 255]));
        assert!(!valid_name(&[b'x'; 256]));
        for bad in [
            "", "a b", "a,b", "@!", "ABC_d", "bob-x", "bob.x", "ümlaut", "bob!", " a", "a\0",
        ] {
            assert!(!valid_name(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn the_first_line_is_judged_header_first_then_name() {
        assert_eq!(
            judge_hello(Frame::Line(b"HELLO-FROM alice")),
            Ok(b"alice".to_vec())
        );
        for (line, reply) in [
            (&b"HELLO-FROM a b"[..], ServerMessage::BadRequestBody),
            (b"HELLO-FROM", ServerMessage::BadRequestBody),
            (b"LIST", ServerMessage::BadRequestHeader),
            (b"SEND a b", ServerMessage::BadRequestHeader),
            (b"", ServerMessage::BadRequestHeader),
        ] {
            assert_eq!(judge_hello(Frame::Line(line)).unwrap_err().0, reply);
        }
        assert_eq!(
            judge_hello(Frame::TooLong).unwrap_err().0,
            ServerMessage::BadRequestBody
        );
    }
}
