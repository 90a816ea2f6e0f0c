//! End-to-end benchmarks of the `chat` client and the `chat-server` server.
//!
//! ```sh
//! cargo bench --bench e2e                                  # everything, default sizes
//! cargo bench --bench e2e -- --scenario flood --scenario idle
//! cargo bench --bench e2e -- --target 127.0.0.1:5378 --scenario throughput
//! cargo bench --bench e2e -- --help
//! ```
//!
//! Every figure is printed next to a baseline measured in the same run, or
//! next to the goal of issue 5, with a verdict (`ok` / `over`).
//!
//! Client scenarios run the bench-profile `chat` binary in plain mode against
//! a scripted server inside this process, with its standard output on a pipe
//! that is read and counted here. Server scenarios start `chat-server --port 0
//! --quiet` (or aim at `--target ADDR:PORT`) and drive it with many
//! connections from a tokio runtime in this process.
//!
//! All traffic stays on the addresses given (127.0.0.1 by default); every loop
//! is bounded by a count and a deadline.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const CHAT: &str = env!("CARGO_BIN_EXE_chat");
/// The client binary the client scenarios run (`--chat`, or [`CHAT`]).
static CHAT_BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn chat_binary() -> &'static Path {
    CHAT_BINARY.get_or_init(|| PathBuf::from(CHAT))
}
const CHAT_SERVER: &str = env!("CARGO_BIN_EXE_chat-server");

/// The client's first line (printed before it connects).
const WELCOME: &str = chat::client::text::WELCOME;
/// A 64-byte message body.
const BODY64: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
/// How the flood's sender is called; the client prints `From bob: <body>`.
const SENDER: &str = "bob";
/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// End-to-end benchmarks of chat and chat-server (issue 5).
#[derive(Debug, Parser)]
#[command(name = "e2e", bin_name = "cargo bench --bench e2e --")]
struct Args {
    /// Scenario to run; repeat the flag for several. Default: all.
    #[arg(long = "scenario", value_enum, value_name = "NAME")]
    scenarios: Vec<Scenario>,

    /// Lines sent in the flood scenario.
    #[arg(long, value_name = "N", default_value_t = 500_000)]
    flood_lines: usize,

    /// Size of the big message in the huge scenario, in MB (10^6 bytes); the
    /// small one is a tenth of it.
    #[arg(long, value_name = "MB", default_value_t = 100)]
    huge_mb: usize,

    /// Clients logged in at once in the connections scenario.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    connections: usize,

    /// Length of the idle, throughput and fan-in measurements.
    #[arg(long, value_name = "S", default_value_t = 10)]
    seconds: u64,

    /// Sender/receiver pairs in the throughput and fan-in scenarios.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pairs: usize,

    /// Runs of each program in the start-up scenario (the median is reported).
    #[arg(long, value_name = "N", default_value_t = 20)]
    startup_runs: usize,

    /// Seconds of unmeasured load before the throughput and fan-in measurements.
    #[arg(long, value_name = "S", default_value_t = 2.0)]
    warmup: f64,

    /// Runs of the client and of the raw copy in the flood and huge scenarios
    /// (the median time is reported).
    #[arg(long, value_name = "N", default_value_t = 5)]
    repeat: usize,

    /// Run this chat binary in the client scenarios instead of the one built
    /// with the bench (to compare two builds).
    #[arg(long, value_name = "PATH")]
    chat: Option<PathBuf>,

    /// Aim the server scenarios at this server instead of starting chat-server.
    #[arg(long, value_name = "ADDR:PORT")]
    target: Option<String>,

    /// With --target: the target server's process id, so that the connections
    /// scenario can read its resident memory (a server on this machine).
    #[arg(long, value_name = "PID", requires = "target")]
    target_pid: Option<u32>,

    /// With --target: also run the server scenarios against a local chat-server
    /// and show its figures as the baseline.
    #[arg(long, requires = "target")]
    compare_local: bool,

    /// Also write the figures to this file, as JSON.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,

    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,

    /// Internal: the raw-copy baseline (connect to ADDR, copy the socket to
    /// standard output).
    #[arg(long, hide = true, value_name = "ADDR")]
    raw_copy: Option<SocketAddr>,

    /// Internal: with --raw-copy, give standard output the pipe buffer the
    /// client gives itself.
    #[arg(long, hide = true)]
    big_pipe: bool,

    /// Benchmark name filters passed by `cargo bench NAME`; ignored.
    #[arg(hide = true)]
    filters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Client: 500,000 small DELIVERY lines, against a raw socket-to-pipe copy.
    Flood,
    /// Client: one 10 MB and one 100 MB message; time and peak memory.
    Huge,
    /// Client: CPU time used while logged in and idle.
    Idle,
    /// Client: time from start to the welcome line (binary and client.py).
    Startup,
    /// Server: resident memory per logged-in connection.
    Connections,
    /// Server: messages/s and latency with sender/receiver pairs.
    Throughput,
    /// Server: throughput with and without one extra pair whose receiver reads slowly.
    Fanin,
}

const ALL: [Scenario; 7] = [
    Scenario::Flood,
    Scenario::Huge,
    Scenario::Idle,
    Scenario::Startup,
    Scenario::Connections,
    Scenario::Throughput,
    Scenario::Fanin,
];

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Flood => "flood",
            Scenario::Huge => "huge",
            Scenario::Idle => "idle",
            Scenario::Startup => "startup",
            Scenario::Connections => "connections",
            Scenario::Throughput => "throughput",
            Scenario::Fanin => "fanin",
        }
    }
}

fn main() {
    let args = Args::parse();
    if let Some(addr) = args.raw_copy {
        if let Err(err) = raw_copy(addr, args.big_pipe) {
            eprintln!("raw copy: {err}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("e2e: cannot raise the open-file limit: {err}");
    }
    let scenarios: Vec<Scenario> = if args.scenarios.is_empty() {
        ALL.to_vec()
    } else {
        ALL.into_iter()
            .filter(|s| args.scenarios.contains(s))
            .collect()
    };
    if let Some(path) = &args.chat {
        let _ = CHAT_BINARY.set(path.clone());
    }
    let machine = Machine::read();
    println!("{}", machine.describe());
    let started = Instant::now();
    let mut report = Report::default();
    for scenario in scenarios {
        eprintln!("e2e: running {} ...", scenario.name());
        let began = Instant::now();
        let result = match scenario {
            Scenario::Flood => flood(&args, &mut report),
            Scenario::Huge => huge(&args, &mut report),
            Scenario::Idle => idle(&args, &mut report),
            Scenario::Startup => startup(&args, &mut report),
            Scenario::Connections => connections(&args, &mut report),
            Scenario::Throughput => throughput(&args, &mut report),
            Scenario::Fanin => fanin(&args, &mut report),
        };
        if let Err(err) = result {
            report.add(
                scenario.name(),
                "failed",
                Value::Text(err.to_string()),
                "",
                Verdict::Error,
            );
        }
        eprintln!(
            "e2e: {} took {:.1} s",
            scenario.name(),
            began.elapsed().as_secs_f64()
        );
    }
    println!();
    print!("{}", report.table());
    println!("(whole run: {:.0} s)", started.elapsed().as_secs_f64());
    if let Some(path) = &args.json {
        match std::fs::write(path, report.json(&machine)) {
            Ok(()) => eprintln!("e2e: figures written to {}", path.display()),
            Err(err) => eprintln!("e2e: cannot write {}: {err}", path.display()),
        }
    }
    if report.rows.iter().any(|r| r.verdict == Verdict::Error) {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------
// Report

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Over,
    /// A figure without a goal.
    Info,
    Skipped,
    Error,
}

impl Verdict {
    fn from_goal(met: bool) -> Verdict {
        if met {
            Verdict::Ok
        } else {
            Verdict::Over
        }
    }

    fn word(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Over => "over",
            Verdict::Info => "-",
            Verdict::Skipped => "skipped",
            Verdict::Error => "ERROR",
        }
    }
}

#[derive(Debug, Clone)]
enum Value {
    Ms(f64),
    Us(f64),
    Bytes(f64),
    Rate(f64),
    Ratio(f64),
    Count(f64),
    Text(String),
}

impl Value {
    fn number(&self) -> Option<(f64, &'static str)> {
        match *self {
            Value::Ms(v) => Some((v, "ms")),
            Value::Us(v) => Some((v, "us")),
            Value::Bytes(v) => Some((v, "bytes")),
            Value::Rate(v) => Some((v, "per s")),
            Value::Ratio(v) => Some((v, "x")),
            Value::Count(v) => Some((v, "")),
            Value::Text(_) => None,
        }
    }

    fn shown(&self) -> String {
        match self {
            Value::Ms(v) if *v >= 10_000.0 => format!("{:.1} s", v / 1000.0),
            Value::Ms(v) if *v >= 100.0 => format!("{v:.0} ms"),
            Value::Ms(v) if *v >= 10.0 => format!("{v:.1} ms"),
            Value::Ms(v) => format!("{v:.2} ms"),
            Value::Us(v) if *v >= 10_000.0 => format!("{:.1} ms", v / 1000.0),
            Value::Us(v) => format!("{v:.0} us"),
            Value::Bytes(v) => bytes(*v),
            Value::Rate(v) => format!("{}/s", thousands(*v)),
            Value::Ratio(v) => format!("{v:.2}x"),
            Value::Count(v) => thousands(*v),
            Value::Text(t) => t.clone(),
        }
    }
}

fn bytes(v: f64) -> String {
    if v >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", v / (1024.0 * 1024.0))
    } else if v >= 1024.0 {
        format!("{:.1} KiB", v / 1024.0)
    } else {
        format!("{v:.0} B")
    }
}

fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[derive(Debug, Clone)]
struct Row {
    scenario: String,
    figure: String,
    value: Value,
    baseline: String,
    verdict: Verdict,
}

#[derive(Debug, Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn add(
        &mut self,
        scenario: &str,
        figure: &str,
        value: Value,
        baseline: impl Into<String>,
        verdict: Verdict,
    ) {
        let row = Row {
            scenario: scenario.to_string(),
            figure: figure.to_string(),
            value,
            baseline: baseline.into(),
            verdict,
        };
        eprintln!(
            "e2e:   {} | {} | {} | {} | {}",
            row.scenario,
            row.figure,
            row.value.shown(),
            row.baseline,
            row.verdict.word()
        );
        self.rows.push(row);
    }

    /// A Markdown table (readable as plain text too).
    fn table(&self) -> String {
        let header = ["scenario", "figure", "value", "baseline / goal", "verdict"];
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.scenario.clone(),
                    r.figure.clone(),
                    r.value.shown(),
                    r.baseline.clone(),
                    r.verdict.word().to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, row: &[String]| {
            out.push('|');
            for (cell, w) in row.iter().zip(widths) {
                let pad = w - cell.chars().count();
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            }
            out.push('\n');
        };
        line(&mut out, &header.map(String::from));
        out.push('|');
        for w in widths {
            let _ = write!(out, "{}|", "-".repeat(w + 2));
        }
        out.push('\n');
        for row in &cells {
            line(&mut out, row);
        }
        out
    }

    fn json(&self, machine: &Machine) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"machine\": {},", json_str(&machine.describe()));
        let _ = writeln!(out, "  \"cores\": {},", machine.cores);
        let _ = writeln!(out, "  \"unix_time\": {},", machine.unix_time);
        out.push_str("  \"figures\": [\n");
        for (i, r) in self.rows.iter().enumerate() {
            let (value, unit) = match r.value.number() {
                Some((v, unit)) if v.is_finite() => (format!("{v}"), unit),
                _ => ("null".to_string(), ""),
            };
            let _ = write!(
                out,
                "    {{\"scenario\": {}, \"figure\": {}, \"value\": {value}, \"unit\": {}, \"shown\": {}, \"baseline\": {}, \"verdict\": {}}}",
                json_str(&r.scenario),
                json_str(&r.figure),
                json_str(unit),
                json_str(&r.value.shown()),
                json_str(&r.baseline),
                json_str(r.verdict.word()),
            );
            out.push_str(if i + 1 < self.rows.len() { ",\n" } else { "\n" });
        }
        out.push_str("  ]\n}\n");
        out
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Machine {
    cores: usize,
    cpu: String,
    load: String,
    unix_time: u64,
}

impl Machine {
    fn read() -> Machine {
        let cores = thread::available_parallelism().map_or(1, |n| n.get());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".to_string());
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let unix_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Machine {
            cores,
            cpu,
            load,
            unix_time,
        }
    }

    fn describe(&self) -> String {
        format!(
            "machine: {} cores ({}), load average at start {}; client: {}",
            self.cores,
            self.cpu,
            self.load,
            chat_binary().display()
        )
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn other(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

// ---------------------------------------------------------------------------
// /proc

/// A `kB` field of /proc/<pid>/status (VmHWM, VmRSS), in bytes.
fn proc_status_bytes(pid: u32, field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| other(format!("no {field} in /proc/{pid}/status")))
}

/// utime + stime of a process, in ticks (/proc/<pid>/stat fields 14 and 15).
fn proc_cpu_ticks(pid: u32) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; it ends at the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| other("malformed /proc/<pid>/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    let num = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| other("malformed /proc/<pid>/stat"))
    };
    Ok(num(11)? + num(12)?)
}

/// Nanoseconds on CPU of all the threads of a process (/proc/<pid>/task/*/schedstat),
/// which is far finer than the 10 ms ticks of utime + stime.
fn proc_cpu_ns(pid: u32) -> io::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            total += text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Ok(total)
}

// ---------------------------------------------------------------------------
// Client scenarios: the client process, its output pipe, the scripted server

/// Counts what a child prints on a pipe, on a thread of its own.
struct Output {
    rx: mpsc::Receiver<(u64, u64, Instant)>,
    bytes: u64,
    lines: u64,
    last: Option<Instant>,
    head: Arc<Mutex<Vec<u8>>>,
}

impl Output {
    fn watch(mut pipe: impl Read + Send + 'static) -> Output {
        let (tx, rx) = mpsc::channel();
        let head = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&head);
        thread::spawn(move || {
            let mut buf = vec![0; 256 * 1024];
            let (mut bytes, mut lines) = (0u64, 0u64);
            // Ends when the child closes the pipe (it exits or is killed).
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let now = Instant::now();
                bytes += n as u64;
                lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                if let Ok(mut head) = keep.lock() {
                    if head.len() < 4096 {
                        let take = n.min(4096 - head.len());
                        head.extend_from_slice(&buf[..take]);
                    }
                }
                // Nobody listening any more: keep draining so the child never blocks.
                let _ = tx.send((bytes, lines, now));
            }
        });
        Output {
            rx,
            bytes: 0,
            lines: 0,
            last: None,
            head,
        }
    }

    fn take(&mut self, (bytes, lines, at): (u64, u64, Instant)) {
        self.bytes = bytes;
        self.lines = lines;
        self.last = Some(at);
    }

    /// Waits until `lines` lines in all have been printed; returns when the
    /// last of them arrived.
    fn wait_lines(&mut self, lines: u64, timeout: Duration) -> io::Result<Instant> {
        self.wait(timeout, |o| o.lines >= lines)
            .map_err(|e| other(format!("{e} (waiting for {lines} lines)")))
    }

    /// Waits until `bytes` bytes in all have been printed.
    fn wait_bytes(&mut self, bytes: u64, timeout: Duration) -> io::Result<Instant> {
        self.wait(timeout, |o| o.bytes >= bytes)
            .map_err(|e| other(format!("{e} (waiting for {bytes} bytes)")))
    }

    fn wait(&mut self, timeout: Duration, done: impl Fn(&Output) -> bool) -> io::Result<Instant> {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(update) => self.take(update),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(other(format!(
                        "timed out after {timeout:?} with {} bytes, {} lines printed; first output: {:?}",
                        self.bytes,
                        self.lines,
                        self.head_text()
                    )))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(other(format!(
                        "the output ended after {} bytes, {} lines; first output: {:?}",
                        self.bytes,
                        self.lines,
                        self.head_text()
                    )))
                }
            }
        }
        Ok(self.last.unwrap_or_else(Instant::now))
    }

    fn head_text(&self) -> String {
        let head = self.head.lock().map(|h| h.clone()).unwrap_or_default();
        let text = String::from_utf8_lossy(&head[..head.len().min(300)]).into_owned();
        text
    }
}

/// A running child with its standard input held open and its output counted.
struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Output,
}

impl Proc {
    fn spawn(mut command: Command) -> io::Result<Proc> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout: ChildStdout = child.stdout.take().ok_or_else(|| other("no stdout"))?;
        Ok(Proc {
            stdin: child.stdin.take(),
            out: Output::watch(stdout),
            child,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn type_line(&mut self, line: &str) -> io::Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| other("stdin closed"))?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    /// Types `!quit` (if `quit`), closes standard input, and waits (bounded)
    /// for the process to end; kills it if it does not.
    fn finish(mut self, quit: bool) -> io::Result<()> {
        if quit {
            let _ = self.type_line("!quit");
        }
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err(other("the process did not end within 5 s of !quit; killed"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client_command(port: u16) -> Command {
    let mut command = Command::new(chat_binary());
    command.args([
        "--plain",
        "--address",
        "127.0.0.1",
        "--port",
        &port.to_string(),
    ]);
    command
}

/// Accepts one connection, waiting at most `timeout`.
fn accept(listener: &TcpListener, timeout: Duration) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                return Ok(stream);
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(other("nobody connected in time"));
                }
                thread::sleep(Duration::from_millis(1));
            }
            Err(err) => return Err(err),
        }
    }
}

/// Reads one line (at most 4 KiB) from a blocking stream with a read timeout set.
fn read_line_blocking(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 4096 {
        match stream.read(&mut byte)? {
            0 => return Err(other("connection closed before a full line")),
            _ if byte[0] == b'\n' => return Ok(line),
            _ => line.push(byte[0]),
        }
    }
    Err(other("line too long"))
}

/// A `chat --plain` process logged in as `alice` to the scripted server, which
/// holds the other end of its connection.
struct LoggedIn {
    client: Proc,
    conn: TcpStream,
}

fn start_logged_in_client() -> io::Result<LoggedIn> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut client = Proc::spawn(client_command(port))?;
    client.type_line("alice")?;
    let mut conn = accept(&listener, Duration::from_secs(10))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    conn.set_write_timeout(Some(Duration::from_secs(60)))?;
    let hello = read_line_blocking(&mut conn)?;
    if hello.trim_ascii_end() != b"HELLO-FROM alice" {
        return Err(other(format!(
            "expected HELLO-FROM alice, got {:?}",
            String::from_utf8_lossy(&hello)
        )));
    }
    conn.write_all(b"HELLO alice\n")?;
    // The welcome line and the login line.
    client.out.wait_lines(2, Duration::from_secs(10))?;
    Ok(LoggedIn { client, conn })
}

/// The raw-copy baseline: connects to `addr` and copies every byte to standard
/// output, one `write` per `read`, until the connection ends. With `big_pipe`,
/// its output pipe first gets the buffer the client gives its own
/// (`enlarge_pipe`); without, it keeps the system's default.
fn raw_copy(addr: SocketAddr, big_pipe: bool) -> io::Result<()> {
    use std::os::fd::AsFd;
    let mut socket = TcpStream::connect(addr)?;
    socket.set_read_timeout(Some(Duration::from_secs(60)))?;
    let stdout = io::stdout();
    if big_pipe {
        chat::client::enlarge_pipe(stdout.as_fd());
    }
    // A duplicate of standard output as a file: written without buffering.
    let mut out = std::fs::File::from(stdout.as_fd().try_clone_to_owned()?);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = socket.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])?;
    }
}

/// Sends `payload` to the raw-copy process; returns the time until all of it
/// came out of the pipe, and the CPU time the copier used meanwhile (ns).
fn raw_copy_run(payload: &[u8], big_pipe: bool) -> io::Result<(Duration, u64)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command.arg("--raw-copy").arg(addr.to_string());
    if big_pipe {
        command.arg("--big-pipe");
    }
    let mut copier = Proc::spawn(command)?;
    let mut conn = accept(&listener, Duration::from_secs(10))?;
    conn.set_write_timeout(Some(Duration::from_secs(60)))?;
    let cpu0 = proc_cpu_ns(copier.pid())?;
    let t0 = Instant::now();
    conn.write_all(payload)?;
    let t1 = copier
        .out
        .wait_bytes(payload.len() as u64, Duration::from_secs(120))?;
    let cpu_ns = proc_cpu_ns(copier.pid())?.saturating_sub(cpu0);
    drop(conn);
    copier.finish(false)?;
    Ok((t1 - t0, cpu_ns))
}

/// `count` lines of `DELIVERY bob <64 bytes>`.
fn flood_payload(count: usize) -> Vec<u8> {
    let line: Vec<u8> = [b"DELIVERY ", SENDER.as_bytes(), b" ", BODY64, b"\n"].concat();
    let mut out = Vec::with_capacity(line.len() * count);
    for _ in 0..count {
        out.extend_from_slice(&line);
    }
    out
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
fn client_run(payload: &[u8], lines: u64, timeout: Duration) -> io::Result<ClientRun> {
    let LoggedIn {
        mut client,
        mut conn,
    } = start_logged_in_client()?;
    let pid = client.pid();
    let before = client.out.bytes;
    let rss_at_login = proc_status_bytes(pid, "VmRSS")?;
    let cpu0 = proc_cpu_ns(pid)?;
    let t0 = Instant::now();
    conn.write_all(payload)?;
    let t1 = client.out.wait_lines(2 + lines, timeout)?;
    let cpu_ns = proc_cpu_ns(pid)?.saturating_sub(cpu0);
    let printed = client.out.bytes - before;
    let hwm = proc_status_bytes(pid, "VmHWM")?;
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

fn flood(args: &Args, report: &mut Report) -> io::Result<()> {
    let n = args.flood_lines;
    let payload = flood_payload(n);
    let per_line = chat::client::text::message_from(SENDER, "").len() + BODY64.len() + 1;
    let expected = (per_line * n) as u64;
    let (mut client_ms, mut raw_ms, mut big_pipe_ms) = (Vec::new(), Vec::new(), Vec::new());
    let (mut client_cpu, mut raw_cpu) = (Vec::new(), Vec::new());
    let runs = args.repeat.max(1);
    for _ in 0..runs {
        let run = client_run(&payload, n as u64, Duration::from_secs(120))?;
        if run.printed != expected {
            return Err(other(format!(
                "the client printed {} bytes, expected {expected}",
                run.printed
            )));
        }
        client_ms.push(ms(run.time));
        client_cpu.push(run.cpu_ns as f64 / 1e6);
        let (time, cpu) = raw_copy_run(&payload, false)?;
        raw_ms.push(ms(time));
        raw_cpu.push(cpu as f64 / 1e6);
        big_pipe_ms.push(ms(raw_copy_run(&payload, true)?.0));
    }
    let client = median(&mut client_ms);
    let raw = median(&mut raw_ms);
    let big_pipe = median(&mut big_pipe_ms);
    let scenario = "flood";
    report.add(
        scenario,
        &format!(
            "client: {} lines printed (median of {runs})",
            thousands(n as f64)
        ),
        Value::Ms(client),
        format!(
            "raw copy {} ({} in)",
            Value::Ms(raw).shown(),
            bytes(payload.len() as f64)
        ),
        Verdict::Info,
    );
    report.add(
        scenario,
        "client / raw copy",
        Value::Ratio(client / raw),
        "goal <= 1.50x",
        Verdict::from_goal(client / raw <= 1.5),
    );
    // The client enlarges its output pipe (to 1 MiB); the minimal reader above
    // keeps the default. The same copy given the client's pipe, for scale.
    report.add(
        scenario,
        "raw copy with the client's 1 MiB pipe",
        Value::Ms(big_pipe),
        format!("client / this {:.2}x", client / big_pipe),
        Verdict::Info,
    );
    report.add(
        scenario,
        "client lines/s",
        Value::Rate(n as f64 / (client / 1000.0)),
        format!(
            "raw copy {}",
            Value::Rate(n as f64 / (raw / 1000.0)).shown()
        ),
        Verdict::Info,
    );
    let (client_cpu, raw_cpu) = (median(&mut client_cpu), median(&mut raw_cpu));
    report.add(
        scenario,
        "client CPU time (user+system)",
        Value::Ms(client_cpu),
        format!(
            "raw copy {}; client {:.0} ns/line",
            Value::Ms(raw_cpu).shown(),
            client_cpu * 1e6 / n as f64
        ),
        Verdict::Info,
    );
    Ok(())
}

fn huge_payload(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 32);
    out.extend_from_slice(b"DELIVERY ");
    out.extend_from_slice(SENDER.as_bytes());
    out.push(b' ');
    out.resize(out.len() + size, b'x');
    out.push(b'\n');
    out
}

fn huge(args: &Args, report: &mut Report) -> io::Result<()> {
    let big = args.huge_mb.max(1) * 1_000_000;
    let small = big / 10;
    let scenario = "huge";
    let runs = args.repeat.max(1);
    // Per size: median time, median raw-copy time, highest peak memory, and
    // resident memory at login.
    let mut results = Vec::new();
    for size in [small, big] {
        let payload = huge_payload(size);
        let expected = (chat::client::text::message_from(SENDER, "").len() + size + 1) as u64;
        let (mut times, mut raws) = (Vec::new(), Vec::new());
        let (mut hwm, mut at_login) = (0, 0);
        for _ in 0..runs {
            let run = client_run(&payload, 1, Duration::from_secs(120))?;
            if run.printed != expected {
                return Err(other(format!(
                    "the client printed {} bytes for a {size}-byte message, expected {expected}",
                    run.printed
                )));
            }
            times.push(ms(run.time));
            hwm = hwm.max(run.hwm);
            at_login = at_login.max(run.rss_at_login);
            raws.push(ms(raw_copy_run(&payload, false)?.0));
        }
        drop(payload);
        results.push((size, median(&mut times), median(&mut raws), hwm, at_login));
    }
    for &(size, time, raw, hwm, at_login) in &results {
        let mb = size / 1_000_000;
        report.add(
            scenario,
            &format!("{mb} MB message: time to print (median of {runs})"),
            Value::Ms(time),
            format!("raw copy {}", Value::Ms(raw).shown()),
            Verdict::Info,
        );
        let factor = hwm as f64 / size as f64;
        report.add(
            scenario,
            &format!("{mb} MB message: peak memory (VmHWM)"),
            Value::Bytes(hwm as f64),
            format!(
                "{factor:.2}x size (goal <= 3x); {} at login",
                bytes(at_login as f64)
            ),
            Verdict::from_goal(factor <= 3.0),
        );
    }
    let ratio = results[1].1 / results[0].1;
    report.add(
        scenario,
        "time for big / small message (10x the bytes)",
        Value::Ratio(ratio),
        "goal <= 12x (linear is 10x)",
        Verdict::from_goal(ratio <= 12.0),
    );
    Ok(())
}

fn idle(args: &Args, report: &mut Report) -> io::Result<()> {
    let LoggedIn { client, conn } = start_logged_in_client()?;
    let pid = client.pid();
    // Let the start-up work finish before the measurement begins.
    thread::sleep(Duration::from_millis(500));
    let (ticks0, ns0) = (proc_cpu_ticks(pid)?, proc_cpu_ns(pid)?);
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(args.seconds));
    let (ticks1, ns1) = (proc_cpu_ticks(pid)?, proc_cpu_ns(pid)?);
    let secs = t0.elapsed().as_secs_f64();
    client.finish(true)?;
    drop(conn);
    let tick_ms = (ticks1 - ticks0) as f64 * 1000.0 / TICKS_PER_SECOND;
    let sched_ms = (ns1 - ns0) as f64 / 1e6;
    let scenario = "idle";
    report.add(
        scenario,
        &format!("CPU in {secs:.0} s idle (utime+stime)"),
        Value::Ms(tick_ms),
        "goal < 10 ms",
        Verdict::from_goal(tick_ms < 10.0),
    );
    report.add(
        scenario,
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

fn startup(args: &Args, report: &mut Report) -> io::Result<()> {
    let runs = args.startup_runs.max(1);
    // Nothing needs to listen: the welcome line comes before connecting.
    let port = 9;
    let client_py = Path::new(env!("CARGO_MANIFEST_DIR")).join("client.py");
    let binary = time_to_first_line(|| client_command(port), runs)?;
    let echo = time_to_first_line(
        || {
            let mut c = Command::new("sh");
            c.args(["-c", &format!("echo '{WELCOME}'")]);
            c
        },
        runs,
    )?;
    let python = time_to_first_line(
        || {
            let mut c = Command::new("python3");
            c.arg(&client_py)
                .args(["--address", "127.0.0.1", "--port", &port.to_string()])
                .env("CHAT_CLIENT_BINARY", chat_binary());
            c
        },
        runs,
    )?;
    let python_bare = time_to_first_line(
        || {
            let mut c = Command::new("python3");
            c.args(["-c", &format!("print('{WELCOME}')")]);
            c
        },
        runs,
    )?;
    let scenario = "startup";
    report.add(
        scenario,
        &format!("chat to welcome line (median of {runs})"),
        Value::Ms(binary),
        format!("sh -c echo: {}", Value::Ms(echo).shown()),
        Verdict::Info,
    );
    report.add(
        scenario,
        &format!("python3 client.py to welcome line (median of {runs})"),
        Value::Ms(python),
        format!("python3 -c print: {}", Value::Ms(python_bare).shown()),
        Verdict::Info,
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Server scenarios

/// A chat-server started for the bench, stopped when dropped.
struct LocalServer {
    child: Child,
    addr: SocketAddr,
}

impl LocalServer {
    fn start(max_clients: usize) -> io::Result<LocalServer> {
        let mut child = Command::new(CHAT_SERVER)
            .args(["--port", "0", "--quiet", "--max-clients"])
            .arg(max_clients.to_string())
            // All the load comes from 127.0.0.1, many logins at a time.
            .args(["--max-pending-per-address", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| other("no stdout"))?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(other("chat-server did not start within 10 s"));
            }
        };
        let port: u16 = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| other(format!("unexpected start-up line {line:?}")))?;
        Ok(LocalServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server that the server scenarios aim at.
enum ServerUnderTest {
    Local(LocalServer),
    Target(SocketAddr),
}

impl ServerUnderTest {
    fn addr(&self) -> SocketAddr {
        match self {
            ServerUnderTest::Local(s) => s.addr,
            ServerUnderTest::Target(a) => *a,
        }
    }

    fn label(&self) -> String {
        match self {
            ServerUnderTest::Local(_) => "chat-server".to_string(),
            ServerUnderTest::Target(a) => a.to_string(),
        }
    }
}

fn target_addr(target: &str) -> io::Result<SocketAddr> {
    target
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| other(format!("{target} names no address")))
}

/// The servers to measure: the target (if any), then a local chat-server when
/// there is no target or --compare-local is given.
fn servers(args: &Args, max_clients: usize) -> io::Result<Vec<ServerUnderTest>> {
    let mut out = Vec::new();
    if let Some(target) = &args.target {
        out.push(ServerUnderTest::Target(target_addr(target)?));
    }
    if args.target.is_none() || args.compare_local {
        out.push(ServerUnderTest::Local(LocalServer::start(max_clients)?));
    }
    Ok(out)
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    let workers = thread::available_parallelism().map_or(2, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
}

/// A tag that makes this run's user names unique on a long-running server.
fn run_tag() -> String {
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
struct Peer {
    rd: tokio::io::BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    line: Vec<u8>,
}

impl Peer {
    /// Connects and logs in as `name`.
    async fn login(addr: SocketAddr, name: &str, buffer: usize, index: usize) -> io::Result<Peer> {
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
        peer.wr
            .write_all(format!("HELLO-FROM {name}\n").as_bytes())
            .await?;
        if !peer.next_line(Duration::from_secs(10)).await? {
            return Err(other(format!("{name}: closed during login")));
        }
        if !peer.line.starts_with(b"HELLO") || peer.line.starts_with(b"HELLO-") {
            return Err(other(format!(
                "{name}: login refused: {}",
                String::from_utf8_lossy(&peer.line)
            )));
        }
        Ok(peer)
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

fn connections(args: &Args, report: &mut Report) -> io::Result<()> {
    let scenario = "connections";
    let n = args.connections;
    let mut measured = false;
    for server in servers(args, n + 100)? {
        let pid = match &server {
            ServerUnderTest::Local(local) => local.pid(),
            ServerUnderTest::Target(_) => match args.target_pid {
                Some(pid) => pid,
                None => {
                    report.add(
                        scenario,
                        &format!("{}: memory per connection", server.label()),
                        Value::Text("not measured".into()),
                        "needs the server's pid (--target-pid) to read its VmRSS",
                        Verdict::Skipped,
                    );
                    continue;
                }
            },
        };
        measured = true;
        let addr = server.addr();
        let label = server.label();
        let rt = runtime()?;
        let tag = run_tag();
        thread::sleep(Duration::from_millis(300));
        let before = proc_status_bytes(pid, "VmRSS")?;
        let t0 = Instant::now();
        let (peers, failures) = rt.block_on(async {
            let mut set: tokio::task::JoinSet<io::Result<Peer>> = tokio::task::JoinSet::new();
            let mut peers = Vec::with_capacity(n);
            let mut failures = Vec::new();
            for i in 0..n {
                // At most 256 logins in flight.
                while set.len() >= 256 {
                    if let Some(done) = set.join_next().await {
                        match done {
                            Ok(Ok(peer)) => peers.push(peer),
                            Ok(Err(e)) => failures.push(e.to_string()),
                            Err(e) => failures.push(e.to_string()),
                        }
                    }
                }
                let name = format!("c{tag}x{i}");
                set.spawn(async move {
                    tokio::time::timeout(Duration::from_secs(20), Peer::login(addr, &name, 64, i))
                        .await
                        .map_err(|_| other("login timed out"))?
                });
            }
            while let Some(done) = set.join_next().await {
                match done {
                    Ok(Ok(peer)) => peers.push(peer),
                    Ok(Err(e)) => failures.push(e.to_string()),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            (peers, failures)
        });
        let login_time = t0.elapsed();
        thread::sleep(Duration::from_millis(1000));
        let after = proc_status_bytes(pid, "VmRSS")?;
        let ok = peers.len();
        if ok == 0 {
            return Err(other(format!(
                "no login succeeded; first error: {:?}",
                failures.first()
            )));
        }
        let per = after.saturating_sub(before) as f64 / ok as f64;
        report.add(
            scenario,
            &format!(
                "{label}: {} clients logged in at once",
                thousands(ok as f64)
            ),
            Value::Ms(ms(login_time)),
            format!(
                "{} failed{}",
                failures.len(),
                failures
                    .first()
                    .map(|e| format!(" (first: {e})"))
                    .unwrap_or_default()
            ),
            if failures.is_empty() {
                Verdict::Info
            } else {
                Verdict::Over
            },
        );
        report.add(
            scenario,
            &format!("{label}: VmRSS before -> after"),
            Value::Text(format!(
                "{} -> {}",
                bytes(before as f64),
                bytes(after as f64)
            )),
            "",
            Verdict::Info,
        );
        report.add(
            scenario,
            &format!("{label}: memory per connection"),
            Value::Bytes(per),
            "goal < 32 KiB",
            Verdict::from_goal(per < 32.0 * 1024.0),
        );
        drop(peers);
        rt.shutdown_timeout(Duration::from_secs(5));
    }
    if !measured {
        eprintln!("e2e: connections: nothing measured (give --target-pid, or --compare-local)");
    }
    Ok(())
}

/// The outcome of one load run with sender/receiver pairs.
#[derive(Debug, Default)]
struct PairRun {
    /// Deliveries received inside the measurement window.
    delivered: u64,
    seconds: f64,
    /// SEND-to-DELIVERY latencies, in microseconds.
    latencies_us: Vec<u32>,
    /// Replies other than SEND-OK, and read or write failures.
    errors: u64,
    first_error: Option<String>,
}

impl PairRun {
    /// Adds another run's figures to these.
    fn absorb(&mut self, run: PairRun) {
        self.delivered += run.delivered;
        self.seconds += run.seconds;
        self.errors += run.errors;
        self.latencies_us.extend(run.latencies_us);
        if self.first_error.is_none() {
            self.first_error = run.first_error;
        }
    }

    fn rate(&self) -> f64 {
        self.delivered as f64 / self.seconds
    }

    fn percentile_us(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        f64::from(self.latencies_us[rank - 1])
    }
}

/// The body of a timed message: nanoseconds since `epoch` in 20 digits, then
/// padding to 64 bytes.
fn timed_body(epoch: Instant) -> Vec<u8> {
    let ns = epoch.elapsed().as_nanos() as u64;
    let mut body = format!("{ns:020}").into_bytes();
    body.extend_from_slice(&BODY64[20..]);
    body
}

fn parse_timed_body(line: &[u8]) -> Option<u64> {
    // DELIVERY <sender> <20 digits>...
    let rest = line.strip_prefix(b"DELIVERY ")?;
    let space = memchr::memchr(b' ', rest)?;
    let digits = rest.get(space + 1..space + 21)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Most messages one sender sends in a run (a bound besides the deadline).
const MAX_MESSAGES_PER_SENDER: u64 = 10_000_000;
/// How long a receiver waits after the window for the deliveries still owed.
const DRAIN: Duration = Duration::from_secs(3);

/// `pairs` senders each sending to its own receiver for `secs` (send, wait for
/// SEND-OK, repeat); with `slow_pair`, one more pair whose receiver reads
/// 4 KiB every 100 ms.
async fn run_pairs(
    addr: SocketAddr,
    pairs: usize,
    length: Duration,
    slow_pair: bool,
) -> io::Result<PairRun> {
    let tag = run_tag();
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    let total = pairs + usize::from(slow_pair);
    for i in 0..total {
        receivers.push(Peer::login(addr, &format!("r{tag}x{i}"), 64 * 1024, 2 * i).await?);
    }
    for i in 0..total {
        senders.push(Peer::login(addr, &format!("s{tag}x{i}"), 4 * 1024, 2 * i + 1).await?);
    }
    let epoch = Instant::now();
    let start = epoch + Duration::from_millis(200);
    let end = start + length;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (mut sender, mut receiver)) in senders.into_iter().zip(receivers).enumerate() {
        let slow = slow_pair && i == pairs;
        let to = format!("r{tag}x{i}");
        let sent = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (sent_r, done_r) = (Arc::clone(&sent), Arc::clone(&done));
        // Sender.
        tasks.spawn(async move {
            let mut run = PairRun::default();
            tokio::time::sleep_until(start.into()).await;
            let mut count = 0u64;
            let mut line = Vec::with_capacity(128);
            while Instant::now() < end && count < MAX_MESSAGES_PER_SENDER {
                line.clear();
                line.extend_from_slice(b"SEND ");
                line.extend_from_slice(to.as_bytes());
                line.push(b' ');
                line.extend_from_slice(&timed_body(epoch));
                line.push(b'\n');
                let result = async {
                    sender.wr.write_all(&line).await?;
                    if !sender.next_line(Duration::from_secs(10)).await? {
                        return Err(other("server closed the sender's connection"));
                    }
                    Ok(())
                }
                .await;
                if let Err(e) = result {
                    run.errors += 1;
                    run.first_error.get_or_insert(format!("sender: {e}"));
                    break;
                }
                if sender.line == b"SEND-OK" {
                    count += 1;
                } else if !slow {
                    run.errors += 1;
                    run.first_error.get_or_insert(format!(
                        "sender got {:?}",
                        String::from_utf8_lossy(&sender.line)
                    ));
                }
            }
            sent_r.store(count, Ordering::SeqCst);
            done_r.store(true, Ordering::SeqCst);
            // Keep the connection until the receiver is done with it.
            (run, sender)
        });
        // Receiver.
        tasks.spawn(async move {
            let mut run = PairRun::default();
            let hard_end = end + DRAIN;
            if slow {
                // Reads 4 KiB every 100 ms, whatever is owed.
                let mut buf = vec![0u8; 4096];
                while Instant::now() < end {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let _ =
                        tokio::time::timeout(Duration::from_millis(10), receiver.rd.read(&mut buf))
                            .await;
                }
                return (run, receiver);
            }
            let mut received = 0u64;
            while Instant::now() < hard_end {
                if done.load(Ordering::SeqCst) && received >= sent.load(Ordering::SeqCst) {
                    break;
                }
                match receiver.next_line(Duration::from_millis(100)).await {
                    Ok(true) => {}
                    Ok(false) => {
                        run.errors += 1;
                        run.first_error
                            .get_or_insert("server closed a receiver's connection".into());
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
                    Err(e) => {
                        run.errors += 1;
                        run.first_error.get_or_insert(format!("receiver: {e}"));
                        break;
                    }
                }
                let now = Instant::now();
                match parse_timed_body(&receiver.line) {
                    Some(sent_ns) => {
                        received += 1;
                        let now_ns = (now - epoch).as_nanos() as u64;
                        let us = now_ns.saturating_sub(sent_ns) / 1000;
                        run.latencies_us.push(us.min(u64::from(u32::MAX)) as u32);
                        if now <= end {
                            run.delivered += 1;
                        }
                    }
                    None => {
                        run.errors += 1;
                        run.first_error.get_or_insert(format!(
                            "receiver got {:?}",
                            String::from_utf8_lossy(&receiver.line[..receiver.line.len().min(80)])
                        ));
                    }
                }
            }
            (run, receiver)
        });
    }
    let mut total_run = PairRun {
        seconds: length.as_secs_f64(),
        ..PairRun::default()
    };
    let mut keep = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (run, peer) = done.map_err(|e| other(format!("a load task failed: {e}")))?;
        total_run.absorb(run);
        keep.push(peer);
    }
    drop(keep);
    Ok(total_run)
}

fn run_pairs_blocking(
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
            .map_err(|_| other("the load run did not end in time"))?
    })
}

/// The same load, unmeasured, so that a server that warms up (a JIT) is
/// measured warm.
fn warm_up(rt: &tokio::runtime::Runtime, addr: SocketAddr, args: &Args) -> io::Result<()> {
    if args.warmup > 0.0 {
        run_pairs_blocking(
            rt,
            addr,
            args.pairs,
            Duration::from_secs_f64(args.warmup),
            false,
        )?;
    }
    Ok(())
}

fn throughput(args: &Args, report: &mut Report) -> io::Result<()> {
    let scenario = "throughput";
    let rt = runtime()?;
    let mut baseline: Option<(f64, f64, f64, f64)> = None;
    // The local server (the baseline when comparing) runs first.
    let mut list = servers(args, args.pairs * 2 + 100)?;
    list.reverse();
    let comparing = list.len() > 1;
    for server in list {
        let label = server.label();
        warm_up(&rt, server.addr(), args)?;
        let length = Duration::from_secs(args.seconds);
        let mut run = run_pairs_blocking(&rt, server.addr(), args.pairs, length, false)?;
        let rate = run.rate();
        let (p50, p99, p999) = (
            run.percentile_us(0.50),
            run.percentile_us(0.99),
            run.percentile_us(0.999),
        );
        let base = |i: usize| -> String {
            match baseline {
                Some(b) if comparing => {
                    let v = [b.0, b.1, b.2, b.3][i];
                    let shown = if i == 0 {
                        Value::Rate(v).shown()
                    } else {
                        Value::Us(v).shown()
                    };
                    format!("chat-server: {shown}")
                }
                _ => String::new(),
            }
        };
        report.add(
            scenario,
            &format!(
                "{label}: messages/s, {} pairs, {} s",
                args.pairs, args.seconds
            ),
            Value::Rate(rate),
            base(0),
            Verdict::Info,
        );
        for (i, (name, v)) in [("p50", p50), ("p99", p99), ("p99.9", p999)]
            .into_iter()
            .enumerate()
        {
            report.add(
                scenario,
                &format!("{label}: latency SEND -> DELIVERY {name}"),
                Value::Us(v),
                base(i + 1),
                Verdict::Info,
            );
        }
        if run.errors > 0 {
            report.add(
                scenario,
                &format!("{label}: errors"),
                Value::Count(run.errors as f64),
                run.first_error.clone().unwrap_or_default(),
                Verdict::Over,
            );
        }
        if baseline.is_none() {
            baseline = Some((rate, p50, p99, p999));
        }
    }
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn fanin(args: &Args, report: &mut Report) -> io::Result<()> {
    let scenario = "fanin";
    let rt = runtime()?;
    let mut list = servers(args, args.pairs * 2 + 100)?;
    list.reverse();
    for server in list {
        let label = server.label();
        warm_up(&rt, server.addr(), args)?;
        // Four quarters of each, in the order without, with, with, without,
        // twice: a drift in the machine's speed counts the same on both
        // sides, and a passing hiccup (this is often a shared machine) spoils
        // only an eighth of one side.
        let quarter = Duration::from_secs_f64(args.seconds as f64 / 4.0);
        let (mut without, mut with) = (PairRun::default(), PairRun::default());
        for slow in [false, true, true, false, false, true, true, false] {
            let run = run_pairs_blocking(&rt, server.addr(), args.pairs, quarter, slow)?;
            if slow {
                with.absorb(run);
            } else {
                without.absorb(run);
            }
        }
        let ratio = with.rate() / without.rate();
        report.add(
            scenario,
            &format!("{label}: messages/s with one slow reader"),
            Value::Rate(with.rate()),
            format!("without: {}", Value::Rate(without.rate()).shown()),
            Verdict::Info,
        );
        report.add(
            scenario,
            &format!("{label}: with / without"),
            Value::Ratio(ratio),
            "goal >= 0.90x",
            Verdict::from_goal(ratio >= 0.9),
        );
        for (which, run) in [("without", &without), ("with", &with)] {
            if run.errors > 0 {
                report.add(
                    scenario,
                    &format!("{label}: errors ({which})"),
                    Value::Count(run.errors as f64),
                    run.first_error.clone().unwrap_or_default(),
                    Verdict::Over,
                );
            }
        }
    }
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}
