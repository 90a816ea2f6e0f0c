//! The server under hostile load: memory after a burst (`burst`: resident
//! memory at rest, at the peak, and after the users left, for twenty full
//! queues and for large messages through `delaybot`), and the others' service
//! while a few clients flood the server with requests (`request-flood`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use chat::net::write_fully;
use tokio::task::JoinSet;

use crate::load::{login_many, run_pairs_blocking, run_tag, PairRun, Peer};
use crate::report::{bytes, Figures, Value, Verdict};
use crate::server_scenarios::{runtime, start_local};
use crate::Args;
use testkit::procfs;

const MIB: usize = 1024 * 1024;

/// The server's resident memory, in bytes.
fn rss(pid: u32) -> io::Result<f64> {
    Ok(procfs::status_kib(pid, "VmRSS")? as f64 * 1024.0)
}

/// Users of the burst through `delaybot`, and the messages each sends it.
const LARGE_USERS: usize = 8;
const LARGE_MESSAGES: usize = 3;
/// The size of those messages: just under the server's default line limit.
const LARGE_BYTES: usize = 16 * MIB - 100;

pub fn burst(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let rt = runtime()?;
    let label = format!(
        "chat-server: {} users with {} MiB queued each",
        args.burst_users, args.burst_mb
    );
    let (users, mb) = (args.burst_users, args.burst_mb);
    let memory = measure_burst(args, &rt, 2 * users + 10, |addr| async move {
        fill_queues(addr, users, mb).await
    })?;
    report_burst(
        figures,
        &label,
        &memory,
        &format!("{} queued in all", bytes((users * mb * MIB) as f64)),
    );
    let label = format!(
        "chat-server: {LARGE_USERS} users each sending {LARGE_MESSAGES} messages of 16 MiB to delaybot"
    );
    let memory = measure_burst(args, &rt, LARGE_USERS + 10, |addr| async move {
        large_through_delaybot(addr).await.map(|()| Vec::new())
    })?;
    report_burst(figures, &label, &memory, "read at full speed");
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

/// A server's resident memory at rest, at the peak of a burst, and 1 s and
/// 10 s after the burst's users left.
struct BurstMemory {
    rest: f64,
    peak: f64,
    after_1s: f64,
    after_10s: f64,
}

/// Measures [`BurstMemory`] for a burst made by `burst` (which returns the
/// connections to close at the peak) on a server of its own.
fn measure_burst<F, Fut>(
    args: &Args,
    rt: &tokio::runtime::Runtime,
    max_clients: usize,
    burst: F,
) -> io::Result<BurstMemory>
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<Vec<Peer>>>,
{
    let server = start_local(args, max_clients)?;
    let pid = server.child.id();
    thread::sleep(Duration::from_millis(300));
    let rest = rss(pid)?;
    let stop = AtomicBool::new(false);
    let mut peak = rest;
    let peers = thread::scope(|scope| {
        // Sampled all along: a burst that flows (delaybot's) has no single
        // moment at which everything is held.
        let sampler = scope.spawn(|| {
            let mut peak = 0.0f64;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(rss(pid).unwrap_or(0.0));
                thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        let peers = rt.block_on(burst(server.addr()));
        thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        peak = peak.max(sampler.join().unwrap_or(0.0));
        peers
    })?;
    drop(peers);
    thread::sleep(Duration::from_secs(1));
    let after_1s = rss(pid)?;
    thread::sleep(Duration::from_secs(9));
    let after_10s = rss(pid)?;
    Ok(BurstMemory {
        rest,
        peak,
        after_1s,
        after_10s,
    })
}

fn report_burst(figures: &mut Figures<'_>, label: &str, memory: &BurstMemory, burst: &str) {
    figures.add(
        &format!("{label}: VmRSS at rest"),
        Value::Bytes(memory.rest),
        "",
        Verdict::Info,
    );
    figures.add(
        &format!("{label}: VmRSS at the peak"),
        Value::Bytes(memory.peak),
        burst,
        Verdict::Info,
    );
    figures.add(
        &format!("{label}: VmRSS 1 s after they left"),
        Value::Bytes(memory.after_1s),
        "",
        Verdict::Info,
    );
    let kept = (memory.after_10s - memory.rest) / (memory.peak - memory.rest).max(1.0);
    figures.add(
        &format!("{label}: VmRSS 10 s after they left"),
        Value::Bytes(memory.after_10s),
        format!(
            "{:.1}% of the burst kept (goal <= 10%)",
            100.0 * kept.max(0.0)
        ),
        Verdict::from_goal(kept <= 0.10),
    );
}

/// [`LARGE_USERS`] users each send [`LARGE_MESSAGES`] messages of
/// [`LARGE_BYTES`] to `delaybot` while reading everything at full speed (a
/// `SEND-OK` and two answers for each), then leave.
async fn large_through_delaybot(addr: SocketAddr) -> io::Result<()> {
    let tag = run_tag();
    let message = Arc::new([b"SEND delaybot ", &vec![b'q'; LARGE_BYTES][..], b"\n"].concat());
    let mut tasks = JoinSet::new();
    for i in 0..LARGE_USERS {
        let peer = Peer::login(addr, &format!("d{tag}x{i}"), 64 * 1024, i).await?;
        let message = Arc::clone(&message);
        tasks.spawn(async move {
            let (mut incoming, mut wr) = peer.split();
            let sending = async {
                for _ in 0..LARGE_MESSAGES {
                    write_fully(&mut wr, &message).await?;
                }
                Ok::<(), io::Error>(())
            };
            let reading = incoming.count_lines(3 * LARGE_MESSAGES, Duration::from_secs(120));
            let (sent, read) = tokio::join!(sending, reading);
            sent.and(read)
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(io::Error::other)??;
    }
    Ok(())
}

/// Logs in `users` pairs; each sender sends its receiver, which reads
/// nothing, `mb` messages of 1 MiB. Returns every connection, open.
async fn fill_queues(addr: SocketAddr, users: usize, mb: usize) -> io::Result<Vec<Peer>> {
    let tag = run_tag();
    let mut peers = Vec::new();
    for i in 0..users {
        peers.push(Peer::login(addr, &format!("b{tag}r{i}"), 4096, 2 * i).await?);
    }
    let mut tasks = JoinSet::new();
    for i in 0..users {
        let mut sender = Peer::login(addr, &format!("b{tag}s{i}"), 4096, 2 * i + 1).await?;
        let message = [
            format!("SEND b{tag}r{i} ").as_bytes(),
            &vec![b'q'; MIB],
            b"\n",
        ]
        .concat();
        tasks.spawn(async move {
            for _ in 0..mb {
                if !sender.request(&message).await? || sender.line() != b"SEND-OK" {
                    return Err(io::Error::other("a burst message was refused"));
                }
            }
            Ok(sender)
        });
    }
    while let Some(done) = tasks.join_next().await {
        peers.push(done.map_err(io::Error::other)??);
    }
    Ok(peers)
}

pub fn request_flood(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let idle = 200;
    let server = start_local(args, 2 * args.pairs + idle + 10)?;
    let (addr, pid) = (server.addr(), server.child.id());
    let rt = runtime()?;
    let _idle = rt.block_on(login_many(addr, idle));
    // Two clients that send LIST and never read; they stay all along.
    let _stuck = rt.block_on(start_flood(
        addr,
        2,
        false,
        Arc::new(AtomicBool::new(false)),
    ))?;
    thread::sleep(Duration::from_secs(1));
    let before = rss(pid)?;
    let quarter = Duration::from_secs_f64(args.seconds as f64 / 4.0);
    let (mut quiet, mut flooded) = (PairRun::default(), PairRun::default());
    let mut peak = before;
    for with_flood in [false, true, true, false, false, true, true, false] {
        let stop = Arc::new(AtomicBool::new(false));
        let flood = with_flood
            .then(|| rt.block_on(start_flood(addr, 2, true, Arc::clone(&stop))))
            .transpose()?;
        let run = run_pairs_blocking(&rt, addr, args.pairs, quarter, false)?;
        peak = peak.max(rss(pid)?);
        stop.store(true, Ordering::Relaxed);
        drop(flood);
        if with_flood {
            flooded.absorb(run);
        } else {
            quiet.absorb(run);
        }
    }
    rt.shutdown_timeout(Duration::from_secs(5));

    let label = "chat-server: pairs";
    figures.add(
        &format!("{label}: messages/s while 2 clients loop on LIST"),
        Value::Rate(flooded.rate()),
        format!("without: {}", Value::Rate(quiet.rate()).shown()),
        Verdict::Info,
    );
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        figures.add(
            &format!("{label}: latency {name} while flooded"),
            Value::Us(flooded.percentile_us(p)),
            format!("without: {}", Value::Us(quiet.percentile_us(p)).shown()),
            Verdict::Info,
        );
    }
    let rate = flooded.rate() / quiet.rate();
    figures.add(
        &format!("{label}: messages/s flooded / not"),
        Value::Ratio(rate),
        "the flooders' own reading shares these 2 cores",
        Verdict::Info,
    );
    let p99 = flooded.percentile_us(0.99) / quiet.percentile_us(0.99);
    figures.add(
        &format!("{label}: latency p99 flooded / not"),
        Value::Ratio(p99),
        "goal <= 1.50x",
        Verdict::from_goal(p99 <= 1.5),
    );
    figures.add(
        "chat-server: memory the floods added (2 listers that read, 2 that do not)",
        Value::Bytes(peak - before),
        "goal < 8 MiB",
        Verdict::from_goal(peak - before < 8.0 * MIB as f64),
    );
    Ok(())
}

/// Logs in `clients` that send `LIST` as fast as they can, reading the
/// answers at full speed (`read`) or never, until `stop`. Returns their tasks.
async fn start_flood(
    addr: SocketAddr,
    clients: usize,
    read: bool,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinSet<()>> {
    let tag = run_tag();
    let batch = b"LIST\n".repeat(1000);
    let mut tasks = JoinSet::new();
    for i in 0..clients {
        let peer = Peer::login(addr, &format!("f{tag}x{i}"), 64 * 1024, 60_000 + i).await?;
        let stop = Arc::clone(&stop);
        let batch = batch.clone();
        tasks.spawn(flood(peer, batch, read, stop));
    }
    Ok(tasks)
}

async fn flood(peer: Peer, batch: Vec<u8>, read: bool, stop: Arc<AtomicBool>) {
    let (mut rd, mut wr) = peer.split();
    let reading = async {
        if read {
            rd.discard_until(&stop).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let writing = async {
        while !stop.load(Ordering::Relaxed) {
            let sent =
                tokio::time::timeout(Duration::from_millis(200), write_fully(&mut wr, &batch));
            if let Ok(Err(_)) = sent.await {
                break;
            }
        }
    };
    tokio::join!(reading, writing);
}
