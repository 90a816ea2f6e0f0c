//! The rich front end in a pseudo-terminal: editing while messages arrive,
//! history, completion, colour, and the terminal restored on every exit path.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chat::client::text;
use common::client::{Launch, CHAT, TIMEOUT};
use common::{start_server, Client};
use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{ControlCode, Eof, Expect, Regex, Session};

/// A fresh temporary folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-rich-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The client in rich mode (a terminal on both ends, a capable TERM), with its
/// data directory in `data` so that no test touches the real history. Colour
/// is off (NO_COLOR) so that lines can be matched as text; the colour test
/// turns it on.
fn rich(port: u16, data: &Path, extra: &[&str]) -> OsSession {
    spawn(rich_command(port, data, extra))
}

fn rich_command(port: u16, data: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(CHAT);
    cmd.args(["--address", "127.0.0.1", "--port", &port.to_string()])
        .args(extra)
        .env("TERM", "xterm-256color")
        .env("XDG_DATA_HOME", data)
        .env("NO_COLOR", "1");
    cmd
}

fn spawn(cmd: Command) -> OsSession {
    let mut session = Session::spawn(cmd).expect("spawn in a pty");
    session.set_expect_timeout(Some(TIMEOUT));
    session
}

/// Logs in and waits for the prompt (keys typed before it are read by the
/// terminal's line discipline, where Ctrl-D means something else).
fn login(session: &mut OsSession, name: &str) {
    login_plain(session, name);
    session.expect(format!("{name}> ").as_str()).unwrap();
}

/// Logs in where there is no prompt (plain mode).
fn login_plain(session: &mut OsSession, name: &str) {
    session.expect(text::WELCOME).unwrap();
    session.send_line(name).unwrap();
    session.expect(text::logged_in(name).as_str()).unwrap();
}

fn quit(session: &mut OsSession) -> String {
    session.send_line("!quit").unwrap();
    let rest = session.expect(Eof).unwrap();
    assert!(matches!(
        session.get_process().wait().unwrap(),
        WaitStatus::Exited(_, 0)
    ));
    String::from_utf8_lossy(rest.before()).into_owned()
}

#[test]
fn a_half_typed_line_survives_an_incoming_message() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let data = temp_dir("half");
    let mut s = rich(server.port, &data, &["--no-history"]);
    login(&mut s, "alice");
    s.send("@bob hel").unwrap();
    s.expect("@bob hel").unwrap();
    bob.send_line("SEND alice incoming while typing");
    s.expect("incoming while typing").unwrap();
    // The prompt and the half-typed line are drawn again below the message.
    s.expect("alice> @bob hel").unwrap();
    s.send("lo world\r").unwrap();
    assert_eq!(bob.line(), "SEND-OK");
    assert_eq!(bob.line(), "DELIVERY alice hello world");
    s.expect(text::SENT).unwrap();
    quit(&mut s);
}

#[test]
fn history_is_kept_between_runs_without_login_names() {
    let server = start_server(&[]);
    let data = temp_dir("history");
    let mut s = rich(server.port, &data, &[]);
    login(&mut s, "alice");
    s.send_line("@echobot first entry").unwrap();
    s.expect(text::message_from("echobot", "first entry").as_str())
        .unwrap();
    quit(&mut s);

    // The default place: chat/history.txt in the data directory.
    let file = data.join("chat/history.txt");
    let history = std::fs::read_to_string(&file).unwrap();
    assert!(history.contains("@echobot first entry"), "{history:?}");
    assert!(!history.contains("alice"), "login names are not history");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // A new run recalls it with the Up arrow.
    let mut s = rich(server.port, &data, &[]);
    login(&mut s, "bob");
    s.send("\x1b[A").unwrap();
    s.expect("@echobot first entry").unwrap();
    s.send("\r").unwrap();
    s.expect(text::message_from("echobot", "first entry").as_str())
        .unwrap();
    quit(&mut s);
}

#[test]
fn no_history_writes_nothing_and_history_file_chooses_the_place() {
    let server = start_server(&[]);
    let data = temp_dir("nohistory");
    let mut s = rich(server.port, &data, &["--no-history"]);
    login(&mut s, "alice");
    s.send_line("@echobot secret").unwrap();
    s.expect(text::message_from("echobot", "secret").as_str())
        .unwrap();
    quit(&mut s);
    assert!(!data.join("chat").exists(), "--no-history wrote a file");

    let file = data.join("elsewhere/h.txt");
    let mut s = rich(
        server.port,
        &data,
        &["--history-file", file.to_str().unwrap()],
    );
    login(&mut s, "alice");
    s.send_line("@echobot kept").unwrap();
    s.expect(text::message_from("echobot", "kept").as_str())
        .unwrap();
    quit(&mut s);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("@echobot kept"));
    assert!(!data.join("chat").exists());
}

#[test]
fn history_keeps_at_most_a_thousand_entries() {
    let server = start_server(&[]);
    let data = temp_dir("maxhistory");
    let file = data.join("h.txt");
    let mut old = String::from("#V2\n");
    for i in 0..1200 {
        old.push_str(&format!("@echobot old{i}\n"));
    }
    std::fs::write(&file, old).unwrap();
    let mut s = rich(
        server.port,
        &data,
        &["--history-file", file.to_str().unwrap()],
    );
    login(&mut s, "alice");
    s.send_line("@echobot newest").unwrap();
    s.expect(text::message_from("echobot", "newest").as_str())
        .unwrap();
    quit(&mut s);
    let history = std::fs::read_to_string(&file).unwrap();
    let entries = history.lines().filter(|l| l.starts_with('@')).count();
    assert!(entries <= 1000, "{entries} entries kept");
    assert!(history.contains("@echobot newest\n"));
    assert!(
        !history.contains("@echobot old0\n"),
        "the oldest entries go first"
    );
    assert!(!history.contains("!quit"), "!quit is not history");
}

#[test]
fn tab_completes_names_and_silent_refreshes_never_print() {
    let server = start_server(&[]);
    let mut bobby = Client::login(&server, "bobby");
    let data = temp_dir("complete");
    let mut s = rich(server.port, &data, &["--no-history"]);
    login(&mut s, "alice");
    // The names fetched silently at login serve the first Tab.
    std::thread::sleep(Duration::from_millis(300));
    s.send("@bob\t").unwrap();
    s.expect("@bobby ").unwrap();
    s.send("hi there\r").unwrap();
    assert_eq!(bobby.line(), "DELIVERY alice hi there");

    // A user who logs in later is found by the refresh that a Tab asks for
    // once the list is more than a few seconds old.
    let mut dave = Client::login(&server, "dave");
    std::thread::sleep(Duration::from_millis(5500));
    s.send("@da\t").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    s.send("\t").unwrap();
    s.expect("@dave ").unwrap();
    s.send("found you\r").unwrap();
    assert_eq!(dave.line(), "DELIVERY alice found you");

    // Senders are learned too.
    let _carol = {
        let mut carol = Client::login(&server, "carol");
        carol.send_line("SEND alice hello from carol");
        s.expect("hello from carol").unwrap();
        carol
    };
    s.send("@car\t").unwrap();
    s.expect("@carol ").unwrap();
    s.send("back\r").unwrap();

    // !who prints once; the silent lists printed nothing.
    s.send_line("!who").unwrap();
    let before = s.expect(text::user_entry("carol").as_str()).unwrap();
    let shown = String::from_utf8_lossy(before.before()).into_owned();
    let rest = quit(&mut s);
    assert_eq!(
        format!("{shown}{rest}").matches("online users").count(),
        1,
        "{shown}{rest}"
    );
}

#[test]
fn colour_in_rich_mode_and_not_with_no_color_or_never() {
    let server = start_server(&[]);
    let data = temp_dir("colour");
    let mut bob = Client::login(&server, "bob");

    let mut cmd = rich_command(server.port, &data, &["--no-history"]);
    cmd.env_remove("NO_COLOR");
    let mut s = spawn(cmd);
    login(&mut s, "alice");
    bob.send_line("SEND alice coloured");
    s.expect(Regex(
        "From \x1b\\[[0-9;]*m(\x1b\\[[0-9;]*m)*bob\x1b\\[[0-9;]*m",
    ))
    .unwrap();
    s.send_line("@nobody x").unwrap();
    s.expect(Regex(&format!("\x1b\\[31m{}", text::NO_SUCH_USER)))
        .unwrap();
    quit(&mut s);

    for (env_no_color, args) in [(true, &[][..]), (false, &["--color", "never"][..])] {
        let mut cmd = Command::new(CHAT);
        cmd.args(["--port", &server.port.to_string(), "--no-history"])
            .args(args)
            .env("TERM", "xterm-256color")
            .env("XDG_DATA_HOME", &data);
        if env_no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let mut s = spawn(cmd);
        login(&mut s, "carol");
        bob.send_line("SEND carol plain");
        assert_eq!(bob.line(), "SEND-OK");
        s.expect(text::message_from("bob", "plain").as_str())
            .unwrap();
        s.send_line("@nobody x").unwrap();
        let before = s.expect(text::NO_SUCH_USER).unwrap();
        assert!(
            !String::from_utf8_lossy(before.before()).contains("\x1b[31m"),
            "coloured error with {args:?}"
        );
        quit(&mut s);
    }
}

#[test]
fn plain_mode_never_colours() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut s = spawn(Launch::Binary.command(server.port, &["--color", "always"]));
    login_plain(&mut s, "alice");
    bob.send_line("SEND alice hi");
    s.expect(text::message_from("bob", "hi").as_str()).unwrap();
    let rest = quit(&mut s);
    assert!(!rest.contains('\x1b'));
}

/// Runs the client in a shell that records `stty -g` before and after, drives
/// it with `drive`, and checks that the terminal settings are the same.
fn terminal_restored_after(name: &str, port: u16, drive: impl FnOnce(&mut OsSession)) {
    let dir = temp_dir(name);
    let script = format!(
        "stty -g > '{d}/before'; TERM=xterm-256color XDG_DATA_HOME='{d}' '{chat}' --port {port} --no-history; stty -g > '{d}/after'; echo ALL-DONE",
        d = dir.display(),
        chat = CHAT,
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]).env_remove("NO_COLOR");
    let mut s = spawn(cmd);
    s.expect(text::WELCOME).unwrap();
    drive(&mut s);
    s.expect("ALL-DONE").unwrap();
    let before = std::fs::read_to_string(dir.join("before")).unwrap();
    let after = std::fs::read_to_string(dir.join("after")).unwrap();
    assert!(!before.trim().is_empty());
    assert_eq!(before, after, "terminal settings changed ({name})");
}

#[test]
fn terminal_restored_after_quit() {
    let server = start_server(&[]);
    terminal_restored_after("quit", server.port, |s| {
        s.send_line("alice").unwrap();
        s.expect(text::logged_in("alice").as_str()).unwrap();
        s.expect("alice> ").unwrap();
        s.send_line("!quit").unwrap();
    });
}

#[test]
fn terminal_restored_after_ctrl_d() {
    let server = start_server(&[]);
    terminal_restored_after("ctrld", server.port, |s| {
        s.send_line("alice").unwrap();
        s.expect(text::logged_in("alice").as_str()).unwrap();
        s.expect("alice> ").unwrap();
        s.send(ControlCode::EndOfTransmission).unwrap();
    });
}

#[test]
fn terminal_restored_after_ctrl_c_which_first_clears_the_line() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    terminal_restored_after("ctrlc", server.port, |s| {
        s.send_line("alice").unwrap();
        s.expect(text::logged_in("alice").as_str()).unwrap();
        s.expect("alice> ").unwrap();
        s.send("@bob discarded").unwrap();
        s.expect("discarded").unwrap();
        s.send(ControlCode::EndOfText).unwrap();
        s.send("@bob kept\r").unwrap();
        s.expect(text::SENT).unwrap();
        s.send(ControlCode::EndOfText).unwrap();
    });
    assert_eq!(bob.line(), "DELIVERY alice kept");
}

#[test]
fn terminal_restored_when_the_server_goes_away_while_typing() {
    let server = start_server(&[]);
    let port = server.port;
    let mut server = Some(server);
    terminal_restored_after("gone", port, |s| {
        s.send_line("alice").unwrap();
        s.expect(text::logged_in("alice").as_str()).unwrap();
        s.expect("alice> ").unwrap();
        s.send("half a line").unwrap();
        s.expect("half a line").unwrap();
        drop(server.take());
        // Closed or reset, depending on how the server process ended.
        s.expect(Regex(
            "The server closed the connection|Lost the connection",
        ))
        .unwrap();
    });
}

#[test]
fn terminal_restored_when_the_server_is_full() {
    let server = start_server(&["--max-clients", "0"]);
    terminal_restored_after("busy", server.port, |s| {
        s.send_line("alice").unwrap();
        s.expect(text::SERVER_FULL).unwrap();
    });
}

#[test]
fn terminal_restored_when_the_connection_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    terminal_restored_after("refused", port, |s| {
        s.send_line("alice").unwrap();
        s.expect("Connection refused").unwrap();
    });
}

#[test]
fn the_course_check_still_passes_through_client_py_on_a_capable_terminal() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut cmd = Launch::ClientPy.command(server.port, &[]);
    cmd.env("TERM", "xterm-256color");
    let mut s = spawn(cmd);
    login_plain(&mut s, "alice");
    let messages: Vec<String> = (0..10)
        .map(|i| format!("quick{i}{}", "x".repeat(40)))
        .collect();
    for m in &messages {
        bob.send_line(&format!("SEND alice {m}"));
    }
    let pattern = messages
        .iter()
        .map(|m| text::message_from("bob", m))
        .collect::<Vec<_>>()
        .join(r"\s*");
    let found = s.expect(Regex(&pattern)).unwrap();
    assert!(!String::from_utf8_lossy(found.as_bytes()).contains('\x1b'));
    quit(&mut s);
}

#[test]
fn lines_typed_ahead_in_one_burst_are_all_handled() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let data = temp_dir("burst");
    let mut s = rich(server.port, &data, &["--no-history"]);
    s.expect(text::WELCOME).unwrap();
    // The name and the first messages in one write, as a paste would give.
    s.send("alice\r@bob one\r").unwrap();
    s.expect(text::logged_in("alice").as_str()).unwrap();
    s.send("@bob two\r@bob three\r!who\r").unwrap();
    for body in ["one", "two", "three"] {
        assert_eq!(bob.line(), format!("DELIVERY alice {body}"));
    }
    s.expect(text::user_entry("alice").as_str()).unwrap();
    quit(&mut s);
}

#[test]
fn a_dumb_terminal_gets_plain_mode() {
    let server = start_server(&[]);
    let data = temp_dir("dumb");
    let mut cmd = rich_command(server.port, &data, &["--no-history"]);
    cmd.env("TERM", "dumb").env_remove("NO_COLOR");
    let mut s = spawn(cmd);
    login_plain(&mut s, "alice");
    s.send_line("@nobody hi").unwrap();
    let before = s.expect(text::NO_SUCH_USER).unwrap();
    // No prompt, no colour: exactly what plain mode prints.
    let shown = String::from_utf8_lossy(before.before()).into_owned();
    assert!(
        !shown.contains("alice> ") && !shown.contains('\x1b'),
        "{shown:?}"
    );
    quit(&mut s);
}
