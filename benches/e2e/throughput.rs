//! The `throughput` scenario: sender/receiver pairs in a closed loop against
//! the naive relay ([`naive_relay`]) and the local chat-server (or
//! `--target`), in alternating rounds: messages per second, the server's CPU
//! per message (and how much of it is in the kernel), and latency.

use std::io;
use std::time::Duration;

use crate::load::{run_pairs_blocking, PairRun};
use crate::naive_relay;
use crate::report::{Figures, Value, Verdict};
use crate::server_scenarios::{
    report_errors, runtime, servers_for_pairs, warm_up, ServerUnderTest,
};
use crate::Args;
use testkit::procfs;

/// The latency percentiles the throughput scenario shows.
const PERCENTILES: [(&str, f64); 3] = [("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999)];

/// The throughput scenario's figures for one server.
struct Speed {
    rate: f64,
    /// At [`PERCENTILES`], in microseconds.
    latencies_us: [f64; 3],
    /// The server's CPU time per message delivered, in microseconds, in all
    /// and in each round (when its process id is known).
    cpu_us: Option<f64>,
    rounds_cpu_us: Vec<f64>,
    /// The share of that time spent in the kernel.
    kernel_share: Option<f64>,
    lost: u64,
}

/// CPU time a server used: in all, in nanoseconds (precise), and split into
/// user and kernel ticks (coarse: the split is only a share of the total).
#[derive(Debug, Default, Clone, Copy)]
struct CpuUse {
    ns: u64,
    user_ticks: u64,
    system_ticks: u64,
}

impl CpuUse {
    fn of(pid: u32) -> io::Result<CpuUse> {
        let (user_ticks, system_ticks) = procfs::user_and_system_ticks(pid)?;
        Ok(CpuUse {
            ns: procfs::cpu_ns(pid)?,
            user_ticks,
            system_ticks,
        })
    }

    /// What was used between `before` and `self`.
    fn since(self, before: CpuUse) -> CpuUse {
        CpuUse {
            ns: self.ns.saturating_sub(before.ns),
            user_ticks: self.user_ticks.saturating_sub(before.user_ticks),
            system_ticks: self.system_ticks.saturating_sub(before.system_ticks),
        }
    }

    fn add(&mut self, other: CpuUse) {
        self.ns += other.ns;
        self.user_ticks += other.user_ticks;
        self.system_ticks += other.system_ticks;
    }

    fn kernel_share(&self) -> Option<f64> {
        let ticks = self.user_ticks + self.system_ticks;
        (ticks > 0).then(|| self.system_ticks as f64 / ticks as f64)
    }
}

/// One server's share of [`alternate`]: its runs together, and the CPU it
/// used in each round with the deliveries of that round (when its process id
/// is known).
struct Measured {
    run: PairRun,
    rounds: Option<Vec<(CpuUse, u64)>>,
}

/// Runs the pairs against every server in `list` in turn, in windows of a
/// quarter of the length each, the order reversed every other round (A B,
/// B A, A B, B A), so that a drift in the machine's speed counts alike on
/// all sides.
fn alternate(
    rt: &tokio::runtime::Runtime,
    list: &[ServerUnderTest],
    args: &Args,
) -> io::Result<Vec<Measured>> {
    let quarter = Duration::from_secs_f64(args.seconds as f64 / 4.0);
    let mut measured: Vec<Measured> = list
        .iter()
        .map(|server| Measured {
            run: PairRun::default(),
            rounds: server.pid(args).map(|_| Vec::new()),
        })
        .collect();
    for round in 0..4 {
        let mut order: Vec<usize> = (0..list.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let pid = list[i].pid(args);
            let before = pid.map(CpuUse::of).transpose()?;
            let run = run_pairs_blocking(rt, list[i].addr(), args.pairs, quarter, false)?;
            let after = pid.map(CpuUse::of).transpose()?;
            if let (Some(rounds), Some(before), Some(after)) =
                (&mut measured[i].rounds, before, after)
            {
                rounds.push((after.since(before), run.received));
            }
            measured[i].run.absorb(run);
        }
    }
    Ok(measured)
}

impl Speed {
    fn of(measured: &mut Measured) -> Speed {
        let Measured { run, rounds } = measured;
        let per_message =
            |cpu: &CpuUse, received: u64| cpu.ns as f64 / 1000.0 / received.max(1) as f64;
        let total = rounds.as_ref().map(|rounds| {
            rounds
                .iter()
                .fold(CpuUse::default(), |mut total, (cpu, _)| {
                    total.add(*cpu);
                    total
                })
        });
        Speed {
            rate: run.rate(),
            latencies_us: PERCENTILES.map(|(_, p)| run.percentile_us(p)),
            cpu_us: total.map(|cpu| per_message(&cpu, run.received)),
            rounds_cpu_us: rounds
                .iter()
                .flatten()
                .map(|(cpu, received)| per_message(cpu, *received))
                .collect(),
            kernel_share: total.and_then(|cpu| cpu.kernel_share()),
            lost: run.lost,
        }
    }
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
    let measured = alternate(&rt, &list, args)?;
    let mut baseline: Option<(String, Speed)> = None;
    for (server, mut measured) in list.iter().zip(measured) {
        let speed = Speed::of(&mut measured);
        let label = server.label();
        let shown = baseline
            .as_ref()
            .map(|(name, speed)| (name.as_str(), speed));
        report_throughput(figures, args, &label, &speed, shown);
        report_errors(figures, &format!("{label}: errors"), &measured.run);
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
    if let Some(share) = speed.kernel_share {
        figures.add(
            &format!("{label}: of it in the kernel"),
            Value::Text(format!("{:.0}%", share * 100.0)),
            match baseline.and_then(|(name, b)| Some((name, b.kernel_share?))) {
                Some((name, b)) => format!("{name}: {:.0}%", b * 100.0),
                None => String::new(),
            },
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
        // The rounds side by side (each server ran once in each), to show
        // how far the machine's noise moves the figure.
        let by_round: Vec<f64> = ours
            .rounds_cpu_us
            .iter()
            .zip(&naive.rounds_cpu_us)
            .map(|(a, b)| a / b)
            .collect();
        let least = by_round.iter().copied().fold(f64::INFINITY, f64::min);
        let most = by_round.iter().copied().fold(0.0, f64::max);
        figures.add(
            "chat-server / naive relay: CPU per message",
            Value::Ratio(cpu),
            format!("goal <= 1.00x; rounds {least:.2}x to {most:.2}x"),
            Verdict::from_goal(cpu <= 1.0),
        );
    }
}
