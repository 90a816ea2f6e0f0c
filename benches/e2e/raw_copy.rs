//! The baseline of the client scenarios: a minimal program that copies a
//! socket to its standard output. It is this bench itself, started again with
//! the hidden `--raw-copy ADDR` flag.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{accept, Proc};
use testkit::procfs;

/// The raw copy itself: connects to `addr` and copies every byte to standard
/// output, one `write` per `read`, until the connection ends. With `big_pipe`,
/// its output pipe first gets the buffer the client gives its own
/// (`enlarge_pipe`); without, it keeps the system's default.
pub fn copy_to_stdout(addr: SocketAddr, big_pipe: bool) -> io::Result<()> {
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

/// Sends `payload` to a raw-copy process; returns the time until all of it
/// came out of the pipe, and the CPU time the copier used meanwhile (ns).
pub fn run(payload: &[u8], big_pipe: bool) -> io::Result<(Duration, u64)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--raw-copy").arg(addr.to_string());
    if big_pipe {
        command.arg("--big-pipe");
    }
    let mut copier = Proc::spawn(command)?;
    let mut conn = accept(&listener, Duration::from_secs(10))?;
    conn.set_write_timeout(Some(Duration::from_secs(60)))?;
    let cpu0 = procfs::cpu_ns(copier.pid())?;
    let t0 = Instant::now();
    conn.write_all(payload)?;
    let t1 = copier
        .out
        .wait_bytes(payload.len() as u64, Duration::from_secs(120))?;
    let cpu_ns = procfs::cpu_ns(copier.pid())?.saturating_sub(cpu0);
    drop(conn);
    copier.finish(false)?;
    Ok((t1 - t0, cpu_ns))
}
