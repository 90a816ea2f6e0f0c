//! One client connection: handshake, then requests until it closes.
//!
//! After login, a connection runs two halves side by side in one task: the reader
//! (parse requests, push replies and deliveries into outboxes, never waiting on
//! anyone) and the writer (empty this connection's outbox into the socket). A
//! slow peer therefore only ever blocks its own writer.

use super::bots;
use super::outbox::{Outbox, Pushed};
use super::pending::Pending;
use super::registry::{Refusal, Registry, Target};
use super::Config;
use crate::net::write_fully;
use crate::protocol::{ClientMessage, Frame, LineFramer, ServerMessage};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

/// Longest first line accepted before login. `HELLO-FROM` and the longest
/// allowed name fit easily; anything longer is refused without being stored.
const HANDSHAKE_LINE_BYTES: usize = 1024;
/// Bytes asked for per `read`.
const READ_CHUNK: usize = 8 * 1024;
/// How long a closing connection waits for the peer to finish sending.
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// How long a refusal or the last replies may take to write.
const FINAL_WRITE_TIME: Duration = Duration::from_secs(5);

/// What every connection shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub config: Config,
    pub registry: Registry,
    pub pending: Pending,
    next_id: AtomicU64,
}

impl Shared {
    pub(super) fn new(config: Config) -> Self {
        Shared {
            registry: Registry::new(config.max_clients, config.hide_users, config.bots),
            pending: Pending::new(config.max_pending_per_address),
            config,
            next_id: AtomicU64::new(1),
        }
    }
}

/// The name rule: 1 to 255 ASCII letters and digits.
pub(super) fn valid_name(name: &[u8]) -> bool {
    (1..=255).contains(&name.len()) && name.iter().all(u8::is_ascii_alphanumeric)
}

/// Lines from the socket, through the shared framer.
struct Input {
    framer: LineFramer,
}

impl Input {
    fn new(max_line: usize) -> Self {
        Input {
            framer: LineFramer::with_max_line(max_line),
        }
    }

    /// Reads more bytes, straight into the framer. `Ok(false)` at end of stream.
    async fn fill<R: AsyncRead + Unpin>(&mut self, rd: &mut R) -> io::Result<bool> {
        let n = rd.read(self.framer.buffer_to_fill(READ_CHUNK)).await?;
        if n == 0 {
            return Ok(false);
        }
        self.framer.filled(n);
        Ok(true)
    }

    /// Reads the first line and judges it.
    async fn hello<R: AsyncRead + Unpin>(&mut self, rd: &mut R) -> io::Result<Hello> {
        loop {
            if let Some(frame) = self.framer.next_frame() {
                return Ok(match frame {
                    Frame::Line(line) => match ClientMessage::parse(line) {
                        ClientMessage::HelloFrom(name) if valid_name(name) => {
                            Hello::Name(name.to_vec())
                        }
                        ClientMessage::HelloFrom(_) => {
                            Hello::Refused(ServerMessage::BadRequestBody, "bad name")
                        }
                        _ => Hello::Refused(
                            ServerMessage::BadRequestHeader,
                            "first line is not HELLO-FROM",
                        ),
                    },
                    Frame::TooLong => {
                        Hello::Refused(ServerMessage::BadRequestBody, "line too long")
                    }
                });
            }
            if !self.fill(rd).await? {
                return Ok(Hello::Closed);
            }
        }
    }
}

/// What the first line of a connection asked for.
enum Hello {
    /// `HELLO-FROM` with a valid name.
    Name(Vec<u8>),
    /// Anything else: refused with this reply (the text says why, for the log).
    Refused(ServerMessage<'static>, &'static str),
    /// The connection ended before a whole line.
    Closed,
}

/// Logs the name out when the connection ends, however it ends.
struct LoginGuard<'a> {
    registry: &'a Registry,
    name: &'a [u8],
    id: u64,
}

impl LoginGuard<'_> {
    fn logout(&self) {
        if self.registry.logout(self.name, self.id) {
            debug!(id = self.id, name = %String::from_utf8_lossy(self.name), "name freed");
        }
    }
}

impl Drop for LoginGuard<'_> {
    fn drop(&mut self) {
        self.logout();
    }
}

/// Serves one accepted connection until it closes.
pub(super) async fn handle(mut stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = stream.set_nodelay(true) {
        debug!(id, "set_nodelay failed: {e}");
    }
    let Some(pending) = shared.pending.enter(peer.ip()) else {
        info!(id, %peer, "connection refused: too many from this address not logged in");
        return;
    };
    info!(id, %peer, "connection opened");
    let (mut rd, mut wr) = stream.split();
    let mut input = Input::new(HANDSHAKE_LINE_BYTES.min(shared.config.max_line_bytes));

    let first = match shared.config.login_timeout {
        Some(limit) => match tokio::time::timeout(limit, input.hello(&mut rd)).await {
            Ok(first) => first,
            Err(_) => {
                info!(id, "connection closed: no login within {limit:?}");
                return;
            }
        },
        None => input.hello(&mut rd).await,
    };
    let name = match first {
        Ok(Hello::Name(name)) => name,
        Ok(Hello::Refused(reply, why)) => {
            info!(id, "login refused: {why}");
            return refuse(&mut rd, &mut wr, reply).await;
        }
        Ok(Hello::Closed) => {
            info!(id, "connection closed before login");
            return;
        }
        Err(e) => {
            info!(id, "connection failed before login: {e}");
            return;
        }
    };
    let shown = String::from_utf8_lossy(&name).into_owned();

    let outbox = Arc::new(Outbox::new(shared.config.max_queue_bytes));
    match shared.registry.login(&name, id, Arc::clone(&outbox)) {
        Ok(()) => {}
        Err(Refusal::InUse) => {
            info!(id, name = %shown, "login refused: name in use");
            return refuse(&mut rd, &mut wr, ServerMessage::InUse).await;
        }
        Err(Refusal::Busy) => {
            info!(id, name = %shown, "login refused: server full");
            return refuse(&mut rd, &mut wr, ServerMessage::Busy).await;
        }
    }
    let guard = LoginGuard {
        registry: &shared.registry,
        name: &name,
        id,
    };
    drop(pending);
    input
        .framer
        .set_max_line(Some(shared.config.max_line_bytes));
    info!(id, name = %shown, "logged in");
    outbox.push_bytes(ServerMessage::Hello(&name).to_bytes());

    let session = Session {
        shared: &shared,
        name: &name,
        outbox: &outbox,
    };
    let reader = session.read_loop(&mut input, &mut rd);
    let writer = async {
        outbox.run_writer(&mut wr).await?;
        if !outbox.is_killed() {
            // Closed after end of input and everything sent: say so to the peer.
            wr.shutdown().await?;
        }
        Ok(())
    };
    tokio::pin!(reader, writer);
    enum End {
        Killed,
        Writer(io::Result<()>),
        Reader(io::Result<()>),
    }
    const OVERFLOW: &str = "outgoing queue overflowed (not reading)";
    let end = tokio::select! {
        biased;
        () = outbox.killed() => End::Killed,
        r = &mut writer => End::Writer(r),
        r = &mut reader => End::Reader(r),
    };
    let reason = match end {
        End::Killed | End::Writer(Ok(())) => OVERFLOW.to_string(),
        End::Writer(Err(e)) => format!("write failed: {e}"),
        End::Reader(Err(e)) => format!("read failed: {e}"),
        End::Reader(Ok(())) if outbox.is_killed() => OVERFLOW.to_string(),
        End::Reader(Ok(())) => {
            // End of input: free the name now, then send what is still queued.
            guard.logout();
            outbox.close();
            match tokio::time::timeout(FINAL_WRITE_TIME, &mut writer).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => debug!(id, "final write failed: {e}"),
                Err(_) => debug!(id, "final write timed out"),
            }
            "closed by peer".to_string()
        }
    };
    drop(guard);
    info!(id, name = %shown, "disconnected: {reason}");
}

/// Sends a refusal, then closes so that the reply is delivered: shut down the
/// write half, and read (and discard) until the peer closes or a second passes,
/// so that unread input cannot turn into a reset that destroys the reply.
async fn refuse<R, W>(rd: &mut R, wr: &mut W, reply: ServerMessage<'_>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let bytes = reply.to_bytes();
    match tokio::time::timeout(FINAL_WRITE_TIME, write_fully(wr, &bytes)).await {
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

/// A logged-in connection's request handling.
struct Session<'a> {
    shared: &'a Shared,
    name: &'a [u8],
    outbox: &'a Outbox,
}

impl Session<'_> {
    /// Handles requests until end of input (`Ok`), a read error, or this
    /// connection's own outbox overflowing (`Ok`, with the outbox killed).
    async fn read_loop<R: AsyncRead + Unpin>(
        &self,
        input: &mut Input,
        rd: &mut R,
    ) -> io::Result<()> {
        loop {
            for frame in input.framer.frames() {
                self.handle_frame(frame);
                if self.outbox.is_killed() {
                    return Ok(());
                }
            }
            if !input.fill(rd).await? {
                return Ok(());
            }
        }
    }

    fn reply(&self, msg: &ServerMessage) {
        self.outbox.push_bytes(msg.to_bytes());
    }

    fn handle_frame(&self, frame: Frame<'_>) {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong => return self.reply(&ServerMessage::BadRequestBody),
        };
        match ClientMessage::parse(line) {
            ClientMessage::List => {
                let names = self.shared.registry.list();
                self.reply(&ServerMessage::ListOk(
                    names.iter().map(Vec::as_slice).collect(),
                ));
            }
            ClientMessage::Send { to, body } => self.send(to, body),
            ClientMessage::HelloFrom(_) | ClientMessage::Unknown(_) => {
                self.reply(&ServerMessage::BadRequestHeader);
            }
        }
    }

    fn send(&self, to: &[u8], body: &[u8]) {
        if to.is_empty() || body.iter().all(u8::is_ascii_whitespace) {
            return self.reply(&ServerMessage::BadRequestBody);
        }
        let Some(target) = self.shared.registry.lookup(to) else {
            return self.reply(&ServerMessage::BadDestUser);
        };
        self.reply(&ServerMessage::SendOk);
        match target {
            Target::Bot(bot) => {
                self.outbox.push(bots::answer(bot, body));
            }
            Target::User { id, outbox } => {
                let line = bots::delivery_line(self.name, body);
                if outbox.push_bytes(line) == Pushed::Overflow {
                    // The recipient does not read: it is disconnected (its own task
                    // sees the kill), and its name is free from now on.
                    self.shared.registry.logout(to, id);
                    warn!(
                        id,
                        name = %String::from_utf8_lossy(to),
                        "disconnecting a user whose outgoing queue overflowed"
                    );
                }
            }
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
}
