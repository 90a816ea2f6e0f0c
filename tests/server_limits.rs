//! The server's limits against hostile or broken clients: silent connections,
//! endless lines, connections that never log in, clients that do not read
//! their replies, recipients that do not read, and a log nobody reads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Stdio;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chat::server::Config;
use testkit::{start_server, start_server_with, Client, ServerProcess, TIMEOUT};

/// Resident memory of the server process, in KiB.
fn server_rss_kib(server: &ServerProcess) -> u64 {
    let kib = testkit::rss_kib(server.child.id());
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

/// Sends `bytes` from a thread of its own (the server may stop reading them).
fn send_in_background(client: &Client, bytes: Vec<u8>) -> JoinHandle<bool> {
    let mut writer = client.writer.try_clone().unwrap();
    std::thread::spawn(move || testkit::try_send(&mut writer, &bytes))
}

const MIB: u64 = 1024;

#[test]
fn the_default_limits() {
    let config = Config::default();
    assert_eq!(config.login_timeout, Some(Duration::from_secs(60)));
    assert_eq!(config.max_pending, 1024);
    assert_eq!(config.max_pending_per_address, 64);
    assert_eq!(config.stall_timeout, Duration::from_secs(10));
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

#[tokio::test]
async fn connections_not_logged_in_are_capped_over_all_addresses() {
    let server = start_server(&["--max-pending", "3", "--max-pending-per-address", "0"]);
    let addr = server.addr();
    let connect_from = |source: &str| {
        let source: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
        async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind(source).unwrap();
            socket.connect(addr).await.unwrap()
        }
    };
    let mut idle = Vec::new();
    for i in 2..=4 {
        idle.push(connect_from(&format!("127.0.0.{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A fourth, from yet another address, is closed at once.
    let fourth = connect_from("127.0.0.5").await;
    let mut fourth = fourth.into_std().unwrap();
    fourth.set_nonblocking(false).unwrap();
    tokio::task::spawn_blocking(move || closed_within(&mut fourth, TIMEOUT))
        .await
        .unwrap();
    // One closing makes room for another.
    drop(idle.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sixth = connect_from("127.0.0.6").await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    sixth.write_all(b"HELLO-FROM sixth\n").await.unwrap();
    let mut hello = [0u8; 12];
    sixth.read_exact(&mut hello).await.unwrap();
    assert_eq!(&hello, b"HELLO sixth\n");
}

// ---- replies a client does not read -----------------------------------------

#[test]
fn replies_a_client_does_not_read_cost_little_memory() {
    let server = start_server(&[]);
    let before = server_rss_kib(&server);
    // Four clients that send and never read: 5.2 MB of empty lines (5.2
    // million BAD-RQST-HDR replies, if the server read them all), LIST (which
    // answers more than it is asked), and messages to the bots.
    let floods: [(&str, &[u8], usize); 4] = [
        ("empty", b"\n", 5_200_000),
        ("lister", b"LIST\n", 1_000_000),
        ("echoer", b"SEND echobot x\n", 400_000),
        ("delayer", b"SEND delaybot x\n", 400_000),
    ];
    let mut clients = Vec::new();
    for (name, line, count) in floods {
        let client = Client::login(&server, name);
        send_in_background(&client, line.repeat(count));
        clients.push(client);
    }
    std::thread::sleep(Duration::from_secs(3));
    let grown = server_rss_kib(&server).saturating_sub(before);
    eprintln!("four clients that do not read their replies: the server grew by {grown} KiB");
    assert!(grown < 16 * MIB, "the server grew by {grown} KiB");
    // Nobody else is slowed down.
    let mut other = Client::login(&server, "other");
    other.send("SEND other hi\n");
    assert_eq!(other.line(), "SEND-OK");
    assert_eq!(other.line(), "DELIVERY other hi");
}

#[test]
fn a_full_queue_holds_about_the_memory_it_counts() {
    const LIMIT: u64 = 8 * 1024 * 1024;
    let server = start_server(&[
        "--max-queue-bytes",
        &LIMIT.to_string(),
        "--stall-timeout",
        "120",
    ]);
    let _sink = Client::login(&server, "sink"); // never reads
    let mut alice = Client::login(&server, "alice");
    let before = server_rss_kib(&server);
    // Small messages, 26 bytes each as delivered: more than the limit and
    // what the sockets between server and sink hold.
    let delivered = b"DELIVERY alice 0123456789\n".len() as u64;
    let count = 4 * LIMIT / delivered;
    send_in_background(&alice, b"SEND sink 0123456789\n".repeat(count as usize));
    // Read SEND-OKs until they stop: the server waits for room at the sink.
    alice
        .reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut oks = 0u64;
    let mut line = Vec::new();
    while alice
        .reader
        .read_until(b'\n', &mut line)
        .is_ok_and(|n| n > 0)
    {
        assert_eq!(line, b"SEND-OK\n");
        line.clear();
        oks += 1;
    }
    assert!(oks < count, "the sender was never held back");
    assert!(oks * delivered > LIMIT, "only {oks} messages");
    let grown = server_rss_kib(&server).saturating_sub(before);
    eprintln!("{oks} messages queued, the server grew by {grown} KiB for a limit of {LIMIT} B");
    assert!(
        grown * 1024 <= LIMIT * 12 / 10 + 1024 * 1024,
        "the server grew by {grown} KiB for a limit of {LIMIT} B"
    );
}

// ---- recipients that read, and do not -------------------------------------

#[test]
fn a_reader_at_full_speed_is_never_cut_off_by_delaybot() {
    let server = start_server(&[]);
    let mut alice = Client::login(&server, "alice");
    let body = "d".repeat(8 * 1024 * 1024);
    let request = format!("SEND delaybot {body}\n").repeat(5).into_bytes();
    let sender = send_in_background(&alice, request);
    alice
        .reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let echo = format!("DELIVERY delaybot {body}");
    for i in 0..5 {
        assert_eq!(alice.line(), "SEND-OK", "message {i}");
        assert!(alice.line_bytes() == echo.as_bytes(), "first echo of {i}");
        assert!(alice.line_bytes() == echo.as_bytes(), "second echo of {i}");
    }
    assert!(sender.join().unwrap());
    assert_eq!(alice.list(), "LIST-OK echobot,delaybot,alice");
}

#[test]
fn after_end_of_input_every_request_is_answered_and_everything_owed_delivered() {
    let server = start_server(&[]);
    let mut alice = Client::connect(&server);
    let mut requests = String::from("HELLO-FROM alice\n");
    let mut answers = Vec::new();
    for i in 0..8 {
        requests += &format!("SEND delaybot message {i}\n");
        let answer = format!("DELIVERY delaybot message {i}");
        answers.extend([answer.clone(), answer]);
    }
    alice.send(&requests);
    alice.writer.shutdown(Shutdown::Write).unwrap();
    alice
        .reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut got = String::new();
    alice.reader.read_to_string(&mut got).unwrap();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "HELLO alice");
    // Every SEND-OK, each before its answer (delaybot's answers wait for the
    // replies read with them), and every answer whole, in order.
    let oks: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i] == "SEND-OK")
        .collect();
    assert_eq!(oks.len(), 8, "{got}");
    for (i, ok) in oks.into_iter().enumerate() {
        let answer = format!("DELIVERY delaybot message {i}");
        assert!(lines[..ok].iter().all(|line| *line != answer), "{got}");
    }
    let delivered: Vec<&str> = lines[1..]
        .iter()
        .copied()
        .filter(|line| *line != "SEND-OK")
        .collect();
    assert_eq!(delivered, answers, "{got}");
    assert!(got.ends_with('\n'));
    // The name is free once the connection is closed.
    Client::login(&server, "alice");
}

#[test]
fn a_recipient_that_does_not_read_is_dropped_after_the_stall_time() {
    let server = start_server(&["--max-queue-bytes", "1000000", "--stall-timeout", "1"]);
    let _slow = Client::login(&server, "slow"); // never reads
    let mut alice = Client::login(&server, "alice");
    let message = format!("SEND slow {}\n", "s".repeat(100_000));
    let started = Instant::now();
    loop {
        alice.send(&message);
        match alice.line().as_str() {
            "SEND-OK" => {}
            "BAD-DEST-USER" => break,
            other => panic!("unexpected reply {other:?}"),
        }
        assert!(started.elapsed() < TIMEOUT, "never dropped");
    }
    assert_eq!(alice.list(), "LIST-OK echobot,delaybot,alice");
}

// ---- the log -----------------------------------------------------------------

#[test]
fn a_log_nobody_reads_never_holds_up_the_server() {
    let mut server = start_server_with(&[], Stdio::piped());
    // Each connection logs two lines: far more than the pipe and the log's
    // own buffer hold.
    let addr = server.addr();
    for i in 0..8000 {
        let connected = TcpStream::connect_timeout(&addr, TIMEOUT);
        assert!(connected.is_ok(), "connection {i} was not accepted");
    }
    let mut alice = Client::login(&server, "alice");
    alice.send("SEND alice hi\n");
    assert_eq!(alice.line(), "SEND-OK");
    assert_eq!(alice.line(), "DELIVERY alice hi");
    // Once the log is read again, it says how many lines it dropped.
    let stderr = server.child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains("log lines dropped") {
                let _ = tx.send(line);
                break;
            }
        }
    });
    let said = rx.recv_timeout(Duration::from_secs(30));
    assert!(said.is_ok(), "dropped lines were not reported");
}
