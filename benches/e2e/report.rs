//! The figures the scenarios measure: each shown as it comes (on stderr), and
//! at the end as one table and, on request, as JSON. Also the machine they were
//! measured on, and the small statistics the scenarios share.

use std::fmt::Write as _;
use std::path::Path;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a figure compares with its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Over,
    /// A figure without a goal.
    Info,
    Skipped,
    Error,
}

impl Verdict {
    pub fn from_goal(met: bool) -> Verdict {
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

/// A measured value, with its unit.
#[derive(Debug, Clone)]
pub enum Value {
    Ms(f64),
    Us(f64),
    /// Microseconds with two decimals (CPU time per message).
    Us2(f64),
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
            Value::Us(v) | Value::Us2(v) => Some((v, "us")),
            Value::Bytes(v) => Some((v, "bytes")),
            Value::Rate(v) => Some((v, "per s")),
            Value::Ratio(v) => Some((v, "x")),
            Value::Count(v) => Some((v, "")),
            Value::Text(_) => None,
        }
    }

    /// The value as the table shows it.
    pub fn shown(&self) -> String {
        match self {
            Value::Ms(v) if *v >= 10_000.0 => format!("{:.1} s", v / 1000.0),
            Value::Ms(v) if *v >= 100.0 => format!("{v:.0} ms"),
            Value::Ms(v) if *v >= 10.0 => format!("{v:.1} ms"),
            Value::Ms(v) => format!("{v:.2} ms"),
            Value::Us(v) if *v >= 10_000.0 => format!("{:.1} ms", v / 1000.0),
            Value::Us(v) => format!("{v:.0} us"),
            Value::Us2(v) => format!("{v:.2} us"),
            Value::Bytes(v) => bytes(*v),
            Value::Rate(v) => format!("{}/s", thousands(*v)),
            Value::Ratio(v) => format!("{v:.2}x"),
            Value::Count(v) => thousands(*v),
            Value::Text(t) => t.clone(),
        }
    }
}

/// A size in B, KiB or MiB.
pub fn bytes(v: f64) -> String {
    if v >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", v / (1024.0 * 1024.0))
    } else if v >= 1024.0 {
        format!("{:.1} KiB", v / 1024.0)
    } else {
        format!("{v:.0} B")
    }
}

/// A whole number with thousands separators: `1,234,567`.
pub fn thousands(v: f64) -> String {
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

/// Every figure of the run.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
}

/// The figures of one scenario, added to the report.
pub struct Figures<'a> {
    scenario: String,
    rows: &'a mut Vec<Row>,
}

impl Figures<'_> {
    /// Adds a figure, and shows it on stderr at once.
    pub fn add(
        &mut self,
        figure: &str,
        value: Value,
        baseline: impl Into<String>,
        verdict: Verdict,
    ) {
        let row = Row {
            scenario: self.scenario.clone(),
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
}

impl Report {
    /// Where the figures of `scenario` go.
    pub fn scenario(&mut self, scenario: &str) -> Figures<'_> {
        Figures {
            scenario: scenario.to_string(),
            rows: &mut self.rows,
        }
    }

    /// Whether a scenario failed.
    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Error)
    }

    /// A Markdown table (readable as plain text too).
    pub fn table(&self) -> String {
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

    pub fn json(&self, machine: &Machine) -> String {
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

/// `s` as a JSON string.
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

/// The machine the figures were measured on, and the client measured.
pub struct Machine {
    cores: usize,
    cpu: String,
    load: String,
    unix_time: u64,
    client: String,
}

impl Machine {
    pub fn read(client: &Path) -> Machine {
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
            client: client.display().to_string(),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "machine: {} cores ({}), load average at start {}; client: {}",
            self.cores, self.cpu, self.load, self.client
        )
    }
}

/// The median (NaN for no values).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
