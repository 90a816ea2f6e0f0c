//! The client's settings: the command line, over the config file, over the
//! defaults.
//!
//! The config file is TOML, at `chat/config.toml` in the platform's config
//! directory (`$XDG_CONFIG_HOME`, usually `~/.config`, on Linux) or wherever
//! `--config` says. Every key is optional:
//!
//! ```toml
//! address = "127.0.0.1"
//! port = 5378
//! name = "alice"
//! color = "auto"      # or "always", "never"
//! timestamps = true
//! bell = false
//! log = false
//! edit_mode = "emacs" # or "vi"
//! ```
//!
//! Plain mode stays the assignment's interface: it takes only the address and
//! the port from the file, and a name only from `--name`.

use std::fmt;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cli::{Cli, ColorChoice, EditModeChoice};
use super::safe::SafeText;
use crate::net::{DEFAULT_ADDRESS, DEFAULT_PORT};

/// The settings the client runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) address: String,
    pub(crate) port: u16,
    /// Log in as this name without asking.
    pub(crate) name: Option<String>,
    pub(crate) plain: bool,
    pub(crate) local: bool,
    pub(crate) color: ColorChoice,
    pub(crate) timestamps: bool,
    pub(crate) bell: bool,
    pub(crate) log: bool,
    pub(crate) history: HistoryChoice,
    pub(crate) edit_mode: EditModeChoice,
}

/// Where rich mode keeps the history of typed lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HistoryChoice {
    /// Nowhere (`--no-history`).
    Off,
    /// In this one file (`--history-file`).
    File(PathBuf),
    /// One file per server and name, in the data directory.
    PerServer,
}

/// The config file's keys.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    address: Option<String>,
    port: Option<NonZeroU16>,
    name: Option<String>,
    color: Option<ColorChoice>,
    timestamps: Option<bool>,
    bell: Option<bool>,
    log: Option<bool>,
    edit_mode: Option<EditModeChoice>,
}

/// A config file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigError {
    path: PathBuf,
    line: Option<usize>,
    key: Option<String>,
    message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad config file {}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ConfigError {
    /// The error as a line safe to show (the file's text is not trusted).
    pub(crate) fn shown(&self) -> SafeText<'static> {
        SafeText::neutralise_str(&self.to_string()).into_owned()
    }
}

/// The default config file: `chat/config.toml` in the platform's config
/// directory.
pub(crate) fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "chat").map(|dirs| dirs.config_dir().join("config.toml"))
}

impl Settings {
    /// The settings from `cli` and the config file it names (or the default
    /// one, if it exists). `plain` says whether plain mode will be used.
    pub(crate) fn load(cli: Cli, plain: bool) -> Result<Settings, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_config(path)?,
            None => match default_config_path() {
                Some(path) if path.exists() => read_config(&path)?,
                _ => ConfigFile::default(),
            },
        };
        Ok(Settings::merge(cli, file, plain))
    }

    fn merge(cli: Cli, file: ConfigFile, plain: bool) -> Settings {
        // Rich mode's own settings, which plain mode ignores.
        let rich = |flag: bool, key: Option<bool>| !plain && (flag || key.unwrap_or(false));
        Settings {
            address: cli
                .address
                .or(file.address)
                .map(|address| crate::net::unbracketed(&address).to_string())
                .unwrap_or_else(|| DEFAULT_ADDRESS.to_string()),
            port: cli
                .port
                .or(file.port.map(NonZeroU16::get))
                .unwrap_or(DEFAULT_PORT),
            name: cli.name.or(if plain { None } else { file.name }),
            plain,
            local: cli.local,
            color: if plain {
                ColorChoice::Never
            } else {
                cli.color.or(file.color).unwrap_or_default()
            },
            timestamps: rich(cli.timestamps, file.timestamps),
            bell: rich(cli.bell, file.bell),
            log: rich(cli.log, file.log),
            history: match (cli.no_history, cli.history_file) {
                (true, _) => HistoryChoice::Off,
                (false, Some(path)) => HistoryChoice::File(path),
                (false, None) => HistoryChoice::PerServer,
            },
            edit_mode: cli.edit_mode.or(file.edit_mode).unwrap_or_default(),
        }
    }

    /// `host:port`, as shown to the user.
    pub(crate) fn server_address(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }

    /// [`server_address`](Self::server_address), safe to show.
    pub(crate) fn shown_address(&self) -> SafeText<'static> {
        SafeText::neutralise_str(&self.server_address()).into_owned()
    }

    /// True when the server is on this machine (then `--local` could start
    /// one).
    pub(crate) fn is_local_address(&self) -> bool {
        let address = self.address.trim_start_matches('[').trim_end_matches(']');
        address.eq_ignore_ascii_case("localhost")
            || address
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
    }
}

fn read_config(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
        path: path.to_path_buf(),
        line: None,
        key: None,
        message: err.to_string(),
    })?;
    let file = parse(path, &text)?;
    check_config(path, &text, &file)?;
    Ok(file)
}

fn parse(path: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    parse_config(text).map_err(|(line, key, message)| ConfigError {
        path: path.to_path_buf(),
        line,
        key,
        message,
    })
}

/// An empty address or name in the file, or an address that is no host
/// (see [`crate::net::host_problem`]), is a mistake in the file.
fn check_config(path: &Path, text: &str, file: &ConfigFile) -> Result<(), ConfigError> {
    let address = file.address.as_deref().and_then(crate::net::host_problem);
    let name = file
        .name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty())
        .then_some("must not be empty");
    for (key, problem) in [("address", address), ("name", name)] {
        if let Some(problem) = problem {
            let line = text
                .lines()
                .position(|line| line.trim_start().starts_with(key))
                .map(|i| i + 1);
            return Err(ConfigError {
                path: path.to_path_buf(),
                line,
                key: Some(key.to_string()),
                message: problem.to_string(),
            });
        }
    }
    Ok(())
}

/// Parses the file's text; an error gives the line (from 1) and the key it is
/// about, when known, and toml's message.
fn parse_config(text: &str) -> Result<ConfigFile, (Option<usize>, Option<String>, String)> {
    toml::from_str(text).map_err(|err: toml::de::Error| {
        let line_start = err.span().map(|span| {
            let start = span.start.min(text.len());
            text[..start].rfind('\n').map_or(0, |i| i + 1)
        });
        let line = err
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        // The key is what stands before `=` on that line.
        let key = line_start.and_then(|start| {
            let rest = &text[start..];
            let this_line = rest.split('\n').next().unwrap_or_default();
            let (key, _) = this_line.split_once('=')?;
            let key = key.trim().trim_matches('"');
            (!key.is_empty()).then(|| key.to_string())
        });
        (line, key, err.message().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("chat").chain(args.iter().copied())).unwrap()
    }

    fn file(text: &str) -> ConfigFile {
        parse_config(text).unwrap()
    }

    #[test]
    fn defaults_without_flags_or_file() {
        let s = Settings::merge(cli(&[]), ConfigFile::default(), false);
        assert_eq!(
            (s.address.as_str(), s.port),
            (DEFAULT_ADDRESS, DEFAULT_PORT)
        );
        assert_eq!(s.name, None);
        assert_eq!(s.color, ColorChoice::Auto);
        assert!(!s.timestamps && !s.bell && !s.log && !s.local);
        assert_eq!(s.history, HistoryChoice::PerServer);
        assert_eq!(s.edit_mode, EditModeChoice::Emacs);
        assert_eq!(s.server_address(), "127.0.0.1:5378");
    }

    #[test]
    fn the_file_fills_in_and_the_command_line_wins() {
        let f = || {
            file(
                "address = \"10.0.0.9\"\nport = 7000\nname = \"alice\"\ncolor = \"never\"\ntimestamps = true\nbell = true\nlog = true\nedit_mode = \"vi\"\n",
            )
        };
        let s = Settings::merge(cli(&[]), f(), false);
        assert_eq!((s.address.as_str(), s.port), ("10.0.0.9", 7000));
        assert_eq!(s.name.as_deref(), Some("alice"));
        assert_eq!(s.color, ColorChoice::Never);
        assert!(s.timestamps && s.bell && s.log);
        assert_eq!(s.edit_mode, EditModeChoice::Vi);
        let s = Settings::merge(
            cli(&[
                "--address",
                "::1",
                "--port",
                "9",
                "--name",
                "bob",
                "--color",
                "always",
                "--edit-mode",
                "emacs",
            ]),
            f(),
            false,
        );
        assert_eq!(s.edit_mode, EditModeChoice::Emacs);
        assert_eq!(s.server_address(), "[::1]:9");
        assert_eq!(s.name.as_deref(), Some("bob"));
        assert_eq!(s.color, ColorChoice::Always);
        let s = Settings::merge(cli(&["--address", "[::1]"]), f(), false);
        assert_eq!(s.address, "::1");
        assert_eq!(s.server_address(), "[::1]:7000");
        assert!(s.is_local_address());
    }

    #[test]
    fn plain_mode_takes_only_the_address_and_port_from_the_file() {
        let f = file("port = 7000\nname = \"alice\"\ntimestamps = true\nbell = true\n");
        let s = Settings::merge(cli(&["--log"]), f, true);
        assert_eq!(s.port, 7000);
        assert_eq!(
            s.name, None,
            "a name from the file would skip the login prompt"
        );
        assert!(!s.timestamps && !s.bell && !s.log);
        assert_eq!(s.color, ColorChoice::Never);
        let s = Settings::merge(cli(&["--name", "al"]), ConfigFile::default(), true);
        assert_eq!(
            s.name.as_deref(),
            Some("al"),
            "--name is asked for explicitly"
        );
    }

    #[test]
    fn history_choices() {
        assert_eq!(
            Settings::merge(cli(&["--no-history"]), ConfigFile::default(), false).history,
            HistoryChoice::Off
        );
        assert_eq!(
            Settings::merge(
                cli(&["--history-file", "/x/h"]),
                ConfigFile::default(),
                false
            )
            .history,
            HistoryChoice::File("/x/h".into())
        );
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let (line, key, message) = parse_config("port = 7\ncolr = \"never\"\n").unwrap_err();
        assert_eq!((line, key.as_deref()), (Some(2), Some("colr")));
        assert!(message.contains("unknown field"), "{message}");
        let (line, key, _) = parse_config("name = \"a\"\n\nbell = \"yes\"\n").unwrap_err();
        assert_eq!((line, key.as_deref()), (Some(3), Some("bell")));
        let (line, key, _) = parse_config("port = 0\n").unwrap_err();
        assert_eq!((line, key.as_deref()), (Some(1), Some("port")));
        let (line, key, _) = parse_config("color = \"pink\"\n").unwrap_err();
        assert_eq!((line, key.as_deref()), (Some(1), Some("color")));
        let (line, _, _) = parse_config("address = \n").unwrap_err();
        assert_eq!(line, Some(1));
        let error = ConfigError {
            path: "/c.toml".into(),
            line: Some(2),
            key: Some("colr".into()),
            message: "unknown field".into(),
        };
        assert_eq!(
            error.to_string(),
            "bad config file /c.toml, line 2, key `colr`: unknown field"
        );
    }

    #[test]
    fn an_empty_address_or_name_or_an_address_with_a_port_in_the_file_is_a_mistake() {
        let path = Path::new("/c.toml");
        let text = "port = 7\naddress = \"\"\n";
        let err = check_config(path, text, &file(text)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad config file /c.toml, line 2, key `address`: must not be empty"
        );
        let text = "name = \" \"\n";
        let err = check_config(path, text, &file(text)).unwrap_err();
        assert!(err.to_string().contains("line 1, key `name`"), "{err}");
        let text = "name = \"al\"\n";
        assert!(check_config(path, text, &file(text)).is_ok());
        let text = "address = \"10.0.0.9:7000\"\n";
        let err = check_config(path, text, &file(text)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bad config file /c.toml, line 1, key `address`: give the host alone; the port has a setting of its own (--port)"
        );
    }

    #[test]
    fn local_addresses() {
        let with = |address: &str| Settings {
            address: address.into(),
            ..Settings::merge(cli(&[]), ConfigFile::default(), false)
        };
        for local in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "0.0.0.0"] {
            assert!(with(local).is_local_address(), "{local}");
        }
        for remote in ["212.132.114.68", "example.org", "10.0.0.1"] {
            assert!(!with(remote).is_local_address(), "{remote}");
        }
    }
}
