//! What the tests and the end-to-end bench read about a process from /proc
//! (Linux): its memory and its CPU time.

use std::io;

/// A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), in KiB.
pub fn status_kib(pid: u32, field: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .ok_or_else(|| io::Error::other(format!("no {field} in /proc/{pid}/status")))
}

/// utime and stime of a process: its time on CPU in user space and in the
/// kernel, in ticks (/proc/<pid>/stat fields 14 and 15).
pub fn user_and_system_ticks(pid: u32) -> io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let malformed = || io::Error::other("malformed /proc/<pid>/stat");
    // The command name (field 2) may contain spaces; it ends at the last ')'.
    let (_, rest) = stat.rsplit_once(')').ok_or_else(malformed)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    let num = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(malformed)
    };
    Ok((num(11)?, num(12)?))
}

/// utime + stime of a process, in ticks.
pub fn cpu_ticks(pid: u32) -> io::Result<u64> {
    let (user, system) = user_and_system_ticks(pid)?;
    Ok(user + system)
}

/// Nanoseconds on CPU of all the threads of a process (/proc/<pid>/task/*/schedstat),
/// which is far finer than the 10 ms ticks of utime + stime.
pub fn cpu_ns(pid: u32) -> io::Result<u64> {
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
