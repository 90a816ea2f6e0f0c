//! Rich mode as a daily chat client: conversations, `!r`, reconnecting,
//! `--name` and the config file, timestamps, sender colours, the bell, the
//! window title and the log.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use chat::client::{text, SafeText};
use testkit::client::{chat, Launch};
use testkit::screen::{temp_home, Terminal};
use testkit::{from, start_server, start_server_on, Client};

#[test]
fn at_a_name_alone_starts_a_conversation_that_takes_plain_lines() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut carol = Client::login(&server, "carol");
    let home = temp_home("converse");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.send_line("hello");
    t.wait_for(text::RICH_HINT);
    t.send_line("@bob");
    t.wait_prompt("alice -> bob> ");
    t.send_line("hello");
    assert_eq!(bob.line(), "DELIVERY alice hello");
    // A message to someone else does not change the conversation.
    t.send_line("@carol hi carol");
    assert_eq!(carol.line(), "DELIVERY alice hi carol");
    t.wait_prompt("alice -> bob> ");
    t.send_line("again");
    assert_eq!(bob.line(), "DELIVERY alice again");
    // `!to` changes it, `@` alone ends it.
    t.send_line("!to carol");
    t.wait_prompt("alice -> carol> ");
    t.send_line("now you");
    assert_eq!(carol.line(), "DELIVERY alice now you");
    t.send_line("@");
    t.wait_prompt("alice> ");
    t.wait_for(text::NO_CONVERSATION);
    t.wait_until("four confirmations", |t| t.count(text::SENT) == 4);
    t.quit();
}

#[test]
fn reply_answers_whoever_wrote_last_and_help_lists_every_command() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut carol = Client::login(&server, "carol");
    let home = temp_home("reply");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.send_line("!r anyone?");
    t.wait_for(text::NOBODY_TO_ANSWER);
    carol.send_line("SEND alice from carol");
    t.wait_for(&from("carol", "from carol"));
    bob.send_line("SEND alice from bob");
    t.wait_for(&from("bob", "from bob"));
    t.send_line("!r thanks");
    assert_eq!(bob.line(), "SEND-OK");
    assert_eq!(bob.line(), "DELIVERY alice thanks");
    t.send_line("!help");
    t.wait_for(text::HELP_HEADING);
    for command in [
        "@<name> <message>",
        "!to",
        "!reply",
        "!who",
        "!help",
        "!quit",
    ] {
        t.wait_for(&format!("  {command}  "));
    }
    drop(carol);
    t.quit();
}

#[test]
fn after_the_server_restarts_the_client_is_logged_in_again_and_messages_flow_both_ways() {
    let server = start_server(&[]);
    let port = server.port;
    let home = temp_home("reconnect");
    let mut t = Terminal::rich(port, &home, &[]);
    t.login("alice");
    t.send_line("@bob");
    t.wait_prompt("alice -> bob> ");
    drop(server);
    // Closed or reset (when the server is killed before it reads what the
    // client sent, such as its request for the names online): either way
    // the client starts reconnecting.
    t.wait_for(&text::reconnecting(1));
    // The prompt of the line being typed stays; the next one says offline.
    t.send("typed while away");
    let server = start_server_on(port, &[]);
    // The first retries come after about 1, 2 and 4 seconds.
    t.wait_until("the login again", |t| {
        t.count(&text::logged_in(&"alice".into())) == 2
    });
    t.wait_prompt("alice -> bob> typed while away");
    let mut bob = Client::login(&server, "bob");
    t.send(" then sent\r");
    assert_eq!(bob.line(), "DELIVERY alice typed while away then sent");
    bob.send_line("SEND alice welcome back");
    t.wait_for(&from("bob", "welcome back"));
    t.quit();
}

#[test]
fn a_name_taken_after_a_reconnect_is_asked_again() {
    let server = start_server(&[]);
    let port = server.port;
    let home = temp_home("retaken");
    let mut t = Terminal::rich(port, &home, &[]);
    t.login("alice");
    drop(server);
    // Closed or reset (when the server is killed before it reads what the
    // client sent, such as its request for the names online): either way
    // the client starts reconnecting.
    t.wait_for(&text::reconnecting(1));
    // Typed while offline: not sent, and said to be in the history.
    t.send_line("@echobot important words");
    t.wait_for(text::NOT_CONNECTED);
    let server = start_server_on(port, &[]);
    let _thief = Client::login(&server, "alice");
    t.wait_for(&text::name_in_use(&"alice".into()));
    // The line being typed keeps its prompt (the one after the line typed
    // offline), and is no name: Enter brings the name prompt.
    t.wait_prompt("alice (offline)> ");
    t.send("\r");
    t.wait_until("the name prompt", |t| t.cursor_row() == ">");
    t.send_line("alice2");
    t.wait_prompt("alice2> ");
    // Under the new name too.
    t.send("\x1b[A");
    t.wait_until("the line typed offline", |t| {
        t.cursor_row() == "alice2> @echobot important words"
    });
    t.send("\x15");
    t.quit();
}

/// A server that answers one login per connection, as the test says: the
/// name the client asked for, and the answer given.
struct LoginServer {
    listener: std::net::TcpListener,
}

impl LoginServer {
    fn start() -> (LoginServer, u16) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        (LoginServer { listener }, port)
    }

    /// The next connection and the name in its `HELLO-FROM`.
    fn next(&self) -> (BufReader<TcpStream>, TcpStream, String) {
        let (stream, _) = self.listener.accept().unwrap();
        stream.set_read_timeout(Some(testkit::TIMEOUT)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut hello = String::new();
        reader.read_line(&mut hello).unwrap();
        let name = hello
            .trim_end()
            .strip_prefix("HELLO-FROM ")
            .unwrap_or(&hello);
        (reader, stream, name.to_string())
    }
}

/// After a reconnect, a line meant for the chat is never taken for a name:
/// neither one typed while the client logs in again (it is not connected)
/// nor one sent under the chat prompt once the name is found taken (not
/// sent); both stay in the history, and the name is asked with the name
/// prompt.
#[test]
fn a_line_typed_for_the_chat_never_becomes_a_name_after_a_reconnect() {
    let (server, port) = LoginServer::start();
    let home = temp_home("chatnotname");
    let mut t = Terminal::rich(port, &home, &["--name", "alice"]);
    let (_, mut first, name) = server.next();
    assert_eq!(name, "alice");
    first.write_all(b"HELLO alice\n").unwrap();
    t.wait_prompt("alice> ");
    drop(first);
    t.wait_for(&text::reconnecting(1));
    // The login again: its answer waits while a line is typed.
    let (_, mut again, name) = server.next();
    assert_eq!(name, "alice");
    t.send("hello\r");
    t.wait_for(text::NOT_CONNECTED);
    again.write_all(b"IN-USE\n").unwrap();
    drop(again);
    t.wait_for(&text::name_in_use(&"alice".into()));
    // The line being typed still has the chat prompt; sent, it is not a
    // name, and the name prompt follows.
    t.wait_prompt("alice (offline)> ");
    t.send("still chatting\r");
    t.wait_for(&text::not_sent(&"still chatting".into()));
    t.wait_until("the name prompt", |t| t.cursor_row() == ">");
    t.send("bob\r");
    let (_, mut third, name) = server.next();
    assert_eq!(name, "bob", "{}", t.dump());
    third.write_all(b"HELLO bob\n").unwrap();
    t.wait_prompt("bob> ");
    // Both lines are in the history, under the new name too.
    t.send("\x1b[A");
    t.wait_until("the line not sent", |t| {
        t.cursor_row() == "bob> still chatting"
    });
    t.send("\x1b[A");
    t.wait_until("the line typed offline", |t| t.cursor_row() == "bob> hello");
    t.send("\x15");
    t.quit();
}

/// Lines pasted at the name prompt after the name are not messages: they
/// are not sent, and say so.
#[test]
fn lines_pasted_after_a_name_at_the_name_prompt_are_not_sent() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("namepaste");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.wait_for(text::WELCOME);
    t.wait_until("the name prompt", |t| t.cursor_row() == ">");
    t.send("\x1b[200~alice\n@bob hi\x1b[201~\r");
    t.wait_for(&text::logged_in(&"alice".into()));
    t.wait_for(&text::not_sent(&"@bob hi".into()));
    t.wait_prompt("alice> ");
    bob.expect_silence(300);
    t.quit();
}

/// A server that drops each user soon after logging it in is not tried
/// again every second: the backoff goes on over such short connections.
#[test]
fn a_server_that_drops_each_login_at_once_is_tried_again_less_and_less_often() {
    let (server, port) = LoginServer::start();
    std::thread::spawn(move || loop {
        let (_reader, mut stream, name) = server.next();
        stream
            .write_all(format!("HELLO {name}\n").as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
    });
    let home = temp_home("dropping");
    let mut t = Terminal::rich(port, &home, &["--name", "alice"]);
    t.wait_for(&text::reconnecting(1));
    t.wait_for(&text::reconnecting(2));
    assert_eq!(t.count(&text::reconnecting(1)), 1, "{}", t.dump());
    t.send("\x03");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn quitting_stops_the_reconnecting() {
    let server = start_server(&[]);
    let home = temp_home("giveup");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    drop(server);
    t.wait_for(&text::reconnecting(1));
    t.send("\x03");
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn when_the_hosting_user_quits_the_others_are_told_and_one_takes_over() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = temp_home("takeover");
    let mut host = Terminal::rich(port, &home.join("host"), &["--local"]);
    host.wait_for(&text::hosting(&SafeText::neutralise_str(&format!(
        "127.0.0.1:{port}"
    ))));
    host.login("alice");
    let mut bob = Terminal::rich(port, &home.join("bob"), &["--local"]);
    bob.login("bob");
    host.quit();
    bob.wait_for(&from("alice", text::HOST_LEFT));
    // bob's client finds nothing listening, starts the server itself, and
    // logs in to it.
    bob.wait_for(&text::hosting(&SafeText::neutralise_str(&format!(
        "127.0.0.1:{port}"
    ))));
    bob.wait_until("the login again", |t| {
        t.count(&text::logged_in(&"bob".into())) == 2
    });
    let mut carol = Client::login_port(port, "carol");
    carol.send_line("SEND bob the new host");
    bob.wait_for(&from("carol", "the new host"));
    bob.quit();
}

#[test]
fn name_and_the_config_file_log_in_without_asking() {
    let server = start_server(&[]);
    let home = temp_home("autologin");
    let mut t = Terminal::rich(server.port, &home, &["--name", "alice"]);
    t.wait_for(&text::logged_in(&"alice".into()));
    t.wait_prompt("alice> ");
    assert!(
        !t.rows().iter().any(|r| r == ">"),
        "no name prompt: {}",
        t.dump()
    );
    t.quit();

    // The default file, in the config directory: the name, and timestamps.
    let config = home.join("config/chat");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        "name = \"bob\"\ntimestamps = true\n",
    )
    .unwrap();
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.wait_prompt("bob> ");
    t.quit();

    // --config chooses another file; the command line wins over it.
    let other = home.join("other.toml");
    std::fs::write(
        &other,
        format!("name = \"carol\"\nport = {}\n", server.port),
    )
    .unwrap();
    let mut cmd = Command::new(chat());
    cmd.args(["--config", other.to_str().unwrap()])
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .env("XDG_DATA_HOME", home.join("data"));
    let mut t = Terminal::start(cmd, 24, 80);
    t.wait_prompt("carol> ");
    t.quit();
    let mut cmd = Terminal::rich_command(server.port, &home, &["--name", "dave"]);
    cmd.args(["--config", other.to_str().unwrap()]);
    let mut t = Terminal::start(cmd, 24, 80);
    t.wait_prompt("dave> ");
    t.quit();
}

#[test]
fn a_refused_name_from_the_command_line_is_asked_again() {
    let server = start_server(&[]);
    let home = temp_home("refusedname");
    let mut t = Terminal::rich(server.port, &home, &["--name", "bad!"]);
    t.wait_for(&text::name_rejected(&"bad!".into()));
    t.wait_until("the name prompt", |t| t.cursor_row() == ">");
    t.send_line("good");
    t.wait_prompt("good> ");
    t.quit();
}

#[test]
fn a_bad_config_file_is_named_with_its_line_and_key_and_exit_status_2() {
    let home = temp_home("badconfig");
    let file = home.join("bad.toml");
    std::fs::write(&file, "port = 7000\ncolr = \"never\"\n").unwrap();
    let out = Launch::Binary
        .command(1, &["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("key `colr`"), "{err}");
    assert!(out.stdout.is_empty(), "nothing else happens");

    std::fs::write(&file, "timestamps = \"yes\"\n").unwrap();
    let out = Launch::Binary
        .command(1, &["--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1, key `timestamps`"), "{err}");

    let missing = home.join("missing.toml");
    let out = Launch::Binary
        .command(1, &["--config", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn timestamps_put_the_local_time_before_each_line() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("timestamps");
    let mut t = Terminal::rich(server.port, &home, &["--timestamps"]);
    t.login("alice");
    bob.send_line("SEND alice stamped");
    t.wait_for(&from("bob", "stamped"));
    assert_eq!(bob.line(), "SEND-OK");
    t.send_line("@bob typed");
    assert_eq!(bob.line(), "DELIVERY alice typed");
    t.wait_for(text::SENT);
    // A line received, and the answer to a line typed (which stays as it
    // was typed, after the prompt).
    assert!(
        t.rows().iter().any(|r| r == "alice> @bob typed"),
        "{}",
        t.dump()
    );
    for shown in [from("bob", "stamped"), text::SENT.to_string()] {
        let row = t.rows().into_iter().find(|r| r.ends_with(&shown)).unwrap();
        let stamp = &row[..row.len() - shown.len()];
        let bytes = stamp.as_bytes();
        assert_eq!(stamp.len(), 8, "{row:?}");
        assert!(
            bytes[0] == b'['
                && bytes[3] == b':'
                && bytes[6] == b']'
                && bytes[7] == b' '
                && [1, 2, 4, 5].iter().all(|&i| bytes[i].is_ascii_digit()),
            "{row:?}"
        );
    }
    // Without the flag: no stamp.
    t.quit();
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("carol");
    bob.send_line("SEND carol plain");
    t.wait_for(&from("bob", "plain"));
    assert!(t.rows().iter().any(|r| r == &from("bob", "plain")));
    t.quit();
}

#[test]
fn each_sender_has_a_colour_of_their_own_and_the_same_in_every_run() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let mut amy = Client::login(&server, "amy");
    let home = temp_home("nickcolours");
    let mut colours = Vec::new();
    for run in 0..2 {
        let mut cmd = Terminal::rich_command(server.port, &home, &[]);
        cmd.env_remove("NO_COLOR");
        let mut t = Terminal::start(cmd, 24, 80);
        let me = format!("me{run}");
        t.login(&me);
        bob.send_line(&format!("SEND {me} hi from bob"));
        amy.send_line(&format!("SEND {me} hi from amy"));
        t.wait_for(&from("amy", "hi from amy"));
        let bob_colour = t.colour_of("bob: hi from bob");
        let amy_colour = t.colour_of("amy: hi from amy");
        assert!(bob_colour.is_some() && amy_colour.is_some());
        assert_ne!(bob_colour, amy_colour, "two senders, two colours");
        colours.push((bob_colour, amy_colour));
        t.quit();
    }
    assert_eq!(colours[0], colours[1], "the same colours in every run");
}

#[test]
fn the_bell_rings_for_messages_with_bell_only() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("bell");
    for (flag, bells) in [(&["--bell"][..], 2), (&[][..], 0)] {
        let mut t = Terminal::rich(server.port, &home, flag);
        t.login("alice");
        t.send_line("!who");
        t.wait_for(&text::user_entry(&"alice".into()));
        bob.send_line("SEND alice one");
        t.wait_for(&from("bob", "one"));
        bob.send_line("SEND alice two");
        t.wait_for(&from("bob", "two"));
        t.settle(Duration::from_millis(100));
        assert_eq!(t.seen().bells, bells, "{flag:?}");
        t.quit();
        bob.line();
        bob.line();
    }
}

#[test]
fn the_title_shows_who_you_are_and_the_messages_since_you_last_typed() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("title");
    let mut t = Terminal::rich(server.port, &home, &[]);
    t.login("alice");
    t.wait_until("the title", |t| {
        t.seen().titles.last().map(String::as_str) == Some("chat: alice")
    });
    assert_eq!(t.seen().titles_saved, 1, "the old title is saved");
    bob.send_line("SEND alice one");
    bob.send_line("SEND alice two");
    bob.send_line("SEND alice three");
    t.wait_for(&from("bob", "three"));
    t.wait_until("the count", |t| {
        t.seen().titles.last().map(String::as_str) == Some("chat: alice (3)")
    });
    // A key pressed: read.
    t.send("x");
    t.wait_until("no count", |t| {
        t.seen().titles.last().map(String::as_str) == Some("chat: alice")
    });
    t.send("\x15");
    t.quit();
    assert_eq!(t.seen().titles_restored, 1, "the old title is put back");
}

#[test]
fn the_log_holds_every_line_shown_with_the_date_and_time_and_is_private() {
    let server = start_server(&[]);
    let mut bob = Client::login(&server, "bob");
    let home = temp_home("log");
    let mut t = Terminal::rich(server.port, &home, &["--log"]);
    t.login("alice");
    bob.send_line("SEND alice plain words");
    bob.send_line("SEND alice \x1b[2Jnot a clear");
    t.wait_for(&from("bob", "\x1b[2Jnot a clear"));
    t.send_line("@bob back");
    t.wait_for(text::SENT);
    t.quit();
    let file = home.join(format!(
        "data/chat/logs/127.0.0.1_{}/alice.log",
        server.port
    ));
    let log = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let stamped = |line: &str| {
        // YYYY-MM-DD HH:MM:SS, then the line.
        let b = line.as_bytes();
        b.len() > 20
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b' '
            && b[13] == b':'
            && b[19] == b' '
    };
    assert!(lines.iter().all(|l| stamped(l)), "{log}");
    let text_of = |l: &&str| l[20..].to_string();
    let shown: Vec<String> = lines.iter().map(text_of).collect();
    assert!(shown.contains(&from("bob", "plain words")), "{log}");
    assert!(
        shown.contains(&r"From bob: \x1b[2Jnot a clear".to_string()),
        "{log}"
    );
    assert!(shown.contains(&text::SENT.to_string()), "{log}");
    // What was shown before login, and what was typed, too.
    assert!(shown.contains(&text::WELCOME.to_string()), "{log}");
    assert!(shown.contains(&"alice> @bob back".to_string()), "{log}");
    assert!(!log.contains('\x1b'), "remote text is stored neutralised");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// A log or history file that exists already, readable by others, is made
/// readable by its owner only.
#[test]
fn existing_log_and_history_files_are_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = start_server(&[]);
    let home = temp_home("private");
    let dir = |kind: &str| home.join(format!("data/chat/{kind}/127.0.0.1_{}", server.port));
    let files = [
        dir("logs").join("alice.log"),
        dir("history").join("alice.txt"),
    ];
    for file in &files {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, "").unwrap();
        let open = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(file, open).unwrap();
    }
    let mut t = Terminal::rich(server.port, &home, &["--log"]);
    t.login("alice");
    t.quit();
    for file in &files {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}

/// A terminal with no type (TERM unset or empty), like those rustyline
/// cannot edit on, gets plain mode: no prompt, no escape sequences.
#[test]
fn a_terminal_without_a_type_gets_plain_mode() {
    let server = start_server(&["--no-bots"]);
    for term in [None, Some("")] {
        let home = temp_home("noterm");
        let mut cmd = Terminal::rich_command(server.port, &home, &[]);
        match term {
            None => cmd.env_remove("TERM"),
            Some(term) => cmd.env("TERM", term),
        };
        let mut t = Terminal::start(cmd, 24, 80);
        t.wait_for(text::WELCOME);
        t.send_line("alice");
        t.wait_for(&text::logged_in(&"alice".into()));
        t.send_line("@alice hi");
        t.wait_for(&from("alice", "hi"));
        t.send_line("!quit");
        assert_eq!(t.wait_exit(), 0);
        assert_eq!(t.count("alice>"), 0, "{term:?}: {}", t.dump());
        assert_eq!(t.seen().titles_saved, 0, "{term:?}: no title saved");
    }
}
