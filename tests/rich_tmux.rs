//! Rich mode in tmux, a terminal that rewraps lines when it is resized (as
//! do VTE, kitty and most others; the emulator of the other tests does not).
//! tmux keeps the scrollback, and `capture-pane -J` joins the rows of a
//! wrapped line, so the tests check what a user scrolling back would read.
//!
//! These tests need tmux. Without it they say so and pass, unless
//! `CHAT_TEST_REQUIRE_TMUX` is set (`.ci/run` installs tmux and sets it).

use std::path::Path;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use chat::client::text;
use testkit::client::{chat, TIMEOUT};
use testkit::screen::{history_entries, temp_home};
use testkit::{from, start_server, Client};

/// A tmux server of its own (its own socket), with one window running a
/// command; killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` in a `cols` x `rows` window, or `None` without tmux.
    fn start(name: &str, command: &str, cols: u16, rows: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            assert!(
                std::env::var_os("CHAT_TEST_REQUIRE_TMUX").is_none(),
                "tmux is required (CHAT_TEST_REQUIRE_TMUX is set) but not installed"
            );
            eprintln!("tmux is not installed: skipping");
            return None;
        }
        let tmux = Tmux {
            socket: format!("chat-test-{}-{name}", std::process::id()),
        };
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let started = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &cols,
            "-y",
            &rows,
            command,
        ]);
        assert!(started.status.success(), "{started:?}");
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        self.run(&args);
    }

    fn resize(&self, cols: u16, rows: u16) {
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.run(&["resize-window", "-t", "t", "-x", &cols, "-y", &rows]);
    }

    /// Every line of the scrollback and the screen, wrapped rows joined.
    fn lines(&self) -> Vec<String> {
        let out = self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", "t"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| line.trim_end().to_string())
            .collect()
    }

    fn count(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }

    fn wait_until(&self, what: &str, done: impl Fn(&Tmux) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{}",
                self.lines().join("\n")
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// The client in a tmux pane, with the `TERM` tmux gives it.
fn client_command(port: u16, home: &Path) -> String {
    format!(
        "env TERM=tmux-256color NO_COLOR=1 HOME='{h}' XDG_DATA_HOME='{h}/data' XDG_CONFIG_HOME='{h}/config' '{chat}' --port {port}; sleep 60",
        chat = chat().display(),
        h = home.display()
    )
}

#[test]
fn after_resizes_every_line_is_there_once_and_the_prompt_once() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("tmux-resize");
    let Some(tmux) = Tmux::start("resize", &client_command(server.port, &home), 60, 20) else {
        return;
    };
    tmux.wait_until("the welcome", |t| t.count(text::WELCOME) == 1);
    tmux.keys(&["alice", "Enter"]);
    tmux.wait_until("the prompt", |t| t.lines().iter().any(|l| l == "alice>"));
    // A draft shorter than the narrowest window.
    let row = "alice> @bob a short draft";
    tmux.keys(&["-l", "@bob a short draft"]);
    tmux.wait_until("the typed line", |t| t.count(row) == 1);
    let mut expected = Vec::new();
    for body in ["first message", "second message"] {
        bob.send_line(&format!("SEND alice {body}"));
        assert_eq!(bob.line(), "SEND-OK");
        expected.push(from("bob", body));
    }
    tmux.wait_until("both lines", |t| expected.iter().all(|l| t.count(l) == 1));
    // Each line once, and the prompt once, last, with the draft.
    let once = |lines: &[String], expected: &[String]| {
        expected
            .iter()
            .all(|line| lines.iter().filter(|l| *l == line).count() == 1)
            && lines.iter().filter(|l| l.starts_with("alice>")).count() == 1
            && lines
                .iter()
                .rev()
                .find(|l| !l.is_empty())
                .map(String::as_str)
                == Some(row)
    };
    for (cols, rows) in [(100, 30), (40, 20), (70, 24)] {
        tmux.resize(cols, rows);
        thread::sleep(Duration::from_millis(300));
        tmux.wait_until("each line once and one prompt", |t| {
            once(&t.lines(), &expected)
        });
    }
    // A burst of 200 messages with three resizes in it.
    let sizes = [(50, 20), (120, 30), (45, 24)];
    for i in 0..200 {
        let body = format!("m{i}");
        bob.send_line(&format!("SEND alice {body}"));
        expected.push(from("bob", &body));
        if i % 60 == 59 {
            let (cols, rows) = sizes[i / 60];
            tmux.resize(cols, rows);
        }
    }
    for _ in 0..200 {
        assert_eq!(bob.line(), "SEND-OK");
    }
    // A lost or doubled line never comes right: waiting only lets a slow
    // machine finish.
    tmux.wait_until("each line once and the prompt last", |t| {
        once(&t.lines(), &expected)
    });
}

#[test]
fn lines_that_come_during_a_search_show_after_it_once_and_in_order_when_it_ends_with_enter() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("tmux-search");
    let Some(tmux) = Tmux::start("search", &client_command(server.port, &home), 80, 24) else {
        return;
    };
    tmux.wait_until("the welcome", |t| t.count(text::WELCOME) == 1);
    tmux.keys(&["alice", "Enter"]);
    tmux.wait_until("the prompt", |t| t.lines().iter().any(|l| l == "alice>"));
    tmux.keys(&["-l", "@echobot hello"]);
    tmux.keys(&["Enter"]);
    tmux.wait_until("the echo", |t| t.count(&from("echobot", "hello")) == 1);
    tmux.keys(&["C-r"]);
    tmux.keys(&["-l", "hel"]);
    tmux.wait_until("the search", |t| {
        t.lines()
            .iter()
            .any(|l| l.starts_with("(reverse-i-search)`hel'"))
    });
    // One line during the search (rustyline's printer holds one message).
    bob.send_line("SEND alice during");
    assert_eq!(bob.line(), "SEND-OK");
    let mut expected = vec![from("bob", "during")];
    thread::sleep(Duration::from_millis(200));
    // Enter sends the line found; lines that come right after it show after
    // those that came during the search.
    tmux.keys(&["Enter"]);
    for i in 0..20 {
        bob.send_line(&format!("SEND alice after {i}"));
        expected.push(from("bob", &format!("after {i}")));
    }
    for _ in 0..20 {
        assert_eq!(bob.line(), "SEND-OK");
    }
    let from_bob = |t: &Tmux| -> Vec<String> {
        t.lines()
            .into_iter()
            .filter(|l| l.starts_with("From bob: "))
            .collect()
    };
    tmux.wait_until("every line", |t| from_bob(t).len() >= expected.len());
    thread::sleep(Duration::from_millis(200));
    assert_eq!(from_bob(&tmux), expected);
    assert_eq!(tmux.count(&from("echobot", "hello")), 2);
}

/// Closing the terminal (the window killed) while a line is half typed: the
/// line is in the history afterwards, as on every other way out.
#[test]
fn a_line_half_typed_when_the_terminal_closes_is_kept_in_the_history() {
    let server = start_server(&[]);
    let home = temp_home("tmux-closed");
    let Some(tmux) = Tmux::start("closed", &client_command(server.port, &home), 80, 24) else {
        return;
    };
    tmux.wait_until("the welcome", |t| t.count(text::WELCOME) == 1);
    tmux.keys(&["alice", "Enter"]);
    tmux.wait_until("the prompt", |t| t.lines().iter().any(|l| l == "alice>"));
    tmux.keys(&["-l", "@bob words not sent yet"]);
    tmux.wait_until("the typed line", |t| {
        t.count("alice> @bob words not sent yet") == 1
    });
    tmux.run(&["kill-session", "-t", "t"]);
    let file = home.join(format!(
        "data/chat/history/127.0.0.1_{}/alice.txt",
        server.port
    ));
    let deadline = Instant::now() + TIMEOUT;
    let entries = || std::fs::read_to_string(&file).unwrap_or_default();
    while !entries().contains("@bob words not sent yet") {
        assert!(
            Instant::now() < deadline,
            "the line is not in the history: {:?}",
            entries()
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(history_entries(&file), ["@bob words not sent yet"]);
}
