//! The shell completions and the man page in `completions/` are generated from
//! the clap definition of `chat`. This test fails when a checked-in file
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
    let mut man = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut man)
        .expect("render the man page");
    files.push(("chat.1".to_string(), man));
    files
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
fn completions_offer_every_flag() {
    for (name, content) in generated() {
        // roff escapes the hyphens of the man page.
        let text = String::from_utf8(content).unwrap().replace("\\-", "-");
        for flag in [
            "address",
            "port",
            "plain",
            "local",
            "color",
            "history-file",
            "no-history",
        ] {
            assert!(text.contains(flag), "{name} lacks {flag}");
        }
    }
}
