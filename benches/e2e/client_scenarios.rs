//! The client scenarios: `chat --plain` logged in to a scripted server inside
//! this process, which sends it a flood of small messages (`flood`) or one
//! huge one (`huge`), or nothing (`idle`); and the client's start-up time
//! (`startup`).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use chat::client::text::{message_from, WELCOME};

use crate::process::{accept, Proc};
use crate::report::{bytes, median, ms, thousands, Figures, Value, Verdict};
use crate::{raw_copy, Args};
use testkit::{delivery_lines, procfs, BODY64, SENDER};

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;
/// How long a client may take to print a payload.
const PRINT_TIME: Duration = Duration::from_secs(120);

/// The client in plain mode, aimed at 127.0.0.1:`port`.
fn client_command(args: &Args, port: u16) -> Command {
    let mut command = Command::new(args.chat_binary());
    command.args([
        "--plain",
        "--address",
        "127.0.0.1",
        "--port",
        &port.to_string(),
    ]);
    command
}

/// Reads one line (at most 4 KiB) from a blocking stream with a read timeout set.
fn read_line_blocking(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 4096 {
        match stream.read(&mut byte)? {
            0 => return Err(io::Error::other("connection closed before a full line")),
            _ if byte[0] == b'\n' => return Ok(line),
            _ => line.push(byte[0]),
        }
    }
    Err(io::Error::other("line too long"))
}

/// A `chat --plain` process logged in as `alice` to the scripted server, which
/// holds the other end of its connection.
struct LoggedIn {
    client: Proc,
    conn: TcpStream,
}

fn start_logged_in_client(args: &Args) -> io::Result<LoggedIn> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut client = Proc::spawn(client_command(args, port))?;
    client.type_line("alice")?;
    let mut conn = accept(&listener, Duration::from_secs(10))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    conn.set_write_timeout(Some(Duration::from_secs(60)))?;
    let hello = read_line_blocking(&mut conn)?;
    if hello.trim_ascii_end() != b"HELLO-FROM alice" {
        return Err(io::Error::other(format!(
            "expected HELLO-FROM alice, got {:?}",
            String::from_utf8_lossy(&hello)
        )));
    }
    conn.write_all(b"HELLO alice\n")?;
    // The welcome line and the login line.
    client.out.wait_lines(2, Duration::from_secs(10))?;
    Ok(LoggedIn { client, conn })
}

/// What one client run measured.
struct ClientRun {
    /// From the first byte sent to the last line printed.
    time: Duration,
    /// Bytes printed for the payload.
    printed: u64,
    /// Peak resident memory (VmHWM), read after the output was complete.
    hwm: u64,
    /// Resident memory once logged in, before the payload.
    rss_at_login: u64,
    /// CPU time the client used for the payload, in nanoseconds.
    cpu_ns: u64,
}

/// Sends `payload` to a logged-in client and waits until it has printed
/// `lines` more lines.
fn client_run(args: &Args, payload: &[u8], lines: u64) -> io::Result<ClientRun> {
    let LoggedIn {
        mut client,
        mut conn,
    } = start_logged_in_client(args)?;
    let pid = client.pid();
    let before = client.out.bytes;
    let rss_at_login = procfs::status_kib(pid, "VmRSS")? * 1024;
    let cpu0 = procfs::cpu_ns(pid)?;
    let t0 = Instant::now();
    conn.write_all(payload)?;
    let t1 = client.out.wait_lines(2 + lines, PRINT_TIME)?;
    let cpu_ns = procfs::cpu_ns(pid)?.saturating_sub(cpu0);
    let printed = client.out.bytes - before;
    let hwm = procfs::status_kib(pid, "VmHWM")? * 1024;
    client.finish(true)?;
    drop(conn);
    Ok(ClientRun {
        time: t1 - t0,
        printed,
        hwm,
        rss_at_login,
        cpu_ns,
    })
}

/// The medians of the flood's runs, in milliseconds.
struct FloodTimes {
    client: f64,
    raw: f64,
    big_pipe: f64,
    client_cpu: f64,
    raw_cpu: f64,
}

pub fn flood(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let n = args.flood_lines;
    let payload = delivery_lines(n);
    let runs = args.repeat.max(1);
    let times = measure_flood(args, &payload, n, runs)?;
    report_flood(figures, n, runs, payload.len(), &times);
    Ok(())
}

/// Runs the client, the raw copy and the raw copy with the client's pipe
/// `runs` times each on the `n` lines of `payload`.
fn measure_flood(args: &Args, payload: &[u8], n: usize, runs: usize) -> io::Result<FloodTimes> {
    let per_line = message_from(&SENDER.into(), &"".into()).len() + BODY64.len() + 1;
    let expected = (per_line * n) as u64;
    let (mut client_ms, mut raw_ms, mut big_pipe_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut client_cpu, mut raw_cpu) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let run = client_run(args, payload, n as u64)?;
        if run.printed != expected {
            return Err(io::Error::other(format!(
                "the client printed {} bytes, expected {expected}",
                run.printed
            )));
        }
        client_ms.push(ms(run.time));
        client_cpu.push(run.cpu_ns as f64 / 1e6);
        let (time, cpu) = raw_copy::run(payload, false)?;
        raw_ms.push(ms(time));
        raw_cpu.push(cpu as f64 / 1e6);
        big_pipe_ms.push(ms(raw_copy::run(payload, true)?.0));
    }
    Ok(FloodTimes {
        client: median(&mut client_ms),
        raw: median(&mut raw_ms),
        big_pipe: median(&mut big_pipe_ms),
        client_cpu: median(&mut client_cpu),
        raw_cpu: median(&mut raw_cpu),
    })
}

fn report_flood(figures: &mut Figures<'_>, n: usize, runs: usize, size: usize, t: &FloodTimes) {
    figures.add(
        &format!(
            "client: {} lines printed (median of {runs})",
            thousands(n as f64)
        ),
        Value::Ms(t.client),
        format!(
            "raw copy {} ({} in)",
            Value::Ms(t.raw).shown(),
            bytes(size as f64)
        ),
        Verdict::Info,
    );
    figures.add(
        "client / raw copy",
        Value::Ratio(t.client / t.raw),
        "goal <= 1.50x",
        Verdict::from_goal(t.client / t.raw <= 1.5),
    );
    // The client enlarges its output pipe (to 1 MiB); the minimal reader above
    // keeps the default. The same copy given the client's pipe, for scale.
    figures.add(
        "raw copy with the client's 1 MiB pipe",
        Value::Ms(t.big_pipe),
        format!("client / this {:.2}x", t.client / t.big_pipe),
        Verdict::Info,
    );
    figures.add(
        "client lines/s",
        Value::Rate(n as f64 / (t.client / 1000.0)),
        format!(
            "raw copy {}",
            Value::Rate(n as f64 / (t.raw / 1000.0)).shown()
        ),
        Verdict::Info,
    );
    figures.add(
        "client CPU time (user+system)",
        Value::Ms(t.client_cpu),
        format!(
            "raw copy {}; client {:.0} ns/line",
            Value::Ms(t.raw_cpu).shown(),
            t.client_cpu * 1e6 / n as f64
        ),
        Verdict::Info,
    );
}

/// One `DELIVERY bob xxx...` line with a body of `size` bytes.
fn huge_payload(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 32);
    out.extend_from_slice(b"DELIVERY ");
    out.extend_from_slice(SENDER.as_bytes());
    out.push(b' ');
    out.resize(out.len() + size, b'x');
    out.push(b'\n');
    out
}

/// What the huge scenario measured for one size of message.
struct HugeRuns {
    size: usize,
    /// Median time to print, and the raw copy's, in milliseconds.
    time: f64,
    raw: f64,
    /// The highest peak memory and memory at login of the runs, in bytes.
    hwm: u64,
    at_login: u64,
}

pub fn huge(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let big = args.huge_mb.max(1) * 1_000_000;
    let runs = args.repeat.max(1);
    let results = [
        measure_huge(args, big / 10, runs)?,
        measure_huge(args, big, runs)?,
    ];
    for result in &results {
        report_huge(figures, runs, result);
    }
    let ratio = results[1].time / results[0].time;
    figures.add(
        "time for big / small message (10x the bytes)",
        Value::Ratio(ratio),
        "goal <= 12x (linear is 10x)",
        Verdict::from_goal(ratio <= 12.0),
    );
    Ok(())
}

/// Runs the client and the raw copy `runs` times each on one message of
/// `size` bytes.
fn measure_huge(args: &Args, size: usize, runs: usize) -> io::Result<HugeRuns> {
    let payload = huge_payload(size);
    let expected = (message_from(&SENDER.into(), &"".into()).len() + size + 1) as u64;
    let (mut times, mut raws) = (Vec::new(), Vec::new());
    let (mut hwm, mut at_login) = (0, 0);
    for _ in 0..runs {
        let run = client_run(args, &payload, 1)?;
        if run.printed != expected {
            return Err(io::Error::other(format!(
                "the client printed {} bytes for a {size}-byte message, expected {expected}",
                run.printed
            )));
        }
        times.push(ms(run.time));
        hwm = hwm.max(run.hwm);
        at_login = at_login.max(run.rss_at_login);
        raws.push(ms(raw_copy::run(&payload, false)?.0));
    }
    Ok(HugeRuns {
        size,
        time: median(&mut times),
        raw: median(&mut raws),
        hwm,
        at_login,
    })
}

fn report_huge(figures: &mut Figures<'_>, runs: usize, r: &HugeRuns) {
    let mb = r.size / 1_000_000;
    figures.add(
        &format!("{mb} MB message: time to print (median of {runs})"),
        Value::Ms(r.time),
        format!("raw copy {}", Value::Ms(r.raw).shown()),
        Verdict::Info,
    );
    let factor = r.hwm as f64 / r.size as f64;
    figures.add(
        &format!("{mb} MB message: peak memory (VmHWM)"),
        Value::Bytes(r.hwm as f64),
        format!(
            "{factor:.2}x size (goal <= 3x); {} at login",
            bytes(r.at_login as f64)
        ),
        Verdict::from_goal(factor <= 3.0),
    );
}

pub fn idle(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let LoggedIn { client, conn } = start_logged_in_client(args)?;
    let pid = client.pid();
    // Let the start-up work finish before the measurement begins.
    thread::sleep(Duration::from_millis(500));
    let (ticks0, ns0) = (procfs::cpu_ticks(pid)?, procfs::cpu_ns(pid)?);
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(args.seconds));
    let (ticks1, ns1) = (procfs::cpu_ticks(pid)?, procfs::cpu_ns(pid)?);
    let secs = t0.elapsed().as_secs_f64();
    client.finish(true)?;
    drop(conn);
    let tick_ms = (ticks1 - ticks0) as f64 * 1000.0 / TICKS_PER_SECOND;
    let sched_ms = (ns1 - ns0) as f64 / 1e6;
    figures.add(
        &format!("CPU in {secs:.0} s idle (utime+stime)"),
        Value::Ms(tick_ms),
        "goal < 10 ms",
        Verdict::from_goal(tick_ms < 10.0),
    );
    figures.add(
        &format!("CPU in {secs:.0} s idle (schedstat, ns precision)"),
        Value::Ms(sched_ms),
        "goal < 10 ms",
        Verdict::from_goal(sched_ms < 10.0),
    );
    Ok(())
}

/// Median time from spawning `command` to its first complete output line.
fn time_to_first_line(mut make: impl FnMut() -> Command, runs: usize) -> io::Result<f64> {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut proc = Proc::spawn(make())?;
        let t1 = proc.out.wait_lines(1, Duration::from_secs(10))?;
        times.push(ms(t1 - t0));
        // End of input at the name prompt: the client quits.
        proc.finish(false)?;
    }
    Ok(median(&mut times))
}

/// `program` with `args`.
fn command(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

pub fn startup(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let runs = args.startup_runs.max(1);
    // Nothing needs to listen: the welcome line comes before connecting.
    let port = 9;
    let client_py = Path::new(env!("CARGO_MANIFEST_DIR")).join("client.py");
    let binary = time_to_first_line(|| client_command(args, port), runs)?;
    let echo = time_to_first_line(
        || command("sh", &["-c", &format!("echo '{WELCOME}'")]),
        runs,
    )?;
    let python = time_to_first_line(
        || {
            let mut c = Command::new("python3");
            c.arg(&client_py)
                .args(["--address", "127.0.0.1", "--port", &port.to_string()])
                .env("CHAT_CLIENT_BINARY", args.chat_binary());
            c
        },
        runs,
    )?;
    let python_bare = time_to_first_line(
        || command("python3", &["-c", &format!("print('{WELCOME}')")]),
        runs,
    )?;
    figures.add(
        &format!("chat to welcome line (median of {runs})"),
        Value::Ms(binary),
        format!("sh -c echo: {}", Value::Ms(echo).shown()),
        Verdict::Info,
    );
    figures.add(
        &format!("python3 client.py to welcome line (median of {runs})"),
        Value::Ms(python),
        format!("python3 -c print: {}", Value::Ms(python_bare).shown()),
        Verdict::Info,
    );
    Ok(())
}
