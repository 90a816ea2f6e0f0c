//! The load generator of the server scenarios, speaking the protocol from a
//! tokio runtime: many clients logged in at once ([`login_many`]), and
//! sender/receiver pairs that time every message from SEND to DELIVERY
//! ([`run_pairs_blocking`]).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chat::net::write_fully;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::task::{JoinError, JoinSet};

use testkit::BODY64;

/// Most logins in flight at once in [`login_many`].
const LOGINS_IN_FLIGHT: usize = 256;
/// Most messages one sender sends in a run (a bound besides the deadline).
const MAX_MESSAGES_PER_SENDER: u64 = 10_000_000;
/// How long a receiver waits after the window for the deliveries still owed.
const DRAIN: Duration = Duration::from_secs(3);

/// A tag that makes this run's user names unique on a long-running server.
pub fn run_tag() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000);
    format!("{t}{}{n}", std::process::id() % 10_000)
}

/// The local address that connection number `index` comes from: each its own
/// loopback address (127.1.0.0/16, 127.2.0.0/16, ...) when the server is on
/// loopback too, because the course's server allows only five names per
/// client address (and chat-server limits pending logins per address).
fn source_address(server: SocketAddr, index: usize) -> Option<SocketAddr> {
    if !server.ip().is_loopback() || !server.is_ipv4() {
        return None;
    }
    let a = 1 + index / (254 * 254);
    let b = 1 + (index / 254) % 254;
    let c = 1 + index % 254;
    let a = u8::try_from(a).ok().filter(|&a| a < 255)?;
    Some(SocketAddr::from(([127, a, b as u8, c as u8], 0)))
}

/// One protocol connection from the load generator.
pub struct Peer {
    rd: tokio::io::BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    line: Vec<u8>,
}

impl Peer {
    /// Connects (as connection number `index`) and logs in as `name`, reading
    /// with a buffer of `buffer` bytes.
    pub async fn login(
        addr: SocketAddr,
        name: &str,
        buffer: usize,
        index: usize,
    ) -> io::Result<Peer> {
        let stream = match source_address(addr, index) {
            Some(source) => {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind(source)?;
                socket.connect(addr).await?
            }
            None => tokio::net::TcpStream::connect(addr).await?,
        };
        stream.set_nodelay(true)?;
        let (rd, wr) = stream.into_split();
        let mut peer = Peer {
            rd: tokio::io::BufReader::with_capacity(buffer, rd),
            wr,
            line: Vec::with_capacity(128),
        };
        if !peer
            .request(format!("HELLO-FROM {name}\n").as_bytes())
            .await?
        {
            return Err(io::Error::other(format!("{name}: closed during login")));
        }
        if !peer.line.starts_with(b"HELLO") || peer.line.starts_with(b"HELLO-") {
            return Err(io::Error::other(format!(
                "{name}: login refused: {}",
                String::from_utf8_lossy(&peer.line)
            )));
        }
        Ok(peer)
    }

    /// Sends `request` and reads the reply into `self.line`. False if the
    /// server closed the connection instead.
    pub async fn request(&mut self, request: &[u8]) -> io::Result<bool> {
        self.send(request).await?;
        self.next_line(Duration::from_secs(10)).await
    }

    /// Sends `bytes`, reading nothing.
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        write_fully(&mut self.wr, bytes).await
    }

    /// The last line read.
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// The two halves, to read and write at once.
    pub fn split(self) -> (Incoming, OwnedWriteHalf) {
        (Incoming(self.rd), self.wr)
    }

    /// Reads the next line into `self.line` (without `\n` or `\r`). False at
    /// end of stream; an error after `limit` without a line.
    async fn next_line(&mut self, limit: Duration) -> io::Result<bool> {
        self.line.clear();
        let n = tokio::time::timeout(limit, self.rd.read_until(b'\n', &mut self.line))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no line in time"))??;
        if n == 0 || self.line.last() != Some(&b'\n') {
            return Ok(false);
        }
        self.line.pop();
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(true)
    }
}

/// What a peer receives, apart from what it sends.
pub struct Incoming(tokio::io::BufReader<OwnedReadHalf>);

impl Incoming {
    /// Reads until `lines` lines have ended (whatever their length), or
    /// fails after `limit`, or at end of stream.
    pub async fn count_lines(&mut self, lines: usize, limit: Duration) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + limit;
        while seen < lines {
            let n = tokio::time::timeout_at(deadline, self.0.read(&mut buf))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "lines missing"))??;
            if n == 0 {
                return Err(io::Error::other("closed before every line arrived"));
            }
            seen += memchr::memchr_iter(b'\n', &buf[..n]).count();
        }
        Ok(())
    }

    /// Reads and drops what arrives, until the connection ends or `stop`.
    pub async fn discard_until(&mut self, stop: &AtomicBool) -> u64 {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while !stop.load(Ordering::Relaxed) {
            let read = tokio::time::timeout(Duration::from_millis(100), self.0.read(&mut buf));
            match read.await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => total += n as u64,
                Err(_) => {}
            }
        }
        total
    }
}

/// The clients logged in by [`login_many`], and why the others were not.
pub struct Logins {
    pub peers: Vec<Peer>,
    pub failures: Vec<String>,
}

impl Logins {
    fn take(&mut self, done: Result<io::Result<Peer>, JoinError>) {
        match done {
            Ok(Ok(peer)) => self.peers.push(peer),
            Ok(Err(e)) => self.failures.push(e.to_string()),
            Err(e) => self.failures.push(e.to_string()),
        }
    }
}

/// Logs in `n` clients that stay logged in, [`LOGINS_IN_FLIGHT`] at a time.
pub async fn login_many(addr: SocketAddr, n: usize) -> Logins {
    let tag = run_tag();
    let mut set = JoinSet::new();
    let mut logins = Logins {
        peers: Vec::with_capacity(n),
        failures: Vec::new(),
    };
    for i in 0..n {
        while set.len() >= LOGINS_IN_FLIGHT {
            if let Some(done) = set.join_next().await {
                logins.take(done);
            }
        }
        let name = format!("c{tag}x{i}");
        set.spawn(async move {
            tokio::time::timeout(Duration::from_secs(20), Peer::login(addr, &name, 64, i))
                .await
                .map_err(|_| io::Error::other("login timed out"))?
        });
    }
    while let Some(done) = set.join_next().await {
        logins.take(done);
    }
    logins
}

/// The outcome of one load run with sender/receiver pairs.
#[derive(Debug, Default)]
pub struct PairRun {
    /// Deliveries received inside the measurement window.
    delivered: u64,
    /// Deliveries received in all (the window, and before and after it).
    pub received: u64,
    /// Messages a sender had `SEND-OK` for that never reached the receiver.
    pub lost: u64,
    seconds: f64,
    /// SEND-to-DELIVERY latencies, in microseconds.
    latencies_us: Vec<u32>,
    /// Replies other than SEND-OK, and read or write failures.
    pub errors: u64,
    pub first_error: Option<String>,
}

impl PairRun {
    /// Adds another run's figures to these.
    pub fn absorb(&mut self, run: PairRun) {
        self.delivered += run.delivered;
        self.received += run.received;
        self.lost += run.lost;
        self.seconds += run.seconds;
        self.errors += run.errors;
        self.latencies_us.extend(run.latencies_us);
        if self.first_error.is_none() {
            self.first_error = run.first_error;
        }
    }

    /// Deliveries per second.
    pub fn rate(&self) -> f64 {
        self.delivered as f64 / self.seconds
    }

    pub fn percentile_us(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        f64::from(self.latencies_us[rank - 1])
    }

    fn fail(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }

    /// Records a line a receiver got: the latency of a timed delivery (and
    /// counts it if it came inside the window), or an error. True for a
    /// delivery.
    fn record(&mut self, line: &[u8], window: &Window) -> bool {
        let now = Instant::now();
        let Some(sent_ns) = parse_timed_body(line) else {
            self.fail(format!(
                "receiver got {:?}",
                String::from_utf8_lossy(&line[..line.len().min(80)])
            ));
            return false;
        };
        let now_ns = (now - window.epoch).as_nanos() as u64;
        let us = now_ns.saturating_sub(sent_ns) / 1000;
        self.latencies_us.push(us.min(u64::from(u32::MAX)) as u32);
        self.received += 1;
        if now <= window.end {
            self.delivered += 1;
        }
        true
    }
}

/// `SEND <to> <timed body>\n` in `line`: the body is the nanoseconds since
/// `epoch` in 20 digits, then padding to 64 bytes.
fn timed_send(line: &mut Vec<u8>, to: &str, epoch: Instant) {
    line.clear();
    line.extend_from_slice(b"SEND ");
    line.extend_from_slice(to.as_bytes());
    line.push(b' ');
    let ns = epoch.elapsed().as_nanos() as u64;
    line.extend_from_slice(format!("{ns:020}").as_bytes());
    line.extend_from_slice(&BODY64[20..]);
    line.push(b'\n');
}

fn parse_timed_body(line: &[u8]) -> Option<u64> {
    // DELIVERY <sender> <20 digits>...
    let rest = line.strip_prefix(b"DELIVERY ")?;
    let space = memchr::memchr(b' ', rest)?;
    let digits = rest.get(space + 1..space + 21)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// When a run's messages are timed from, and when it is measured.
#[derive(Debug, Clone, Copy)]
struct Window {
    epoch: Instant,
    start: Instant,
    end: Instant,
}

/// What a sender tells its receiver: how many messages it sent, and whether
/// it is done.
#[derive(Default)]
struct Progress {
    sent: AtomicU64,
    done: AtomicBool,
}

/// Runs [`run_pairs`] on `rt`, bounded by its length and a minute.
pub fn run_pairs_blocking(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    pairs: usize,
    length: Duration,
    slow_pair: bool,
) -> io::Result<PairRun> {
    let limit = length + Duration::from_secs(60);
    rt.block_on(async {
        tokio::time::timeout(limit, run_pairs(addr, pairs, length, slow_pair))
            .await
            .map_err(|_| io::Error::other("the load run did not end in time"))?
    })
}

/// `pairs` senders each sending to its own receiver for `length` (send, wait
/// for SEND-OK, repeat); with `slow_pair`, one more pair whose receiver reads
/// 4 KiB every 100 ms.
async fn run_pairs(
    addr: SocketAddr,
    pairs: usize,
    length: Duration,
    slow_pair: bool,
) -> io::Result<PairRun> {
    let tag = run_tag();
    let total = pairs + usize::from(slow_pair);
    let mut receivers = Vec::new();
    for i in 0..total {
        receivers.push(Peer::login(addr, &format!("r{tag}x{i}"), 64 * 1024, 2 * i).await?);
    }
    let mut senders = Vec::new();
    for i in 0..total {
        senders.push(Peer::login(addr, &format!("s{tag}x{i}"), 4 * 1024, 2 * i + 1).await?);
    }
    let epoch = Instant::now();
    let start = epoch + Duration::from_millis(200);
    let window = Window {
        epoch,
        start,
        end: start + length,
    };
    let mut tasks = JoinSet::new();
    for (i, (sender, receiver)) in senders.into_iter().zip(receivers).enumerate() {
        let slow = slow_pair && i == pairs;
        let progress = Arc::new(Progress::default());
        let to = format!("r{tag}x{i}");
        tasks.spawn(send_timed(sender, to, window, slow, Arc::clone(&progress)));
        if slow {
            tasks.spawn(read_slowly(receiver, window.end));
        } else {
            tasks.spawn(receive_timed(receiver, window, progress));
        }
    }
    let mut total_run = PairRun {
        seconds: length.as_secs_f64(),
        ..PairRun::default()
    };
    // Every connection is kept until all the tasks are done.
    let mut keep = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (run, peer) = done.map_err(|e| io::Error::other(format!("a load task failed: {e}")))?;
        total_run.absorb(run);
        keep.push(peer);
    }
    Ok(total_run)
}

/// A sender: timed messages to `to` during the window, each after the reply
/// to the one before. A slow pair's sender may be refused (its receiver is
/// too slow) without that counting as an error.
async fn send_timed(
    mut sender: Peer,
    to: String,
    window: Window,
    slow: bool,
    progress: Arc<Progress>,
) -> (PairRun, Peer) {
    let mut run = PairRun::default();
    tokio::time::sleep_until(window.start.into()).await;
    let mut count = 0u64;
    let mut line = Vec::with_capacity(128);
    while Instant::now() < window.end && count < MAX_MESSAGES_PER_SENDER {
        timed_send(&mut line, &to, window.epoch);
        match sender.request(&line).await {
            Ok(true) => {}
            Ok(false) => {
                run.fail("sender: server closed the sender's connection".into());
                break;
            }
            Err(e) => {
                run.fail(format!("sender: {e}"));
                break;
            }
        }
        if sender.line == b"SEND-OK" {
            count += 1;
        } else if !slow {
            run.fail(format!(
                "sender got {:?}",
                String::from_utf8_lossy(&sender.line)
            ));
        }
    }
    progress.sent.store(count, Ordering::SeqCst);
    progress.done.store(true, Ordering::SeqCst);
    (run, sender)
}

/// A receiver: reads the deliveries, timing each, until it has all its
/// sender sent (or a while after the window).
async fn receive_timed(
    mut receiver: Peer,
    window: Window,
    progress: Arc<Progress>,
) -> (PairRun, Peer) {
    let mut run = PairRun::default();
    let hard_end = window.end + DRAIN;
    let mut received = 0u64;
    while Instant::now() < hard_end {
        if progress.done.load(Ordering::SeqCst) && received >= progress.sent.load(Ordering::SeqCst)
        {
            break;
        }
        match receiver.next_line(Duration::from_millis(100)).await {
            Ok(true) => {}
            Ok(false) => {
                run.fail("server closed a receiver's connection".into());
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
            Err(e) => {
                run.fail(format!("receiver: {e}"));
                break;
            }
        }
        if run.record(&receiver.line, &window) {
            received += 1;
        }
    }
    if progress.done.load(Ordering::SeqCst) {
        run.lost = progress
            .sent
            .load(Ordering::SeqCst)
            .saturating_sub(received);
    }
    (run, receiver)
}

/// The slow pair's receiver: reads 4 KiB every 100 ms until `end`, whatever
/// is owed.
async fn read_slowly(mut receiver: Peer, end: Instant) -> (PairRun, Peer) {
    let mut buf = vec![0u8; 4096];
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = tokio::time::timeout(Duration::from_millis(10), receiver.rd.read(&mut buf)).await;
    }
    (PairRun::default(), receiver)
}
