//! Rich mode's files: the history of typed lines (kept by rustyline) and
//! the log of what was shown, one of each per server and name, in the
//! platform's data directory (`$XDG_DATA_HOME/chat`, usually
//! `~/.local/share/chat`, on Linux), readable by their owner only.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};
use rustyline::config::Builder;
use rustyline::history::{FileHistory, History};
use rustyline::Config;

use crate::client::output::write_out;
use crate::client::safe::SafeText;
use crate::client::settings::HistoryChoice;
use crate::client::text;

/// At most this many lines are kept in the history.
pub(crate) const HISTORY_SIZE: usize = 1000;

/// At most this many lines shown before login are kept for the log.
const EARLY_LINES: usize = 100;

/// The history file for `name` on the server at `address`:`port`, as the
/// settings say.
pub(crate) fn history_path(
    choice: &HistoryChoice,
    address: &str,
    port: u16,
    name: &str,
) -> Option<PathBuf> {
    match choice {
        HistoryChoice::Off => None,
        HistoryChoice::File(path) => Some(path.clone()),
        HistoryChoice::PerServer => per_server("history", address, port, name, "txt"),
    }
}

/// The file for the server at `address` and `port` and the login `name`, in
/// the folder `kind` of the data directory, e.g.
/// `history/127.0.0.1_5378/alice.txt`.
fn per_server(
    kind: &str,
    address: &str,
    port: u16,
    name: &str,
    extension: &str,
) -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "chat")?;
    Some(
        dirs.data_dir()
            .join(kind)
            .join(format!("{}_{port}", file_name(address)))
            .join(format!("{}.{extension}", file_name(name))),
    )
}

/// Text made into one file name: letters, digits, `.`, `-` and `_` stay, any
/// other byte becomes `%` and its hex value (so `::1` is `%3A%3A1`, and
/// different texts stay different names). A leading `.` is escaped too.
fn file_name(text: &str) -> String {
    let mut name = String::with_capacity(text.len());
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            b'.' if i == 0 => name.push_str("%2E"),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {
                name.push(char::from(byte))
            }
            _ => name.push_str(&format!("%{byte:02X}")),
        }
    }
    name
}

/// Opens `path` for appending, creating it (and its folders), readable and
/// writable by its owner only. Only a regular file will do: a FIFO would
/// block, a device (`/dev/zero`) never end.
pub(crate) fn open_private(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    let mut options = OpenOptions::new();
    options.append(true).create(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits());
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::other(text::NOT_A_FILE));
    }
    // A file made before (by an older version, or by hand) too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o777 != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(file)
}

/// How the history is kept (rustyline's settings): at most
/// [`HISTORY_SIZE`] lines, a line again right after itself not twice.
pub(crate) fn history_settings(config: Builder) -> rustyline::Result<Builder> {
    config
        .max_history_size(HISTORY_SIZE)?
        .history_ignore_dups(true)
}

/// Adds `entries` to the history file at `path`, through a history of its
/// own (for the line left half-typed when the program ends: the editor's is
/// out of reach then).
pub(crate) fn append_history(path: &Path, entries: &[String]) -> rustyline::Result<()> {
    let mut history = FileHistory::with_config(&history_settings(Config::builder())?.build());
    // A file not made yet is made.
    let _ = history.load(path);
    for entry in entries {
        history.add(entry)?;
    }
    history.append(path)
}

/// Writes all of `bytes`, continuing after partial writes, and flushes.
pub(crate) fn write_whole(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    write_out(out, &mut [io::IoSlice::new(bytes)])?;
    out.flush()
}

/// A warning about the file at `path`.
pub(crate) fn warning(
    line: fn(&SafeText<'_>, &SafeText<'_>) -> SafeText<'static>,
    path: &Path,
    err: &dyn std::fmt::Display,
) -> SafeText<'static> {
    line(
        &SafeText::neutralise_str(&path.display().to_string()),
        &SafeText::neutralise_str(&err.to_string()),
    )
}

/// The log: every line shown (as plain text, remote text neutralised), with
/// the date and time. What is shown before login is kept until the log of
/// the name logged in as opens.
#[derive(Debug, Default)]
pub(crate) struct Log {
    wanted: bool,
    file: Option<File>,
    early: Vec<(DateTime<Local>, String)>,
}

impl Log {
    pub(crate) fn new(wanted: bool) -> Log {
        Log {
            wanted,
            ..Log::default()
        }
    }

    /// Whether lines shown now go to the log (or are kept for it).
    pub(crate) fn logging(&self) -> bool {
        self.file.is_some() || (self.wanted && self.early.len() < EARLY_LINES)
    }

    /// Opens the log of `name` on the server at `address`:`port`, with what
    /// was kept for it. A warning if it cannot.
    pub(crate) fn open(
        &mut self,
        address: &str,
        port: u16,
        name: &str,
    ) -> Option<SafeText<'static>> {
        if !self.wanted {
            return None;
        }
        let path = per_server("logs", address, port, name, "log")?;
        match open_private(&path) {
            Ok(file) => {
                self.file = Some(file);
                for (at, line) in std::mem::take(&mut self.early) {
                    self.write(at, std::iter::once(line.as_str()));
                }
                None
            }
            Err(err) => {
                self.wanted = false;
                Some(warning(text::no_log, &path, &err))
            }
        }
    }

    /// Appends lines shown at `at`, or keeps them for the log to come.
    pub(crate) fn write<'a>(&mut self, at: DateTime<Local>, lines: impl Iterator<Item = &'a str>) {
        let Some(file) = &mut self.file else {
            if self.wanted {
                let room = EARLY_LINES.saturating_sub(self.early.len());
                self.early
                    .extend(lines.take(room).map(|line| (at, line.to_string())));
            }
            return;
        };
        let stamp = at.format("%Y-%m-%d %H:%M:%S");
        let mut text = String::new();
        for line in lines {
            text.push_str(&format!("{stamp} {line}\n"));
        }
        if write_whole(file, text.as_bytes()).is_err() {
            // A log that cannot be written is not worth stopping the chat.
            self.file = None;
            self.wanted = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn file_names_keep_servers_and_names_apart() {
        assert_eq!(file_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(file_name("alice"), "alice");
        assert_eq!(file_name("::1"), "%3A%3A1");
        assert_eq!(file_name("../x"), "%2E.%2Fx");
        assert_eq!(file_name("a/b"), "a%2Fb");
        assert_ne!(file_name("a b"), file_name("a_b"));
    }

    #[test]
    fn a_line_kept_on_the_way_out_is_in_rustylines_format_and_private() {
        let dir = temp("history");
        let path = dir.join("h/127.0.0.1_5378/alice.txt");
        // Made at login, as when the history is opened.
        open_private(&path).unwrap();
        append_history(&path, &["@bob a\\b".into()]).unwrap();
        append_history(&path, &["two\nlines".into()]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "#V2\n@bob a\\\\b\ntwo\\nlines\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn log_lines_are_stamped_and_early_ones_kept_for_the_log() {
        let mut log = Log::new(true);
        let at = Local::now();
        log.write(at, ["before login"].into_iter());
        assert!(log.logging());
        let dir = temp("log");
        let path = dir.join("l.log");
        log.file = Some(open_private(&path).unwrap());
        for (at, line) in std::mem::take(&mut log.early) {
            log.write(at, std::iter::once(line.as_str()));
        }
        log.write(at, ["From bob: hi", "x"].into_iter());
        let stamp = at.format("%Y-%m-%d %H:%M:%S");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{stamp} before login\n{stamp} From bob: hi\n{stamp} x\n")
        );
        assert!(!Log::new(false).logging());
        let _ = std::fs::remove_dir_all(dir);
    }
}
