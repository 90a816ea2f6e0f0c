//! Rich mode as the user sees it: typing while messages arrive, history,
//! paste, completion, and the terminal given back on every way out.

use std::process::Command;
use std::time::Duration;

use chat::client::text;
use testkit::client::chat;
use testkit::screen::{history_entries, temp_home, Terminal};
use testkit::{from, start_server, Client};

#[test]
fn a_half_typed_line_and_the_cursor_stay_while_messages_arrive() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("half");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.send("@bob hel");
    t.wait_until("the typed text", |t| t.cursor_row() == "alice> @bob hel");
    bob.send_line("SEND alice incoming while typing");
    bob.send_line("SEND alice and another");
    assert_eq!(
        (bob.line(), bob.line()),
        ("SEND-OK".into(), "SEND-OK".into())
    );
    t.wait_for(&from("bob", "and another"));
    // The messages are above; the prompt, the text and the cursor below.
    let rows = t.rows();
    let at = |needle: &str| rows.iter().position(|r| r.contains(needle)).unwrap();
    assert!(at("incoming while typing") < at("and another"));
    assert!(at("and another") < at("alice> @bob hel"));
    assert_eq!(t.cursor_row(), "alice> @bob hel");
    assert_eq!(t.cursor().1, 15, "the cursor is after the text");
    assert_eq!(t.count("alice> @bob hel"), 1, "{}", t.dump());
    t.send("lo world\r");
    assert_eq!(bob.line(), "DELIVERY alice hello world");
    t.wait_for(text::SENT);
    t.quit();
}

#[test]
fn history_is_kept_per_server_and_name_and_never_holds_names_or_quit() {
    let server = start_server(&[]);
    let home = temp_home("history");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.send_line("@echobot first entry");
    t.wait_for(&from("echobot", "first entry"));
    t.quit();

    let file = home.join(format!(
        "data/chat/history/127.0.0.1_{}/alice.txt",
        server.port
    ));
    assert_eq!(history_entries(&file), ["@echobot first entry"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // The same name on the same server: Up recalls it.
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.send("\x1b[A");
    t.wait_until("the entry", |t| {
        t.cursor_row() == "alice> @echobot first entry"
    });
    t.send("\r");
    t.wait_until("the echo", |t| {
        t.count(&from("echobot", "first entry")) == 1
    });
    t.quit();

    // Another name: its own, empty history.
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("bob");
    t.send("\x1b[A");
    t.settle(Duration::from_millis(200));
    assert_eq!(t.cursor_row(), "bob>");
    t.quit();
}

#[test]
fn no_history_writes_nothing_and_history_file_chooses_the_place() {
    let server = start_server(&[]);
    let home = temp_home("nohistory");
    let mut t = Terminal::rich(server.port, &home, &["--no-history"]);
    t.login("alice");
    t.send_line("@echobot secret");
    t.wait_for(&from("echobot", "secret"));
    t.quit();
    assert!(
        !home.join("data/chat").exists(),
        "--no-history wrote a file"
    );

    let file = home.join("elsewhere/h.txt");
    let mut t = Terminal::rich(
        server.port,
        &home,
        &["--history-file", file.to_str().unwrap()],
    );
    t.login("alice");
    t.send_line("@echobot kept");
    t.wait_for(&from("echobot", "kept"));
    t.quit();
    assert_eq!(history_entries(&file), ["@echobot kept"]);
    assert!(!home.join("data/chat").exists());
}

#[test]
fn a_history_file_that_cannot_be_made_gives_one_warning_and_the_client_goes_on() {
    let server = start_server(&[]);
    let home = temp_home("badhistory");
    // A file where a folder should be.
    std::fs::write(home.join("blocker"), "").unwrap();
    let path = home.join("blocker/h.txt");
    let mut t = Terminal::rich(
        server.port,
        &home,
        &["--history-file", path.to_str().unwrap()],
    );
    t.login("alice");
    t.wait_for("going on without it");
    t.send_line("@echobot still works");
    t.wait_for(&from("echobot", "still works"));
    t.send_line("@echobot and again");
    t.wait_for(&from("echobot", "and again"));
    assert_eq!(t.count("going on without it"), 1, "{}", t.dump());
    t.quit();
}

/// A history file that is no regular file (a FIFO, which would block, or a
/// device, such as one that never ends) is not used: one warning, and the
/// client goes on.
#[test]
fn a_history_file_that_is_no_regular_file_is_not_used() {
    let server = start_server(&[]);
    let home = temp_home("nonregular");
    let fifo = home.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for path in [fifo.as_path(), std::path::Path::new("/dev/null")] {
        let mut t = Terminal::rich(
            server.port,
            &home,
            &["--history-file", path.to_str().unwrap()],
        );
        t.login("alice");
        t.wait_for(text::NOT_A_FILE);
        t.wait_for("going on without it");
        t.send_line("@echobot still works");
        t.wait_for(&from("echobot", "still works"));
        assert_eq!(t.count("going on without it"), 1, "{}", t.dump());
        t.quit();
    }
}

#[test]
fn a_pasted_block_of_lines_is_sent_as_that_many_lines_each_in_the_history() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("paste");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    // The pasted lines are edited together, and sent with Enter.
    t.send("\x1b[200~@bob one\r\n@bob two\n@bob three\r@bob fou\x1b[201~");
    t.wait_until("the paste", |t| t.cursor_row() == "@bob fou");
    t.send("r\r");
    for body in ["one", "two", "three", "four"] {
        assert_eq!(bob.line(), format!("DELIVERY alice {body}"));
    }
    t.wait_until("four confirmations", |t| t.count(text::SENT) == 4);
    t.quit();
    let file = home.join(format!(
        "data/chat/history/127.0.0.1_{}/alice.txt",
        server.port
    ));
    assert_eq!(
        history_entries(&file),
        ["@bob one", "@bob two", "@bob three", "@bob four"]
    );
}

/// Ctrl-C clears all of a pasted block, not only its last line (Ctrl-Y
/// brings it back); in vi keys, it clears the line and the next one starts
/// in insert mode, even from command mode.
#[test]
fn ctrl_c_clears_a_pasted_block_whole_and_leaves_vi_keys_inserting() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("ctrlc-paste");
    let mut t = Terminal::rich(server.port, &home, &["--no-history"]);
    t.login("alice");
    t.send("\x1b[200~@bob one\n@bob two\n@bob three\x1b[201~");
    t.wait_until("the paste", |t| t.cursor_row() == "@bob three");
    t.send("\x03");
    t.wait_until("an empty line", |t| t.cursor_row() == "alice>");
    assert_eq!(t.count("@bob one"), 0, "{}", t.dump());
    t.send("\x19");
    t.wait_until("the block back", |t| t.cursor_row() == "@bob three");
    t.send("\x03\r");
    t.send_line("@bob after");
    assert_eq!(bob.line(), "DELIVERY alice after");
    t.quit();

    let mut t = Terminal::rich(server.port, &home, &["--no-history", "--edit-mode", "vi"]);
    t.login("carol");
    t.send("abc\x1b");
    t.settle(Duration::from_millis(200));
    t.send("\x03");
    t.wait_until("an empty line", |t| t.cursor_row() == "carol>");
    assert_eq!(t.count("carol> abc"), 0, "{}", t.dump());
    t.send("hello");
    t.wait_until("typed, not taken for commands", |t| {
        t.cursor_row() == "carol> hello"
    });
    t.send("\x03");
    t.wait_until("an empty line again", |t| t.cursor_row() == "carol>");
    assert!(!t.ended(), "Ctrl-C on a line clears it, never quits");
    t.quit();
}

/// A `!quit` among pasted lines quits there: the lines before it are sent,
/// those after it are not, and each says so and stays in the history.
#[test]
fn lines_pasted_after_a_quit_are_not_sent_and_say_so() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("pastequit");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.send("\x1b[200~@bob one\n!quit\n@bob two\n@bob three\x1b[201~\r");
    assert_eq!(t.wait_exit(), 0);
    assert_eq!(bob.line(), "DELIVERY alice one");
    bob.expect_silence(200);
    for line in ["@bob two", "@bob three"] {
        let notice = text::not_sent(&line.into()).to_string();
        assert_eq!(t.count(&notice), 1, "{}", t.dump());
    }
    let file = home.join(format!(
        "data/chat/history/127.0.0.1_{}/alice.txt",
        server.port
    ));
    assert_eq!(
        history_entries(&file),
        ["@bob one", "@bob two", "@bob three"]
    );
}

/// A line of several lines (a paste) being typed when the client ends:
/// each of its lines is printed on its own row and kept in the history on
/// its own.
#[test]
fn a_draft_of_several_lines_is_printed_and_kept_line_by_line_on_the_way_out() {
    let server = start_server(&[]);
    let home = temp_home("draftlines");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.send("\x1b[200~@bob first\n@bob second\x1b[201~");
    t.wait_until("the paste", |t| t.cursor_row() == "@bob second");
    t.signal(expectrl::process::unix::Signal::SIGTERM);
    assert_eq!(t.wait_exit(), 143);
    for line in ["@bob first", "@bob second"] {
        let notice = text::not_sent(&line.into()).to_string();
        assert!(
            t.rows().contains(&notice),
            "{notice:?} on a row of its own:\n{}",
            t.dump()
        );
    }
    let file = home.join(format!(
        "data/chat/history/127.0.0.1_{}/alice.txt",
        server.port
    ));
    assert_eq!(history_entries(&file), ["@bob first", "@bob second"]);
}

#[test]
fn tab_completes_names_most_recent_first_waits_for_a_fresh_list_and_never_prints_it() {
    let server = start_server(&[]);
    let mut bobby = Client::login(&server, "bobby");
    let home = temp_home("complete");
    let mut t = Terminal::rich(server.port, &home, &["--no-history"]);
    t.login("alice");
    // The names fetched silently at login serve the first Tab.
    t.settle(Duration::from_millis(300));
    t.send("@bob\t");
    t.wait_until("the name", |t| t.cursor_row() == "alice> @bobby");
    t.send("hi there\r");
    assert_eq!(bobby.line(), "DELIVERY alice hi there");

    // Someone who logs in after the last list: the first Tab waits for a
    // fresh one and finds them.
    let mut dave = Client::login(&server, "dave");
    t.send("@da\t");
    t.wait_until("the new name", |t| t.cursor_row() == "alice> @dave");
    t.send("found you\r");
    assert_eq!(dave.line(), "DELIVERY alice found you");

    // Several matches: the list, the last person who wrote first and
    // yourself last.
    let mut amy = Client::login(&server, "amy");
    amy.send_line("SEND alice hello");
    t.wait_for(&from("amy", "hello"));
    t.send("@\t");
    t.wait_for("@amy  @dave  @bobby");
    let list = t
        .rows()
        .into_iter()
        .find(|row| row.starts_with("@amy"))
        .unwrap();
    assert!(list.ends_with("@alice"), "{list}");
    t.send("\x15");

    // The silent lists printed nothing; !who prints once.
    t.send_line("!who");
    t.wait_for(&text::user_entry(&"amy".into()));
    t.settle(Duration::from_millis(200));
    assert_eq!(t.count("online users"), 1, "{}", t.dump());
    t.quit();
}

/// Tab pressed again on the same line shows the same list of names once
/// (a new line shows it again);
/// in front of a space (a word completed in the middle of a line) it adds
/// no second space.
#[test]
fn tab_lists_the_names_once_per_line_and_adds_no_second_space() {
    let server = start_server(&[]);
    let _bob = Client::login(&server, "bob");
    let _bobby = Client::login(&server, "bobby");
    let home = temp_home("tabonce");
    let mut t = Terminal::rich(server.port, &home, &["--no-history"]);
    t.login("alice");
    t.send("@bo\t");
    t.wait_until("the common start", |t| t.cursor_row() == "alice> @bob");
    t.wait_for("@bob  @bobby");
    t.send("\t\t");
    t.send("b\t");
    t.wait_until("the one name", |t| t.cursor_row() == "alice> @bobby");
    assert_eq!(t.count("@bob  @bobby"), 1, "{}", t.dump());
    // `@bobb| hello`: the name completes, the space stays one.
    t.send("\x15@bobb hello\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\t");
    t.wait_until("the name in the line", |t| {
        t.cursor_row() == "alice> @bobby hello"
    });
    // A new line: the same list is shown again for it.
    t.send("\x05\x15");
    t.send_line("!help");
    t.wait_prompt("alice>");
    t.send("@bob\t");
    t.wait_until("the list again", |t| t.count("@bob  @bobby") == 2);
    t.send("\x15");
    t.quit();
}

/// In a busy chat, Tab still asks for a fresh list once the last one is a
/// few seconds old: messages do not make the names fresh, so someone who
/// left is not offered and someone who came is.
#[test]
fn tab_in_a_busy_chat_offers_who_is_online_now() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut carol = Client::login(&server, "carol");
    let bobby = Client::login(&server, "bobby");
    let home = temp_home("busytab");
    let mut t = Terminal::rich(server.port, &home, &["--no-history"]);
    t.login("alice");
    t.settle(Duration::from_millis(200));
    drop(bobby);
    let _bobcat = Client::login(&server, "bobcat");
    // Six seconds of messages from two people in turn: the list fetched at
    // login grows old meanwhile.
    let started = std::time::Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(6) {
        let (sender, name) = if i % 2 == 0 {
            (&mut bob, "bob")
        } else {
            (&mut carol, "carol")
        };
        sender.send_line(&format!("SEND alice ping {i}"));
        assert_eq!(sender.line(), "SEND-OK");
        t.wait_for(&from(name, &format!("ping {i}")));
        std::thread::sleep(Duration::from_millis(300));
        i += 1;
    }
    t.send("@bob\t");
    t.wait_until("the names that match", |t| {
        t.rows().iter().any(|row| row.starts_with("@bob  "))
    });
    let list = t
        .rows()
        .into_iter()
        .find(|row| row.starts_with("@bob  "))
        .unwrap();
    assert_eq!(list, "@bob  @bobcat", "{}", t.dump());
    t.send("\x15");
    t.quit();
}

#[test]
fn colour_in_rich_mode_and_none_with_no_color_or_never() {
    let server = start_server(&[]);
    let home = temp_home("colour");
    let mut bob = Client::login(&server, "bob");

    let mut cmd = Terminal::rich_command(server.port, &home, &["--no-history"]);
    cmd.env_remove("NO_COLOR");
    let mut t = Terminal::start(cmd, 24, 80);
    t.login("alice");
    bob.send_line("SEND alice coloured");
    t.wait_for(&from("bob", "coloured"));
    t.send_line("@nobody x");
    t.wait_for(text::NO_SUCH_USER);
    assert!(
        t.colour_of("bob: coloured").is_some(),
        "the sender's name has a colour"
    );
    assert!(
        t.colour_of(text::NO_SUCH_USER).is_some(),
        "errors are coloured"
    );
    t.quit();

    for (no_color, args) in [(true, &[][..]), (false, &["--color", "never"][..])] {
        let mut cmd = Terminal::rich_command(server.port, &home, &["--no-history"]);
        cmd.args(args);
        if !no_color {
            cmd.env_remove("NO_COLOR");
        }
        let mut t = Terminal::start(cmd, 24, 80);
        t.login("carol");
        bob.send_line("SEND carol plain");
        assert_eq!(bob.line(), "SEND-OK");
        t.wait_for(&from("bob", "plain"));
        t.send_line("@nobody x");
        t.wait_for(text::NO_SUCH_USER);
        assert_eq!(t.colour_of("bob: plain"), None, "coloured with {args:?}");
        assert_eq!(t.colour_of(text::NO_SUCH_USER), None);
        t.quit();
    }
}

/// Runs the client in a shell that records `stty -g` before and after, lets
/// `drive` use it, and checks that the terminal settings are the same.
fn terminal_restored_after(name: &str, port: u16, drive: impl FnOnce(&mut Terminal)) {
    let home = temp_home(name);
    let script = format!(
        "stty -g > '{d}/before'; TERM=xterm-256color HOME='{d}' XDG_DATA_HOME='{d}' '{chat}' --port {port} --no-history; stty -g > '{d}/after'; echo ALL-DONE",
        d = home.display(),
        chat = chat().display(),
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script]).env("NO_COLOR", "1");
    let mut t = Terminal::start(cmd, 24, 80);
    t.wait_for(text::WELCOME);
    drive(&mut t);
    t.wait_for("ALL-DONE");
    let before = std::fs::read_to_string(home.join("before")).unwrap();
    let after = std::fs::read_to_string(home.join("after")).unwrap();
    assert!(!before.trim().is_empty());
    assert_eq!(before, after, "terminal settings changed ({name})");
}

#[test]
fn terminal_restored_after_quit_ctrl_d_and_ctrl_c() {
    let server = start_server(&[]);
    terminal_restored_after("quit", server.port, |t| {
        t.login("alice");
        t.send_line("!quit");
    });
    terminal_restored_after("ctrld", server.port, |t| {
        t.login("bob");
        t.send("\x04");
    });
    terminal_restored_after("ctrlc", server.port, |t| {
        t.login("carol");
        // Ctrl-C first clears a line that has text...
        t.send("@bob half");
        t.wait_until("the text", |t| t.cursor_row() == "carol> @bob half");
        t.send("\x03");
        t.wait_until("a cleared line", |t| t.cursor_row() == "carol>");
        // ...and quits on an empty one.
        t.send("\x03");
    });
}

#[test]
fn terminal_restored_when_the_server_is_full_or_unreachable() {
    let full = start_server(&["--max-clients", "0"]);
    terminal_restored_after("full", full.port, |t| {
        t.send_line("alice");
        t.wait_for(text::SERVER_FULL);
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    terminal_restored_after("unreachable", port, |t| {
        t.send_line("alice");
        t.wait_for(text::TRY_LOCAL);
    });
}

#[test]
fn lines_typed_ahead_in_one_burst_are_all_handled_in_order() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("burst");
    let mut t = Terminal::rich(server.port, &home, &["--no-history"]);
    t.wait_for(text::WELCOME);
    t.send("alice\r@bob one\r@bob two\r@bob three\r");
    for body in ["one", "two", "three"] {
        assert_eq!(bob.line(), format!("DELIVERY alice {body}"));
    }
    t.wait_until("three confirmations", |t| t.count(text::SENT) == 3);
    t.quit();
}

#[test]
fn a_dumb_terminal_gets_plain_mode() {
    let server = start_server(&[]);
    let home = temp_home("dumb");
    let mut cmd = Terminal::rich_command(server.port, &home, &[]);
    cmd.env("TERM", "dumb");
    let mut t = Terminal::start(cmd, 24, 80);
    t.wait_for(text::WELCOME);
    t.send("alice\r");
    t.wait_for(&text::logged_in(&"alice".into()));
    t.settle(Duration::from_millis(200));
    assert!(!t.screen().contains("alice>"), "no prompt in plain mode");
    assert!(t.seen().titles.is_empty(), "no title in plain mode");
    t.quit();
}

/// The terminal's settings as `stty -a` shows them, read from outside
/// (`-F`), on the terminal of process `pid`.
fn modes_of_terminal_of(pid: u32) -> String {
    let tty = std::fs::read_link(format!("/proc/{pid}/fd/0")).expect("the shell's terminal");
    let out = Command::new("stty")
        .arg("-a")
        .arg("-F")
        .arg(&tty)
        .output()
        .expect("stty");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A stop the client did not make (SIGTSTP from another program, while a
/// line is being typed): after `fg` the terminal is in rustyline's modes
/// again and the prompt with the line is drawn again, without a key.
#[test]
fn a_stop_from_outside_then_fg_brings_the_line_back_editable() {
    let server = start_server(&[]);
    let home = temp_home("outside-stop");
    let (mut t, _) = interactive_shell(&["bash", "--norc", "--noprofile", "-i"], &home);
    t.send(format!(
        "clear; '{}' --port {} --no-history --name alice\r",
        chat().display(),
        server.port
    ));
    t.wait_prompt("alice> ");
    t.send("hello world");
    t.wait_until("the line", |t| t.cursor_row() == "alice> hello world");
    let client = child_of(t.pid());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(client).unwrap()),
        nix::sys::signal::Signal::SIGTSTP,
    )
    .unwrap();
    t.wait_for("Stopped");
    t.wait_until("the shell's prompt", |t| t.cursor_row() == "$");
    t.send("fg\r");
    t.wait_until("the line again after fg", |t| {
        t.cursor_row() == "alice> hello world"
    });
    let modes = modes_of_terminal_of(t.pid());
    for raw in ["-icanon", "-echo ", "-isig"] {
        assert!(modes.contains(raw), "not raw after fg: {modes}");
    }
    t.send("\x1b[DX");
    t.wait_until("the edit", |t| t.cursor_row() == "alice> hello worlXd");
    t.send("\x05\x15!quit\r");
    t.wait_until("the shell's prompt again", |t| t.cursor_row() == "$");
    t.send("exit\r");
}

/// The one child process of `pid`.
fn child_of(pid: u32) -> u32 {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .expect("the children of the shell");
    let mut children = children.split_whitespace();
    let child = children.next().expect("a child").parse().unwrap();
    assert!(children.next().is_none(), "one child");
    child
}

/// Waits until the file at `path` has been written (by a command typed at
/// the shell) and returns what it holds.
fn written(t: &mut Terminal, path: &std::path::Path) -> String {
    t.wait_until(&format!("{} from the shell", path.display()), |_| {
        std::fs::read_to_string(path).is_ok_and(|text| text.ends_with('\n'))
    });
    std::fs::read_to_string(path).unwrap()
}

/// An interactive shell with job control in a terminal, in `home`, and the
/// terminal's settings there (`stty -g`).
fn interactive_shell(shell: &[&str], home: &std::path::Path) -> (Terminal, String) {
    let mut cmd = Command::new(shell[0]);
    cmd.args(&shell[1..])
        .current_dir(home)
        .env("PS1", "$ ")
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    let mut t = Terminal::start(cmd, 24, 80);
    t.wait_until("the shell's prompt", |t| t.cursor_row() == "$");
    // A terminal as a user has it (the pseudo-terminal starts without echo).
    t.send("stty echo; stty -g > user\r");
    let user = written(&mut t, &home.join("user"));
    (t, user)
}

/// Ctrl-Z while no prompt is shown (here, while the server takes its time
/// to answer the login) stops the client once the prompt is there, so that
/// the shell gets the user's settings then too.
#[test]
fn ctrl_z_before_the_prompt_takes_effect_at_the_prompt() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let home = temp_home("suspend-early");
    let (mut t, user) = interactive_shell(&["dash", "-i"], &home);
    t.send(format!(
        "'{}' --port {port} --no-history --name alice\r",
        chat().display()
    ));
    let (mut conn, _) = listener.accept().unwrap();
    let mut hello = [0u8; 64];
    let _ = std::io::Read::read(&mut conn, &mut hello).unwrap();
    t.send("\x1a");
    t.settle(Duration::from_millis(300));
    assert!(!t.screen().contains("Stopped"), "{}", t.dump());
    std::io::Write::write_all(&mut conn, b"HELLO alice\n").unwrap();
    t.wait_for("Stopped");
    t.send("stty -g > stopped\r");
    assert_eq!(written(&mut t, &home.join("stopped")), user);
    t.send("fg\r");
    t.wait_prompt("alice> ");
    t.send("!quit\r");
    t.wait_until("the shell's prompt again", |t| t.cursor_row() == "$");
    t.send("exit\r");
}

/// Ctrl-Z where nothing can continue a stopped client (it leads its own
/// session here, as in `tmux new chat`): the system does not stop it, and
/// the line goes on where it was, drawn once.
#[test]
fn ctrl_z_without_job_control_leaves_the_line_as_it_was() {
    let server = start_server(&[]);
    let home = temp_home("nosuspend");
    let mut t = Terminal::rich(server.port, &home, &["--no-history"]);
    t.login("alice");
    t.send("abc\x1b[D");
    t.wait_until("the line", |t| t.cursor() == (3, 9));
    t.send("\x1a");
    t.send("X");
    t.wait_until("the line typed on", |t| t.cursor_row() == "alice> abXc");
    assert_eq!(t.count("alice> ab"), 1, "{}", t.dump());
    t.send("\x05\x15");
    t.quit();
}

/// Ctrl-Z in a shell with job control, as a user does it: while the client
/// is stopped, the shell has the user's own terminal settings (also a shell
/// that does not put them back itself, as dash); after `fg`, the client is
/// in raw mode again, with the prompt, the line being typed and the cursor
/// drawn again, and the lines that came meanwhile shown once each, in order.
#[test]
fn ctrl_z_gives_the_shell_the_users_settings_and_fg_brings_the_line_back() {
    let server = start_server(&[]);
    for shell in [
        &["dash", "-i"][..],
        &["bash", "--norc", "--noprofile", "-i"],
    ] {
        let mut bob = Client::login(&server, "bob");
        let home = temp_home(&format!("suspend-{}", shell[0]));
        let (mut t, user) = interactive_shell(shell, &home);
        t.send(format!(
            "clear; '{}' --port {} --no-history --name alice\r",
            chat().display(),
            server.port
        ));
        t.wait_prompt("alice> ");
        t.send("hello world\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D");
        t.wait_until("the line, the cursor in it", |t| {
            t.cursor_row() == "alice> hello world" && t.cursor().1 == 13
        });
        t.send("\x1a");
        t.wait_for("Stopped");
        // Messages that come while it is stopped.
        for i in 1..=3 {
            bob.send_line(&format!("SEND alice while stopped {i}"));
            assert_eq!(bob.line(), "SEND-OK");
        }
        t.send("stty -g > stopped\r");
        let stopped = written(&mut t, &home.join("stopped"));
        assert_eq!(
            stopped, user,
            "{}: the user's settings while stopped",
            shell[0]
        );

        t.send("fg\r");
        t.wait_until("the line again after fg", |t| {
            t.cursor_row() == "alice> hello world" && t.cursor().1 == 13
        });
        let lines: Vec<String> = (1..=3)
            .map(|i| from("bob", &format!("while stopped {i}")))
            .collect();
        t.wait_until("the lines that came meanwhile", |t| {
            lines.iter().all(|line| t.count(line) == 1)
        });
        let rows = t.rows();
        let at = |needle: &str| rows.iter().rposition(|r| r.contains(needle)).unwrap();
        assert!(at(&lines[0]) < at(&lines[1]) && at(&lines[1]) < at(&lines[2]));
        assert!(at(&lines[2]) < at("alice> hello world"), "{}", t.dump());
        let modes = modes_of_terminal_of(t.pid());
        for raw in ["-icanon", "-echo ", "-isig"] {
            assert!(
                modes.contains(raw),
                "{}: not raw after fg: {modes}",
                shell[0]
            );
        }
        // Editing works (the arrow moved the cursor, not printed `^[[D`),
        // Ctrl-@ stops nothing, and Ctrl-C clears the line rather than
        // ending the client.
        t.send("\x00\x1b[DX");
        t.wait_until("the edit", |t| t.cursor_row() == "alice> helloX world");
        assert_eq!(t.count("Stopped"), 1, "{}", t.dump());
        t.send("\x03");
        t.wait_until("a cleared line", |t| t.cursor_row() == "alice>");
        t.send("!quit\r");
        t.wait_until("the shell's prompt again", |t| t.cursor_row() == "$");
        t.send("stty -g > after\r");
        assert_eq!(written(&mut t, &home.join("after")), user, "{}", shell[0]);
        t.send("exit\r");
    }
}
