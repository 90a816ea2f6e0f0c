//! The client as a command-line program: exit paths and statuses, `--local`,
//! piped input, and `client.py` itself.

use std::process::Command;
use std::time::{Duration, Instant};

use chat::client::{text, SafeText};
use expectrl::process::unix::WaitStatus;
use expectrl::{ControlCode, Eof, Expect, Session};
use testkit::client::{after_login, chat, fake_server, InShell, Launch, Piped, CLIENT_PY, TIMEOUT};
use testkit::screen::unsent_bytes;
use testkit::{free_port, start_server, Client};

#[test]
fn an_unreachable_server_gives_a_clear_line_a_suggestion_and_a_failure_status() {
    let port = free_port();
    let mut client = Piped::binary(port);
    client.send_line("alice");
    let status = client.wait(TIMEOUT);
    assert!(!status.success());
    let address = SafeText::neutralise_str(&format!("127.0.0.1:{port}")).into_owned();
    let expected = text::cannot_connect(&address, &"Connection refused".into());
    // The address is on this machine: starting a server here is suggested.
    assert_eq!(client.text(), format!("{}\n", text::WELCOME));
    assert_eq!(
        client.errors_text(),
        format!("{expected}\n{}\n", text::TRY_LOCAL)
    );
}

#[test]
fn end_of_input_at_the_name_prompt_quits_with_success() {
    let server = start_server(&[]);
    let mut client = Piped::binary(server.port);
    client.close_stdin();
    assert!(client.wait(TIMEOUT).success());
    assert_eq!(client.text(), format!("{}\n", text::WELCOME));
}

#[test]
fn piped_input_is_handled_in_order_and_replies_are_shown_before_exit() {
    let server = start_server(&["--no-bots"]);
    let mut client = Piped::binary(server.port);
    // Everything at once, then end of input: nothing may be lost.
    client.send_line("alice");
    client.send_line("@alice one");
    client.send_line("!who");
    client.close_stdin();
    assert!(client.wait(TIMEOUT).success());
    let expected = [
        text::WELCOME.into(),
        text::logged_in(&"alice".into()),
        text::SENT.into(),
        text::message_from(&"alice".into(), &"one".into()),
        text::user_count(1),
        text::user_entry(&"alice".into()),
    ]
    .join("\n");
    assert_eq!(client.text(), format!("{expected}\n"));
}

/// A carriage return inside a message would end the line early at many
/// servers: the message is not sent, and the user is told why (not given
/// the hint for a line that is not a command).
#[test]
fn a_message_with_a_carriage_return_inside_is_not_sent_and_says_why() {
    let server = start_server(&["--no-bots"]);
    let mut client = Piped::binary(server.port);
    client.send_line("alice");
    client.send_line("@alice a\rb");
    client.send_line("@alice whole\r");
    client.close_stdin();
    assert!(client.wait(TIMEOUT).success());
    assert_eq!(client.errors_text(), format!("{}\n", text::LINE_BREAK));
    assert_eq!(
        after_login(&client, "alice"),
        format!(
            "{}\n{}\n",
            text::SENT,
            text::message_from(&"alice".into(), &"whole".into())
        )
    );
}

#[test]
fn a_closed_server_ends_a_waiting_client_without_a_keypress() {
    let server = start_server(&[]);
    let mut session = Session::spawn(Launch::Binary.command(server.port, &[])).unwrap();
    session.set_expect_timeout(Some(TIMEOUT));
    session.send_line("alice").unwrap();
    session
        .expect(text::logged_in(&"alice".into()).as_str())
        .unwrap();
    let killed = Instant::now();
    drop(server);
    session.expect(text::SERVER_CLOSED).unwrap();
    session.expect(Eof).unwrap();
    assert!(killed.elapsed() < Duration::from_secs(2));
    assert!(matches!(
        session.get_process().wait().unwrap(),
        WaitStatus::Exited(_, code) if code != 0
    ));
}

/// Ctrl-D ends the input (status 0); Ctrl-C, in plain mode, is SIGINT
/// (status 130).
fn ctrl_key_quits(code: ControlCode, logged_in: bool, status: i32) {
    let server = start_server(&[]);
    let mut session = Session::spawn(Launch::Binary.command(server.port, &[])).unwrap();
    session.set_expect_timeout(Some(TIMEOUT));
    session.expect(text::WELCOME).unwrap();
    if logged_in {
        session.send_line("alice").unwrap();
        session
            .expect(text::logged_in(&"alice".into()).as_str())
            .unwrap();
    }
    session.send(code).unwrap();
    session.expect(Eof).unwrap();
    let ended = session.get_process().wait().unwrap();
    assert!(
        matches!(ended, WaitStatus::Exited(_, code) if code == status),
        "{ended:?}"
    );
}

#[test]
fn ctrl_c_quits_at_the_name_prompt() {
    ctrl_key_quits(ControlCode::EndOfText, false, 130);
}

#[test]
fn ctrl_c_quits_after_login() {
    ctrl_key_quits(ControlCode::EndOfText, true, 130);
}

#[test]
fn ctrl_d_quits_after_login() {
    ctrl_key_quits(ControlCode::EndOfTransmission, true, 0);
}

#[test]
fn local_hosts_a_server_that_others_join_and_that_ends_with_its_host() {
    let port = free_port();
    let mut host = Piped::spawn(Launch::Binary.command(port, &["--local"]));
    host.expect_err(&text::hosting(&SafeText::neutralise_str(&format!(
        "127.0.0.1:{port}"
    ))));
    host.send_line("alice");
    host.expect(&text::logged_in(&"alice".into()));

    // A second --local finds the server and joins it instead of hosting.
    let mut guest = Piped::spawn(Launch::Binary.command(port, &["--local"]));
    guest.send_line("bob");
    guest.expect(&text::logged_in(&"bob".into()));
    assert!(!guest.errors_text().contains("Started a local"));

    // The bots are there too.
    guest.send_line("@echobot ping");
    guest.expect(&text::message_from(&"echobot".into(), &"ping".into()));
    guest.send_line("@alice hi");
    host.expect(&text::message_from(&"bob".into(), &"hi".into()));

    host.send_line("!quit");
    assert!(host.wait(TIMEOUT).success());
    guest.expect_err(text::SERVER_CLOSED);
    assert!(!guest.wait(TIMEOUT).success());
}

#[test]
fn help_describes_every_flag() {
    let out = Command::new(chat()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--address",
        "--port",
        "--plain",
        "--local",
        "--color",
        "--history-file",
        "--no-history",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let out = Command::new(chat()).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn client_py_says_how_to_build_when_the_binary_is_missing() {
    let dir = std::env::temp_dir().join(format!("chat-clientpy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("client.py");
    std::fs::copy(CLIENT_PY, &script).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .env_remove("CHAT_CLIENT_BINARY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cargo build --release"));

    // A CHAT_CLIENT_BINARY that names nothing is said to, not "not built".
    let out = Command::new("python3")
        .arg(&script)
        .env("CHAT_CLIENT_BINARY", dir.join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CHAT_CLIENT_BINARY names"), "{stderr}");
    assert!(!stderr.contains("cargo build"), "{stderr}");

    // With target/release/chat next to it, it runs that binary in plain mode.
    let release = dir.join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    let _ = std::fs::remove_file(release.join("chat"));
    std::os::unix::fs::symlink(chat(), release.join("chat")).unwrap();
    let server = start_server(&["--no-bots"]);
    let mut peer = Client::login(&server, "bob");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .args(["--address", "127.0.0.1", "--port", &server.port.to_string()])
        .env_remove("CHAT_CLIENT_BINARY");
    let mut client = Piped::spawn(cmd);
    client.send_line("alice");
    client.send_line("@bob via client.py");
    assert_eq!(peer.line(), "DELIVERY alice via client.py");
    client.close_stdin();
    assert!(client.wait(TIMEOUT).success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// In plain mode, standard output that is a pipe gets a 1 MiB buffer, so that
/// writing a huge message is not 1,600 rounds of filling 64 KiB and waiting.
#[cfg(target_os = "linux")]
#[test]
fn plain_mode_enlarges_a_pipe_on_standard_output() {
    use chat::client::PIPE_BUFFER;
    use nix::fcntl::{fcntl, FcntlArg};
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let limit: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    let mut child = Launch::Binary
        .command(free_port(), &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start chat");
    let stdout = child.stdout.take().unwrap();
    let before = fcntl(&stdout, FcntlArg::F_GETPIPE_SZ).unwrap();
    let mut lines = BufReader::new(stdout);
    let mut welcome = String::new();
    lines.read_line(&mut welcome).unwrap();
    assert_eq!(welcome.trim_end(), text::WELCOME);
    // The welcome line is written after the screen is set up.
    let after = fcntl(lines.get_ref(), FcntlArg::F_GETPIPE_SZ).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    if limit >= PIPE_BUFFER {
        assert_eq!(usize::try_from(after).unwrap(), PIPE_BUFFER, "was {before}");
    } else {
        assert!(after >= before, "the pipe shrank from {before} to {after}");
    }
}

/// Piped input is handled in order: a `!quit` that arrives while the login is
/// under way, behind other lines, quits only after them.
#[test]
fn piped_quit_behind_other_lines_during_login_keeps_its_place() {
    let (port, server) = fake_server(|mut conn| {
        let hello = conn.line();
        // Answer late, so that every line below has arrived meanwhile.
        std::thread::sleep(Duration::from_millis(500));
        conn.write(b"HELLO alice\n");
        let request = conn.line();
        conn.write(b"SEND-OK\n");
        (hello, request)
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.send_line("@bob hi");
    client.send_line("!quit");
    assert!(client.wait(TIMEOUT).success());
    assert!(
        client
            .text()
            .contains(text::logged_in(&"alice".into()).as_str()),
        "{:?}",
        client.text()
    );
    let (hello, request) = server.join().unwrap();
    assert_eq!(hello, "HELLO-FROM alice");
    assert_eq!(request, "SEND bob hi");
}

/// The client started by `launch` with `args` on a terminal that can do
/// colour and titles, logged in as alice.
fn alice_on_a_capable_terminal(
    launch: Launch,
    port: u16,
    args: &[&str],
) -> expectrl::session::OsSession {
    let mut cmd = launch.command(port, args);
    cmd.env("TERM", "xterm-256color");
    let mut s = Session::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(TIMEOUT));
    s.expect(text::WELCOME).unwrap();
    s.send_line("alice").unwrap();
    s.expect(text::logged_in(&"alice".into()).as_str()).unwrap();
    s
}

#[test]
fn the_course_check_passes_through_client_py_on_a_capable_terminal() {
    use expectrl::Regex;
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut s = alice_on_a_capable_terminal(Launch::ClientPy, server.port, &[]);
    let messages: Vec<String> = (0..10)
        .map(|i| format!("quick{i}{}", "x".repeat(40)))
        .collect();
    for m in &messages {
        bob.send_line(&format!("SEND alice {m}"));
    }
    let pattern = messages
        .iter()
        .map(|m| text::message_from(&"bob".into(), &SafeText::neutralise_str(m)))
        .collect::<Vec<_>>()
        .join(r"\s*");
    let found = s.expect(Regex(&pattern)).unwrap();
    assert!(!String::from_utf8_lossy(found.as_bytes()).contains('\x1b'));
    s.send_line("!quit").unwrap();
    s.expect(expectrl::Eof).unwrap();
}

#[test]
fn plain_mode_never_colours_and_never_sets_a_title() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut s = alice_on_a_capable_terminal(
        Launch::Binary,
        server.port,
        &["--color", "always", "--bell"],
    );
    bob.send_line("SEND alice hi");
    s.expect(text::message_from(&"bob".into(), &"hi".into()).as_str())
        .unwrap();
    s.send_line("!quit").unwrap();
    let rest = s.expect(Eof).unwrap();
    let rest = String::from_utf8_lossy(rest.before());
    assert!(!rest.contains('\x1b'), "{rest:?}");
    assert!(!rest.contains('\x07'), "{rest:?}");
}

#[test]
fn piped_lines_are_answered_in_their_order_and_quit_waits_for_the_answers() {
    let server = start_server(&["--no-bots"]);
    let mut bob = Client::login(&server, "bob");
    let mut client = Piped::binary(server.port);
    for line in ["alice", "@bob hello", "!who", "no command here", "!quit"] {
        client.send_line(line);
    }
    assert!(client.wait(TIMEOUT).success());
    assert_eq!(bob.line(), "DELIVERY alice hello");
    let expected = [
        text::WELCOME.into(),
        text::logged_in(&"alice".into()),
        text::SENT.into(),
        text::user_count(2),
        text::user_entry(&"bob".into()),
        text::user_entry(&"alice".into()),
    ]
    .join("\n");
    assert_eq!(client.text(), format!("{expected}\n"));
    assert_eq!(client.errors_text(), format!("{}\n", text::COMMAND_HINT));
}

// ---- signals, and quitting at once ------------------------------------------

/// A fake server that logs the client in, then reads whatever it sends,
/// answers nothing, and never closes the connection.
fn silent_server() -> u16 {
    let (port, _server) = fake_server(|mut conn| {
        conn.accept_login();
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut conn.reader, &mut sink);
        std::thread::sleep(Duration::from_secs(60));
    });
    port
}

/// Sends `signal` to the process `pid`.
fn kill(pid: u32, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
}

#[test]
fn signals_end_plain_mode_with_128_and_their_number() {
    use nix::sys::signal::Signal;
    let server = start_server(&["--no-bots"]);
    for (signal, status, logged_in) in [
        (Signal::SIGTERM, 143, false),
        (Signal::SIGTERM, 143, true),
        (Signal::SIGHUP, 129, true),
        (Signal::SIGINT, 130, true),
    ] {
        let mut client = Piped::binary(server.port);
        client.expect(text::WELCOME);
        if logged_in {
            let name = format!("u{status}");
            client.send_line(&name);
            client.expect(&text::logged_in(&SafeText::neutralise_str(&name)));
        }
        kill(client.pid(), signal);
        let ended = client.wait(TIMEOUT);
        assert_eq!(ended.code(), Some(status), "{signal} ({ended:?})");
    }
}

#[test]
fn signals_end_rich_mode_with_128_and_their_number_and_the_terminal_given_back() {
    use nix::sys::signal::Signal;
    for (signal, status) in [
        (Signal::SIGTERM, 143),
        (Signal::SIGHUP, 129),
        (Signal::SIGINT, 130),
    ] {
        let mut shell = InShell::start(&format!("rich-{status}"), silent_server(), "");
        shell.login("alice");
        shell.session.send("half typed").unwrap();
        kill(shell.client_pid(), signal);
        assert_eq!(shell.status(), status, "{signal}");
    }
}

/// `!quit` against a server that keeps the connection open and answers
/// nothing (not even rich mode's silent LIST, nor a message sent): the
/// program ends at once, in both modes.
#[test]
fn quit_at_a_terminal_ends_at_once_while_the_server_keeps_the_connection() {
    for args in ["", "--plain"] {
        let mut shell = InShell::start("quit", silent_server(), args);
        shell.login("alice");
        shell.session.send("@bob hi\r").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        shell.session.send("!quit\r").unwrap();
        let asked = Instant::now();
        assert_eq!(shell.status(), 0, "{args:?}");
        // Waiting for the replies owed, or for the server, took 2 s.
        let took = asked.elapsed();
        assert!(took < Duration::from_millis(1500), "{args:?}: {took:?}");
    }
}

// ---- piped input: a `!quit` right after the name -----------------------------

/// `printf 'alice\n!quit\n' | chat`: the `!quit` is handled after the login's
/// answer, which is shown (standard input is not a terminal), so the exit
/// status says how the login went.
#[test]
fn a_piped_quit_right_after_the_name_waits_for_the_login_answer() {
    // Accepted: the login line, then quit with success.
    let server = start_server(&["--no-bots"]);
    let mut client = Piped::binary(server.port);
    client.send_line("alice\n!quit");
    let status = client.wait(TIMEOUT);
    assert_eq!(
        client.text(),
        format!("{}\n{}\n", text::WELCOME, text::logged_in(&"alice".into()))
    );
    assert!(status.success(), "{status:?}");

    // Full: the assignment's line, and a failure.
    let full = start_server(&["--no-bots", "--max-clients", "0"]);
    let mut client = Piped::binary(full.port);
    client.send_line("alice\n!quit");
    let status = client.wait(TIMEOUT);
    assert_eq!(
        client.text(),
        format!("{}\n{}\n", text::WELCOME, text::SERVER_FULL)
    );
    assert_eq!(status.code(), Some(1));

    // Nothing listens: said on standard error, and a failure.
    let port = free_port();
    let mut client = Piped::binary(port);
    client.send_line("alice\n!quit");
    let status = client.wait(TIMEOUT);
    let address = SafeText::neutralise_str(&format!("127.0.0.1:{port}")).into_owned();
    let expected = text::cannot_connect(&address, &"Connection refused".into());
    assert!(
        client.errors_text().starts_with(expected.as_str()),
        "{:?}",
        client.errors_text()
    );
    assert_eq!(status.code(), Some(1));
}

/// At the end of piped input the client waits for the replies it is owed;
/// a server that closes the connection meanwhile is said to have closed it,
/// and the exit status is a failure.
#[test]
fn a_server_that_closes_while_replies_are_owed_at_the_end_of_input_is_a_failure() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.accept_login();
        let _ = conn.line();
        std::thread::sleep(Duration::from_millis(300));
    });
    let mut client = Piped::binary(port);
    client.send_line("alice\n!who");
    client.close_stdin();
    let status = client.wait(TIMEOUT);
    assert_eq!(
        client.errors_text(),
        format!("{}\n", text::SERVER_CLOSED),
        "{:?}",
        client.text()
    );
    assert_eq!(status.code(), Some(1));
}

/// Against a server that answers the login late, the same: the answer is
/// waited for and shown.
#[test]
fn a_piped_quit_waits_for_a_late_login_answer() {
    let (port, server) = fake_server(|mut conn| {
        let hello = conn.line();
        std::thread::sleep(Duration::from_millis(300));
        conn.write(b"HELLO alice\n");
        // Until the client closes the connection.
        let _ = conn.line();
        hello
    });
    let mut client = Piped::binary(port);
    client.send_line("alice\n!quit");
    let status = client.wait(TIMEOUT);
    assert!(status.success(), "{status:?}");
    assert_eq!(
        client.text(),
        format!("{}\n{}\n", text::WELCOME, text::logged_in(&"alice".into()))
    );
    assert_eq!(server.join().unwrap(), "HELLO-FROM alice");
}

/// A signal that comes before the client has set anything up ends it as any
/// other signal does, with 128 + its number, instead of by the signal's
/// default action (before the handlers were in place, SIGTERM within about
/// a millisecond of the start did that). Here the signal is made to come
/// first for sure: it is blocked while the client starts (a child inherits
/// the blocked signals), so it is pending from the start.
#[test]
fn a_signal_at_the_start_ends_the_client_with_its_status() {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
    let server = start_server(&["--no-bots"]);
    for (signal, status) in [(Signal::SIGTERM, 143), (Signal::SIGINT, 130)] {
        let mut blocked = SigSet::empty();
        blocked.add(signal);
        let mut before = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut before)).unwrap();
        let mut client = Piped::binary(server.port);
        pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None).unwrap();
        kill(client.pid(), signal);
        let ended = client.wait(TIMEOUT);
        assert_eq!(ended.code(), Some(status), "{signal} ({ended:?})");
    }
}

// ---- plain mode while standard output takes nothing ------------------------

/// A fake server that logs the client in, then sends messages as fast as
/// the client takes them, until it leaves. `blocked` is told once the
/// client has stopped taking them for a while (its output is full).
fn flooding_server(blocked: std::sync::mpsc::Sender<()>) -> u16 {
    let (port, _server) = fake_server(move |mut conn| {
        conn.accept_login();
        conn.stream
            .set_write_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let line = format!("DELIVERY bob {}\n", "z".repeat(100)).repeat(100);
        let mut told = false;
        loop {
            match std::io::Write::write(&mut conn.stream, line.as_bytes()) {
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    if !std::mem::replace(&mut told, true) {
                        let _ = blocked.send(());
                    }
                }
                Err(_) => return,
            }
        }
    });
    port
}

/// Waits until `child` has ended, for at most 3 s; its exit status, or
/// `None` if it is still running.
fn ended_within_3_s(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Standard output on a pipe nobody reads (a paused pager, a full pipe),
/// while a server floods the client: signals and `!quit` still end it, with
/// their exit status. (Before, the client waited in its write to standard
/// output, for as long as that took nothing.)
#[test]
fn signals_and_quit_end_plain_mode_while_standard_output_takes_nothing() {
    use nix::sys::signal::Signal;
    use std::io::Write;
    use std::process::Stdio;
    for (signal, status) in [
        (Some(Signal::SIGTERM), 143),
        (Some(Signal::SIGHUP), 129),
        (Some(Signal::SIGINT), 130),
        (None, 0),
    ] {
        let (blocked_tx, blocked) = std::sync::mpsc::channel();
        let port = flooding_server(blocked_tx);
        let mut child = Launch::Binary
            .command(port, &[])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Held, never read.
        let _stdout = child.stdout.take().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"alice\n").unwrap();
        blocked
            .recv_timeout(TIMEOUT)
            .expect("the client stops taking messages");
        match signal {
            Some(signal) => kill(child.id(), signal),
            None => stdin.write_all(b"!quit\n").unwrap(),
        }
        let ended = ended_within_3_s(&mut child);
        assert_eq!(
            ended.and_then(|ended| ended.code()),
            Some(status),
            "{signal:?}: {ended:?}"
        );
    }
}

/// The same on a terminal whose output is stopped (Ctrl-S): Ctrl-C ends the
/// client, with status 130.
#[test]
fn ctrl_c_ends_plain_mode_on_a_stopped_terminal() {
    let (blocked_tx, blocked) = std::sync::mpsc::channel();
    let port = flooding_server(blocked_tx);
    let mut session = Session::spawn(Launch::Binary.command(port, &[])).unwrap();
    session.set_expect_timeout(Some(TIMEOUT));
    session.expect(text::WELCOME).unwrap();
    // Ctrl-S (XOFF) stops the terminal's output.
    session.send([0x13]).unwrap();
    session.send_line("alice").unwrap();
    blocked
        .recv_timeout(TIMEOUT)
        .expect("the client stops taking messages");
    session.send(ControlCode::EndOfText).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut status = session.get_process().status().unwrap();
    while status == WaitStatus::StillAlive && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        status = session.get_process().status().unwrap();
    }
    if status == WaitStatus::StillAlive {
        let pid = session.get_process().pid().as_raw();
        kill(
            u32::try_from(pid).unwrap(),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        matches!(status, WaitStatus::Exited(_, 130)),
        "Ctrl-C did not end the client in 3 s: {status:?}"
    );
}

/// A server that takes nothing more: a signal ends the client at once, with
/// no wait for what it still had to send. (Before, it waited 2 s.)
#[test]
fn a_signal_ends_the_client_at_once_when_the_server_takes_nothing() {
    use nix::sys::signal::Signal;
    let (port, _server) = fake_server(|mut conn| {
        conn.accept_login();
        // Read nothing more, for as long as the test runs.
        std::thread::sleep(Duration::from_secs(60));
        conn
    });
    let mut client = Piped::binary(port);
    client.send_line("alice");
    client.expect(&text::logged_in(&"alice".into()));
    // More than the kernel's buffers on both sides take.
    client.send_line(&format!("@bob {}", "m".repeat(24 << 20)));
    // Once it waits for the server to take what it sent (and is not still
    // busy making the request of that line, which a debug build takes a
    // second over).
    let deadline = Instant::now() + TIMEOUT;
    while unsent_bytes(client.pid(), port) == 0 {
        assert!(Instant::now() < deadline, "the client sent nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    client.collect_for(Duration::from_millis(200));
    kill(client.pid(), Signal::SIGTERM);
    let asked = Instant::now();
    let ended = client.wait(TIMEOUT);
    let took = asked.elapsed();
    assert_eq!(ended.code(), Some(143));
    assert!(took < Duration::from_millis(1500), "{took:?}");
}
