//! Command-line arguments of `chat`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// A terminal chat client for the VU Computer Networks chat protocol.
///
/// Log in with a name, then type `@<username> <message>` to send a message,
/// `!who` to list the users online, and `!quit` to exit.
#[derive(Debug, Clone, Parser)]
#[command(name = "chat", version)]
pub struct Cli {
    /// Host name or IP address of the chat server.
    #[arg(long, value_name = "HOST", default_value = crate::net::DEFAULT_ADDRESS)]
    pub address: String,

    /// TCP port of the chat server (1-65535).
    #[arg(long, value_name = "PORT", default_value_t = crate::net::DEFAULT_PORT,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,

    /// Plain line-oriented output: exactly the assignment's lines, no prompt,
    /// no colour. Used automatically when standard input or output is not a
    /// terminal, or TERM is "dumb".
    #[arg(long)]
    pub plain: bool,

    /// If no server is listening on the address and port, start one inside
    /// this client (bots included). It stops when this client quits.
    #[arg(long)]
    pub local: bool,

    /// When to use colours in rich mode. NO_COLOR in the environment means never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Where to keep the history of typed lines [default: chat/history.txt in
    /// the platform's data directory].
    #[arg(long, value_name = "PATH", conflicts_with = "no_history")]
    pub history_file: Option<PathBuf>,

    /// Neither read nor write a history file.
    #[arg(long)]
    pub no_history: bool,
}

/// The `--color` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when the output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour in rich mode.
    Always,
    /// Never colour.
    Never,
}

impl Cli {
    /// `host:port`, as shown to the user.
    pub fn server_address(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
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
    fn defaults_and_equals_form() {
        let cli = Cli::try_parse_from(["chat"]).unwrap();
        assert_eq!((cli.address.as_str(), cli.port), ("127.0.0.1", 5378));
        let cli = Cli::try_parse_from(["chat", "--address=10.0.0.1", "--port", "7"]).unwrap();
        assert_eq!(cli.server_address(), "10.0.0.1:7");
        let cli = Cli::try_parse_from(["chat", "--address", "::1", "--port=9"]).unwrap();
        assert_eq!(cli.server_address(), "[::1]:9");
    }

    #[test]
    fn port_zero_is_refused() {
        // Nothing can be reached on port 0 (and `--local` would host where it
        // cannot connect).
        assert!(Cli::try_parse_from(["chat", "--port", "0"]).is_err());
        assert!(Cli::try_parse_from(["chat", "--port", "1"]).is_ok());
    }

    #[test]
    fn history_flags_conflict() {
        assert!(Cli::try_parse_from(["chat", "--no-history", "--history-file", "x"]).is_err());
    }
}
