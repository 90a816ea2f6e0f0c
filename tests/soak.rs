//! Soak test: many clients against `chat-server` for minutes, connecting,
//! chatting, listing and disconnecting at random (some abruptly, some in the
//! middle of a line). Not part of `cargo test`; run it with
//!
//! ```sh
//! cargo test --release --test soak -- --clients 1000 --seconds 300
//! ```
//!
//! At the end it checks that the server never panicked and is still running,
//! that every request was answered (in order), that every `SEND-OK` was
//! matched by exactly one `DELIVERY` (at most one when the recipient vanished
//! abruptly), that nobody is still listed after disconnecting, and that the
//! server's memory came back near where it started.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat::net::write_fully;
use chat::protocol::{ClientMessage, Frame, LineFramer, ServerMessage};
use clap::Parser;
use testkit::rng::Rng;
use testkit::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Command-line options of the soak test.
#[derive(Debug, Parser)]
struct Options {
    /// Clients running at once.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// How long the clients run.
    #[arg(long, default_value_t = 300)]
    seconds: u64,
    /// Seed of the pseudo-random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// What every client shares: who is online, and the ledger of messages.
#[derive(Default)]
struct World {
    online: Mutex<Vec<String>>,
    next_message: AtomicU64,
    /// Message id -> recipient, for every `SEND-OK`.
    acked: Mutex<HashMap<u64, String>>,
    /// Message id -> (recipient who got it, how many times).
    delivered: Mutex<HashMap<u64, (String, u32)>>,
    /// Sessions that ended abruptly (their last deliveries may be lost).
    abrupt: Mutex<HashSet<String>>,
    stats: Stats,
    /// The first broken rules, described.
    problems: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Stats {
    sessions: AtomicU64,
    sends: AtomicU64,
    lists: AtomicU64,
    bad_dest: AtomicU64,
    abrupt: AtomicU64,
    mid_line: AtomicU64,
    /// Anything that broke a rule: described in `problems`.
    failures: AtomicU64,
}

impl World {
    /// Records a broken rule (the first ones are kept to be shown).
    fn problem(&self, text: String) {
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        let mut problems = self.problems.lock().unwrap();
        if problems.len() < 20 {
            problems.push(text);
        }
    }
}

/// A request waiting for its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Send(u64, String),
    List,
    BadHeader,
}

/// How a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Graceful,
    Abrupt,
    MidLine,
}

/// One logged-in connection of the soak test.
struct Conn {
    stream: TcpStream,
    framer: LineFramer,
    buf: Vec<u8>,
    name: String,
    pending: VecDeque<Pending>,
}

impl Conn {
    async fn login(port: u16, name: String) -> Result<Conn, String> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut conn = Conn {
            stream,
            framer: LineFramer::new(),
            buf: vec![0; 16 * 1024],
            name,
            pending: VecDeque::new(),
        };
        let hello = ClientMessage::HelloFrom(conn.name.as_bytes()).to_bytes();
        write_fully(&mut conn.stream, &hello)
            .await
            .map_err(|e| format!("{} write: {e}", conn.name))?;
        let answer = conn.next_line(Duration::from_secs(30)).await?;
        match answer.as_deref().map(ServerMessage::parse) {
            Some(ServerMessage::Hello(n)) if n == conn.name.as_bytes() => Ok(conn),
            other => Err(format!("login as {} answered {other:?}", conn.name)),
        }
    }

    async fn send(&mut self, message: &ClientMessage<'_>) -> Result<(), String> {
        write_fully(&mut self.stream, &message.to_bytes())
            .await
            .map_err(|e| format!("{} write: {e}", self.name))
    }

    /// The next line from the server, or `None` at its end.
    async fn next_line(&mut self, limit: Duration) -> Result<Option<Vec<u8>>, String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(frame) = self.framer.next_frame() {
                return match frame {
                    Frame::Line(line) => Ok(Some(line.to_vec())),
                    Frame::TooLong => Err("too long".into()),
                };
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut self.buf));
            match read.await {
                Err(_) => return Err(format!("{}: no answer in {limit:?}", self.name)),
                Ok(Err(e)) => return Err(format!("{} read: {e}", self.name)),
                Ok(Ok(0)) => return Ok(None),
                Ok(Ok(n)) => self.framer.push(&self.buf[..n]),
            }
        }
    }

    /// Checks one line from the server against what was asked.
    fn handle(&mut self, line: &[u8], world: &World) -> Result<(), String> {
        let message = ServerMessage::parse(line);
        let expected = match &message {
            ServerMessage::Delivery { from, body } => {
                let body = String::from_utf8_lossy(body);
                let id: u64 = body
                    .strip_prefix('m')
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| format!("{}: strange delivery {body:?}", self.name))?;
                if from.is_empty() {
                    return Err(format!("{}: delivery without a sender", self.name));
                }
                let mut delivered = world.delivered.lock().unwrap();
                let entry = delivered.entry(id).or_insert((self.name.clone(), 0));
                entry.1 += 1;
                if entry.0 != self.name {
                    return Err(format!(
                        "message {id} reached {} and {}",
                        entry.0, self.name
                    ));
                }
                return Ok(());
            }
            _ => self.pending.pop_front(),
        };
        match (expected, message) {
            (Some(Pending::Send(id, to)), ServerMessage::SendOk) => {
                world.acked.lock().unwrap().insert(id, to);
            }
            (Some(Pending::Send(..)), ServerMessage::BadDestUser) => {
                world.stats.bad_dest.fetch_add(1, Ordering::Relaxed);
            }
            (Some(Pending::List), ServerMessage::ListOk(names)) => {
                if !names.contains(&self.name.as_bytes()) {
                    return Err(format!("{} is missing from its own LIST", self.name));
                }
            }
            (Some(Pending::BadHeader), ServerMessage::BadRequestHeader) => {}
            (expected, got) => {
                return Err(format!(
                    "{}: expected a reply to {expected:?}, got {got:?}",
                    self.name
                ))
            }
        }
        Ok(())
    }
}

/// One client: sessions one after another until the deadline.
async fn client(index: usize, port: u16, deadline: Instant, world: Arc<World>, seed: u64) {
    let mut rng = Rng::new(seed ^ ((index as u64 + 1) * 7919));
    let mut generation = 0;
    while Instant::now() < deadline {
        generation += 1;
        let name = format!("c{index}g{generation}");
        if let Err(e) = session(name, port, deadline, &world, &mut rng).await {
            world.problem(e);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn session(
    name: String,
    port: u16,
    deadline: Instant,
    world: &World,
    rng: &mut Rng,
) -> Result<(), String> {
    let mut conn = Conn::login(port, name.clone()).await?;
    world.stats.sessions.fetch_add(1, Ordering::Relaxed);
    world.online.lock().unwrap().push(name.clone());
    let lasts = Duration::from_millis(500 + rng.below(8000));
    let until = (Instant::now() + lasts).min(deadline);
    chat(&mut conn, until, world, rng).await?;
    world.online.lock().unwrap().retain(|n| *n != name);
    leave(conn, world, rng).await
}

/// Chat until `until`: an action every 10-300 ms, while reading whatever
/// arrives.
async fn chat(conn: &mut Conn, until: Instant, world: &World, rng: &mut Rng) -> Result<(), String> {
    let mut next_action = tokio::time::Instant::now();
    while Instant::now() < until {
        tokio::select! {
            line = conn.next_line(Duration::from_secs(3600)) => match line? {
                Some(message) => conn.handle(&message, world)?,
                None => return Err(format!("{}: the server closed the connection", conn.name)),
            },
            () = tokio::time::sleep_until(next_action) => {
                act(conn, world, rng).await?;
                next_action = tokio::time::Instant::now() + Duration::from_millis(10 + rng.below(290));
            }
        }
    }
    Ok(())
}

/// Leave: first let every request be answered, then go one of three ways.
async fn leave(mut conn: Conn, world: &World, rng: &mut Rng) -> Result<(), String> {
    while !conn.pending.is_empty() {
        match conn.next_line(Duration::from_secs(30)).await? {
            Some(message) => conn.handle(&message, world)?,
            None => return Err(format!("{}: closed with requests unanswered", conn.name)),
        }
    }
    let ending = match rng.below(100) {
        0..=59 => Ending::Graceful,
        60..=84 => Ending::Abrupt,
        _ => Ending::MidLine,
    };
    match ending {
        Ending::Graceful => {
            // Say we are done, and read what is still on its way until the end.
            let _ = conn.stream.shutdown().await;
            while let Some(message) = conn.next_line(Duration::from_secs(30)).await? {
                conn.handle(&message, world)?;
            }
        }
        Ending::Abrupt | Ending::MidLine => {
            world.abrupt.lock().unwrap().insert(conn.name.clone());
            if ending == Ending::MidLine {
                world.stats.mid_line.fetch_add(1, Ordering::Relaxed);
                let _ = write_fully(&mut conn.stream, b"SEND somebody half a mess").await;
            } else {
                world.stats.abrupt.fetch_add(1, Ordering::Relaxed);
            }
            // A zero linger turns the close into a reset.
            let _ = conn.stream.set_zero_linger();
            drop(conn);
        }
    }
    Ok(())
}

/// One random action of a logged-in client.
async fn act(conn: &mut Conn, world: &World, rng: &mut Rng) -> Result<(), String> {
    match rng.below(100) {
        0..=74 => {
            let to = {
                let online = world.online.lock().unwrap();
                if online.is_empty() {
                    return Ok(());
                }
                online[rng.below(online.len() as u64) as usize].clone()
            };
            let id = world.next_message.fetch_add(1, Ordering::Relaxed);
            let body = format!("m{id} {}", "x".repeat(rng.below(200) as usize));
            conn.pending.push_back(Pending::Send(id, to.clone()));
            world.stats.sends.fetch_add(1, Ordering::Relaxed);
            conn.send(&ClientMessage::Send {
                to: to.as_bytes(),
                body: body.as_bytes(),
            })
            .await
        }
        75..=94 => {
            conn.pending.push_back(Pending::List);
            world.stats.lists.fetch_add(1, Ordering::Relaxed);
            conn.send(&ClientMessage::List).await
        }
        _ => {
            conn.pending.push_back(Pending::BadHeader);
            conn.send(&ClientMessage::Unknown(b"NONSENSE \x00\xff"))
                .await
        }
    }
}

/// The server's resident memory over the run, in KiB.
struct Memory {
    /// How many clients ran at once.
    clients: u64,
    start: u64,
    /// Once the load has settled (after the first 30 s), to tell a leak
    /// (growth from then on) from the allocator keeping freed pages.
    settled: u64,
    peak: u64,
    end: u64,
}

impl Memory {
    /// No leak: no higher at the end than once the load had settled
    /// (anything more would be growth over time), and within what the
    /// allocator may keep of the clients' working set for reuse. The system
    /// allocator keeps most of it in each worker thread's arena: measured,
    /// about 24 KiB per client that was connected at once, whether
    /// `malloc_trim` is called or not; the bound is 32 KiB.
    fn came_back(&self) -> bool {
        self.end <= self.settled + self.settled / 8
            && self.end <= self.start + KEPT_PER_CLIENT_KIB * self.clients
    }
}

/// What the allocator may keep, per client connected at once, after they
/// all left (see [`Memory::came_back`]).
const KEPT_PER_CLIENT_KIB: u64 = 32;

/// What became of the acknowledged messages.
struct Deliveries {
    acked: u64,
    missing: u64,
    lost_to_abrupt: u64,
    duplicated: u64,
}

fn main() -> ExitCode {
    let options: Options = match chat::parse_args() {
        Ok(options) => options,
        Err(code) => return code,
    };
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let log_path = std::env::temp_dir().join(format!("chat-soak-{}.log", std::process::id()));
    let mut server = start_server(&log_path);
    let pid = server.child.id();
    std::thread::sleep(Duration::from_millis(300));
    let rss_start = testkit::rss_kib(pid);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let world = Arc::new(World::default());
    println!(
        "soak: {} clients for {} s against chat-server (pid {pid}, port {})",
        options.clients, options.seconds, server.port
    );
    let (rss_peak, rss_settled) =
        runtime.block_on(run_clients(&options, server.port, pid, rss_start, &world));
    let listed = runtime.block_on(list_at_end(server.port));
    check_listed(&world, &listed);
    runtime.shutdown_timeout(Duration::from_secs(1));
    std::thread::sleep(Duration::from_secs(2));
    let memory = Memory {
        clients: options.clients as u64,
        start: rss_start,
        settled: rss_settled.unwrap_or(rss_peak),
        peak: rss_peak,
        end: testkit::rss_kib(pid),
    };

    let deliveries = check_deliveries(&world);
    let (alive, panicked) = check_server(&world, &mut server, &log_path);
    if !memory.came_back() {
        world.problem(format!(
            "server memory did not come back: {} KiB",
            memory.end
        ));
    }
    print_summary(&world, &deliveries, &listed, &memory, alive, panicked);
    let _ = std::fs::remove_file(&log_path);
    drop(server);
    verdict(&world)
}

/// Starts `chat-server` for the soak test, its log going to `log_path`.
fn start_server(log_path: &Path) -> ServerProcess {
    let log = std::fs::File::create(log_path).expect("create the server log");
    testkit::start_server_with(
        &[
            "--max-clients",
            "100000",
            "--max-pending-per-address",
            "0",
            "--quiet",
        ],
        Stdio::from(log),
    )
}

/// Runs the clients until the deadline, watching the server's memory; returns
/// its peak and its level once the load had settled (in KiB).
async fn run_clients(
    options: &Options,
    port: u16,
    pid: u32,
    rss_start: u64,
    world: &Arc<World>,
) -> (u64, Option<u64>) {
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..options.clients {
        tasks.spawn(client(i, port, deadline, Arc::clone(world), options.seed));
    }
    let (mut peak, mut settled) = (rss_start, None);
    let mut last_report = Instant::now();
    loop {
        tokio::select! {
            done = tasks.join_next() => match done {
                None => break,
                Some(Err(e)) => world.problem(format!("a client task failed: {e}")),
                Some(Ok(())) => {}
            },
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                peak = peak.max(testkit::rss_kib(pid));
                if last_report.elapsed() >= Duration::from_secs(30) {
                    last_report = Instant::now();
                    settled.get_or_insert(testkit::rss_kib(pid));
                    report_progress(world, deadline, pid);
                }
            }
        }
    }
    (peak, settled)
}

/// One line every 30 s while the clients run.
fn report_progress(world: &World, deadline: Instant, pid: u32) {
    println!(
        "  {:>4} s left: {} sessions, {} sends, server {} MiB",
        deadline.saturating_duration_since(Instant::now()).as_secs(),
        world.stats.sessions.load(Ordering::Relaxed),
        world.stats.sends.load(Ordering::Relaxed),
        testkit::rss_kib(pid) / 1024,
    );
}

/// Who is listed once every client has gone, as one more client sees it.
async fn list_at_end(port: u16) -> Result<Vec<String>, String> {
    let mut last = Conn::login(port, "lastone".into()).await?;
    last.send(&ClientMessage::List).await?;
    let answer = last.next_line(Duration::from_secs(10)).await?;
    match answer.as_deref().map(ServerMessage::parse) {
        Some(ServerMessage::ListOk(names)) => Ok(names
            .into_iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect::<Vec<_>>()),
        other => Err(format!("LIST answered {other:?}")),
    }
}

/// Nobody may be listed any more: only the bots and the one who asks.
fn check_listed(world: &World, listed: &Result<Vec<String>, String>) {
    match listed {
        Ok(names) if names == &["echobot", "delaybot", "lastone"] => {}
        Ok(names) => world.problem(format!("still listed: {names:?}")),
        Err(e) => world.problem(e.clone()),
    }
}

/// Every SEND-OK matched by one DELIVERY.
fn check_deliveries(world: &World) -> Deliveries {
    let acked = world.acked.lock().unwrap();
    let delivered = world.delivered.lock().unwrap();
    let abrupt = world.abrupt.lock().unwrap();
    let mut counts = Deliveries {
        acked: acked.len() as u64,
        missing: 0,
        lost_to_abrupt: 0,
        duplicated: 0,
    };
    for (id, to) in acked.iter() {
        match delivered.get(id).map_or(0, |d| d.1) {
            1 => {}
            0 if abrupt.contains(to) => counts.lost_to_abrupt += 1,
            0 => counts.missing += 1,
            _ => counts.duplicated += 1,
        }
    }
    let unacked = delivered
        .keys()
        .filter(|id| !acked.contains_key(id))
        .count() as u64;
    if counts.missing + counts.duplicated + unacked > 0 {
        world.problem(format!(
            "deliveries: {} missing, {} duplicated, {unacked} never acknowledged",
            counts.missing, counts.duplicated
        ));
    }
    counts
}

/// The server is still running and never panicked; returns (alive, panicked).
fn check_server(world: &World, server: &mut ServerProcess, log_path: &Path) -> (bool, bool) {
    let alive = matches!(server.child.try_wait(), Ok(None));
    let log = std::fs::read_to_string(log_path).unwrap_or_default();
    let panicked = log.contains("panicked");
    if !alive || panicked {
        world.problem(format!("server alive: {alive}, panicked: {panicked}"));
    }
    (alive, panicked)
}

fn print_summary(
    world: &World,
    deliveries: &Deliveries,
    listed: &Result<Vec<String>, String>,
    memory: &Memory,
    alive: bool,
    panicked: bool,
) {
    let s = &world.stats;
    let d = deliveries;
    println!("sessions            {}", s.sessions.load(Ordering::Relaxed));
    println!("  ended abruptly    {}", s.abrupt.load(Ordering::Relaxed));
    println!("  ended mid-line    {}", s.mid_line.load(Ordering::Relaxed));
    println!("SEND requests       {}", s.sends.load(Ordering::Relaxed));
    println!("  SEND-OK           {}", d.acked);
    println!("  BAD-DEST-USER     {}", s.bad_dest.load(Ordering::Relaxed));
    println!(
        "  delivered once    {}",
        d.acked - d.missing - d.duplicated - d.lost_to_abrupt
    );
    println!(
        "  lost: recipient reset the connection  {}",
        d.lost_to_abrupt
    );
    println!("LIST requests       {}", s.lists.load(Ordering::Relaxed));
    println!(
        "still listed at end {:?}",
        listed.clone().unwrap_or_default()
    );
    println!(
        "server memory       start {} MiB, after 30 s {} MiB, peak {} MiB, end {} MiB ({})",
        memory.start / 1024,
        memory.settled / 1024,
        memory.peak / 1024,
        memory.end / 1024,
        if memory.came_back() {
            "no growth; what the allocator keeps is within bounds"
        } else {
            "NOT back"
        }
    );
    println!(
        "server alive        {alive}, panics: {}",
        if panicked { "YES" } else { "none" }
    );
}

/// Shows the problems, and passes only without any.
fn verdict(world: &World) -> ExitCode {
    let failures = world.stats.failures.load(Ordering::Relaxed);
    for p in world.problems.lock().unwrap().iter() {
        println!("problem: {p}");
    }
    if failures == 0 {
        println!("soak: passed");
        ExitCode::SUCCESS
    } else {
        println!("soak: FAILED ({failures} problems)");
        ExitCode::FAILURE
    }
}
