//! The rich flood scenario: `chat` in rich mode (rustyline, its external
//! printer) in a pseudo-terminal, logged in to a scripted server inside this
//! process, which sends it a flood of small messages; the baseline is the
//! raw copy writing the same visible lines into a pseudo-terminal of its
//! own. Both terminals are read here as fast as they come.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use chat::client::text::message_from;
use nix::pty::{openpty, Winsize};

use crate::process::accept;
use crate::report::{bytes, median, ms, thousands, Figures, Value, Verdict};
use crate::Args;
use testkit::{delivery_lines, procfs, BODY64, SENDER};

/// A child whose terminal is a pseudo-terminal read here: how many lines of
/// the flood (their 64-byte bodies) have come out, and whether the prompt
/// has.
struct OnPty {
    child: Child,
    rx: mpsc::Receiver<(u64, bool, Instant)>,
    bodies: u64,
    prompt: bool,
    last: Instant,
}

impl OnPty {
    fn spawn(mut command: Command) -> io::Result<OnPty> {
        let size = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).map_err(io::Error::from)?;
        let slave = File::from(pty.slave);
        command
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        let child = command.spawn()?;
        let (tx, rx) = mpsc::channel();
        let master = File::from(pty.master);
        thread::spawn(move || count(master, &tx));
        Ok(OnPty {
            child,
            rx,
            bodies: 0,
            prompt: false,
            last: Instant::now(),
        })
    }

    /// Waits until `done` holds; returns when the last output came.
    fn wait(&mut self, what: &str, done: impl Fn(&OnPty) -> bool) -> io::Result<Instant> {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((bodies, prompt, at)) => {
                    (self.bodies, self.last) = (bodies, at);
                    self.prompt |= prompt;
                }
                Err(_) => {
                    return Err(io::Error::other(format!(
                        "waiting for {what}: {} lines came",
                        self.bodies
                    )))
                }
            }
        }
        Ok(self.last)
    }
}

impl Drop for OnPty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the terminal until it closes, counting the flood's bodies and
/// looking for the prompt (`alice>`), which may be cut across reads.
fn count(mut master: File, tx: &mpsc::Sender<(u64, bool, Instant)>) {
    let mut buf = vec![0; 256 * 1024];
    let keep = BODY64.len() - 1;
    let mut tail: Vec<u8> = Vec::new();
    let mut bodies = 0u64;
    loop {
        let n = match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = Instant::now();
        tail.extend_from_slice(&buf[..n]);
        bodies += memchr::memmem::find_iter(&tail, BODY64).count() as u64;
        let prompt = memchr::memmem::find(&tail, b"alice>").is_some();
        let cut = tail.len().saturating_sub(keep);
        tail.drain(..cut);
        let _ = tx.send((bodies, prompt, now));
    }
}

/// `chat` in rich mode, with its files in a folder of its own, no colour,
/// logging in as alice to 127.0.0.1:`port`.
fn rich_client(args: &Args, port: u16, home: &std::path::Path) -> Command {
    let mut command = Command::new(args.chat_binary());
    command
        .args(["--address", "127.0.0.1", "--port", &port.to_string()])
        .args(["--name", "alice", "--no-history"])
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    command
}

/// What one run of the client measured.
struct Run {
    time: Duration,
    hwm: u64,
    cpu_ns: u64,
}

fn client_run(args: &Args, payload: &[u8], lines: u64) -> io::Result<Run> {
    let home = std::env::temp_dir().join(format!("chat-e2e-rich-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut client = OnPty::spawn(rich_client(args, port, &home))?;
    let mut conn = accept(&listener, Duration::from_secs(10))?;
    conn.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut hello = [0u8; 64];
    let _ = conn.read(&mut hello)?;
    conn.write_all(b"HELLO alice\n")?;
    client.wait("the prompt", |c| c.prompt)?;
    let pid = client.child.id();
    let cpu0 = procfs::cpu_ns(pid)?;
    let t0 = Instant::now();
    conn.write_all(payload)?;
    let t1 = client.wait("the flood", |c| c.bodies >= lines)?;
    let cpu_ns = procfs::cpu_ns(pid)?.saturating_sub(cpu0);
    let hwm = procfs::status_kib(pid, "VmHWM")? * 1024;
    drop(client);
    drop(conn);
    let _ = std::fs::remove_dir_all(&home);
    Ok(Run {
        time: t1 - t0,
        hwm,
        cpu_ns,
    })
}

/// The raw copy into a pseudo-terminal: the time until `payload`'s `lines`
/// lines have come out.
fn raw_run(payload: &[u8], lines: u64) -> io::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--raw-copy").arg(addr.to_string());
    let mut copier = OnPty::spawn(command)?;
    let mut conn: TcpStream = accept(&listener, Duration::from_secs(10))?;
    conn.set_write_timeout(Some(Duration::from_secs(60)))?;
    let t0 = Instant::now();
    conn.write_all(payload)?;
    let t1 = copier.wait("the raw copy", |c| c.bodies >= lines)?;
    Ok(t1 - t0)
}

pub fn rich_flood(args: &Args, figures: &mut Figures<'_>) -> io::Result<()> {
    let n = args.flood_lines;
    let payload = delivery_lines(n);
    let line = message_from(&SENDER.into(), &"".into()).to_string();
    let visible = [line.as_bytes(), BODY64, b"\n"].concat().repeat(n);
    let runs = args.repeat.max(1);
    let (mut client, mut raw, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    let mut hwm = 0;
    for _ in 0..runs {
        let run = client_run(args, &payload, n as u64)?;
        client.push(ms(run.time));
        cpu.push(run.cpu_ns as f64 / 1e6);
        hwm = hwm.max(run.hwm);
        raw.push(ms(raw_run(&visible, n as u64)?));
    }
    let (client, raw, cpu) = (median(&mut client), median(&mut raw), median(&mut cpu));
    figures.add(
        &format!(
            "rich client: {} lines into a pty (median of {runs})",
            thousands(n as f64)
        ),
        Value::Ms(client),
        format!(
            "raw copy into a pty {} ({} shown)",
            Value::Ms(raw).shown(),
            bytes(visible.len() as f64)
        ),
        Verdict::Info,
    );
    figures.add(
        "rich client / raw copy",
        Value::Ratio(client / raw),
        "goal <= 1.10x",
        Verdict::from_goal(client / raw <= 1.1),
    );
    figures.add(
        "rich client peak memory (VmHWM)",
        Value::Bytes(hwm as f64),
        format!("CPU {}", Value::Ms(cpu).shown()),
        Verdict::Info,
    );
    // One huge message (`--huge-mb`): what it costs in memory, as a
    // multiple of its size (it is read once, and styled once for the
    // terminal).
    let size = args.huge_mb.max(1) * 1_000_000;
    let mut huge = format!("DELIVERY {SENDER} ").into_bytes();
    huge.resize(huge.len() + size - BODY64.len(), b'x');
    huge.extend_from_slice(BODY64);
    huge.push(b'\n');
    let run = client_run(args, &huge, 1)?;
    let factor = run.hwm as f64 / size as f64;
    figures.add(
        &format!(
            "rich client peak memory for one {} MB message",
            size / 1_000_000
        ),
        Value::Bytes(run.hwm as f64),
        format!("{factor:.2}x the message; goal <= 2.2x"),
        Verdict::from_goal(factor <= 2.2),
    );
    Ok(())
}
