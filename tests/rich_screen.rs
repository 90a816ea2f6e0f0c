//! Rich mode never stalls, never loses a line, and never lets a server paint
//! the terminal: what the user sees while the editor is busy, after resizes,
//! against a hostile server, and when the connection ends.

mod common;

use std::io::{BufRead, Write};
use std::thread;
use std::time::{Duration, Instant};

use chat::client::text;
use common::client::{fake_server, Launch, Piped};
use common::screen::{temp_home, Terminal};
use common::{free_port, from, rss_kib, start_server, Client};
use expectrl::process::unix::Signal;

#[test]
fn messages_show_and_the_hosted_server_answers_while_the_editor_searches() {
    let port = free_port();
    let home = temp_home("submode");
    let mut t = Terminal::rich(port, &home, &["--local"]);
    t.login("alice");
    t.send_line("@echobot remember me");
    t.wait_for(&from("echobot", "remember me"));
    // Ctrl-R, and a search under way.
    t.send("\x12rem");
    t.wait_until("the search", |t| {
        t.cursor_row().starts_with("(search: rem)")
    });
    // The server inside this client still answers a new user at once...
    let started = Instant::now();
    let mut bob = Client::login_port(port, "bob");
    assert!(started.elapsed() < Duration::from_secs(5));
    // ...and what bob sends shows while the search goes on.
    bob.send_line("SEND alice while you search");
    assert_eq!(bob.line(), "SEND-OK");
    t.wait_for(&from("bob", "while you search"));
    assert!(t.cursor_row().starts_with("(search: rem)"), "{}", t.dump());
    // Esc ends the search; a termination signal ends the program in any
    // state (here, with a lone Esc just pressed and an edit under way).
    t.send("\x1b");
    t.wait_until("the prompt", |t| t.cursor_row() == "alice>");
    t.send("\x12x\x1b");
    t.signal(Signal::SIGTERM);
    assert_eq!(t.wait_exit(), 128 + Signal::SIGTERM as i32);
    // Nothing was typed: no history entry found by a search is "not sent".
    let mut t = Terminal::rich(port, &home, &["--local"]);
    t.login("carol");
    t.send_line("@echobot findme");
    t.wait_for(&from("echobot", "findme"));
    t.send("\x12find");
    t.wait_until("the match", |t| t.cursor_row().contains("@echobot findme"));
    t.signal(Signal::SIGTERM);
    assert_eq!(t.wait_exit(), 128 + Signal::SIGTERM as i32);
    assert_eq!(t.count("Not sent"), 0, "{}", t.dump());
}

/// A server that logs in whoever comes under a hostile name, answers LIST
/// with hostile names, and sends hostile messages.
fn hostile_server() -> (u16, thread::JoinHandle<()>) {
    fake_server(|mut conn| {
        let _ = conn.line();
        conn.write(b"HELLO \x1b]52;c;SGVsbG8=\x07\x1b[2J\x1b]0;owned\x07me\n");
        conn.write(b"DELIVERY ev\x1b[31mil \x1b]0;owned\x07\x1b[2J\x1b[H\xe2\x80\xaeevil\r\n");
        while let Ok(line) = {
            let mut line = String::new();
            conn.reader.read_line(&mut line).map(|n| (n, line))
        } {
            if line.0 == 0 {
                break;
            }
            if line.1.trim() == "LIST" {
                conn.write("LIST-OK \u{202e}tnemyap,bad\u{1b}[2Jname,ok1,ok2\n".as_bytes());
            }
        }
    })
}

#[test]
fn a_hostile_server_reaches_the_terminal_through_neither_the_prompt_nor_completion_nor_lines() {
    let (port, _server) = hostile_server();
    let home = temp_home("hostile");
    let mut t = Terminal::rich(port, &home, &["--no-history"]);
    t.wait_for(text::WELCOME);
    t.send_line("alice");
    // The confirmed name, shown neutralised in the login line and the prompt.
    let shown = r"\x1b]52;c;SGVsbG8=\x07\x1b[2J\x1b]0;owned\x07me";
    t.wait_for(&format!("Successfully logged in as {shown}!"));
    t.wait_until("the prompt", |t| {
        t.cursor_row().starts_with(&format!("{shown}>"))
    });
    t.wait_for(r"From ev\x1b[31mil: \x1b]0;owned\x07\x1b[2J\x1b[H\u{202e}evil");
    // Tab offers only the names that show as they are.
    t.send("@\t");
    t.wait_for("@ok1  @ok2");
    t.settle(Duration::from_millis(200));
    let screen = t.screen();
    assert!(!screen.contains('\u{202e}'), "{screen}");
    assert!(!screen.contains("tnemyap"), "{screen}");
    // Nothing reached the terminal: no clipboard write, no title from the
    // server, the screen never cleared.
    assert_eq!(t.seen().clipboard_writes, 0);
    assert!(t.seen().titles.iter().all(|title| !title.contains("owned")));
    assert!(t.screen().contains(text::WELCOME), "the screen was cleared");
    t.send("\x15");
    t.quit();
}

/// Logs in, types a line longer than the terminal, and receives two lines.
fn long_line_and_two_messages(t: &mut Terminal, bob: &mut Client) {
    t.login("alice");
    let long = "@bob this half typed line is longer than the sixty columns of this terminal";
    t.send(long);
    t.wait_until("the edit row", |t| t.cursor_row().ends_with("terminal"));
    for body in ["first message", "second message"] {
        bob.send_line(&format!("SEND alice {body}"));
        assert_eq!(bob.line(), "SEND-OK");
        t.wait_for(&from("bob", body));
    }
}

/// Each of `lines` shown exactly once (screen and scrollback), and one
/// prompt row, with the cursor on it.
fn each_once(t: &Terminal, lines: &[String]) -> bool {
    let rows = t.rows();
    lines
        .iter()
        .all(|line| rows.iter().filter(|row| *row == line).count() == 1)
        && rows.iter().filter(|r| r.starts_with("alice>")).count() == 1
        && t.cursor_row().starts_with("alice>")
}

/// The edit row of [`long_line_and_two_messages`] as the client draws it for
/// `cols` columns: the end of the line, wider than half the width. (Right
/// after a resize the terminal shows the row drawn for the old width, cut
/// or not.)
fn drawn_for(t: &Terminal, cols: usize) -> bool {
    let row = t.cursor_row();
    row.ends_with("terminal") && row.chars().count() > cols / 2
}

/// Waits for the client's redraw after a resize to `cols`, and for what it
/// may still write, before the test resizes again: output still on its way
/// when a terminal changes size lands at the new size, on any terminal.
fn redrawn(t: &mut Terminal, cols: u16, done: impl Fn(&Terminal) -> bool) {
    t.wait_until("the redraw", |t| done(t) && drawn_for(t, cols.into()));
    t.settle(Duration::from_millis(200));
}

#[test]
fn every_line_appears_exactly_once_whatever_the_resizes() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("resize");
    let mut t = Terminal::start(Terminal::rich_command(server.port, &home, &[]), 20, 60);
    long_line_and_two_messages(&mut t, &mut bob);
    let mut expected = vec![from("bob", "first message"), from("bob", "second message")];
    for (rows, cols) in [(30, 100), (20, 40), (24, 80)] {
        t.resize(rows, cols);
        // A lost or doubled line never comes right: waiting only lets a slow
        // machine finish redrawing.
        redrawn(&mut t, cols, |t| each_once(t, &expected));
    }
    // A burst of 200 messages with three resizes in the middle of it.
    let burst: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let sizes = [(20, 50), (30, 120), (24, 70)];
    for (i, body) in burst.iter().enumerate() {
        bob.send_line(&format!("SEND alice {body}"));
        if i % 60 == 59 {
            // Nothing on its way to the terminal as it changes size: an
            // edit row still in flight when a terminal that cuts lines
            // narrows is wrapped instead, and the client cannot tell (the
            // README's corner case of the cursor on the last column).
            t.wait_for(&from("bob", body));
            t.settle(Duration::from_millis(200));
            let (rows, cols) = sizes[i / 60];
            t.resize(rows, cols);
            // The next lines come while the client redraws.
            redrawn(&mut t, cols, |_| true);
        }
    }
    for _ in &burst {
        assert_eq!(bob.line(), "SEND-OK");
    }
    expected.extend(burst.iter().map(|body| from("bob", body)));
    t.wait_until("each line once", |t| each_once(t, &expected));
    t.send("\x15");
    t.quit();
}

#[test]
fn what_was_typed_is_kept_when_the_connection_ends_and_printed_on_the_way_out() {
    let server = start_server(&[]);
    let port = server.port;
    let home = temp_home("keep");
    let mut t = Terminal::rich(port, &home, &[]);
    t.login("alice");
    t.send("@bob not finished");
    t.wait_until("the text", |t| t.cursor_row() == "alice> @bob not finished");
    drop(server);
    // Closed or reset (when the server is killed before it reads what the
    // client sent, such as its request for the names online): either way
    // the client starts reconnecting.
    t.wait_for(&text::reconnecting(1));
    // Offline: what was typed is still being edited.
    t.wait_until("the offline prompt", |t| {
        t.cursor_row() == "alice (offline)> @bob not finished"
    });
    // Quitting now: the line is printed, and kept in the history.
    t.signal(Signal::SIGHUP);
    assert_eq!(t.wait_exit(), 128 + Signal::SIGHUP as i32);
    let line = text::not_sent(&"@bob not finished".into()).to_string();
    assert_eq!(t.count(&line), 1, "{}", t.dump());
    let history = home.join(format!("data/chat/history/127.0.0.1_{port}/alice.txt"));
    assert_eq!(
        std::fs::read_to_string(history).unwrap(),
        "@bob not finished\n"
    );
}

#[test]
fn piped_input_is_not_read_faster_than_the_server_takes_it() {
    // A server that logs the client in and then never reads again.
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        conn.write(b"HELLO alice\n");
        thread::sleep(Duration::from_secs(30));
    });
    let mut client = Piped::spawn(Launch::Binary.command(port, &[]));
    client.send_line("alice");
    client.expect(&text::logged_in(&"alice".into()));
    // 400 lines of 1 MB, written from a thread that blocks when the client
    // stops reading.
    let mut stdin = client.take_stdin();
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&written);
    thread::spawn(move || {
        let line = format!("@bob {}\n", "x".repeat(1 << 20));
        for _ in 0..400 {
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
            counter.fetch_add(line.len(), std::sync::atomic::Ordering::Relaxed);
        }
    });
    thread::sleep(Duration::from_secs(3));
    let written = written.load(std::sync::atomic::Ordering::Relaxed);
    let rss = rss_kib(client.pid()) / 1024;
    assert!(
        written < 64 << 20,
        "{} MB read from a server that does not read",
        written >> 20
    );
    assert!(rss < 80, "the client grew to {rss} MiB");
}

#[test]
fn a_flood_faster_than_the_terminal_keeps_memory_bounded_and_ctrl_c_quits_at_once() {
    // A server that sends messages as fast as the connection takes them.
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.accept_login();
        let batch: Vec<u8> = (0..1000)
            .flat_map(|i| format!("DELIVERY flood message number {i}\n").into_bytes())
            .collect();
        while conn.stream.write_all(&batch).is_ok() {}
    });
    let home = temp_home("flood");
    let mut t = Terminal::rich(port, &home, &["--name", "zed"]);
    t.wait_for("From flood: message number");
    // The emulator reads slower than the server sends: the client must not
    // queue the difference.
    t.settle(Duration::from_secs(3));
    let rss = rss_kib(t.pid()) / 1024;
    assert!(rss < 64, "the client grew to {rss} MiB during a flood");
    t.send("\x03");
    assert_eq!(t.wait_exit(), 0);
    assert_eq!(t.seen().titles_restored, 1, "the title is put back");
}

/// A fake server that logs the client in, sends `lines` messages from
/// `flood` at once (`From flood: message number <i>`), then stays silent.
fn flood_server(lines: usize) -> (u16, thread::JoinHandle<()>) {
    fake_server(move |mut conn| {
        let _ = conn.accept_login();
        let all: Vec<u8> = (0..lines)
            .flat_map(|i| format!("DELIVERY flood message number {i}\n").into_bytes())
            .collect();
        let _ = conn.stream.write_all(&all);
        thread::sleep(Duration::from_secs(30));
    })
}

#[test]
fn quitting_on_a_slow_terminal_shows_what_it_can_and_counts_the_rest() {
    const LINES: usize = 20_000;
    // 20,000 messages at once (about 700 KB: less than the client takes
    // before it stops reading).
    let (port, _server) = flood_server(LINES);
    let home = temp_home("slow-terminal");
    let mut t = Terminal::rich(port, &home, &["--name", "zed", "--log"]);
    // A terminal that takes 25 KB/s (a slow link): showing it all would
    // take half a minute. The client must write to it in frames small
    // enough to see Ctrl-C soon, and give up on the rest on the way out
    // before the main thread stops waiting for it; with frames of a fixed
    // 64 KiB, one frame alone takes 2.6 s, the title is not put back and
    // the count never comes.
    const STEP: usize = 256;
    t.read_slowly("the first message", STEP, |t| {
        t.count("From flood: message number 0") == 1
    });
    t.send("\x03");
    t.read_slowly("the end", STEP, Terminal::ended);
    assert_eq!(t.wait_exit(), 0);
    // Every line the client took was either shown, once and in order, or
    // counted. (The log has every line it took.)
    let log = home.join(format!("data/chat/logs/127.0.0.1_{port}/zed.log"));
    let log = std::fs::read_to_string(log).unwrap();
    let taken = log.lines().filter(|l| l.contains("From flood: ")).count();
    let rows = t.rows();
    let shown: Vec<&String> = rows
        .iter()
        .filter(|row| row.starts_with("From flood: "))
        .collect();
    for (i, row) in shown.iter().enumerate() {
        assert_eq!(**row, format!("From flood: message number {i}"));
    }
    let not_shown = text::not_shown(taken.saturating_sub(shown.len()));
    assert!(
        shown.len() < taken && rows.iter().any(|row| row == not_shown.as_str()),
        "{} of {taken} lines shown, and no {not_shown:?}",
        shown.len()
    );
    assert_eq!(t.seen().titles_restored, 1, "the title is put back");
}

#[test]
fn a_line_typed_while_others_wait_for_a_slow_terminal_is_shown_after_them() {
    const LINES: usize = 2_000;
    let (port, _server) = flood_server(LINES);
    let home = temp_home("typed-after");
    let mut t = Terminal::rich(port, &home, &["--name", "zed"]);
    // About 70 KB, shown at 100 KB/s: typed after the first line shows,
    // the line waits behind the others.
    const STEP: usize = 1024;
    t.read_slowly("the first message", STEP, |t| {
        t.count("From flood: message number 0") == 1
    });
    t.send_line("typed early");
    let last = format!("From flood: message number {}", LINES - 1);
    t.read_slowly("every line and the typed one", STEP, |t| {
        t.count(&last) == 1 && t.count("zed> typed early") == 1
    });
    let rows = t.rows();
    let at = |line: &str| rows.iter().position(|row| row == line).unwrap();
    assert!(
        at("zed> typed early") > at(&last),
        "the typed line came before lines that arrived earlier"
    );
    t.quit();
}
