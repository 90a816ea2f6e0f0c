//! Rich mode's files: the history of typed lines and the log of what was
//! shown, one of each per server and name, in the platform's data directory
//! (`$XDG_DATA_HOME/chat`, usually `~/.local/share/chat`, on Linux), readable
//! by their owner only.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};

use super::editor::HISTORY_SIZE;
use crate::client::safe::SafeText;
use crate::client::settings::HistoryChoice;
use crate::client::text;

/// The history and the log of the server and name logged in as; each is
/// dropped (after one warning) if it cannot be used.
#[derive(Debug, Default)]
pub(crate) struct Files {
    history: Option<HistoryFile>,
    log: Option<LogFile>,
}

/// What opening the files found.
#[derive(Debug, Default)]
pub(crate) struct Opened {
    /// The history read, if a history file was (newly) opened.
    pub(crate) history: Option<Vec<String>>,
    /// Lines to show about files that cannot be used.
    pub(crate) warnings: Vec<SafeText<'static>>,
}

impl Files {
    /// Opens the files of `name` on the server at `address`:`port`, as the
    /// settings say. Logging in again with the same name and server keeps
    /// the history file that is open.
    pub(crate) fn open(
        &mut self,
        history: &HistoryChoice,
        log: bool,
        address: &str,
        port: u16,
        name: &str,
    ) -> Opened {
        let mut opened = Opened::default();
        let history = match history {
            HistoryChoice::Off => None,
            HistoryChoice::File(path) => Some(path.clone()),
            HistoryChoice::PerServer => per_server("history", address, port, name, "txt"),
        };
        match history {
            Some(path) if self.history.as_ref().map(HistoryFile::path) == Some(path.as_path()) => {}
            Some(path) => match HistoryFile::open(&path) {
                Ok((file, entries)) => {
                    self.history = Some(file);
                    opened.history = Some(entries);
                }
                Err(err) => {
                    self.history = None;
                    opened.warnings.push(warning(text::no_history, &path, &err));
                }
            },
            None => self.history = None,
        }
        if let Some(path) = log
            .then(|| per_server("logs", address, port, name, "log"))
            .flatten()
        {
            match LogFile::open(&path) {
                Ok(file) => self.log = Some(file),
                Err(err) => opened.warnings.push(warning(text::no_log, &path, &err)),
            }
        }
        opened
    }

    /// Appends a typed line to the history. A warning if it cannot (then
    /// there is no history file any more).
    pub(crate) fn remember(&mut self, line: &str) -> Option<SafeText<'static>> {
        let file = self.history.as_mut()?;
        let err = file.append(line).err()?;
        let path = file.path().to_path_buf();
        self.history = None;
        Some(warning(text::no_history, &path, &err))
    }

    /// Appends lines shown at `at` to the log, if there is one.
    /// Whether a log file is open.
    pub(crate) fn logging(&self) -> bool {
        self.log.is_some()
    }

    pub(crate) fn log<'a>(&mut self, at: DateTime<Local>, lines: impl Iterator<Item = &'a str>) {
        let Some(log) = &mut self.log else {
            return;
        };
        let stamp = at.format("%Y-%m-%d %H:%M:%S").to_string();
        if log.append(&stamp, lines).is_err() {
            // A log that cannot be written is not worth stopping the chat.
            self.log = None;
        }
    }
}

/// A warning about the file at `path`.
fn warning(
    line: fn(&SafeText<'_>, &SafeText<'_>) -> SafeText<'static>,
    path: &Path,
    err: &io::Error,
) -> SafeText<'static> {
    line(
        &SafeText::neutralise_str(&path.display().to_string()),
        &SafeText::neutralise_str(&err.to_string()),
    )
}

/// `chat` in the platform's data directory.
pub(crate) fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "chat").map(|dirs| dirs.data_dir().to_path_buf())
}

/// The file for the server at `address` and `port` and the login `name`, in
/// the folder `kind` of the data directory, e.g.
/// `history/127.0.0.1_5378/alice.txt`.
pub(crate) fn per_server(
    kind: &str,
    address: &str,
    port: u16,
    name: &str,
    extension: &str,
) -> Option<PathBuf> {
    Some(
        data_dir()?
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

/// Opens `path` for appending, creating it (and its folders) readable and
/// writable by its owner only.
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
        options.mode(0o600);
    }
    options.open(path)
}

/// The history file: lines typed after login, one per line, the oldest
/// first.
#[derive(Debug)]
pub(crate) struct HistoryFile {
    path: PathBuf,
    file: File,
}

impl HistoryFile {
    /// Opens (or creates) the history at `path` and reads its entries (the
    /// newest [`HISTORY_SIZE`]). A file much longer than that is rewritten
    /// with only those.
    pub(crate) fn open(path: &Path) -> io::Result<(HistoryFile, Vec<String>)> {
        let file = open_private(path)?;
        let mut entries = Vec::new();
        for line in io::BufReader::new(&file).split(b'\n') {
            let line = line?;
            // What is recalled is drawn on the edit row: a file edited by
            // hand may not put control characters there.
            let line: String = String::from_utf8_lossy(&line)
                .chars()
                .filter(|&c| !crate::client::safe::needs_escape(c))
                .collect();
            // The first line of an older format's file.
            if entries.is_empty() && line == "#V2" {
                continue;
            }
            if !line.trim().is_empty() {
                entries.push(line);
            }
        }
        let excess = entries.len().saturating_sub(HISTORY_SIZE);
        entries.drain(..excess);
        let mut history = HistoryFile {
            path: path.to_path_buf(),
            file,
        };
        if excess > HISTORY_SIZE {
            history.rewrite(&entries)?;
        }
        Ok((history, entries))
    }

    /// Appends one entry.
    pub(crate) fn append(&mut self, entry: &str) -> io::Result<()> {
        let mut line = entry.replace(['\n', '\r'], " ");
        line.push('\n');
        write_whole(&mut self.file, line.as_bytes())
    }

    fn rewrite(&mut self, entries: &[String]) -> io::Result<()> {
        let mut text = entries.join("\n");
        text.push('\n');
        let temporary = self.path.with_extension("tmp");
        {
            let mut file = open_private(&temporary)?;
            file.set_len(0)?;
            write_whole(&mut file, text.as_bytes())?;
        }
        std::fs::rename(&temporary, &self.path)?;
        self.file = open_private(&self.path)?;
        Ok(())
    }

    /// Where it is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// The log: every line shown after login, with the date and time.
#[derive(Debug)]
pub(crate) struct LogFile {
    file: File,
}

impl LogFile {
    pub(crate) fn open(path: &Path) -> io::Result<LogFile> {
        Ok(LogFile {
            file: open_private(path)?,
        })
    }

    /// Appends lines (neutralised text, without colour) stamped `stamp`.
    pub(crate) fn append<'a>(
        &mut self,
        stamp: &str,
        lines: impl Iterator<Item = &'a str>,
    ) -> io::Result<()> {
        let mut text = String::new();
        for line in lines {
            text.push_str(stamp);
            text.push(' ');
            text.push_str(line);
            text.push('\n');
        }
        write_whole(&mut self.file, text.as_bytes())
    }
}

/// Writes all of `bytes` to a file, continuing after partial writes.
fn write_whole(file: &mut File, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match file.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
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
    fn history_is_kept_private_and_read_back() {
        let dir = temp("history");
        let path = dir.join("h/127.0.0.1_5378/alice.txt");
        let (mut history, entries) = HistoryFile::open(&path).unwrap();
        assert!(entries.is_empty());
        history.append("@bob hi").unwrap();
        history.append("two\nlines").unwrap();
        history.append("an \x1b[2Jescape").unwrap();
        drop(history);
        let (_, entries) = HistoryFile::open(&path).unwrap();
        assert_eq!(entries, ["@bob hi", "two lines", "an [2Jescape"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_long_history_is_cut_to_the_newest_entries() {
        let dir = temp("long");
        let path = dir.join("h.txt");
        std::fs::create_dir_all(&dir).unwrap();
        let text: String = (0..HISTORY_SIZE * 3)
            .map(|i| format!("line {i}\n"))
            .collect();
        std::fs::write(&path, format!("#V2\n{text}")).unwrap();
        let (_, entries) = HistoryFile::open(&path).unwrap();
        assert_eq!(entries.len(), HISTORY_SIZE);
        assert_eq!(entries[0], format!("line {}", HISTORY_SIZE * 2));
        let kept = std::fs::read_to_string(&path).unwrap();
        assert_eq!(kept.lines().count(), HISTORY_SIZE, "the file was rewritten");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn log_lines_are_stamped() {
        let dir = temp("log");
        let path = dir.join("l.log");
        let mut log = LogFile::open(&path).unwrap();
        log.append("2026-11-25 10:00:00", ["From bob: hi", "x"].into_iter())
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "2026-11-25 10:00:00 From bob: hi\n2026-11-25 10:00:00 x\n"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
