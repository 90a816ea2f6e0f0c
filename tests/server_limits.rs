//! The server's limits against hostile or broken clients: silent connections,
//! endless lines, and one address holding many connections that never log in.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chat::server::Config;
use common::{start_server, Client, ServerProcess, TIMEOUT};

/// Resident memory of the server process, in KiB.
fn server_rss_kib(server: &ServerProcess) -> u64 {
    let kib = common::rss_kib(server.child.id());
    assert!(kib > 0, "cannot read the server's memory");
    kib
}

/// Waits until the server closes `stream`; returns how long that took.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return started.elapsed(),
            Err(e) => panic!("not closed after {:?}: {e}", started.elapsed()),
        }
    }
}

#[test]
fn the_default_limits() {
    let config = Config::default();
    assert_eq!(config.login_timeout, Some(Duration::from_secs(60)));
    assert_eq!(config.max_pending_per_address, 64);
}

#[test]
fn a_connection_that_does_not_log_in_in_time_is_closed() {
    let server = start_server(&["--login-timeout", "1"]);
    let mut silent = TcpStream::connect(server.addr()).unwrap();
    let mut half = TcpStream::connect(server.addr()).unwrap();
    half.write_all(b"HELLO-FROM ali").unwrap();
    let mut on_time = Client::login(&server, "alice");

    let waited = closed_within(&mut silent, TIMEOUT);
    assert!(
        waited >= Duration::from_millis(800),
        "closed too early: {waited:?}"
    );
    closed_within(&mut half, TIMEOUT);

    // Logging in in time ends the clock.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(on_time.list(), "LIST-OK echobot,delaybot,alice");
}

#[test]
fn login_timeout_zero_waits_for_ever() {
    let server = start_server(&["--login-timeout", "0"]);
    let mut slow = TcpStream::connect(server.addr()).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = [0u8; 8];
    let err = slow.read(&mut buf).unwrap_err();
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
}

#[test]
fn an_endless_first_line_is_refused_without_being_stored() {
    let server = start_server(&[]);
    let before = server_rss_kib(&server);
    let mut c = Client::connect(&server);
    // Far more than a handshake needs, with no newline: refused at 1 KiB.
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < 8 * 1024 * 1024 {
        if c.writer.write(&chunk).is_err() {
            break; // the server has closed: no need to send the rest
        }
        sent += chunk.len();
    }
    assert_eq!(c.line(), "BAD-RQST-BODY");
    let grown = server_rss_kib(&server).saturating_sub(before);
    assert!(grown < 4 * 1024, "the server grew by {grown} KiB");
}

#[test]
fn an_endless_line_after_login_is_answered_and_skipped_in_bounded_memory() {
    let server = start_server(&["--max-line-bytes", "1000"]);
    let mut c = Client::login(&server, "alice");
    let before = server_rss_kib(&server);
    let chunk = vec![b'x'; 256 * 1024];
    for _ in 0..256 {
        c.writer.write_all(&chunk).unwrap(); // 64 MiB without a newline
    }
    c.send("\nLIST\n");
    assert_eq!(c.line(), "BAD-RQST-BODY");
    assert_eq!(c.line(), "LIST-OK echobot,delaybot,alice");
    let grown = server_rss_kib(&server).saturating_sub(before);
    assert!(grown < 8 * 1024, "the server grew by {grown} KiB");
}

#[test]
fn one_address_cannot_hold_many_connections_that_do_not_log_in() {
    let server = start_server(&["--max-pending-per-address", "3"]);
    let mut idle: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    // Give the server time to count them.
    std::thread::sleep(Duration::from_millis(200));
    let mut fourth = TcpStream::connect(server.addr()).unwrap();
    closed_within(&mut fourth, TIMEOUT);

    // A connection that logs in stops counting, and makes room.
    idle[0].write_all(b"HELLO-FROM first\n").unwrap();
    let mut buf = [0u8; 16];
    let n = idle[0].read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"HELLO first\n");
    let mut fifth = Client::login(&server, "fifth");
    assert_eq!(fifth.list(), "LIST-OK echobot,delaybot,first,fifth");

    // Closing an idle one makes room too.
    drop(idle.pop());
    std::thread::sleep(Duration::from_millis(200));
    Client::login(&server, "sixth");
}
