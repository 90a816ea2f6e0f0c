//! When the server gives up on a connection that takes nothing: a client
//! that sends and never reads, readers that are slow but read, and a
//! recipient that vanishes while its senders wait for it.

use std::io::Read;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use testkit::{start_server, Client, ServerProcess, TIMEOUT};

/// A runtime for the socket options that only tokio offers here.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap()
}

/// Connects with a receive buffer of about `bytes` (as a slow link's kernel
/// would hold), and logs in as `name`.
fn login_with_receive_buffer(server: &ServerProcess, name: &str, bytes: u32) -> Client {
    let stream = runtime().block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        socket
            .connect(server.addr())
            .await
            .unwrap()
            .into_std()
            .unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut client = Client {
        writer: stream.try_clone().unwrap(),
        reader: std::io::BufReader::new(stream),
    };
    client.send(&format!("HELLO-FROM {name}\n"));
    assert_eq!(client.line(), format!("HELLO {name}"));
    client
}

/// Closes `client`'s connection with a reset (a zero linger), not a FIN.
fn reset(client: Client) {
    let runtime = runtime();
    let _entered = runtime.enter();
    let Client { reader, writer } = client;
    writer.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(writer).unwrap();
    stream.set_zero_linger().unwrap();
    drop(stream);
    drop(reader);
}

/// Sends `LIST` requests from a thread of its own until the connection
/// fails: far more replies than the sockets between them hold, so that
/// requests wait.
fn flood_with_lists(client: &Client) -> JoinHandle<()> {
    let mut writer = client.writer.try_clone().unwrap();
    std::thread::spawn(move || {
        let burst = b"LIST\n".repeat(10_000);
        while testkit::try_send(&mut writer, &burst) {}
    })
}

/// Logs in as `name` from a new connection until the name is free; returns
/// how long that took. Panics after `limit`.
fn log_in_once_free(server: &ServerProcess, name: &str, limit: Duration) -> (Client, Duration) {
    let started = Instant::now();
    loop {
        let mut again = Client::connect(server);
        again.send(&format!("HELLO-FROM {name}\n"));
        match again.line().as_str() {
            line if line == format!("HELLO {name}") => return (again, started.elapsed()),
            "IN-USE" => std::thread::sleep(Duration::from_millis(50)),
            other => panic!("unexpected reply {other:?}"),
        }
        assert!(
            started.elapsed() < limit,
            "{name} still taken after {limit:?}"
        );
    }
}

// ---- clients that never read ---------------------------------------------

#[test]
fn a_client_that_sends_and_never_reads_is_disconnected_after_the_stall_time() {
    let server = start_server(&["--stall-timeout", "1"]);
    let hog = Client::login(&server, "hog");
    let flood = flood_with_lists(&hog);
    // It never reads: once the sockets between them are full, its socket
    // takes nothing more, and its name is freed after the stall time.
    let (mut again, after) = log_in_once_free(&server, "hog", TIMEOUT);
    eprintln!("a client that never reads was disconnected after {after:?}");
    assert_eq!(again.list(), "LIST-OK echobot,delaybot,hog");
    let _ = hog.writer.shutdown(Shutdown::Both);
    flood.join().unwrap();
}

#[test]
fn a_client_that_never_reads_after_closing_its_sending_side_is_not_held() {
    let server = start_server(&["--stall-timeout", "1"]);
    let mut hog = Client::login(&server, "hog");
    hog.send_bytes(&b"LIST\n".repeat(400_000));
    hog.writer.shutdown(Shutdown::Write).unwrap();
    let (_again, after) = log_in_once_free(&server, "hog", TIMEOUT);
    eprintln!("disconnected after {after:?}");
}

// ---- readers that are slow, but read --------------------------------------

/// Reads from `client` at `rate` bytes per second, from a thread of its own,
/// until `stop`; returns whether the server closed the connection meanwhile,
/// and how much was read.
fn read_slowly(
    client: &Client,
    rate: usize,
    stop: Arc<AtomicBool>,
    read: Arc<AtomicUsize>,
) -> JoinHandle<bool> {
    let mut stream = client.reader.get_ref().try_clone().unwrap();
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut buf = vec![0u8; rate];
        while !stop.load(Ordering::Relaxed) {
            let due = (started.elapsed().as_secs_f64() * rate as f64) as usize;
            let behind = due.saturating_sub(read.load(Ordering::Relaxed));
            if behind == 0 {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            match stream.read(&mut buf[..behind.min(rate)]) {
                Ok(0) | Err(_) => return true,
                Ok(n) => {
                    read.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
        false
    })
}

/// A client that floods `LIST` and reads its replies at `rate` bytes per
/// second is kept for `seconds` (with the default stall time), its name
/// taken all along.
fn a_slow_reader_is_kept(client: Client, server: &ServerProcess, rate: usize, seconds: u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let read = Arc::new(AtomicUsize::new(0));
    let flood = flood_with_lists(&client);
    let reader = read_slowly(&client, rate, Arc::clone(&stop), Arc::clone(&read));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) && !reader.is_finished() {
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let closed = reader.join().unwrap();
    let read = read.load(Ordering::Relaxed);
    eprintln!("a reader at {rate} B/s read {read} bytes in {seconds} s");
    assert!(!closed, "cut off after {:?}", started.elapsed());
    let mut other = Client::connect(server);
    other.send("HELLO-FROM slow\n");
    assert_eq!(other.line(), "IN-USE");
    assert!(
        read >= rate * seconds as usize * 8 / 10,
        "read {read} bytes"
    );
    let _ = client.writer.shutdown(Shutdown::Both);
    flood.join().unwrap();
}

#[test]
fn a_reader_at_20_kb_per_second_with_requests_waiting_is_kept() {
    let server = start_server(&[]);
    let slow = Client::login(&server, "slow");
    a_slow_reader_is_kept(slow, &server, 20_000, 25);
}

#[test]
fn a_reader_at_1_kb_per_second_with_a_small_receive_buffer_is_kept() {
    let server = start_server(&[]);
    let slow = login_with_receive_buffer(&server, "slow", 2048);
    a_slow_reader_is_kept(slow, &server, 1_000, 25);
}
/// Messages [`flood_a_reader_at_full_speed`] sends.
const MESSAGES: usize = 3;

/// Sends [`MESSAGES`] messages of 12 MiB (three times the most a socket holds) from `sender` to `to`, and reads
/// them as fast as they come on `recipient`; returns how many arrived before
/// the server closed its connection.
fn flood_a_reader_at_full_speed(sender: &Client, to: &str, recipient: &mut Client) -> usize {
    let mut writer = sender.writer.try_clone().unwrap();
    let line = format!("SEND {to} {}\n", "w".repeat(12 << 20));
    let sending = std::thread::spawn(move || {
        for _ in 0..MESSAGES {
            if !testkit::try_send(&mut writer, line.as_bytes()) {
                break;
            }
        }
    });
    let mut got = 0;
    let mut buf = Vec::new();
    while got < MESSAGES {
        buf.clear();
        match std::io::BufRead::read_until(&mut recipient.reader, b'\n', &mut buf) {
            Ok(_) if buf.ends_with(b"\n") => got += 1,
            _ => break,
        }
    }
    sending.join().unwrap();
    got
}

#[test]
fn a_stall_time_of_0_cuts_off_even_a_reader_at_full_speed_once_it_is_over() {
    // A receive buffer of 16 KiB, and messages of three times what a send
    // buffer holds: the socket fills up while a message is written (on
    // loopback, a receive buffer may otherwise grow to take it at once).
    let server = start_server(&["--max-queue-bytes", "1000", "--stall-timeout", "0"]);
    let mut rcpt = login_with_receive_buffer(&server, "rcpt", 16 * 1024);
    let sndr = Client::login(&server, "sndr");
    let got = flood_a_reader_at_full_speed(&sndr, "rcpt", &mut rcpt);
    assert!(got < MESSAGES, "all {got} arrived");
    // With a stall time, the same reader gets everything.
    let server = start_server(&["--max-queue-bytes", "1000", "--stall-timeout", "1"]);
    let mut rcpt = login_with_receive_buffer(&server, "rcpt", 16 * 1024);
    let sndr = Client::login(&server, "sndr");
    assert_eq!(
        flood_a_reader_at_full_speed(&sndr, "rcpt", &mut rcpt),
        MESSAGES
    );
    rcpt.expect_silence(100);
}

// ---- a recipient that vanishes -------------------------------------------

#[test]
fn a_recipient_reset_during_delaybots_pauses_holds_no_sender_up() {
    let server = start_server(&["--max-queue-bytes", "1000", "--stall-timeout", "1"]);
    let mut bob = Client::login(&server, "bob");
    let mut alice = Client::login(&server, "alice");
    // delaybot's answer to bob comes in pieces, 500 ms apart: bob's
    // connection is in a pause.
    bob.send(&format!("SEND delaybot {}\n", "d".repeat(2000)));
    assert_eq!(bob.line(), "SEND-OK");
    // Alice's message finds bob over his limit: her next request waits for
    // room at bob's.
    alice.send(&format!("SEND bob {}\n", "a".repeat(2000)));
    assert_eq!(alice.line(), "SEND-OK");
    // Bob's connection is reset during the pause.
    reset(bob);
    // Alice is answered, and bob is gone.
    assert_eq!(alice.list(), "LIST-OK echobot,delaybot,alice");
    // And once alice leaves, her name is free.
    alice.writer.shutdown(Shutdown::Both).unwrap();
    drop(alice);
    log_in_once_free(&server, "alice", TIMEOUT);
}
