//! The server scenarios: memory per logged-in connection (`connections`),
//! throughput with one slow reader (`fanin`), and what they share with the
//! `throughput` scenario (in its own module), against a local chat-server or
//! `--target`.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::load::{login_many, run_pairs_blocking, PairRun};
use crate::report::{bytes, ms, thousands, Figures, Value, Verdict};
use crate::Args;
use testkit::procfs;
use testkit::ServerProcess;

/// The server that the server scenarios aim at.
pub enum ServerUnderTest {
    Local(ServerProcess),
    Target(SocketAddr),
    /// The naive relay ([`crate::naive_relay`]), the floor baseline.
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
    pub fn pid(&self, args: &Args) -> Option<u32> {
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
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_chat-server"));
    ServerProcess::start_binary(binary, 0, &flags, Stdio::inherit())
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
pub fn servers_for_pairs(args: &Args) -> io::Result<Vec<ServerUnderTest>> {
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
pub fn warm_up(rt: &tokio::runtime::Runtime, addr: SocketAddr, args: &Args) -> io::Result<()> {
    if args.warmup > 0.0 {
        let length = Duration::from_secs_f64(args.warmup);
        run_pairs_blocking(rt, addr, args.pairs, length, false)?;
    }
    Ok(())
}

/// A row for the errors of a run, if it had any.
pub fn report_errors(figures: &mut Figures<'_>, figure: &str, run: &PairRun) {
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
