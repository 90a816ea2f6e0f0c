//! Command-line arguments of `chat`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use serde::Deserialize;

/// A terminal chat client for the VU Computer Networks chat protocol.
///
/// Log in with a name, then type `@<username> <message>` to send a message,
/// `!who` to list the users online, and `!quit` to exit. On a terminal, `!help`
/// lists the rest. Settings can also come from a config file (see --config);
/// the command line wins over it.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "chat", version)]
pub struct Cli {
    /// Host name or IP address of the chat server [default: 127.0.0.1].
    #[arg(long, value_name = "HOST", value_parser = crate::net::host_argument)]
    pub address: Option<String>,

    /// TCP port of the chat server, 1-65535 [default: 5378].
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Log in as NAME without asking (if the server refuses it, the client
    /// asks for another).
    #[arg(long, value_name = "NAME", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub name: Option<String>,

    /// Read settings from this TOML file instead of chat/config.toml in the
    /// platform's config directory (usually ~/.config/chat/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Plain line-oriented output: exactly the assignment's lines, no prompt,
    /// no colour. Used automatically when standard input or output is not a
    /// terminal, or TERM is "dumb" or unset. Plain mode uses only --address, --port,
    /// --name and --local.
    #[arg(long)]
    pub plain: bool,

    /// If no server is listening on the address and port, start one inside
    /// this client (bots included). It stops when this client quits, and the
    /// others are told; a client started with --local then takes over.
    #[arg(long)]
    pub local: bool,

    /// When to use colours in rich mode [default: auto]. NO_COLOR in the
    /// environment means never.
    #[arg(long, value_name = "WHEN", value_enum)]
    pub color: Option<ColorChoice>,

    /// Rich mode: put the local time, [HH:MM], before each line.
    #[arg(long)]
    pub timestamps: bool,

    /// Rich mode: ring the terminal bell when a message arrives.
    #[arg(long)]
    pub bell: bool,

    /// Rich mode: append every line shown, with the date and time, to a log
    /// file per server and name in the platform's data directory.
    #[arg(long)]
    pub log: bool,

    /// Keep the history of typed lines in this one file [default: one file
    /// per server and name in the platform's data directory].
    #[arg(long, value_name = "PATH", conflicts_with = "no_history")]
    pub history_file: Option<PathBuf>,

    /// Neither read nor write a history file.
    #[arg(long)]
    pub no_history: bool,

    /// Rich mode's editing keys [default: emacs].
    #[arg(long, value_name = "KEYS", value_enum)]
    pub edit_mode: Option<EditModeChoice>,
}

/// The `--edit-mode` choices (and the config file's `edit_mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EditModeChoice {
    /// Emacs keys (Ctrl-A, Ctrl-E, Alt-B, ...).
    #[default]
    Emacs,
    /// Vi keys: Esc for command mode.
    Vi,
}

/// The `--color` choices (and the config file's `color`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    /// Colour unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always colour in rich mode.
    Always,
    /// Never colour.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_and_equals_form() {
        let cli = Cli::try_parse_from(["chat"]).unwrap();
        assert_eq!((cli.address, cli.port), (None, None));
        let cli = Cli::try_parse_from(["chat", "--address=10.0.0.1", "--port", "7"]).unwrap();
        assert_eq!(
            (cli.address.as_deref(), cli.port),
            (Some("10.0.0.1"), Some(7))
        );
        let cli =
            Cli::try_parse_from(["chat", "--name", "al", "--color", "never", "--bell"]).unwrap();
        assert_eq!(cli.name.as_deref(), Some("al"));
        assert_eq!(cli.color, Some(ColorChoice::Never));
        assert!(cli.bell && !cli.log && !cli.timestamps);
        let cli = Cli::try_parse_from(["chat", "--edit-mode", "vi"]).unwrap();
        assert_eq!(cli.edit_mode, Some(EditModeChoice::Vi));
        assert!(Cli::try_parse_from(["chat", "--edit-mode", "ed"]).is_err());
    }

    #[test]
    fn port_zero_is_refused() {
        // Nothing can be reached on port 0 (and `--local` would host where it
        // cannot connect).
        assert!(Cli::try_parse_from(["chat", "--port", "0"]).is_err());
        assert!(Cli::try_parse_from(["chat", "--port", "1"]).is_ok());
    }

    #[test]
    fn an_empty_address_or_name_is_refused() {
        assert!(Cli::try_parse_from(["chat", "--address", ""]).is_err());
        assert!(Cli::try_parse_from(["chat", "--name", ""]).is_err());
    }

    #[test]
    fn history_flags_conflict() {
        assert!(Cli::try_parse_from(["chat", "--no-history", "--history-file", "x"]).is_err());
    }
}
