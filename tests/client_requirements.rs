//! One test per requirement of the assignment (RA, RC, RT, RI), run in a
//! pseudo-terminal against `chat-server`, the way the course's check runs the
//! client. Every scenario runs twice: on the binary, and through
//! `python3 client.py`.

use std::time::{Duration, Instant};

use chat::client::{text, SafeText};
use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{Eof, Expect, Regex, Session};
use testkit::client::{fake_server, Launch, TIMEOUT};
use testkit::rng::Rng;
use testkit::{start_server, Client};

/// The client in a pseudo-terminal, with a transcript of all it printed.
/// It matches the output as a stream of bytes, with regular expressions, the
/// way the course's check does; `testkit::screen::Terminal` is for rich mode,
/// whose tests assert what the screen shows instead.
struct Pty {
    session: OsSession,
    transcript: Vec<u8>,
}

impl Pty {
    fn spawn(launch: Launch, port: u16) -> Pty {
        let mut session = Session::spawn(launch.command(port, &[])).expect("spawn in a pty");
        session.set_expect_timeout(Some(TIMEOUT));
        Pty {
            session,
            transcript: Vec::new(),
        }
    }

    /// Starts the client and logs in as `name`.
    fn login(launch: Launch, port: u16, name: &str) -> Pty {
        let mut pty = Pty::spawn(launch, port);
        pty.expect(text::WELCOME);
        pty.send_line(name);
        pty.expect(&text::logged_in(&SafeText::neutralise_str(name)));
        pty
    }

    fn send_line(&mut self, line: &str) {
        self.session.send_line(line).expect("type a line");
    }

    /// Waits for literal text; returns what came before it.
    fn expect(&mut self, needle: &str) -> String {
        let found = self
            .session
            .expect(needle)
            .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}; so far: {}", self.shown()));
        self.record(found.before(), found.as_bytes())
    }

    /// Waits for a regular expression; returns what came before it.
    fn expect_regex(&mut self, re: &str) -> String {
        let found = self
            .session
            .expect(Regex(re))
            .unwrap_or_else(|e| panic!("waiting for /{re}/: {e}; so far: {}", self.shown()));
        self.record(found.before(), found.as_bytes())
    }

    /// Waits for the end of output and the exit status.
    fn expect_exit(&mut self) -> WaitStatus {
        let found = self
            .session
            .expect(Eof)
            .unwrap_or_else(|e| panic!("waiting for the end: {e}; so far: {}", self.shown()));
        self.record(found.before(), found.as_bytes());
        self.session.get_process().wait().expect("exit status")
    }

    fn record(&mut self, before: &[u8], matched: &[u8]) -> String {
        self.transcript.extend_from_slice(before);
        self.transcript.extend_from_slice(matched);
        String::from_utf8_lossy(before).into_owned()
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.transcript).into_owned()
    }
}

fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the client did not exit normally: {other:?}"),
    }
}

/// Random ASCII letters, like the course's check uses.
fn letters(n: usize, seed: u64) -> String {
    Rng::new(seed).letters(n)
}

// ---- authentication --------------------------------------------------------

/// RA1: asks for a username and logs in.
fn ra1_asks_for_a_name_and_logs_in(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::spawn(launch, server.port);
    pty.expect(text::WELCOME);
    pty.send_line("alice");
    pty.expect(&text::logged_in(&"alice".into()));
}

/// RA2: a name in use gets an informative line, and a new name is asked for,
/// on a new connection, in the same process.
fn ra2_name_in_use_asks_again(launch: Launch) {
    let server = start_server(&[]);
    let _alice = Client::login(&server, "alice");
    let mut pty = Pty::spawn(launch, server.port);
    pty.expect(text::WELCOME);
    pty.send_line("alice");
    pty.expect(&text::name_in_use(&"alice".into()));
    pty.send_line("bob");
    pty.expect(&text::logged_in(&"bob".into()));
}

/// RA3: a full server is reported and the client exits within one second.
fn ra3_server_full_exits(launch: Launch) {
    let server = start_server(&["--max-clients", "0"]);
    let mut pty = Pty::spawn(launch, server.port);
    pty.expect(text::WELCOME);
    pty.send_line("alice");
    let typed = Instant::now();
    pty.expect(text::SERVER_FULL);
    let status = pty.expect_exit();
    assert!(
        typed.elapsed() < Duration::from_secs(1),
        "took {:?}",
        typed.elapsed()
    );
    assert_ne!(exit_code(status), 0, "a full server is not a success");
}

/// RA4: a name with forbidden symbols is refused and a new one asked for.
fn ra4_forbidden_symbols_are_refused(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::spawn(launch, server.port);
    pty.expect(text::WELCOME);
    for name in ["@!", "!@#$%^&*", "a,b", "bob-x", "a b"] {
        pty.send_line(name);
        pty.expect(&text::name_rejected(&SafeText::neutralise_str(name)));
    }
    pty.send_line("alice");
    pty.expect(&text::logged_in(&"alice".into()));
}

/// RA5: commands are not names.
fn ra5_commands_are_not_names(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::spawn(launch, server.port);
    pty.expect(text::WELCOME);
    for name in ["!who", "@username"] {
        pty.send_line(name);
        pty.expect(&text::name_rejected(&SafeText::neutralise_str(name)));
    }
    pty.send_line("alice");
    pty.expect(&text::logged_in(&"alice".into()));
}

/// RA6: after failed logins the same process goes on and logs in.
fn ra6_no_restart_after_a_failed_login(launch: Launch) {
    let server = start_server(&[]);
    let _taken = Client::login(&server, "taken");
    let mut pty = Pty::spawn(launch, server.port);
    let pid = pty.session.get_process().pid();
    pty.expect(text::WELCOME);
    pty.send_line("bad name!");
    pty.expect(&text::name_rejected(&"bad name!".into()));
    pty.send_line("taken");
    pty.expect(&text::name_in_use(&"taken".into()));
    pty.send_line("fresh");
    pty.expect(&text::logged_in(&"fresh".into()));
    assert_eq!(pty.session.get_process().pid(), pid);
    assert!(pty.session.get_process().is_alive().unwrap());
}

/// RA7: a message to echobot comes back in full.
fn ra7_echobot_returns_the_message(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::login(launch, server.port, "alice");
    for (i, len) in [40, 512].into_iter().enumerate() {
        let message = letters(len, i as u64);
        pty.send_line(&format!("@echobot {message}"));
        pty.expect(text::SENT);
        pty.expect(&format!(
            "{}\r\n",
            text::message_from(&"echobot".into(), &SafeText::neutralise_str(&message))
        ));
    }
}

/// RA8: `!quit` ends the program at the name prompt.
fn ra8_quit_at_the_name_prompt(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::spawn(launch, server.port);
    pty.expect(text::WELCOME);
    pty.send_line("!quit");
    assert_eq!(exit_code(pty.expect_exit()), 0);
}

// ---- special commands ------------------------------------------------------

/// RC1: `!quit` after login exits with no further step.
fn rc1_quit_after_login(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::login(launch, server.port, "alice");
    let typed = Instant::now();
    pty.send_line("!quit");
    assert_eq!(exit_code(pty.expect_exit()), 0);
    assert!(typed.elapsed() < Duration::from_secs(1));
}

/// RC2: `!who` lists every user, in login order.
fn rc2_who_lists_users_in_login_order(launch: Launch) {
    let server = start_server(&[]);
    let _a = Client::login(&server, "zed");
    let _b = Client::login(&server, "amy");
    let mut pty = Pty::login(launch, server.port, "mia");
    pty.send_line("!who");
    let expected = [
        text::user_count(5),
        text::user_entry(&"echobot".into()),
        text::user_entry(&"delaybot".into()),
        text::user_entry(&"zed".into()),
        text::user_entry(&"amy".into()),
        text::user_entry(&"mia".into()),
    ]
    .join("\r\n");
    pty.expect(&expected);
}

// ---- technical -------------------------------------------------------------

/// RT1: the client speaks TCP: a plain TCP listener receives its handshake.
fn rt1_tcp(launch: Launch) {
    let (port, server) = fake_server(|mut conn| conn.line());
    let mut pty = Pty::spawn(launch, port);
    pty.expect(text::WELCOME);
    pty.send_line("alice");
    assert_eq!(server.join().unwrap(), "HELLO-FROM alice");
}

/// RT2: no `sendall` in client.py, no `write_all` on sockets in the sources:
/// every socket write goes through `net::write_fully`.
fn rt2_no_sendall(_launch: Launch) {
    let root = env!("CARGO_MANIFEST_DIR");
    let client_py = std::fs::read_to_string(format!("{root}/client.py")).unwrap();
    assert!(!client_py.contains("sendall"));
    let mut stack = vec![std::path::PathBuf::from(format!("{root}/src"))];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for word in ["write_all", "sendall", "process::exit"] {
                    assert!(!source.contains(word), "{word} in {}", path.display());
                }
                files += 1;
            }
        }
    }
    assert!(files > 10, "only {files} source files found");
}

/// RT3: delaybot's pieces never show as partial lines.
fn rt3_no_incomplete_message_is_printed(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::login(launch, server.port, "alice");
    let message = letters(64, 3);
    pty.send_line(&format!("@delaybot {message}"));
    pty.expect(text::SENT);
    let line = format!(
        "{}\r\n",
        text::message_from(&"delaybot".into(), &SafeText::neutralise_str(&message))
    );
    let before_first = pty.expect(&line);
    let before_second = pty.expect(&line);
    assert!(!before_first.contains("From"), "partial: {before_first:?}");
    assert!(
        before_second.trim().is_empty(),
        "partial: {before_second:?}"
    );
}

/// RT4: messages of any nonzero length, both ways.
fn rt4_messages_of_any_length(launch: Launch) {
    let server = start_server(&[]);
    let mut peer = Client::login(&server, "bob");
    let mut pty = Pty::login(launch, server.port, "alice");
    // A terminal line is at most 4095 bytes in canonical mode: stay below.
    for (i, len) in [1, 3000].into_iter().enumerate() {
        let message = letters(len, 10 + i as u64);
        pty.send_line(&format!("@bob {message}"));
        pty.expect(text::SENT);
        assert_eq!(peer.line(), format!("DELIVERY alice {message}"));
    }
    let big = letters(1_000_000, 7);
    peer.send_line(&format!("SEND alice {big}"));
    assert_eq!(peer.line(), "SEND-OK");
    pty.expect(&format!(
        "{}\r\n",
        text::message_from(&"bob".into(), &SafeText::neutralise_str(&big))
    ));
}

/// RT5: ten messages sent quickly show as ten consecutive lines.
fn rt5_each_message_printed_as_soon_as_complete(launch: Launch) {
    let server = start_server(&[]);
    let mut peer = Client::login(&server, "bob");
    let mut pty = Pty::login(launch, server.port, "alice");
    let messages: Vec<String> = (0..10).map(|i| letters(32 + i * 40, i as u64)).collect();
    for m in &messages {
        peer.send_line(&format!("SEND alice {m}"));
    }
    let pattern = messages
        .iter()
        .map(|m| {
            regex_escape(&text::message_from(
                &"bob".into(),
                &SafeText::neutralise_str(m),
            ))
        })
        .collect::<Vec<_>>()
        .join(r"\s*");
    pty.expect_regex(&pattern);
}

/// RT6: waiting for keyboard input never delays incoming messages.
fn rt6_input_wait_never_delays_messages(launch: Launch) {
    let server = start_server(&[]);
    let mut peer = Client::login(&server, "bob");
    let mut pty = Pty::login(launch, server.port, "alice");
    for i in 0..3 {
        let message = format!("unprompted{i}");
        let sent = Instant::now();
        peer.send_line(&format!("SEND alice {message}"));
        pty.expect(&text::message_from(
            &"bob".into(),
            &SafeText::neutralise_str(&message),
        ));
        assert!(sent.elapsed() < Duration::from_secs(2));
    }
}

/// RT7: any header at any time is handled, and the session goes on.
fn rt7_any_header_at_any_time(launch: Launch) {
    let (port, _server) = fake_server(|mut conn| {
        conn.accept_login();
        conn.write(
            b"HELLO again\nIN-USE\nBUSY\nSEND-OK\nLIST-OK x,y\nJUNK \x01\x02\nDELIVERY bob fine\n",
        );
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut pty = Pty::login(launch, port, "alice");
    pty.expect(&text::message_from(&"bob".into(), &"fine".into()));
    let shown = pty.shown();
    assert!(shown.contains(text::UNEXPECTED_REPLY));
    assert!(pty.session.get_process().is_alive().unwrap());
}

// ---- interface -------------------------------------------------------------

/// RI1: no protocol header is ever printed.
fn ri1_no_protocol_header_is_printed(launch: Launch) {
    let server = start_server(&[]);
    let mut peer = Client::login(&server, "bob");
    let mut pty = Pty::login(launch, server.port, "alice");
    pty.send_line("@bob hi");
    pty.expect(text::SENT);
    pty.send_line("@nobody hi");
    pty.expect(text::NO_SUCH_USER);
    pty.send_line("@echobot ");
    pty.expect(text::BAD_BODY);
    pty.send_line("!who");
    pty.expect(&text::user_entry(&"alice".into()));
    peer.send_line("SEND alice back");
    pty.expect(&text::message_from(&"bob".into(), &"back".into()));
    pty.send_line("!quit");
    pty.expect_exit();
    let shown = pty.shown();
    for header in [
        "HELLO",
        "IN-USE",
        "BUSY",
        "LIST-OK",
        "SEND-OK",
        "BAD-DEST-USER",
        "DELIVERY",
        "BAD-RQST",
    ] {
        assert!(!shown.contains(header), "{header} shown in {shown:?}");
    }
}

/// RI2: the welcome line comes first, before any connection.
fn ri2_welcome(launch: Launch) {
    // Nothing listens on this port: the welcome must still come at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut pty = Pty::spawn(launch, port);
    let before = pty.expect(text::WELCOME);
    assert!(before.trim().is_empty(), "{before:?}");
    pty.send_line("!quit");
    assert_eq!(exit_code(pty.expect_exit()), 0);
}

/// RI3: the success line names the user.
fn ri3_logged_in(launch: Launch) {
    let server = start_server(&[]);
    Pty::login(launch, server.port, "Alice123");
}

/// RI4: the in-use line.
fn ri4_in_use(launch: Launch) {
    ra2_name_in_use_asks_again(launch);
}

/// RI5: the disallowed-characters line.
fn ri5_disallowed(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::spawn(launch, server.port);
    pty.send_line("ümlaut");
    pty.expect(&text::name_rejected(&"ümlaut".into()));
}

/// RI6: the server-full line.
fn ri6_full(launch: Launch) {
    let server = start_server(&["--max-clients", "1"]);
    let _first = Client::login(&server, "first");
    let mut pty = Pty::spawn(launch, server.port);
    pty.send_line("second");
    pty.expect(text::SERVER_FULL);
    assert_ne!(exit_code(pty.expect_exit()), 0);
}

/// RI7: messages are typed as `@<username> <message>`.
fn ri7_message_syntax(launch: Launch) {
    let server = start_server(&[]);
    let mut peer = Client::login(&server, "bob");
    let mut pty = Pty::login(launch, server.port, "alice");
    pty.send_line("@bob  two  spaces kept ");
    pty.expect(text::SENT);
    assert_eq!(peer.line(), "DELIVERY alice  two  spaces kept ");
    pty.send_line("not a command");
    pty.expect(text::COMMAND_HINT);
}

/// RI8: the sent line.
fn ri8_sent(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::login(launch, server.port, "alice");
    pty.send_line("@alice note to self");
    pty.expect(text::SENT);
    pty.expect(&text::message_from(&"alice".into(), &"note to self".into()));
}

/// RI9: the no-such-user line.
fn ri9_destination_does_not_exist(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::login(launch, server.port, "alice");
    pty.send_line("@nobody hello");
    pty.expect(text::NO_SUCH_USER);
}

/// RI10: the message line.
fn ri10_from(launch: Launch) {
    let server = start_server(&[]);
    let mut peer = Client::login(&server, "bob");
    let mut pty = Pty::login(launch, server.port, "alice");
    peer.send_line("SEND alice hello there, Alice!");
    pty.expect(&format!(
        "{}\r\n",
        text::message_from(&"bob".into(), &"hello there, Alice!".into())
    ));
}

/// RI11: the user list lines.
fn ri11_user_list(launch: Launch) {
    let server = start_server(&["--no-bots"]);
    let mut pty = Pty::login(launch, server.port, "alice");
    pty.send_line("!who");
    pty.expect(&format!(
        "{}\r\n{}\r\n",
        text::user_count(1),
        text::user_entry(&"alice".into())
    ));
}

/// RI12: the header error line.
fn ri12_header_error(launch: Launch) {
    let (port, _server) = fake_server(|mut conn| {
        conn.accept_login();
        let _ = conn.line();
        conn.write(b"BAD-RQST-HDR\n");
        std::thread::sleep(Duration::from_secs(30));
    });
    let mut pty = Pty::login(launch, port, "alice");
    pty.send_line("!who");
    pty.expect(text::BAD_HEADER);
}

/// R13: the body error line.
fn r13_body_error(launch: Launch) {
    let server = start_server(&[]);
    let mut pty = Pty::login(launch, server.port, "alice");
    pty.send_line("@echobot ");
    pty.expect(text::BAD_BODY);
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod binary {
            $( #[test] fn $name() { super::$name(super::Launch::Binary) } )*
        }
        mod client_py {
            $( #[test] fn $name() { super::$name(super::Launch::ClientPy) } )*
        }
    };
}

scenarios!(
    ra1_asks_for_a_name_and_logs_in,
    ra2_name_in_use_asks_again,
    ra3_server_full_exits,
    ra4_forbidden_symbols_are_refused,
    ra5_commands_are_not_names,
    ra6_no_restart_after_a_failed_login,
    ra7_echobot_returns_the_message,
    ra8_quit_at_the_name_prompt,
    rc1_quit_after_login,
    rc2_who_lists_users_in_login_order,
    rt1_tcp,
    rt2_no_sendall,
    rt3_no_incomplete_message_is_printed,
    rt4_messages_of_any_length,
    rt5_each_message_printed_as_soon_as_complete,
    rt6_input_wait_never_delays_messages,
    rt7_any_header_at_any_time,
    ri1_no_protocol_header_is_printed,
    ri2_welcome,
    ri3_logged_in,
    ri4_in_use,
    ri5_disallowed,
    ri6_full,
    ri7_message_syntax,
    ri8_sent,
    ri9_destination_does_not_exist,
    ri10_from,
    ri11_user_list,
    ri12_header_error,
    r13_body_error,
);
