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
//! next to its goal, with a verdict (`ok` / `over`).
//!
//! Client scenarios ([`client_scenarios`]) run the bench-profile `chat`
//! binary in plain mode against a scripted server inside this process, with
//! its standard output on a pipe that is read and counted here
//! ([`process`]); their baseline is a raw socket-to-pipe copy ([`raw_copy`]).
//! The rich flood runs `chat` in rich mode in a pseudo-terminal, against the
//! raw copy into one ([`rich_flood`]).
//! Server scenarios ([`server_scenarios`], [`throughput`]) start `chat-server
//! --port 0 --quiet` ([`testkit::ServerProcess`]) or aim at `--target ADDR:PORT`, and drive it
//! with many protocol connections from a tokio runtime in this process
//! ([`load`]). Memory and CPU time come from /proc ([`testkit::procfs`]); the figures
//! are shown as a table and written as JSON by [`report`].
//!
//! All traffic stays on the addresses given (127.0.0.1 by default); every loop
//! is bounded by a count and a deadline.

mod client_scenarios;
mod load;
mod naive_relay;
mod process;
mod raw_copy;
mod report;
mod rich_flood;
mod server_scenarios;
mod stress_scenarios;
mod throughput;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};

use report::{Figures, Machine, Report, Value, Verdict};

/// End-to-end benchmarks of chat and chat-server.
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
    /// small one is a tenth of it. The rich-flood scenario sends one too.
    #[arg(long, value_name = "MB", default_value_t = 100)]
    huge_mb: usize,

    /// Clients logged in at once in the connections scenario.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    connections: usize,

    /// Length of the idle, throughput and fan-in measurements.
    #[arg(long, value_name = "S", default_value_t = 10)]
    seconds: u64,

    /// Users whose queues fill in the burst scenario.
    #[arg(long, value_name = "N", default_value_t = 20)]
    burst_users: usize,

    /// MiB queued for each of them in the burst scenario.
    #[arg(long, value_name = "MIB", default_value_t = 60)]
    burst_mb: usize,

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

    /// Pass this flag to the chat-server the server scenarios start (repeat
    /// for several; for example --server-arg=--threads=1).
    #[arg(long = "server-arg", value_name = "FLAG", allow_hyphen_values = true)]
    server_args: Vec<String>,

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

    /// Internal: be the naive relay (the throughput scenario's baseline).
    #[arg(long, hide = true)]
    naive_relay: bool,

    /// Benchmark name filters passed by `cargo bench NAME`; ignored.
    #[arg(hide = true)]
    filters: Vec<String>,
}

impl Args {
    /// The client binary the client scenarios run: `--chat`, or the one built
    /// with the bench.
    fn chat_binary(&self) -> &Path {
        self.chat
            .as_deref()
            .unwrap_or(Path::new(env!("CARGO_BIN_EXE_chat")))
    }

    /// The scenarios asked for, in the order they are declared (all of them
    /// when none is named).
    fn scenarios(&self) -> impl Iterator<Item = Scenario> + '_ {
        Scenario::value_variants()
            .iter()
            .copied()
            .filter(|s| self.scenarios.is_empty() || self.scenarios.contains(s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Client: 500,000 small DELIVERY lines, against a raw socket-to-pipe copy.
    Flood,
    /// Client in rich mode: the same flood into a pseudo-terminal, against a
    /// raw copy of the same visible lines into one.
    RichFlood,
    /// Client: one 10 MB and one 100 MB message; time and peak memory.
    Huge,
    /// Client: CPU time used while logged in and idle.
    Idle,
    /// Client: time from start to the welcome line (binary and client.py).
    Startup,
    /// Server: resident memory per logged-in connection.
    Connections,
    /// Server: messages/s, CPU per message and latency with sender/receiver
    /// pairs, against a naive relay.
    Throughput,
    /// Server: throughput with and without one extra pair whose receiver reads slowly.
    Fanin,
    /// Server: resident memory at rest, with twenty full queues, and after.
    Burst,
    /// Server: the pairs' service while clients flood the server with LIST.
    RequestFlood,
}

impl Scenario {
    /// The name given to `--scenario` and shown in the report.
    fn name(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }

    fn run(self, args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
        match self {
            Scenario::Flood => client_scenarios::flood(args, figures),
            Scenario::RichFlood => rich_flood::rich_flood(args, figures),
            Scenario::Huge => client_scenarios::huge(args, figures),
            Scenario::Idle => client_scenarios::idle(args, figures),
            Scenario::Startup => client_scenarios::startup(args, figures),
            Scenario::Connections => server_scenarios::connections(args, figures),
            Scenario::Throughput => throughput::throughput(args, figures),
            Scenario::Fanin => server_scenarios::fanin(args, figures),
            Scenario::Burst => stress_scenarios::burst(args, figures),
            Scenario::RequestFlood => stress_scenarios::request_flood(args, figures),
        }
    }
}

fn main() -> ExitCode {
    let args: Args = match chat::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    if args.naive_relay {
        return match naive_relay::serve() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("naive relay: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(addr) = args.raw_copy {
        return match raw_copy::copy_to_stdout(addr, args.big_pipe) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("raw copy: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("e2e: cannot raise the open-file limit: {err}");
    }
    let machine = Machine::read(args.chat_binary());
    println!("{}", machine.describe());
    let started = Instant::now();
    let mut report = Report::default();
    for scenario in args.scenarios() {
        run_scenario(scenario, &args, &mut report);
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
    if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs one scenario; a failure becomes a row of the report.
fn run_scenario(scenario: Scenario, args: &Args, report: &mut Report) {
    let name = scenario.name();
    eprintln!("e2e: running {name} ...");
    let began = Instant::now();
    let mut figures = report.scenario(&name);
    if let Err(err) = scenario.run(args, &mut figures) {
        figures.add("failed", Value::Text(err.to_string()), "", Verdict::Error);
    }
    eprintln!("e2e: {name} took {:.1} s", began.elapsed().as_secs_f64());
}
