//! Integration tests of the real `chat-server` binary over TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};
use testkit::rng::Rng;
use testkit::{start_server, Client, ServerProcess, TIMEOUT};

/// Sends one first line on a fresh connection and returns the reply, asserting
/// that the server then closes the connection.
fn handshake_refused(server: &ServerProcess, first_line: &[u8]) -> String {
    let mut c = Client::connect(server);
    c.send_bytes(first_line);
    let reply = c.line();
    c.expect_closed();
    reply
}

/// Polls (up to 5 s) until `name` is not in `observer`'s LIST.
fn wait_until_gone(observer: &mut Client, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = observer.list();
        let names: Vec<&str> = list.trim_start_matches("LIST-OK ").split(',').collect();
        if !names.contains(&name) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} still listed: {list}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- handshake -------------------------------------------------------------

#[test]
fn bad_names_get_bad_body_and_close() {
    let server = start_server(&[]);
    for name in [
        "a b", "a,b", "@!", "ABC_d", "bob-x", "bob.x", "ümlaut", "", "bob!", "\u{0}x",
    ] {
        let reply = handshake_refused(&server, format!("HELLO-FROM {name}\n").as_bytes());
        assert_eq!(reply, "BAD-RQST-BODY", "name {name:?}");
    }
    assert_eq!(handshake_refused(&server, b"HELLO-FROM\n"), "BAD-RQST-BODY");
    let long = "x".repeat(256);
    assert_eq!(
        handshake_refused(&server, format!("HELLO-FROM {long}\n").as_bytes()),
        "BAD-RQST-BODY"
    );
}

#[test]
fn good_names_are_accepted() {
    let server = start_server(&[]);
    let long = "N".repeat(200);
    let longest = "m".repeat(255);
    let mut clients = Vec::new();
    for name in ["alice", "abc123", "1234", long.as_str(), longest.as_str()] {
        clients.push(Client::login(&server, name));
    }
    let list = clients[0].list();
    assert_eq!(
        list,
        format!("LIST-OK echobot,delaybot,alice,abc123,1234,{long},{longest}")
    );
}

#[test]
fn first_line_other_than_hello_from_gets_bad_header_and_close() {
    let server = start_server(&[]);
    for first in [
        &b"LIST\n"[..],
        b"SEND x y\n",
        b"hello-from alice\n",
        b"HELLO alice\n",
        b"\n",
        b"HELLO-FROMalice\n",
    ] {
        assert_eq!(
            handshake_refused(&server, first),
            "BAD-RQST-HDR",
            "{:?}",
            String::from_utf8_lossy(first)
        );
    }
}

#[test]
fn carriage_return_before_newline_is_tolerated() {
    let server = start_server(&[]);
    let mut c = Client::connect(&server);
    c.send("HELLO-FROM a\r\n");
    assert_eq!(c.line(), "HELLO a");
    c.send("LIST\r\n");
    assert_eq!(c.line(), "LIST-OK echobot,delaybot,a");
}

#[test]
fn reconnect_after_a_failed_handshake_works() {
    let server = start_server(&[]);
    assert_eq!(
        handshake_refused(&server, b"HELLO-FROM a b\n"),
        "BAD-RQST-BODY"
    );
    assert_eq!(handshake_refused(&server, b"LIST\n"), "BAD-RQST-HDR");
    let mut c = Client::login(&server, "ab");
    assert_eq!(c.list(), "LIST-OK echobot,delaybot,ab");
}

#[test]
fn name_in_use_is_refused_and_closed() {
    let server = start_server(&[]);
    let _alice = Client::login(&server, "alice");
    assert_eq!(handshake_refused(&server, b"HELLO-FROM alice\n"), "IN-USE");
    assert_eq!(
        handshake_refused(&server, b"HELLO-FROM echobot\n"),
        "IN-USE"
    );
    assert_eq!(
        handshake_refused(&server, b"HELLO-FROM delaybot\n"),
        "IN-USE"
    );
    // Names are case sensitive.
    let _alice2 = Client::login(&server, "Alice");
}

#[test]
fn capacity_zero_makes_every_login_busy() {
    let server = start_server(&["--max-clients", "0"]);
    assert_eq!(handshake_refused(&server, b"HELLO-FROM alice\n"), "BUSY");
    assert_eq!(handshake_refused(&server, b"HELLO-FROM bob\n"), "BUSY");
}

#[test]
fn full_server_answers_busy_and_bots_do_not_count() {
    let server = start_server(&["--max-clients", "2"]);
    let _a = Client::login(&server, "a");
    let b = Client::login(&server, "b");
    assert_eq!(handshake_refused(&server, b"HELLO-FROM c\n"), "BUSY");
    drop(b.writer.shutdown(Shutdown::Both));
    drop(b);
    let mut a2 = Client::connect(&server);
    // Once b is gone there is room again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        a2.send("HELLO-FROM c\n");
        let reply = a2.line();
        if reply == "HELLO c" {
            break;
        }
        assert_eq!(reply, "BUSY");
        a2.expect_closed();
        assert!(Instant::now() < deadline, "room never freed");
        std::thread::sleep(Duration::from_millis(20));
        a2 = Client::connect(&server);
    }
}

#[test]
fn checks_run_in_order_header_name_in_use_capacity() {
    let server = start_server(&["--max-clients", "1"]);
    let _alice = Client::login(&server, "alice");
    assert_eq!(handshake_refused(&server, b"LIST\n"), "BAD-RQST-HDR");
    assert_eq!(
        handshake_refused(&server, b"HELLO-FROM bad!\n"),
        "BAD-RQST-BODY"
    );
    assert_eq!(handshake_refused(&server, b"HELLO-FROM alice\n"), "IN-USE");
    assert_eq!(
        handshake_refused(&server, b"HELLO-FROM echobot\n"),
        "IN-USE"
    );
    assert_eq!(handshake_refused(&server, b"HELLO-FROM bob\n"), "BUSY");
    let server0 = start_server(&["--max-clients", "0"]);
    assert_eq!(
        handshake_refused(&server0, b"HELLO-FROM echobot\n"),
        "IN-USE"
    );
    assert_eq!(
        handshake_refused(&server0, b"HELLO-FROM a.b\n"),
        "BAD-RQST-BODY"
    );
}

#[test]
fn line_too_long_before_login_is_a_failed_handshake() {
    let server = start_server(&[]);
    let mut line = b"HELLO-FROM ".to_vec();
    line.extend(std::iter::repeat_n(b'a', 2000));
    line.push(b'\n');
    assert_eq!(handshake_refused(&server, &line), "BAD-RQST-BODY");
}

#[test]
fn the_first_line_has_its_own_limit_whatever_max_line_bytes_says() {
    let server = start_server(&["--max-line-bytes", "262"]);
    let name = "a".repeat(255);
    // `HELLO-FROM` and the name: 266 bytes, over the limit after login.
    let mut client = Client::login(&server, &name);
    // After login, the limit is --max-line-bytes.
    client.send(&format!("SEND {name} hi\n"));
    assert_eq!(client.line(), "BAD-RQST-BODY");
    client.send(&format!("SEND {} hi\n", "b".repeat(80)));
    assert_eq!(client.line(), "BAD-DEST-USER");
}

#[test]
fn a_line_limit_too_short_for_a_request_is_a_usage_error() {
    for (limit, usable) in [("0", false), ("3", false), ("261", false), ("262", true)] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .args(["--port", "0", "--quiet", "--max-line-bytes", limit])
            .args(["--login-timeout", "1"])
            .stdin(std::process::Stdio::null())
            .output_with_timeout(Duration::from_secs(2));
        if usable {
            assert_eq!(out, None, "--max-line-bytes {limit} must start a server");
            continue;
        }
        let out = out.unwrap_or_else(|| panic!("--max-line-bytes {limit} started a server"));
        let errors = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{limit}: {errors}");
        assert!(errors.contains("--max-line-bytes"), "{errors}");
        assert!(errors.contains("at least 262"), "{errors}");
        assert!(out.stdout.is_empty());
    }
    // The shortest limit carries a one-byte message to the longest name.
    let server = start_server(&["--max-line-bytes", "262"]);
    let name = "n".repeat(255);
    let mut a = Client::login(&server, &name);
    a.send(&format!("SEND {name} x\n"));
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(a.line(), format!("DELIVERY {name} x"));
    a.send(&format!("SEND {name} xy\n"));
    assert_eq!(a.line(), "BAD-RQST-BODY");
    assert_eq!(a.list(), format!("LIST-OK echobot,delaybot,{name}"));
}

/// Runs a command to its end, or for `limit` at most (then it is killed:
/// `None`).
trait OutputWithTimeout {
    fn output_with_timeout(&mut self, limit: Duration) -> Option<std::process::Output>;
}

impl OutputWithTimeout for std::process::Command {
    fn output_with_timeout(&mut self, limit: Duration) -> Option<std::process::Output> {
        use std::process::Stdio;
        let mut child = self
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run chat-server");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if child.try_wait().expect("wait").is_some() {
                return Some(child.wait_with_output().expect("output"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

// ---- LIST ------------------------------------------------------------------

#[test]
fn list_has_bots_first_then_login_order_with_the_caller() {
    let server = start_server(&[]);
    let mut zed = Client::login(&server, "zed");
    let mut amy = Client::login(&server, "amy");
    let _bob = Client::login(&server, "bob");
    assert_eq!(zed.list(), "LIST-OK echobot,delaybot,zed,amy,bob");
    assert_eq!(amy.list(), "LIST-OK echobot,delaybot,zed,amy,bob");
    drop(zed);
    wait_until_gone(&mut amy, "zed");
    let _zed = Client::login(&server, "zed");
    assert_eq!(amy.list(), "LIST-OK echobot,delaybot,amy,bob,zed");
}

#[test]
fn hide_users_lists_only_the_bots() {
    let server = start_server(&["--hide-users"]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    assert_eq!(a.list(), "LIST-OK echobot,delaybot");
    // Hidden users can still be messaged.
    a.send("SEND bob hi\n");
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(b.line(), "DELIVERY alice hi");
}

#[test]
fn no_bots_means_no_bots() {
    let server = start_server(&["--no-bots"]);
    let mut a = Client::login(&server, "alice");
    assert_eq!(a.list(), "LIST-OK alice");
    a.send("SEND echobot hi\n");
    assert_eq!(a.line(), "BAD-DEST-USER");
    let _echo = Client::login(&server, "echobot");
    assert_eq!(a.list(), "LIST-OK alice,echobot");
}

#[test]
fn list_with_an_argument_is_a_bad_header() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    a.send("LIST extra\n");
    assert_eq!(a.line(), "BAD-RQST-HDR");
    a.send("LIST \n");
    assert_eq!(a.line(), "BAD-RQST-HDR");
    assert_eq!(a.list(), "LIST-OK echobot,delaybot,alice");
}

// ---- SEND ------------------------------------------------------------------

#[test]
fn send_to_another_user_relays_bytes_exactly() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    a.send("SEND bob hello  there \n");
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(b.line(), "DELIVERY alice hello  there ");
    let body: &[u8] = b"h\xc3\xa9llo \xff\xfe\x00 \x1b[2J end";
    a.send_bytes(&[b"SEND bob ", body, b"\n"].concat());
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(b.line_bytes(), [b"DELIVERY alice ", body].concat());
    b.send("SEND alice back\n");
    assert_eq!(b.line(), "SEND-OK");
    assert_eq!(a.line(), "DELIVERY bob back");
    a.expect_silence(100);
}

#[test]
fn send_to_yourself_gives_both_lines() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    a.send("SEND alice note to self\n");
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(a.line(), "DELIVERY alice note to self");
}

#[test]
fn send_to_unknown_user_is_bad_dest() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    a.send("SEND nobody hi\n");
    assert_eq!(a.line(), "BAD-DEST-USER");
    a.send("SEND Alice hi\n");
    assert_eq!(a.line(), "BAD-DEST-USER");
}

#[test]
fn empty_or_missing_body_or_dest_is_bad_body() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    for line in [
        "SEND bob \n",
        "SEND bob\n",
        "SEND bob    \n",
        "SEND bob \t \n",
        "SEND echobot \n",
        "SEND echobot\n",
        "SEND\n",
        "SEND \n",
        "SEND  hello\n",
        "SEND nobody \n",
    ] {
        a.send(line);
        assert_eq!(a.line(), "BAD-RQST-BODY", "{line:?}");
    }
    b.expect_silence(100);
    assert_eq!(a.list(), "LIST-OK echobot,delaybot,alice,bob");
}

#[test]
fn a_message_of_whitespace_only_is_a_bad_body_whichever_whitespace_it_is() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    // Whitespace as the course's server counts it (Java's
    // Character.isWhitespace): the ASCII controls 0x09-0x0D and 0x1C-0x1F,
    // the space, and Unicode's spaces but the no-break ones.
    for body in [
        &b"\x0b"[..],
        b"\x0c",
        b"\x0b\x0c",
        b"\t\x0b \x0c",
        b"\x1c\x1d\x1e\x1f",
        "\u{3000}".as_bytes(),
        "\u{2003} \t".as_bytes(),
        "\u{2028}\u{2029}\u{1680}\u{205f}".as_bytes(),
    ] {
        a.send_bytes(&[&b"SEND bob "[..], body, b"\n"].concat());
        assert_eq!(a.line(), "BAD-RQST-BODY", "{body:?}");
    }
    b.expect_silence(100);
    // Other controls, and the no-break spaces, are text.
    for body in [
        &b"\x00"[..],
        b"\x1b",
        b"\x7f",
        b"\x0b\x01",
        "\u{a0}".as_bytes(),
        "\u{2007}\u{202f}".as_bytes(),
        "\u{85}".as_bytes(),
        b"\xff",
    ] {
        a.send_bytes(&[&b"SEND bob "[..], body, b"\n"].concat());
        assert_eq!(a.line(), "SEND-OK", "{body:?}");
        assert_eq!(b.line_bytes(), [&b"DELIVERY alice "[..], body].concat());
    }
}

#[test]
fn bad_headers_after_login_keep_the_connection() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    let _b = Client::login(&server, "bob");
    for line in [
        "send bob hi\n",
        "\n",
        "HELLO-FROM alice\n",
        "HELLO-FROM carol\n",
        "FOO\n",
        " LIST\n",
        "list\n",
        "SENDbob hi\n",
    ] {
        a.send(line);
        assert_eq!(a.line(), "BAD-RQST-HDR", "{line:?}");
    }
    assert_eq!(a.list(), "LIST-OK echobot,delaybot,alice,bob");
    a.send("SEND bob still here\n");
    assert_eq!(a.line(), "SEND-OK");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start_server(&[]);
    let mut a = Client::connect(&server);
    a.send("HELLO-FROM alice\nLIST\nSEND alice x\nBOGUS\nSEND nobody y\n");
    assert_eq!(a.line(), "HELLO alice");
    assert_eq!(a.line(), "LIST-OK echobot,delaybot,alice");
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(a.line(), "DELIVERY alice x");
    assert_eq!(a.line(), "BAD-RQST-HDR");
    assert_eq!(a.line(), "BAD-DEST-USER");
}

// ---- bots ------------------------------------------------------------------

#[test]
fn echobot_echoes() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    a.send("SEND echobot hello  ü \n");
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(a.line(), "DELIVERY echobot hello  ü ");
    a.expect_silence(100);
}

#[test]
fn delaybot_sends_two_copies_in_three_paced_pieces() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    let msg = "paced message with ü and € in it";
    let line = format!("DELIVERY delaybot {msg}\n").into_bytes();
    a.send(&format!("SEND delaybot {msg}\n"));
    let sent = Instant::now();
    // Raw reads with their arrival times, SEND-OK included.
    let stream = a.reader.get_mut();
    let mut reads: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut total = Vec::new();
    let expected_total = b"SEND-OK\n".len() + 2 * line.len();
    let mut buf = [0u8; 4096];
    while total.len() < expected_total {
        assert!(sent.elapsed() < Duration::from_secs(6), "delaybot too slow");
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "closed");
        reads.push((sent.elapsed(), buf[..n].to_vec()));
        total.extend_from_slice(&buf[..n]);
    }
    assert_eq!(total, [&b"SEND-OK\n"[..], &line, &line].concat());

    // Group reads into bursts (a new burst after a quiet gap of 250 ms); the
    // SEND-OK line is not part of delaybot's pieces.
    let mut bursts: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut last = Duration::ZERO;
    let mut skip = b"SEND-OK\n".len();
    for (t, bytes) in reads {
        let bytes = if skip > 0 {
            let cut = skip.min(bytes.len());
            skip -= cut;
            bytes[cut..].to_vec()
        } else {
            bytes
        };
        if bytes.is_empty() {
            continue;
        }
        match bursts.last_mut() {
            Some((_, data)) if t - last < Duration::from_millis(250) => data.extend(bytes),
            _ => bursts.push((t, bytes)),
        }
        last = t;
    }
    assert_eq!(bursts.len(), 3, "pieces: {bursts:?}");
    let half = line.len() / 2;
    assert_eq!(bursts[0].1, line[..half]);
    assert!(!bursts[0].1.contains(&b'\n'), "first piece is a whole line");
    assert_eq!(bursts[1].1, [&line[half..], &line[..half]].concat());
    assert_eq!(bursts[2].1, line[half..]);
    for i in 1..3 {
        let gap = bursts[i].0 - bursts[i - 1].0;
        assert!(
            gap >= Duration::from_millis(300) && gap <= Duration::from_millis(1500),
            "gap {i} was {gap:?}"
        );
    }
}

#[test]
fn messages_queue_behind_delaybot_pieces_without_interleaving() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    a.send("SEND delaybot one\n");
    assert_eq!(a.line(), "SEND-OK");
    b.send("SEND alice from bob\n");
    assert_eq!(b.line(), "SEND-OK");
    assert_eq!(a.line(), "DELIVERY delaybot one");
    assert_eq!(a.line(), "DELIVERY delaybot one");
    assert_eq!(a.line(), "DELIVERY bob from bob");
}

#[test]
fn delaybots_answers_hold_up_only_what_comes_while_one_is_under_way() {
    let server = start_server(&[]);
    let mut x = Client::login(&server, "x");
    let mut bob = Client::login(&server, "bob");
    let requests: String = (0..5).map(|i| format!("SEND delaybot m{i}\n")).collect();
    x.send(&requests);
    // The replies to the five requests read together come first, at once,
    // before any of delaybot's answers (each of which is under way for a
    // second, with a line incomplete).
    for _ in 0..5 {
        assert_eq!(x.line(), "SEND-OK");
    }
    // A message that comes while the first answer is under way waits for
    // its end, and no longer: not for the four answers queued before it.
    bob.send("SEND x from bob\n");
    assert_eq!(bob.line(), "SEND-OK");
    let mut lines = Vec::new();
    while lines.len() < 11 {
        lines.push(x.line());
    }
    let bob_at = lines
        .iter()
        .position(|line| line == "DELIVERY bob from bob")
        .unwrap_or_else(|| panic!("{lines:?}"));
    let mut answers = lines.clone();
    answers.remove(bob_at);
    let expected: Vec<String> = (0..5)
        .flat_map(|i| {
            [
                format!("DELIVERY delaybot m{i}"),
                format!("DELIVERY delaybot m{i}"),
            ]
        })
        .collect();
    assert_eq!(answers, expected, "{lines:?}");
    assert!(
        bob_at % 2 == 0 && bob_at < 8,
        "bob's message came at {bob_at}: {lines:?}"
    );
    x.expect_silence(100);
}

// ---- sizes -----------------------------------------------------------------

#[test]
fn fifty_megabyte_message_is_relayed_intact() {
    let server = start_server(&["--max-line-bytes", "60000000"]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    let mut body = Rng::new(50).bytes(50_000_000);
    for byte in body.iter_mut().filter(|b| matches!(b, b'\n' | b'\r')) {
        *byte = b'x';
    }
    let request = [&b"SEND bob "[..], &body, b"\n"].concat();
    let mut writer = a.writer.try_clone().unwrap();
    let sender = std::thread::spawn(move || writer.write_all(&request).expect("write"));
    b.reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let got = b.line_bytes();
    sender.join().unwrap();
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(got.len(), b"DELIVERY alice ".len() + body.len());
    assert!(got.starts_with(b"DELIVERY alice "));
    assert!(got[b"DELIVERY alice ".len()..] == body[..], "body differs");
}

#[test]
fn a_message_is_judged_after_its_cut_at_a_carriage_return() {
    let server = start_server(&[]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    a.send("SEND bob \rb\n");
    assert_eq!(a.line(), "BAD-RQST-BODY");
    a.send("SEND bob  \r \n");
    assert_eq!(a.line(), "BAD-RQST-BODY");
    a.send("SEND bob hi\rthere\r\n");
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(b.line(), "DELIVERY alice hi");
    b.expect_silence(100);
}

#[test]
fn a_line_of_exactly_the_maximum_may_end_in_a_carriage_return() {
    let server = start_server(&["--max-line-bytes", "1000"]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    let fits = format!("SEND bob {}", "z".repeat(991));
    assert_eq!(fits.len(), 1000);
    a.send(&format!("{fits}\r\n"));
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(b.line(), format!("DELIVERY alice {}", "z".repeat(991)));
    a.send(&format!("{fits}z\r\n"));
    assert_eq!(a.line(), "BAD-RQST-BODY");
    b.expect_silence(100);
}

#[test]
fn over_long_line_is_bad_body_and_the_connection_stays_usable() {
    let server = start_server(&["--max-line-bytes", "1000"]);
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    let long = format!("SEND bob {}\n", "y".repeat(5000));
    a.send(&long);
    assert_eq!(a.line(), "BAD-RQST-BODY");
    assert_eq!(a.list(), "LIST-OK echobot,delaybot,alice,bob");
    let fits = format!("SEND bob {}\n", "z".repeat(991));
    assert_eq!(fits.len(), 1001);
    a.send(&fits);
    assert_eq!(a.line(), "SEND-OK");
    assert_eq!(b.line(), format!("DELIVERY alice {}", "z".repeat(991)));
    b.expect_silence(100);
}

// ---- many clients, slow clients --------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_each_message_delivered_exactly_once() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as TokioBufReader};
    use tokio::time::timeout;
    const N: usize = 1000;
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let server = start_server(&[
        "--max-clients",
        "2000",
        "--max-pending-per-address",
        "0",
        "--quiet",
    ]);
    let addr = server.addr();
    let started = Instant::now();

    async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> String {
        let mut buf = Vec::new();
        let n = timeout(Duration::from_secs(30), r.read_until(b'\n', &mut buf))
            .await
            .expect("timed out")
            .expect("read");
        assert!(n > 0, "closed");
        String::from_utf8(buf).unwrap().trim_end().to_string()
    }

    // Phase 1: everyone logs in.
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..N {
        logins.spawn(async move {
            let stream = timeout(
                Duration::from_secs(30),
                tokio::net::TcpStream::connect(&addr),
            )
            .await
            .expect("connect timed out")
            .expect("connect");
            let (rd, mut wr) = stream.into_split();
            let mut rd = TokioBufReader::new(rd);
            wr.write_all(format!("HELLO-FROM u{i}\n").as_bytes())
                .await
                .unwrap();
            assert_eq!(read_line(&mut rd).await, format!("HELLO u{i}"));
            (i, rd, wr)
        });
    }
    let mut clients = Vec::new();
    while let Some(joined) = logins.join_next().await {
        clients.push(joined.expect("login task"));
    }
    assert_eq!(clients.len(), N);

    // Phase 2: everyone sends one message to the next one.
    let mut chats = tokio::task::JoinSet::new();
    for (i, mut rd, mut wr) in clients {
        chats.spawn(async move {
            wr.write_all(format!("SEND u{} msg {i}\n", (i + 1) % N).as_bytes())
                .await
                .unwrap();
            let mut got = vec![read_line(&mut rd).await, read_line(&mut rd).await];
            got.sort();
            let from = (i + N - 1) % N;
            assert_eq!(
                got,
                vec![
                    format!("DELIVERY u{from} msg {from}"),
                    "SEND-OK".to_string()
                ]
            );
            (rd, wr)
        });
    }
    let mut clients = Vec::new();
    while let Some(joined) = chats.join_next().await {
        clients.push(joined.expect("chat task"));
    }

    // Phase 3: nothing more arrives; the next line is the LIST reply.
    let mut lists = tokio::task::JoinSet::new();
    for (mut rd, mut wr) in clients {
        lists.spawn(async move {
            wr.write_all(b"LIST\n").await.unwrap();
            let list = read_line(&mut rd).await;
            assert!(list.starts_with("LIST-OK echobot,delaybot,"), "{list:.60}");
            assert_eq!(list.split(',').count(), N + 2);
            (rd, wr)
        });
    }
    // Keep every connection open until all have listed.
    let mut done = Vec::new();
    while let Some(joined) = lists.join_next().await {
        done.push(joined.expect("list task"));
    }
    assert_eq!(done.len(), N);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_client_that_never_reads_slows_nobody_and_is_dropped_on_overflow() {
    let server = start_server(&["--max-queue-bytes", "1000000", "--stall-timeout", "1"]);
    let slow = Client::login(&server, "slow");
    let mut a = Client::login(&server, "alice");
    let mut b = Client::login(&server, "bob");
    let mut c = Client::login(&server, "carol");
    let chunk = format!("SEND slow {}\n", "s".repeat(100_000));
    let mut gone = false;
    let mut rounds = 0;
    for round in 0..1000 {
        rounds = round + 1;
        let t = Instant::now();
        a.send(&chunk);
        match a.line().as_str() {
            "SEND-OK" => {}
            "BAD-DEST-USER" => {
                // Already disconnected for overflowing.
                gone = true;
                break;
            }
            other => panic!("unexpected reply {other:?}"),
        }
        // Another pair chats without delay meanwhile.
        b.send(&format!("SEND carol ping {round}\n"));
        assert_eq!(b.line(), "SEND-OK");
        assert_eq!(c.line(), format!("DELIVERY bob ping {round}"));
        assert!(t.elapsed() < Duration::from_secs(2), "round {round} slow");
        if round % 10 == 9 {
            let list = c.list();
            if !list.split(',').any(|n| n == "slow") {
                gone = true;
                break;
            }
        }
    }
    assert!(gone, "the non-reading client was never disconnected");
    eprintln!("slow reader dropped after {rounds} messages of 100 kB");
    assert_eq!(c.list(), "LIST-OK echobot,delaybot,alice,bob,carol");
    a.send("SEND slow anyone there\n");
    assert_eq!(a.line(), "BAD-DEST-USER");
    // Its name is free again.
    let _slow2 = Client::login(&server, "slow");
    drop(slow);
}

#[test]
fn hello_is_the_first_line_even_while_messages_pour_in() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let server = start_server(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    // Eight users send to bob as fast as the server takes it, whether he is
    // logged in or not.
    let senders: Vec<_> = (0..8)
        .map(|i| {
            let sender = Client::login(&server, &format!("sender{i}"));
            let mut writer = sender.writer.try_clone().unwrap();
            let mut reader = sender.reader;
            std::thread::spawn(move || {
                let mut sink = [0u8; 1 << 16];
                while reader.read(&mut sink).is_ok_and(|n| n > 0) {}
            });
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let burst = b"SEND bob hello bob\n".repeat(64);
                while !stop.load(Ordering::Relaxed) && testkit::try_send(&mut writer, &burst) {}
                let _ = writer.shutdown(Shutdown::Both);
            })
        })
        .collect();
    let mut first_lines = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        let mut bob = Client::connect(&server);
        bob.send("HELLO-FROM bob\n");
        let first = bob.line();
        let kind = first.split(' ').next().unwrap_or("").to_string();
        *first_lines.entry(kind).or_default() += 1;
        bob.writer.shutdown(Shutdown::Write).unwrap();
        // Until the server has seen him leave, his name is taken.
        let mut rest = Vec::new();
        let _ = bob.reader.read_to_end(&mut rest);
    }
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.join().unwrap();
    }
    assert_eq!(
        first_lines,
        [("HELLO".to_string(), 300)].into(),
        "the first line bob got, and how often"
    );
}

// ---- names freed on close --------------------------------------------------

#[test]
fn name_is_free_after_a_graceful_close() {
    let server = start_server(&[]);
    let mut observer = Client::login(&server, "observer");
    let a = Client::login(&server, "alice");
    a.writer.shutdown(Shutdown::Both).unwrap();
    drop(a);
    wait_until_gone(&mut observer, "alice");
    let _a = Client::login(&server, "alice");
}

#[test]
fn a_user_that_has_seen_its_connection_end_is_replaced_at_once_on_a_full_server() {
    let server = start_server(&["--max-clients", "1"]);
    let leave = |mut c: Client| {
        c.writer.shutdown(Shutdown::Write).unwrap();
        c.expect_closed();
    };
    for i in 0..50 {
        // The name and the place it held are both free by the time the
        // client sees its connection end: another name, or the same one,
        // logs in at once.
        leave(Client::login(&server, &format!("u{i}")));
        leave(Client::login(&server, &format!("v{i}")));
        leave(Client::login(&server, &format!("v{i}")));
    }
}

#[test]
fn name_is_free_after_an_abrupt_reset() {
    let server = start_server(&[]);
    let mut observer = Client::login(&server, "observer");
    let mut a = Client::login(&server, "alice");
    // Leave a reply unread, so that closing sends a reset instead of a FIN.
    a.send("LIST\n");
    let mut peek = [0u8; 1];
    a.reader.get_ref().peek(&mut peek).unwrap();
    drop(a);
    wait_until_gone(&mut observer, "alice");
    let _a = Client::login(&server, "alice");
}

#[test]
fn disconnect_mid_line_frees_the_name() {
    let server = start_server(&[]);
    let mut observer = Client::login(&server, "observer");
    let mut a = Client::login(&server, "alice");
    a.send("SEND observer half a li");
    drop(a);
    wait_until_gone(&mut observer, "alice");
    observer.expect_silence(100);
}

// ---- robustness ------------------------------------------------------------

#[test]
fn garbage_does_not_hurt_the_server() {
    let server = start_server(&[]);
    let mut garbage = Rng::new(20).bytes(20_000);
    garbage.extend_from_slice(b"\n\0\0\xff\xfe\n");

    // Before login: refused, and the server survives.
    let mut g = Client::connect(&server);
    g.send_bytes(&garbage);
    assert!(g.line().starts_with("BAD-RQST-"));

    // After login: every line is answered, and the connection keeps working.
    let mut a = Client::login(&server, "alice");
    a.send_bytes(b"\0\0\0\n\xff\xfe\xfd\n");
    assert_eq!(a.line(), "BAD-RQST-HDR");
    assert_eq!(a.line(), "BAD-RQST-HDR");
    a.send_bytes(&garbage);
    a.send("LIST\n");
    loop {
        let line = a.line();
        if line.starts_with("LIST-OK") {
            assert_eq!(line, "LIST-OK echobot,delaybot,alice");
            break;
        }
        assert!(line.starts_with("BAD-RQST-"), "{line:?}");
    }

    // A connection that sends nothing and one that leaves mid-line.
    let _idle = Client::connect(&server);
    let mut half = Client::connect(&server);
    half.send_bytes(b"HELLO-FROM \xff\xfe");
    drop(half);

    let mut b = Client::login(&server, "bob");
    b.send_bytes(b"SEND alice \xff?\n");
    assert_eq!(b.line(), "SEND-OK");
    assert_eq!(a.line_bytes(), b"DELIVERY bob \xff?");
}

/// Sends `signal` to a server with a user logged in, and returns how it
/// ended (within 5 s).
fn stop_with(signal: &str) -> std::process::ExitStatus {
    let mut server = start_server(&[]);
    let mut alice = Client::login(&server, "alice");
    let status = std::process::Command::new("kill")
        .args([signal, &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    // The connection was closed, not left to the kernel.
    alice.expect_closed();
    status
}

#[test]
fn sigint_and_sigterm_stop_the_server_cleanly_with_status_0() {
    for signal in ["-INT", "-TERM"] {
        let status = stop_with(signal);
        assert_eq!(status.code(), Some(0), "{signal}: {status:?}");
    }
}

#[test]
fn sighup_stops_the_server_cleanly_with_status_129() {
    let status = stop_with("-HUP");
    assert_eq!(status.code(), Some(129), "{status:?}");
}

#[test]
fn a_signal_right_after_the_startup_line_stops_the_server_cleanly() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    // The signals are caught before the server says it is on: none of these
    // ends it by the signal's default action.
    for _ in 0..200 {
        let mut server = start_server(&["--quiet"]);
        let pid = Pid::from_raw(server.child.id() as i32);
        kill(pid, Signal::SIGTERM).unwrap();
        let status = server.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{status:?}");
    }
}

#[test]
fn a_port_that_cannot_be_listened_on_is_status_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--address", "127.0.0.1", "--port", &port, "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run chat-server");
    assert_eq!(status.code(), Some(1), "{status:?}");
}

#[test]
fn address_may_be_a_host_name() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--address", "localhost", "--port", "0", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chat-server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    let result = std::panic::catch_unwind(|| {
        let line = line.expect("no startup line");
        assert!(line.contains("Server is on"), "{line:?}");
        let port: u16 = line
            .rsplit("Now listening on port ")
            .next()
            .and_then(|p| p.trim().parse().ok())
            .expect("port in the startup line");
        let stream = TcpStream::connect(("localhost", port)).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut c = Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        c.send("HELLO-FROM alice\n");
        assert_eq!(c.line(), "HELLO alice");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn help_documents_every_flag() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .arg("--help")
        .output()
        .expect("run --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--address",
        "--port",
        "--max-clients",
        "--hide-users",
        "--no-bots",
        "--max-line-bytes",
        "--max-queue-bytes",
        "--quiet",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

// ---- stopping with a farewell -----------------------------------------------

#[tokio::test]
async fn a_farewell_reaches_every_user_before_the_server_stops() {
    use chat::server::{self, Config, Farewell};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let serving = tokio::spawn(server::serve(listener, Config::default(), async {
        stopped.await.ok().flatten()
    }));
    let login = |name: &'static str| async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut stream = BufReader::new(stream);
        stream
            .get_mut()
            .write_all(format!("HELLO-FROM {name}\n").as_bytes())
            .await
            .unwrap();
        let mut hello = String::new();
        stream.read_line(&mut hello).await.unwrap();
        assert_eq!(hello, format!("HELLO {name}\n"));
        stream
    };
    let mut host = login("host").await;
    let mut users = vec![login("alice").await, login("bob").await];
    // One that reads nothing, with a queue far from empty, cannot hold the
    // others up for more than a moment.
    let mut stuck = login("stuck").await;
    let mut flood = login("flood").await;
    let big = format!("SEND stuck {}\n", "x".repeat(1 << 20));
    for _ in 0..20 {
        flood.get_mut().write_all(big.as_bytes()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    stop.send(Some(Farewell {
        from: "host".to_string(),
        text: "the host has left".to_string(),
    }))
    .unwrap();
    serving.await.unwrap().unwrap();
    // A second at most for the farewell, then the connections are dropped.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for user in &mut users {
        let mut rest = String::new();
        user.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "DELIVERY host the host has left\n");
    }
    let mut rest = String::new();
    host.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "", "the host is not told of its own leaving");
    drop(stuck.get_mut().shutdown().await);
}

#[tokio::test]
async fn without_a_farewell_the_server_just_stops() {
    use chat::server::{self, Config};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(listener, Config::default(), async {
        let _ = stopped.await;
        None
    }));
    let mut alice = tokio::net::TcpStream::connect(addr).await.unwrap();
    alice.write_all(b"HELLO-FROM alice\n").await.unwrap();
    let mut hello = [0u8; 12];
    alice.read_exact(&mut hello).await.unwrap();
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    let mut rest = Vec::new();
    let _ = alice.read_to_end(&mut rest).await;
    assert!(rest.is_empty(), "{rest:?}");
}
