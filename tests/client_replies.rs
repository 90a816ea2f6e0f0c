//! What the server says, and when, against what the client shows: replies
//! matched to requests, the assignment's error lines whenever they come,
//! messages before the login answer or without a sender's name, and, in
//! plain mode, standard output holding exactly the assignment's lines while
//! everything else the client says goes to standard error.

use std::io::Read;
use std::thread;
use std::time::Duration;

use chat::client::{text, SafeText};
use expectrl::{Expect, Regex};
use testkit::client::{after_login, fake_server, logged_in, InShell, Launch, Piped, TIMEOUT};

#[test]
fn an_unknown_header_prints_a_note_on_standard_error_and_the_session_goes_on() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        conn.write(b"WHATEVER this is\nDELIVERY bob still here\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.expect("From bob: still here\n");
    client.expect_err(text::UNEXPECTED_REPLY);
    assert_eq!(after_login(&client, "alice"), "From bob: still here\n");
    assert_eq!(
        client.errors_text(),
        format!("{}\n", text::UNEXPECTED_REPLY)
    );
    assert!(!client.errors_text().contains("WHATEVER"));
}

/// The assignment's lines alone on standard output, the notes on standard
/// error; and a student's server that sends an empty (or blank) line after
/// each delivery and reply: an empty line carries no header, and is ignored
/// without a word.
#[test]
fn standard_output_holds_only_the_assignments_lines() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        assert_eq!(conn.line(), "SEND bob three");
        conn.write(b"DELIVERY bob one\n\nDELIVERY bob two\n  \t\r\nJUNK\nSEND-OK\n\n");
        conn.write(b"DELIVERY bob four\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.send_line("no command");
    client.send_line("@bob three");
    client.expect("From bob: four\n");
    let errors = format!("{}\n{}\n", text::COMMAND_HINT, text::UNEXPECTED_REPLY);
    client.expect_err(&errors);
    client.collect_for(Duration::from_millis(200));
    assert_eq!(
        after_login(&client, "alice"),
        format!(
            "From bob: one\nFrom bob: two\n{}\nFrom bob: four\n",
            text::SENT
        )
    );
    assert_eq!(client.errors_text(), errors);
}

/// In a terminal, which shows both standard output and standard error, the
/// lines keep the order in which they came; empty lines from the server show
/// nothing, so that messages stay consecutive `From` lines, as the course's
/// check (in a pseudo-terminal) wants them.
#[test]
fn in_a_terminal_notes_and_the_assignments_lines_keep_their_order() {
    let (port, _server) = fake_server(|mut conn| {
        conn.accept_login();
        conn.write(b"DELIVERY bob one\nJUNK\nDELIVERY bob two\n\nDELIVERY bob three\n\n");
        conn.write(b"DELIVERY bob four\n\n");
        thread::sleep(Duration::from_secs(60));
    });
    let mut session = expectrl::Session::spawn(Launch::Binary.command(port, &[])).unwrap();
    session.set_expect_timeout(Some(TIMEOUT));
    session.send_line("alice").unwrap();
    let note = regex_escape(text::UNEXPECTED_REPLY);
    session
        .expect(Regex(&format!(
            r"From bob: one\r?\n{note}\r?\nFrom bob: two\r?\nFrom bob: three\r?\nFrom bob: four\r?\n"
        )))
        .unwrap();
}

/// An empty line before the login's answer is ignored too (not taken for an
/// answer from outside the protocol).
#[test]
fn an_empty_line_before_the_login_answer_is_ignored() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        conn.write(b"\n \r\nHELLO alice\n\nDELIVERY bob hi\n");
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect("From bob: hi\n");
    client.collect_for(Duration::from_millis(200));
    assert_eq!(after_login(&client, "alice"), "From bob: hi\n");
    assert_eq!(client.errors_text(), "");
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == ' ' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn bad_request_errors_answering_requests_are_reported() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        assert_eq!(conn.line(), "SEND bob a");
        assert_eq!(conn.line(), "SEND bob b");
        conn.write(b"BAD-RQST-HDR\n");
        conn.write(b"BAD-RQST-BODY\n");
        conn.write(b"DELIVERY bob after\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.send_line("@bob a");
    client.send_line("@bob b");
    client.expect("From bob: after\n");
    assert_eq!(
        after_login(&client, "alice"),
        format!(
            "{}\n{}\nFrom bob: after\n",
            text::BAD_HEADER,
            text::BAD_BODY
        )
    );
}

#[test]
fn replies_to_requests_never_made_are_not_believed() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        conn.write(b"SEND-OK\nBAD-DEST-USER\nLIST-OK a,b\nDELIVERY bob end\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.expect("From bob: end\n");
    let unexpected = format!("{}\n", text::UNEXPECTED_REPLY);
    client.expect_err(&unexpected.repeat(3));
    assert_eq!(after_login(&client, "alice"), "From bob: end\n");
    assert_eq!(client.errors_text(), unexpected.repeat(3));
}

/// The server reports a fault in something the client sent: believed
/// whether or not a request waits, and shown in the order it came.
#[test]
fn bad_request_errors_are_shown_whenever_they_come() {
    let (port, server) = fake_server(|mut conn| {
        let _ = conn.line();
        // Right after login, unprompted.
        conn.write(b"HELLO alice\nBAD-RQST-HDR\n");
        // After a LIST-OK that answered !who.
        assert_eq!(conn.line(), "LIST");
        conn.write(b"LIST-OK bob,alice\nBAD-RQST-BODY\n");
        // Between deliveries, and alone.
        conn.write(b"DELIVERY bob one\nBAD-RQST-HDR\nDELIVERY bob two\n");
        thread::sleep(Duration::from_millis(100));
        conn.write(b"BAD-RQST-BODY\n");
        // A reply to what is sent after them is still matched to it.
        assert_eq!(conn.line(), "SEND bob three");
        conn.write(b"BAD-DEST-USER\n");
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect(&text::logged_in(&"alice".into()));
    client.send_line("!who");
    client.expect("From bob: two\n");
    client.expect(&format!("From bob: two\n{}\n", text::BAD_BODY));
    client.send_line("@bob three");
    client.expect(text::NO_SUCH_USER);
    let expected = [
        text::BAD_HEADER.into(),
        text::user_count(2),
        text::user_entry(&"bob".into()),
        text::user_entry(&"alice".into()),
        text::BAD_BODY.into(),
        "From bob: one".into(),
        text::BAD_HEADER.into(),
        "From bob: two".into(),
        text::BAD_BODY.into(),
        text::NO_SUCH_USER.into(),
    ]
    .map(|line: SafeText| format!("{line}\n"))
    .concat();
    assert_eq!(after_login(&client, "alice"), expected);
    assert_eq!(client.errors_text(), "");
    drop(client);
    drop(server);
}

/// Rich mode shows the error lines whenever they come too, in their place
/// among the others.
#[test]
fn rich_mode_shows_bad_request_errors_whenever_they_come() {
    let (port, _server) = fake_server(|mut conn| {
        conn.accept_login();
        conn.write(b"BAD-RQST-BODY\nDELIVERY bob one\nBAD-RQST-HDR\nDELIVERY bob two\n");
        let mut sink = Vec::new();
        let _ = conn.reader.read_to_end(&mut sink);
    });
    let mut shell = InShell::start("rich-errors", port, "");
    shell.login("alice");
    let pattern = [
        text::BAD_BODY,
        "From bob: one",
        text::BAD_HEADER,
        "From bob: two",
    ]
    .map(regex_escape)
    .join(r"[\s\S]*");
    shell.session.expect(Regex(&pattern)).unwrap();
    shell.session.send("!quit\r").unwrap();
    assert_eq!(shell.status(), 0);
}

/// A message whose sender's name is empty is not shown as if from a user
/// (`From : ...`): it is a note of the client's own, on standard error.
#[test]
fn a_message_without_a_senders_name_cannot_pass_for_a_user() {
    let (mut client, _server) = logged_in("alice", |mut conn| {
        conn.write(b"DELIVERY  bob: hi\nDELIVERY bob end\n");
        thread::sleep(Duration::from_secs(60));
    });
    client.expect("From bob: end\n");
    let note = text::no_sender(&"bob: hi".into());
    client.expect_err(note.as_str());
    assert_eq!(after_login(&client, "alice"), "From bob: end\n");
    assert_eq!(client.errors_text(), format!("{note}\n"));
}

/// A faulty server may queue a message for the user before its login
/// answer: it is shown after the login line. Replies before the answer
/// answer nothing: standard error says so, as it does after the login.
#[test]
fn a_message_before_the_login_answer_is_shown_after_the_login_line() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        conn.write(b"DELIVERY bob too early\nLIST-OK x\nSEND-OK\n");
        thread::sleep(Duration::from_millis(100));
        conn.write(b"DELIVERY carol early too\nHELLO alice\nDELIVERY bob on time\n");
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect("From bob: on time\n");
    let unexpected = format!("{0}\n{0}\n", text::UNEXPECTED_REPLY);
    client.expect_err(&unexpected);
    assert_eq!(
        after_login(&client, "alice"),
        "From bob: too early\nFrom carol: early too\nFrom bob: on time\n"
    );
    assert_eq!(client.errors_text(), unexpected);
}

/// What a server sends before its login answer is kept up to 16 MiB; the
/// messages beyond are counted on standard error.
#[test]
fn messages_before_the_login_answer_are_kept_up_to_a_limit() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        let mut flood = b"DELIVERY bob small\nDELIVERY bob ".to_vec();
        flood.resize(flood.len() + (16 << 20), b'x');
        flood.extend_from_slice(b"\nDELIVERY carol after it\nHELLO alice\nDELIVERY bob on time\n");
        conn.write(&flood);
        thread::sleep(Duration::from_secs(60));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect("From bob: on time\n");
    client.expect_err(&text::early_not_kept(2));
    assert_eq!(
        after_login(&client, "alice"),
        "From bob: small\nFrom bob: on time\n"
    );
    assert_eq!(
        client.errors_text(),
        format!("{}\n", text::early_not_kept(2))
    );
}

/// `BAD-RQST-HDR` in answer to `HELLO-FROM`, or sent before it, is the
/// assignment's header error, not a refused name; the client asks for a
/// name again, on a new connection.
#[test]
fn a_header_error_at_login_is_shown_as_such_and_a_name_asked_again() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let next = || {
            let (stream, _) = listener.accept().unwrap();
            testkit::client::FakeConn {
                reader: std::io::BufReader::new(stream.try_clone().unwrap()),
                stream,
            }
        };
        // In answer to the HELLO-FROM.
        let mut first = next();
        let hello = first.line();
        first.write(b"BAD-RQST-HDR\n");
        drop(first);
        // Before it.
        let mut second = next();
        second.write(b"BAD-RQST-HDR\n");
        drop(second);
        let mut third = next();
        third.accept_login();
        thread::sleep(Duration::from_secs(60));
        hello
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect(&format!("{}\n", text::BAD_HEADER));
    client.send_line("bob");
    client.expect(&format!("{}\n{}\n", text::BAD_HEADER, text::BAD_HEADER));
    client.send_line("carol");
    client.expect(&text::logged_in(&"carol".into()));
    assert_eq!(
        client.text(),
        format!(
            "{}\n{}\n{}\n{}\n",
            text::WELCOME,
            text::BAD_HEADER,
            text::BAD_HEADER,
            text::logged_in(&"carol".into())
        )
    );
    assert_eq!(client.errors_text(), "");
    drop(server);
}
