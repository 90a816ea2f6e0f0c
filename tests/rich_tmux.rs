//! Rich mode in tmux, a terminal that rewraps lines when it is resized (as
//! do VTE, kitty and most others; the emulator of the other tests does not).
//! tmux keeps the scrollback, and `capture-pane -J` joins the rows of a
//! wrapped line, so the tests check what a user scrolling back would read.
//!
//! These tests need tmux. Without it they say so and pass, unless
//! `CHAT_TEST_REQUIRE_TMUX` is set (`.ci/run` installs tmux and sets it).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use chat::client::text;
use common::client::{CHAT, TIMEOUT};
use common::screen::temp_home;
use common::{from, start_server, Client};

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
        "env TERM=tmux-256color NO_COLOR=1 HOME='{h}' XDG_DATA_HOME='{h}/data' XDG_CONFIG_HOME='{h}/config' '{CHAT}' --port {port}; sleep 60",
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
    let typed = "@bob a half typed line that is far longer than the sixty columns of the window";
    tmux.keys(&["-l", typed]);
    tmux.wait_until("the typed line", |t| {
        t.lines()
            .iter()
            .any(|l| l.starts_with("alice> ") && l.ends_with("window"))
    });
    let mut expected = Vec::new();
    for body in ["first message", "second message"] {
        bob.send_line(&format!("SEND alice {body}"));
        assert_eq!(bob.line(), "SEND-OK");
        expected.push(from("bob", body));
    }
    tmux.wait_until("both lines", |t| expected.iter().all(|l| t.count(l) == 1));
    // Each line once, and one prompt: the resizes come one at a time, each
    // given the quarter of a second tmux may take to tell the program (it
    // rewraps its screen at once, but gathers resizes before it tells the
    // program the new size).
    let once = |lines: &[String], expected: &[String]| {
        expected
            .iter()
            .all(|line| lines.iter().filter(|l| *l == line).count() == 1)
    };
    let prompts = |lines: &[String]| lines.iter().filter(|l| l.starts_with("alice>")).count();
    for (cols, rows) in [(100, 30), (40, 20), (70, 24)] {
        tmux.resize(cols, rows);
        thread::sleep(Duration::from_millis(300));
        tmux.wait_until("each line once and one prompt", |t| {
            let lines = t.lines();
            once(&lines, &expected) && prompts(&lines) == 1
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
    // During the burst, a resize may come while tmux has rewrapped its
    // screen but not yet told the program: a stale piece of the prompt may
    // then stay behind, but every line is there, once, and the prompt is
    // last. (A lost or doubled line never comes right: waiting only lets a
    // slow machine finish.)
    tmux.wait_until("each line once and the prompt last", |t| {
        let lines = t.lines();
        let last = lines.iter().rev().find(|l| !l.is_empty());
        once(&lines, &expected) && last.is_some_and(|l| l.starts_with("alice>"))
    });
}

#[test]
fn a_wide_character_on_the_new_wrap_column_leaves_nothing_behind() {
    let server = start_server(&[]);
    let home = temp_home("tmux-wide");
    let command = format!("{} --name wideuser", client_command(server.port, &home))
        .replace("; sleep 60 --name wideuser", " --name wideuser; sleep 60");
    let Some(tmux) = Tmux::start("wide", &command, 80, 20) else {
        return;
    };
    tmux.wait_until("the prompt", |t| t.lines().iter().any(|l| l == "wideuser>"));
    // 日 starts at column 39: at 40 columns it does not fit on the first row.
    let typed = "@echobot a long line typed he日本語 and more";
    tmux.keys(&["-l", typed]);
    let row = format!("wideuser> {typed}");
    tmux.wait_until("the typed line", |t| t.count(&row) == 1);
    for cols in [40, 80] {
        tmux.resize(cols, 20);
        thread::sleep(Duration::from_millis(300));
        tmux.wait_until("one prompt row", |t| {
            t.lines()
                .iter()
                .filter(|l| l.starts_with("wideuser>"))
                .count()
                == 1
        });
    }
    tmux.wait_until("the whole row", |t| t.count(&row) == 1);
}

#[test]
fn narrowed_until_the_cursor_is_on_the_last_column_nothing_stale_stays() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("tmux-last-column");
    let Some(tmux) = Tmux::start("last", &client_command(server.port, &home), 80, 24) else {
        return;
    };
    tmux.wait_until("the welcome", |t| t.count(text::WELCOME) == 1);
    tmux.keys(&["alice", "Enter"]);
    tmux.wait_until("the prompt", |t| t.lines().iter().any(|l| l == "alice>"));
    // "alice> " and 37 characters: at 15 columns the cursor (column 44)
    // falls on the last column of the third row, where a terminal that
    // cuts lines would put it too.
    let typed = "@bob the text typed before the resize";
    let row = format!("alice> {typed}");
    assert_eq!(row.len(), 2 * 15 + 14);
    tmux.keys(&["-l", typed]);
    tmux.wait_until("the typed line", |t| t.count(&row) == 1);
    let expected = [from("bob", "one"), from("bob", "two")];
    for line in ["SEND alice one", "SEND alice two"] {
        bob.send_line(line);
        assert_eq!(bob.line(), "SEND-OK");
    }
    let once = |t: &Tmux| expected.iter().all(|l| t.count(l) == 1);
    tmux.wait_until("both lines", once);
    tmux.resize(15, 24);
    thread::sleep(Duration::from_millis(300));
    tmux.wait_until("no stale piece of the prompt", |t| {
        once(t) && !t.lines().iter().any(|l| l.contains("alice>"))
    });
    tmux.resize(80, 24);
    thread::sleep(Duration::from_millis(300));
    tmux.wait_until("the row once, whole", |t| {
        once(t)
            && t.count(&row) == 1
            && t.lines().iter().filter(|l| l.contains("alice>")).count() == 1
    });
}
