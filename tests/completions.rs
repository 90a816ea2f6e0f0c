//! The shell completions and the man pages in `completions/` are generated
//! from the clap definitions of `chat` and `chat-server`. This test fails when a checked-in file
//! differs from what the current definition generates.
//!
//! To regenerate them: `CHAT_UPDATE_COMPLETIONS=1 cargo test --test completions`.

use std::path::Path;

use chat::client::Cli;
use clap::CommandFactory;
use clap_complete::{Generator, Shell};

fn generated() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "chat", &mut out);
        files.push((shell.file_name("chat"), out));
    }
    files.push((
        "chat.1".to_string(),
        man_page(Cli::command(), CHAT_SECTIONS),
    ));
    files.push((
        "chat-server.1".to_string(),
        man_page(chat::server::Cli::command(), SERVER_SECTIONS),
    ));
    files
}

/// A man page section: its title and its entries (a term, and what it says).
type Section = (&'static str, &'static [(&'static str, &'static str)]);

/// The sections of `chat-server.1` that the command line does not describe.
const SERVER_SECTIONS: &[Section] = &[
    (
        "SIGNALS",
        &[
            (
                "SIGINT, SIGTERM",
                "Stop accepting connections, close every connection, and exit with status 0.",
            ),
            ("SIGHUP", "The same, with status 129."),
        ],
    ),
    (
        "EXIT STATUS",
        &[
            (
                "0",
                "Stopped by SIGINT or SIGTERM, as asked: the only way it exits 0.",
            ),
            ("1", "The address could not be resolved or listened on."),
            ("2", "A mistake on the command line."),
            (
                "129",
                "Stopped by SIGHUP (its terminal went away), as cleanly, but not asked to.",
            ),
        ],
    ),
];

/// The sections of `chat.1` that the command line does not describe.
const CHAT_SECTIONS: &[Section] = &[
    (
        "FILES",
        &[
            (
                "$XDG_CONFIG_HOME/chat/config.toml",
                "Settings (usually ~/.config/chat/config.toml): address, port, name, color, timestamps, bell, log, all optional; the command line wins. --config names another file.",
            ),
            (
                "$XDG_DATA_HOME/chat/history/HOST_PORT/NAME.txt",
                "The lines typed in rich mode, one file per server and login name (usually under ~/.local/share), readable by you only; at most 1,000 lines. --history-file names one file instead, --no-history keeps none.",
            ),
            (
                "$XDG_DATA_HOME/chat/logs/HOST_PORT/NAME.log",
                "With --log: every line shown in rich mode, after the date and time, with text from others made safe (control characters as visible escapes). Readable by you only.",
            ),
        ],
    ),
    (
        "ENVIRONMENT",
        &[
            ("NO_COLOR", "When set and not empty, rich mode uses no colour (as --color never)."),
            ("TERM", "dumb means plain mode. A name with 256color (or COLORTERM=truecolor) gives senders' names 256 colours, otherwise the basic 8."),
            ("XDG_CONFIG_HOME, XDG_DATA_HOME", "Where the config file, the history and the log are (by default ~/.config and ~/.local/share)."),
        ],
    ),
    (
        "SIGNALS",
        &[(
            "SIGINT, SIGTERM, SIGHUP",
            "End the client as !quit does (the terminal given back, a half-typed line kept in the history and printed), with the exit status 128 + the signal's number. In plain mode Ctrl-C is SIGINT; in rich mode it is a key (see EXIT STATUS).",
        )],
    ),
    (
        "EXIT STATUS",
        &[
            ("0", "You quit: !quit, Ctrl-D on an empty line, Ctrl-C on an empty line in rich mode, or the end of input."),
            ("1", "The server was full, could not be reached, did not answer the login within 10 seconds, is not a chat server, or (in plain mode) closed the connection."),
            ("2", "A mistake on the command line or in the config file."),
            ("129, 130, 143", "Ended by a signal: SIGHUP, SIGINT (Ctrl-C in plain mode) or SIGTERM (128 + the signal's number)."),
        ],
    ),
];

/// The man page of `cmd` (from clap), with `sections` after its options.
fn man_page(cmd: clap::Command, sections: &[Section]) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    for (title, entries) in sections {
        out.extend_from_slice(format!(".SH \"{title}\"\n").as_bytes());
        for (term, text) in *entries {
            out.extend_from_slice(
                format!(".TP\n\\fB{}\\fR\n{}\n", roff(term), roff(text)).as_bytes(),
            );
        }
    }
    man.render_version_section(&mut out).unwrap();
    out
}

/// Text for roff: hyphens and backslashes escaped, no line starting with a
/// dot.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.strip_prefix('.') {
        Some(rest) => format!("\\&.{rest}"),
        None => escaped,
    }
}

#[test]
fn checked_in_completions_and_man_page_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("CHAT_UPDATE_COMPLETIONS").is_some();
    let mut stale = Vec::new();
    for (name, content) in generated() {
        let path = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &content).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&content[..]) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}; run CHAT_UPDATE_COMPLETIONS=1 cargo test --test completions"
    );
}

#[test]
fn the_man_page_has_files_environment_signals_and_exit_status() {
    let (_, man) = generated()
        .into_iter()
        .find(|(name, _)| name == "chat.1")
        .unwrap();
    let man = String::from_utf8(man).unwrap();
    for section in ["FILES", "ENVIRONMENT", "SIGNALS", "EXIT STATUS"] {
        assert!(man.contains(&format!(".SH \"{section}\"")), "{section}");
    }
    assert!(man.contains("config.toml"));
    assert!(man.contains("NO_COLOR"));
    assert!(man.contains("129, 130, 143"));
}

#[test]
fn the_server_has_a_man_page_with_every_flag() {
    let (_, man) = generated()
        .into_iter()
        .find(|(name, _)| name == "chat-server.1")
        .unwrap();
    let man = String::from_utf8(man).unwrap().replace("\\-", "-");
    for flag in [
        "--port",
        "--max-clients",
        "--max-queue-bytes",
        "--login-timeout",
        "EXIT STATUS",
    ] {
        assert!(man.contains(flag), "{flag}");
    }
}

#[test]
fn completions_offer_every_flag() {
    for (name, content) in generated()
        .into_iter()
        .filter(|(name, _)| name != "chat-server.1")
    {
        // roff escapes the hyphens of the man page.
        let text = String::from_utf8(content).unwrap().replace("\\-", "-");
        for flag in [
            "address",
            "port",
            "name",
            "config",
            "plain",
            "local",
            "color",
            "timestamps",
            "bell",
            "log",
            "history-file",
            "no-history",
        ] {
            assert!(text.contains(flag), "{name} lacks {flag}");
        }
    }
}
