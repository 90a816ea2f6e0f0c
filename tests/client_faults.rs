//! The client against scripted fake servers that misbehave in every way the
//! protocol allows: bytes trickling in one at a time, characters split across
//! writes, huge messages, abrupt closes, servers that are not chat servers.
//! (Replies out of place are in `client_replies.rs`.)

use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use chat::client::{text, SafeText};
use testkit::client::{after_login, fake_server, logged_in, FakeConn, Piped, TIMEOUT};

#[test]
fn every_byte_in_its_own_write_gives_whole_lines_only() {
    let (mut client, server) = logged_in("alice", |mut conn| {
        conn.trickle(
            b"DELIVERY bob hello there\nDELIVERY carol second\n",
            Duration::from_millis(3),
        );
        thread::sleep(Duration::from_secs(60));
    });
    client.expect("From carol: second\n");
    assert_eq!(
        after_login(&client, "alice"),
        "From bob: hello there\nFrom carol: second\n"
    );
    drop(client);
    drop(server);
}

#[test]
fn messages_in_the_same_read_as_the_login_answer_are_shown() {
    let (port, _server) = fake_server(|mut conn| {
        let hello = conn.line();
        assert_eq!(hello, "HELLO-FROM alice");
        conn.write(b"HELLO alice\nDELIVERY bob early\nDELIVERY carol too\n");
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.expect(text::WELCOME);
    client.send_line("alice");
    client.expect("From carol: too\n");
    assert_eq!(
        after_login(&client, "alice"),
        "From bob: early\nFrom carol: too\n"
    );
}

#[test]
fn a_partial_line_is_never_printed() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        conn.write(b"DELIVERY bob first half");
        thread::sleep(Duration::from_millis(800));
        conn.write(b" and the rest\n");
        thread::sleep(Duration::from_secs(60));
    });
    // Watch the output while the line is incomplete.
    client.collect_for(Duration::from_millis(500));
    assert_eq!(after_login(&client, "alice"), "");
    client.expect("From bob: first half and the rest\n");
}

#[test]
fn a_utf8_character_split_across_writes_is_intact() {
    let message = "ü€😀 done";
    let (mut client, _server) = logged_in("alice", move |mut conn| {
        let line = format!("DELIVERY bob {message}\n");
        conn.trickle(line.as_bytes(), Duration::from_millis(5));
        thread::sleep(Duration::from_secs(60));
    });
    client.expect("done\n");
    assert_eq!(
        after_login(&client, "alice"),
        format!("From bob: {message}\n")
    );
}

#[test]
fn a_50_megabyte_delivery_is_printed_whole() {
    const SIZE: usize = 50 * 1024 * 1024;
    let (mut client, _server) = logged_in("alice", |mut conn| {
        let mut line = b"DELIVERY bob ".to_vec();
        line.extend((0..SIZE).map(|i| b'a' + (i % 26) as u8));
        line.push(b'\n');
        conn.write(&line);
        thread::sleep(Duration::from_secs(60));
    });
    let before = client.output.len();
    let expected_len = "From bob: ".len() + SIZE + 1;
    client.expect_bytes(before + expected_len);
    let printed = &client.output[before..];
    assert_eq!(printed.len(), expected_len);
    assert!(printed.starts_with(b"From bob: abcdefghijklmnopqrstuvwxyzabc"));
    assert!(printed[10..SIZE + 10]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == b'a' + (i % 26) as u8));
    assert_eq!(printed.last(), Some(&b'\n'));
}

#[test]
fn two_messages_in_one_write_are_two_lines() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        conn.write(b"DELIVERY bob one\nDELIVERY bob two\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.expect("From bob: two\n");
    assert_eq!(
        after_login(&client, "alice"),
        "From bob: one\nFrom bob: two\n"
    );
}

#[test]
fn list_with_one_name() {
    let (mut client, server) = logged_in("alice", |mut conn| {
        assert_eq!(conn.line(), "LIST");
        conn.write(b"LIST-OK alice\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.send_line("!who");
    client.expect("- alice\n");
    assert_eq!(
        after_login(&client, "alice"),
        format!(
            "{}\n{}\n",
            text::user_count(1),
            text::user_entry(&"alice".into())
        )
    );
    assert!(!server.is_finished(), "the fake server saw no LIST");
}

#[test]
fn escape_sequences_from_a_peer_never_reach_the_terminal() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        assert_eq!(conn.line(), "LIST");
        conn.write(b"DELIVERY e\x1b[31mvil \x1b]52;c;SGVsbG8=\x07\x1b]0;title\x07\x1b[2J\rover\x08\x08\x7f\xc2\x9b\n");
        conn.write(b"LIST-OK a\x1b[1mb,c\n");
        conn.write(b"DELIVERY bob end\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.send_line("!who");
    client.expect("From bob: end\n");
    let out = &client.output;
    assert!(!out.contains(&0x1b), "raw ESC in {:?}", client.text());
    assert!(!out.contains(&0x07) && !out.contains(&0x08) && !out.contains(&0x7f));
    assert!(!out.contains(&b'\r'), "raw CR in {:?}", client.text());
    assert!(!client.text().contains('\u{9b}'));
    assert!(client.text().contains(
        "From e\\x1b[31mvil: \\x1b]52;c;SGVsbG8=\\x07\\x1b]0;title\\x07\\x1b[2J\\x0dover\\x08\\x08\\x7f\\u{9b}\n"
    ));
    // The user list, neutralised too.
    assert!(client.text().contains("- a\\x1b[1mb\n"));
}

#[test]
fn invalid_utf8_and_nul_bytes_are_shown_safely() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        conn.write(b"DELIVERY b\xffb x\x00y \xfe\xfd end\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.expect(" end\n");
    assert_eq!(
        after_login(&client, "alice"),
        "From b\u{fffd}b: x\\x00y \u{fffd}\u{fffd} end\n"
    );
}

#[test]
fn an_abrupt_close_mid_line_ends_the_client_at_once() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        conn.write(b"DELIVERY bob complete\nDELIVERY bob never fini");
        thread::sleep(Duration::from_millis(200));
        // Dropping the connection closes it.
    });
    let started = Instant::now();
    let status = client.wait(TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!status.success(), "a server that went away is a failure");
    assert_eq!(after_login(&client, "alice"), "From bob: complete\n");
    assert_eq!(client.errors_text(), format!("{}\n", text::SERVER_CLOSED));
}

#[test]
fn a_20_megabyte_message_reaches_a_server_that_reads_slowly() {
    const SIZE: usize = 20 * 1024 * 1024;
    let body: String = (0..SIZE).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let expected = format!("SEND bob {body}\n").into_bytes();
    let (mut client, server) = logged_in("alice", move |mut conn| {
        // Read slowly: small reads with pauses, so the client's writes can
        // only ever be partial. Meanwhile, talk back to prove the client
        // keeps reading while it writes.
        let mut got = Vec::new();
        let mut buf = vec![0; 256 * 1024];
        let mut talked = false;
        while got.len() < expected.len() {
            let n = conn.reader.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed after {} bytes", got.len());
            got.extend_from_slice(&buf[..n]);
            if !talked && got.len() > 1024 * 1024 {
                conn.write(b"DELIVERY carol while you write\n");
                talked = true;
            }
            thread::sleep(Duration::from_millis(2));
        }
        assert!(got == expected, "the message arrived damaged");
        conn.write(b"SEND-OK\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.send_line(&format!("@bob {body}"));
    client.expect("From carol: while you write\n");
    client.expect(&format!("{}\n", text::SENT));
    drop(client);
    drop(server);
}

#[test]
fn a_server_that_answers_outside_the_protocol_is_not_a_chat_server() {
    // What an HTTP server says to a line it does not understand.
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        conn.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    let status = client.wait(TIMEOUT);
    assert!(!status.success());
    let address = SafeText::neutralise_str(&format!("127.0.0.1:{port}")).into_owned();
    assert_eq!(client.text(), format!("{}\n", text::WELCOME));
    assert_eq!(
        client.errors_text(),
        format!("{}\n", text::not_a_chat_server(&address))
    );
}

#[test]
fn a_server_that_never_answers_the_login_is_given_up_after_ten_seconds() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    let started = std::time::Instant::now();
    client.send_line("alice");
    let status = client.wait(Duration::from_secs(20));
    let waited = started.elapsed();
    assert!(!status.success());
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(18),
        "gave up after {waited:?}"
    );
    let address = SafeText::neutralise_str(&format!("127.0.0.1:{port}")).into_owned();
    assert_eq!(client.text(), format!("{}\n", text::WELCOME));
    assert_eq!(
        client.errors_text(),
        format!("{}\n", text::login_timed_out(&address, 10))
    );
}

#[test]
fn a_server_that_closes_without_answering_the_login_asks_again() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        // First attempt: read the hello, close without a word.
        let (first, _) = listener.accept().unwrap();
        let mut first = FakeConn {
            reader: std::io::BufReader::new(first.try_clone().unwrap()),
            stream: first,
        };
        let _ = first.line();
        drop(first);
        // Second attempt: accept.
        let (second, _) = listener.accept().unwrap();
        let mut second = FakeConn {
            reader: std::io::BufReader::new(second.try_clone().unwrap()),
            stream: second,
        };
        second.accept_login();
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect_err(&text::login_no_answer(&"alice".into()));
    client.send_line("alice");
    client.expect(&text::logged_in(&"alice".into()));
    drop(server);
}

#[test]
fn an_endless_line_is_never_printed_and_quit_still_works() {
    let (mut client, server) = logged_in("alice", |mut conn| {
        // 64 MiB without a newline, in pieces, or until the client leaves.
        let chunk = vec![b'z'; 64 * 1024];
        for _ in 0..1024 {
            if std::io::Write::write(&mut conn.stream, &chunk).is_err() {
                return;
            }
        }
        thread::sleep(Duration::from_secs(60));
    });
    client.collect_for(Duration::from_millis(500));
    client.send_line("!quit");
    let asked = Instant::now();
    let status = client.wait(TIMEOUT);
    assert!(status.success());
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(after_login(&client, "alice"), "");
    drop(server);
}

#[test]
fn binary_garbage_never_crashes_the_client_nor_reaches_the_terminal() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        let mut x: u32 = 0x1234_5678;
        let garbage: Vec<u8> = (0..1_000_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        conn.write(&garbage);
        conn.write(b"\nDELIVERY bob still alive\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.expect("From bob: still alive\n");
    for &b in &client.output {
        assert!(
            b == b'\n' || b == b'\t' || b >= 0x20 && b != 0x7f,
            "byte {b:#x} printed"
        );
    }
    assert!(!client
        .text()
        .contains(|c: char| c.is_control() && c != '\n' && c != '\t'));
}

#[test]
fn the_name_the_server_confirms_is_shown_safely() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        conn.write(b"HELLO al\x1b]0;owned\x07ice\n");
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect(&text::logged_in(&SafeText::neutralise_str(
        "al\\x1b]0;owned\\x07ice",
    )));
    assert!(!client.output.contains(&0x1b));
}

/// Before the login's answer, a line longer than all the messages kept from
/// before it (16 MiB) can be no chat server's: the client says so at once,
/// instead of holding the line until the login times out (it grew to
/// gigabytes within the ten seconds).
#[test]
fn an_endless_line_before_the_login_answer_is_not_a_chat_server() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        // 40 MiB without a newline, or until the client leaves.
        let chunk = vec![b'z'; 64 * 1024];
        for _ in 0..640 {
            if std::io::Write::write_all(&mut conn.stream, &chunk).is_err() {
                return;
            }
        }
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    let status = client.wait(TIMEOUT);
    assert_eq!(status.code(), Some(1));
    let address = SafeText::neutralise_str(&format!("127.0.0.1:{port}")).into_owned();
    assert_eq!(client.text(), format!("{}\n", text::WELCOME));
    assert_eq!(
        client.errors_text(),
        format!("{}\n", text::not_a_chat_server(&address))
    );
}
