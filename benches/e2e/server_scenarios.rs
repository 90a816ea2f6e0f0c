//! The server scenarios: memory per logged-in connection (`connections`),
//! messages per second, CPU per message and latency against the naive relay
//! (`throughput`), and throughput with one slow reader (`fanin`), against a
//! local chat-server or `--target`.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::load::{login_many, run_pairs_blocking, PairRun};
use crate::naive_relay;
use crate::procfs;
use crate::report::{bytes, ms, thousands, Figures, Value, Verdict};
use crate::server_process::ServerProcess;
use crate::Args;

/// The server that the server scenarios aim at.
pub enum ServerUnderTest {
    Local(ServerProcess),
    Target(SocketAddr),
    /// The naive relay ([`naive_relay`]), the floor baseline.
    Naive(ServerProcess),
}

impl ServerUnderTest {
    pub fn addr(&self) -> SocketAddr {
        match self {
            ServerUnderTest::Local(s) | ServerUnderTest::Naive(s) => s.addr(),
            ServerUnderTest::Target(a) => *a,
        }
    }

    pub fn label(&self) -> String {
        match self {
            ServerUnderTest::Local(_) => "chat-server".to_string(),
            ServerUnderTest::Target(a) => a.to_string(),
            ServerUnderTest::Naive(_) => "naive relay".to_string(),
        }
    }

    /// The server's process id, where it is known.
    fn pid(&self, args: &Args) -> Option<u32> {
        match self {
            ServerUnderTest::Local(s) | ServerUnderTest::Naive(s) => Some(s.child.id()),
            ServerUnderTest::Target(_) => args.target_pid,
        }
    }
}

fn target_addr(target: &str) -> io::Result<SocketAddr> {
    target
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("{target} names no address")))
}

/// Starts a chat-server for `max_clients` clients, all from 127.0.0.1 and
/// many logging in at a time, with the --server-arg flags.
pub fn start_local(args: &Args, max_clients: usize) -> io::Result<ServerProcess> {
    let max_clients = max_clients.to_string();
    let mut flags = vec![
        "--quiet",
        "--max-clients",
        &max_clients,
        "--max-pending",
        "0",
        "--max-pending-per-address",
        "0",
    ];
    flags.extend(args.server_args.iter().map(String::as_str));
    ServerProcess::start(&flags, Stdio::inherit())
}

/// The servers to measure: the target (if any), then a local chat-server when
/// there is no target or --compare-local is given.
fn servers(args: &Args, max_clients: usize) -> io::Result<Vec<ServerUnderTest>> {
    let mut out = Vec::new();
    if let Some(target) = &args.target {
        out.push(ServerUnderTest::Target(target_addr(target)?));
    }
    if args.target.is_none() || args.compare_local {
        out.push(ServerUnderTest::Local(start_local(args, max_clients)?));
    }
    Ok(out)
}

/// The servers for the sender/receiver pairs, the baseline (the local
/// server, when comparing) first.
fn servers_for_pairs(args: &Args) -> io::Result<Vec<ServerUnderTest>> {
    let mut list = servers(args, args.pairs * 2 + 100)?;
    list.reverse();
    Ok(list)
}

pub fn runtime() -> io::Result<tokio::runtime::Runtime> {
    let workers = thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
}

/// What the connections scenario measured on one server.
struct ConnectionsRun {
    logged_in: usize,
    failures: Vec<String>,
    login_time: Duration,
    /// The server's resident memory before the logins and with everyone
    /// logged in, in bytes.
    before: u64,
    after: u64,
}

pub fn connections(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let n = args.connections;
    let mut measured = false;
    for server in servers(args, n + 100)? {
        let Some(pid) = server_pid(&server, args, figures) else {
            continue;
        };
        measured = true;
        let run = measure_connections(server.addr(), pid, n)?;
        report_connections(figures, &server.label(), &run);
    }
    if !measured {
        eprintln!("e2e: connections: nothing measured (give --target-pid, or --compare-local)");
    }
    Ok(())
}

/// The server's process id, to read its memory; without one, a skipped row.
fn server_pid(server: &ServerUnderTest, args: &Args, figures: &mut Figures<'_>) -> Option<u32> {
    let pid = server.pid(args);
    if pid.is_none() {
        figures.add(
            &format!("{}: memory per connection", server.label()),
            Value::Text("not measured".into()),
            "needs the server's pid (--target-pid) to read its VmRSS",
            Verdict::Skipped,
        );
    }
    pid
}

/// Logs in `n` clients at once to the server at `addr` (process `pid`), and
/// reads its memory before and after.
fn measure_connections(addr: SocketAddr, pid: u32, n: usize) -> io::Result<ConnectionsRun> {
    let rt = runtime()?;
    thread::sleep(Duration::from_millis(300));
    let before = procfs::status_kib(pid, "VmRSS")? * 1024;
    let t0 = Instant::now();
    let logins = rt.block_on(login_many(addr, n));
    let login_time = t0.elapsed();
    thread::sleep(Duration::from_millis(1000));
    let after = procfs::status_kib(pid, "VmRSS")? * 1024;
    if logins.peers.is_empty() {
        return Err(io::Error::other(format!(
            "no login succeeded; first error: {:?}",
            logins.failures.first()
        )));
    }
    let logged_in = logins.peers.len();
    drop(logins.peers);
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(ConnectionsRun {
        logged_in,
        failures: logins.failures,
        login_time,
        before,
        after,
    })
}

fn report_connections(figures: &mut Figures<'_>, label: &str, run: &ConnectionsRun) {
    figures.add(
        &format!(
            "{label}: {} clients logged in at once",
            thousands(run.logged_in as f64)
        ),
        Value::Ms(ms(run.login_time)),
        format!(
            "{} failed{}",
            run.failures.len(),
            run.failures
                .first()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        ),
        if run.failures.is_empty() {
            Verdict::Info
        } else {
            Verdict::Over
        },
    );
    figures.add(
        &format!("{label}: VmRSS before -> after"),
        Value::Text(format!(
            "{} -> {}",
            bytes(run.before as f64),
            bytes(run.after as f64)
        )),
        "",
        Verdict::Info,
    );
    let per = run.after.saturating_sub(run.before) as f64 / run.logged_in as f64;
    figures.add(
        &format!("{label}: memory per connection"),
        Value::Bytes(per),
        "goal < 32 KiB",
        Verdict::from_goal(per < 32.0 * 1024.0),
    );
}

/// The same load, unmeasured, so that a server that warms up (a JIT) is
/// measured warm.
fn warm_up(rt: &tokio::runtime::Runtime, addr: SocketAddr, args: &Args) -> io::Result<()> {
    if args.warmup > 0.0 {
        let length = Duration::from_secs_f64(args.warmup);
        run_pairs_blocking(rt, addr, args.pairs, length, false)?;
    }
    Ok(())
}

/// The latency percentiles the throughput scenario shows.
const PERCENTILES: [(&str, f64); 3] = [("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999)];

/// The throughput scenario's figures for one server.
struct Speed {
    rate: f64,
    /// At [`PERCENTILES`], in microseconds.
    latencies_us: [f64; 3],
    /// The server's CPU time per message delivered, in microseconds (when its
    /// process id is known).
    cpu_us: Option<f64>,
    lost: u64,
}

/// Runs the pairs against every server in `list` in turn, in windows of a
/// quarter of the length each, the order reversed every other round (A B,
/// B A, A B, B A), so that a drift in the machine's speed counts alike on
/// all sides. Returns each server's runs and the CPU time it used (ns).
fn alternate(
    rt: &tokio::runtime::Runtime,
    list: &[ServerUnderTest],
    args: &Args,
) -> io::Result<Vec<(PairRun, Option<u64>)>> {
    let quarter = Duration::from_secs_f64(args.seconds as f64 / 4.0);
    let mut runs: Vec<(PairRun, Option<u64>)> =
        list.iter().map(|_| (PairRun::default(), Some(0))).collect();
    for round in 0..4 {
        let mut order: Vec<usize> = (0..list.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let pid = list[i].pid(args);
            let before = pid.map(procfs::cpu_ns).transpose()?;
            let run = run_pairs_blocking(rt, list[i].addr(), args.pairs, quarter, false)?;
            let after = pid.map(procfs::cpu_ns).transpose()?;
            let used = before.zip(after).map(|(b, a)| a.saturating_sub(b));
            runs[i].1 = runs[i].1.zip(used).map(|(sum, used)| sum + used);
            runs[i].0.absorb(run);
        }
    }
    Ok(runs)
}

pub fn throughput(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let rt = runtime()?;
    let mut list = servers_for_pairs(args)?;
    let has_local = list.iter().any(|s| matches!(s, ServerUnderTest::Local(_)));
    if has_local {
        list.insert(0, ServerUnderTest::Naive(naive_relay::start()?));
    }
    for server in &list {
        warm_up(&rt, server.addr(), args)?;
    }
    let runs = alternate(&rt, &list, args)?;
    let mut baseline: Option<(String, Speed)> = None;
    for (server, (mut run, cpu_ns)) in list.iter().zip(runs) {
        let speed = Speed {
            rate: run.rate(),
            latencies_us: PERCENTILES.map(|(_, p)| run.percentile_us(p)),
            cpu_us: cpu_ns.map(|ns| ns as f64 / 1000.0 / run.received.max(1) as f64),
            lost: run.lost,
        };
        let label = server.label();
        let shown = baseline
            .as_ref()
            .map(|(name, speed)| (name.as_str(), speed));
        report_throughput(figures, args, &label, &speed, shown);
        report_errors(figures, &format!("{label}: errors"), &run);
        if let (ServerUnderTest::Local(_), Some((_, naive))) = (server, &baseline) {
            report_against_naive(figures, &speed, naive);
        }
        baseline.get_or_insert((label, speed));
    }
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn report_throughput(
    figures: &mut Figures<'_>,
    args: &Args,
    label: &str,
    speed: &Speed,
    baseline: Option<(&str, &Speed)>,
) {
    let base = |value: Option<Value>| match (baseline, value) {
        (Some((name, _)), Some(v)) => format!("{name}: {}", v.shown()),
        _ => String::new(),
    };
    figures.add(
        &format!(
            "{label}: messages/s, {} pairs, {} s",
            args.pairs, args.seconds
        ),
        Value::Rate(speed.rate),
        base(baseline.map(|(_, b)| Value::Rate(b.rate))),
        Verdict::Info,
    );
    if let Some(cpu_us) = speed.cpu_us {
        figures.add(
            &format!("{label}: server CPU per message"),
            Value::Us2(cpu_us),
            base(baseline.and_then(|(_, b)| b.cpu_us).map(Value::Us2)),
            Verdict::Info,
        );
    }
    for (i, (name, _)) in PERCENTILES.iter().enumerate() {
        figures.add(
            &format!("{label}: latency SEND -> DELIVERY {name}"),
            Value::Us(speed.latencies_us[i]),
            base(baseline.map(|(_, b)| Value::Us(b.latencies_us[i]))),
            Verdict::Info,
        );
    }
    figures.add(
        &format!("{label}: messages lost (SEND-OK, no DELIVERY)"),
        Value::Count(speed.lost as f64),
        "goal 0",
        Verdict::from_goal(speed.lost == 0),
    );
}

/// chat-server's goals against the naive relay: at least its messages/s, at
/// most its CPU per message.
fn report_against_naive(figures: &mut Figures<'_>, ours: &Speed, naive: &Speed) {
    let rate = ours.rate / naive.rate;
    figures.add(
        "chat-server / naive relay: messages/s",
        Value::Ratio(rate),
        "goal >= 1.00x",
        Verdict::from_goal(rate >= 1.0),
    );
    if let (Some(a), Some(b)) = (ours.cpu_us, naive.cpu_us) {
        let cpu = a / b;
        figures.add(
            "chat-server / naive relay: CPU per message",
            Value::Ratio(cpu),
            "goal <= 1.00x",
            Verdict::from_goal(cpu <= 1.0),
        );
    }
}

/// A row for the errors of a run, if it had any.
fn report_errors(figures: &mut Figures<'_>, figure: &str, run: &PairRun) {
    if run.errors > 0 {
        figures.add(
            figure,
            Value::Count(run.errors as f64),
            run.first_error.clone().unwrap_or_default(),
            Verdict::Over,
        );
    }
}

pub fn fanin(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let rt = runtime()?;
    for server in servers_for_pairs(args)? {
        let label = server.label();
        warm_up(&rt, server.addr(), args)?;
        let (without, with) = measure_fanin(&rt, server.addr(), args)?;
        let ratio = with.rate() / without.rate();
        figures.add(
            &format!("{label}: messages/s with one slow reader"),
            Value::Rate(with.rate()),
            format!("without: {}", Value::Rate(without.rate()).shown()),
            Verdict::Info,
        );
        figures.add(
            &format!("{label}: with / without"),
            Value::Ratio(ratio),
            "goal >= 0.90x",
            Verdict::from_goal(ratio >= 0.9),
        );
        report_errors(figures, &format!("{label}: errors (without)"), &without);
        report_errors(figures, &format!("{label}: errors (with)"), &with);
    }
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

/// Runs the pairs without and with the slow pair: four quarters of the length
/// of each, in the order without, with, with, without, twice. A drift in the
/// machine's speed counts the same on both sides, and a passing hiccup (this
/// is often a shared machine) spoils only an eighth of one side.
fn measure_fanin(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    args: &Args,
) -> io::Result<(PairRun, PairRun)> {
    let quarter = Duration::from_secs_f64(args.seconds as f64 / 4.0);
    let (mut without, mut with) = (PairRun::default(), PairRun::default());
    for slow in [false, true, true, false, false, true, true, false] {
        let run = run_pairs_blocking(rt, addr, args.pairs, quarter, slow)?;
        if slow {
            with.absorb(run);
        } else {
            without.absorb(run);
        }
    }
    Ok((without, with))
}
