//! The server under hostile load: memory after a burst (`burst`: resident
//! memory at rest, at the peak of twenty full queues, and after their users
//! left), and the others' service while a few clients flood the server with
//! requests (`request-flood`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use chat::net::write_fully;
use tokio::task::JoinSet;

use crate::load::{login_many, run_pairs_blocking, run_tag, PairRun, Peer};
use crate::procfs;
use crate::report::{bytes, Figures, Value, Verdict};
use crate::server_scenarios::{runtime, start_local};
use crate::Args;

const MIB: usize = 1024 * 1024;

/// The server's resident memory, in bytes.
fn rss(pid: u32) -> io::Result<f64> {
    Ok(procfs::status_kib(pid, "VmRSS")? as f64 * 1024.0)
}

pub fn burst(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let server = start_local(args, 2 * args.burst_users + 10)?;
    let pid = server.child.id();
    let rt = runtime()?;
    thread::sleep(Duration::from_millis(300));
    let rest = rss(pid)?;
    let peers = rt.block_on(fill_queues(server.addr(), args.burst_users, args.burst_mb))?;
    thread::sleep(Duration::from_secs(1));
    let peak = rss(pid)?;
    drop(peers);
    thread::sleep(Duration::from_secs(1));
    let after_1s = rss(pid)?;
    thread::sleep(Duration::from_secs(9));
    let after_10s = rss(pid)?;
    rt.shutdown_timeout(Duration::from_secs(5));

    let label = format!(
        "chat-server: {} users with {} MiB queued each",
        args.burst_users, args.burst_mb
    );
    figures.add(
        &format!("{label}: VmRSS at rest"),
        Value::Bytes(rest),
        "",
        Verdict::Info,
    );
    figures.add(
        &format!("{label}: VmRSS at the peak"),
        Value::Bytes(peak),
        format!(
            "{} queued in all",
            bytes((args.burst_users * args.burst_mb * MIB) as f64)
        ),
        Verdict::Info,
    );
    figures.add(
        &format!("{label}: VmRSS 1 s after they left"),
        Value::Bytes(after_1s),
        "",
        Verdict::Info,
    );
    let kept = (after_10s - rest) / (peak - rest).max(1.0);
    figures.add(
        &format!("{label}: VmRSS 10 s after they left"),
        Value::Bytes(after_10s),
        format!(
            "{:.1}% of the burst kept (goal <= 10%)",
            100.0 * kept.max(0.0)
        ),
        Verdict::from_goal(kept <= 0.10),
    );
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
