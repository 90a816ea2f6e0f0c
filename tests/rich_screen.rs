//! Rich mode never stalls, never loses a line, and never lets a server paint
//! the terminal: what the user sees while the editor is busy, after resizes,
//! against a hostile server, and when the connection ends.

use std::io::{BufRead, Write};
use std::thread;
use std::time::{Duration, Instant};

use chat::client::text;
use expectrl::process::unix::Signal;
use testkit::client::{fake_server, Launch, Piped};
use testkit::screen::{history_entries, temp_home, unread_bytes, Terminal};
use testkit::{free_port, from, rss_kib, start_server, Client};

/// Rows of `rows` that are lines from `sender`, in order, with their
/// message.
fn messages_from(rows: &[String], sender: &str) -> Vec<String> {
    let prefix = format!("From {sender}: ");
    rows.iter()
        .filter_map(|row| row.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

/// Alice in rich mode, hosting a local server (`--local`) with a home of
/// `home`'s name, and bob logged in to it as a raw client.
fn alice_hosting_with_bob(home: &str) -> (Terminal, Client) {
    let port = free_port();
    let home = temp_home(home);
    let mut t = Terminal::rich(port, &home, &["--local"]);
    t.login("alice");
    let bob = Client::login_port(port, "bob");
    (t, bob)
}

#[test]
fn during_a_search_the_network_goes_on_and_what_came_shows_after_it_once_and_in_order() {
    let port = free_port();
    let home = temp_home("submode");
    let mut t = Terminal::rich(port, &home, &["--local"]);
    t.login("alice");
    t.send_line("@echobot remember me");
    t.wait_for(&from("echobot", "remember me"));
    let search = |t: &Terminal| t.cursor_row().starts_with("(reverse-i-search)`rem'");
    // Left with Enter (the line found is sent), then with Ctrl-G.
    for (sender, leave) in [("bob", "\r"), ("carol", "\x07")] {
        t.send("\x12rem");
        t.wait_until("the search", search);
        // The server inside this client still answers a new user at once...
        let started = Instant::now();
        let mut other = Client::login_port(port, sender);
        assert!(started.elapsed() < Duration::from_secs(5));
        // ...and the client reads all that is sent to it: nothing waits in
        // its socket, while the lines wait for the search to end.
        let during: Vec<String> = (0..200).map(|i| format!("during {i}")).collect();
        for body in &during {
            other.send_line(&format!("SEND alice {body}"));
        }
        for _ in &during {
            assert_eq!(other.line(), "SEND-OK");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while unread_bytes(t.pid(), port) > 0 {
            assert!(Instant::now() < deadline, "the client stopped reading");
            thread::sleep(Duration::from_millis(20));
        }
        t.settle(Duration::from_millis(200));
        assert!(search(&t), "{}", t.dump());
        // The search ends, and more lines come at once: each line once, in
        // the order sent.
        t.send(leave);
        let after: Vec<String> = (0..20).map(|i| format!("after {i}")).collect();
        for body in &after {
            other.send_line(&format!("SEND alice {body}"));
        }
        let expected: Vec<String> = during.iter().chain(&after).cloned().collect();
        t.wait_until("every line", |t| {
            messages_from(&t.rows(), sender).len() >= expected.len()
        });
        t.settle(Duration::from_millis(200));
        assert_eq!(messages_from(&t.rows(), sender), expected, "{}", t.dump());
        t.wait_prompt("alice>");
    }
    t.quit();
}

#[test]
fn a_lone_esc_does_not_hold_lines_and_a_termination_signal_ends_any_state() {
    let (mut t, mut bob) = alice_hosting_with_bob("esc");
    // Esc alone (as the first byte of a key's sequence, it waits a moment
    // for the rest), and nothing more typed: lines still show.
    t.send("\x1b");
    bob.send_line("SEND alice after esc");
    t.wait_for(&from("bob", "after esc"));
    // A search left with Esc, then SIGTERM in the middle of another.
    t.send_line("@echobot findme");
    t.wait_for(&from("echobot", "findme"));
    t.send("\x12x");
    t.wait_until("the search", |t| t.cursor_row().contains("search)`x'"));
    t.send("\x1b");
    t.wait_until("the prompt", |t| t.cursor_row() == "alice>");
    t.send("\x12find");
    t.wait_until("the match", |t| t.cursor_row().contains("@echobot findme"));
    t.signal(Signal::SIGTERM);
    assert_eq!(t.wait_exit(), 128 + Signal::SIGTERM as i32);
    // Nothing was typed: no history entry found by a search is "not sent",
    // and the search row is gone.
    assert_eq!(t.count("Not sent"), 0, "{}", t.dump());
    assert_eq!(t.count("reverse-i-search"), 0, "{}", t.dump());
}

#[test]
fn a_termination_signal_after_a_key_that_changed_nothing_keeps_every_line_above_the_draft() {
    // Tab on a line that is no name, and Ctrl-D on a line that is not
    // empty, change nothing on the screen; a draft of several rows.
    for (key, what) in [("\t", "tab"), ("\x04", "ctrl-d")] {
        let (mut t, mut bob) = alice_hosting_with_bob(&format!("nochange-{what}"));
        let sent: Vec<String> = (0..4).map(|i| format!("line {i}")).collect();
        for body in &sent {
            bob.send_line(&format!("SEND alice {body}"));
            assert_eq!(bob.line(), "SEND-OK");
        }
        for body in &sent {
            t.wait_for(&from("bob", body));
        }
        let draft = "hello ".repeat(40);
        t.send(&draft);
        t.wait_until("the draft", |t| t.screen().contains("hello hello"));
        t.settle(Duration::from_millis(200));
        t.send(key);
        t.settle(Duration::from_millis(300));
        t.signal(Signal::SIGTERM);
        assert_eq!(t.wait_exit(), 128 + Signal::SIGTERM as i32);
        assert_eq!(
            messages_from(&t.rows(), "bob"),
            sent,
            "{what}: {}",
            t.dump()
        );
        assert_eq!(t.count("Not sent: hello"), 1, "{what}: {}", t.dump());
        assert!(!t.seen().synchronized, "a synchronized update left open");
    }
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

#[test]
fn what_the_neutraliser_wrote_shows_in_reverse_video_and_the_same_text_typed_does_not() {
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.accept_login();
        conn.write(b"DELIVERY bob sent \x1b[2J\n");
        conn.write(b"DELIVERY bob typed \\x1b[2J\n");
        conn.write(b"DELIVERY e\x07ve broken\n");
        thread::sleep(Duration::from_secs(30));
    });
    let home = temp_home("marked");
    let mut t = Terminal::rich(port, &home, &["--name", "zed"]);
    t.wait_for("From e\\x07ve: broken");
    // The same four characters on the screen: made by the neutraliser from
    // an escape byte, or typed by the sender.
    assert!(t.reversed(r"\x1b[2J"), "{}", t.dump());
    assert!(!t.reversed(r"typed \x1b[2J"));
    assert!(!t.reversed("[2J"), "only the escape");
    assert!(t.reversed(r"\x07ve"));
    assert!(!t.reversed("ve: broken"));
    assert!(!t.reversed("From bob: sent"));
    t.signal(Signal::SIGTERM);
    assert_eq!(t.wait_exit(), 128 + Signal::SIGTERM as i32);
}

/// Each of `lines` shown exactly once (screen and scrollback), and one
/// prompt row, with the cursor on it after what was typed.
fn each_once(t: &Terminal, lines: &[String]) -> bool {
    let rows = t.rows();
    lines
        .iter()
        .all(|line| rows.iter().filter(|row| *row == line).count() == 1)
        && rows.iter().filter(|r| r.starts_with("alice>")).count() == 1
        && t.cursor_row() == "alice> @bob short"
}

#[test]
fn every_line_appears_exactly_once_whatever_the_resizes() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("resize");
    let mut t = Terminal::start(Terminal::rich_command(server.port, &home, &[]), 20, 60);
    t.login("alice");
    t.send("@bob short");
    t.wait_until("the edit row", |t| t.cursor_row() == "alice> @bob short");
    let mut expected = Vec::new();
    for body in ["first message", "second message"] {
        bob.send_line(&format!("SEND alice {body}"));
        assert_eq!(bob.line(), "SEND-OK");
        expected.push(from("bob", body));
        t.wait_for(&from("bob", body));
    }
    for (rows, cols) in [(30, 100), (20, 40), (24, 80)] {
        t.resize(rows, cols);
        // A lost or doubled line never comes right: waiting only lets a slow
        // machine finish redrawing.
        t.wait_until("each line once", |t| each_once(t, &expected));
    }
    // A burst of 200 messages with three resizes in the middle of it.
    let burst: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let sizes = [(20, 50), (30, 120), (24, 70)];
    for (i, body) in burst.iter().enumerate() {
        bob.send_line(&format!("SEND alice {body}"));
        if i % 60 == 59 {
            let (rows, cols) = sizes[i / 60];
            t.resize(rows, cols);
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
    t.settle(Duration::from_millis(200));
    assert_eq!(t.cursor_row(), "alice> @bob not finished", "{}", t.dump());
    // Quitting now: the line is printed, and kept in the history.
    t.signal(Signal::SIGHUP);
    assert_eq!(t.wait_exit(), 128 + Signal::SIGHUP as i32);
    let line = text::not_sent(&"@bob not finished".into()).to_string();
    assert_eq!(t.count(&line), 1, "{}", t.dump());
    assert_eq!(t.count("alice> @bob not finished"), 0, "{}", t.dump());
    let history = home.join(format!("data/chat/history/127.0.0.1_{port}/alice.txt"));
    assert_eq!(history_entries(&history), ["@bob not finished"]);
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
fn a_flood_from_the_login_on_keeps_memory_bounded_and_ctrl_c_quits_at_once() {
    // A server that sends messages as fast as the connection takes them,
    // from the login's answer on (in the same write).
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.line();
        let batch: Vec<u8> = (0..1000)
            .flat_map(|i| format!("DELIVERY flood message number {i}\n").into_bytes())
            .collect();
        let mut first = b"HELLO zed\n".to_vec();
        first.extend_from_slice(&batch);
        if conn.stream.write_all(&first).is_ok() {
            while conn.stream.write_all(&batch).is_ok() {}
        }
    });
    let home = temp_home("flood");
    // A long history: the first lines come while it is being read, before
    // the first prompt. They must not keep the prompt away (Ctrl-C would
    // then be the terminal's interrupt, and end the client with 130).
    let history = home.join(format!("data/chat/history/127.0.0.1_{port}/zed.txt"));
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    let past: String = (0..200_000)
        .map(|i| format!("@bob old line {i}\n"))
        .collect();
    std::fs::write(&history, format!("#V2\n{past}")).unwrap();
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
fn lines_typed_ahead_show_after_what_came_before_their_prompt() {
    // Which of rustyline and the printer thread goes first after a prompt
    // is due is a race: tried ten times.
    for round in 0..10 {
        let (port, _server) = fake_server(|mut conn| {
            let _ = conn.line();
            // A message before the login's answer, and one in the same
            // write: both are shown after the login line, and before the
            // line typed ahead.
            conn.write(b"DELIVERY zoe early\n");
            thread::sleep(Duration::from_millis(20));
            conn.write(b"HELLO zed\nDELIVERY zoe with the answer\n");
            let name = "zed";
            // A list of names (for Tab) and the message, in either order.
            for _ in 0..2 {
                if conn.line().starts_with("LIST") {
                    conn.write(format!("LIST-OK {name}\n").as_bytes());
                } else {
                    conn.write(b"SEND-OK\n");
                }
            }
            thread::sleep(Duration::from_secs(30));
        });
        let home = temp_home("typed-ahead");
        let mut t = Terminal::rich(port, &home, &[]);
        // Typed before the client shows any prompt: the name, and a message
        // typed while the login is under way.
        t.send("zed\r@bob typed ahead\r");
        t.wait_for(text::SENT);
        let rows = t.rows();
        let at = |needle: &str| {
            rows.iter()
                .position(|row| row.starts_with(needle))
                .unwrap_or_else(|| panic!("no {needle:?} in round {round}: {}", t.dump()))
        };
        let order = [
            at(text::WELCOME),
            at("> zed"),
            at(&text::logged_in(&"zed".into())),
            at(&from("zoe", "early")),
            at(&from("zoe", "with the answer")),
            at("zed> @bob typed ahead"),
            at(text::SENT),
        ];
        assert!(order.is_sorted(), "round {round}: {order:?}\n{}", t.dump());
        t.quit();
    }
}

#[test]
fn a_carriage_return_typed_inside_a_message_is_not_sent_and_says_why() {
    let (mut t, mut bob) = alice_hosting_with_bob("carriage-return");
    // Ctrl-V Ctrl-M puts a carriage return in the line (quoted insert).
    t.send("@bob one\x16\rtwo\r");
    t.wait_for(text::LINE_BREAK);
    t.send_line("@bob after it");
    t.wait_for(text::SENT);
    // Neither "one" nor "two", nor both joined, reached bob.
    assert_eq!(bob.line(), "DELIVERY alice after it");
    t.quit();
}

#[test]
fn a_server_that_does_not_answer_list_loses_no_reply_to_it() {
    // Rich mode asks for the names at login (for Tab); this server answers
    // nothing to LIST, and the messages as the course's server does.
    let (port, _server) = fake_server(|mut conn| {
        let _ = conn.accept_login();
        loop {
            let line = conn.line();
            if line.is_empty() {
                // The end of the connection.
                break;
            } else if line.starts_with("SEND nobody ") {
                conn.write(b"BAD-DEST-USER\n");
            } else if line.starts_with("SEND ") {
                conn.write(b"SEND-OK\n");
            }
        }
    });
    let home = temp_home("no-list");
    let mut t = Terminal::rich(port, &home, &["--name", "zed"]);
    t.wait_prompt("zed> ");
    t.send_line("@nobody are you there");
    t.wait_for(text::NO_SUCH_USER);
    t.send_line("@bob hi");
    t.wait_for(text::SENT);
    t.quit();
}
