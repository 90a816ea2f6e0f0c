//! A terminal for rich mode's tests: the client runs in a pseudo-terminal,
//! and everything it writes goes through a terminal emulator (the `vt100`
//! crate), so that tests assert what the user sees on the screen and in the
//! scrollback, not which bytes went by. The emulator answers the client's
//! cursor position requests, as a terminal does, and records bells, window
//! titles and clipboard writes.
//!
//! `vt100` does not rewrap lines when the terminal is resized (like xterm);
//! the tests of a terminal that does (like tmux) run in tmux itself.

use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::Session;

use super::client::{chat, TIMEOUT};
use chat::client::text;
use chat::client::SafeText;

/// What the terminal was asked to do besides drawing.
#[derive(Debug, Default)]
pub struct Seen {
    /// Bells rung.
    pub bells: usize,
    /// Window titles set, in order.
    pub titles: Vec<String>,
    /// Attempts to write the clipboard (OSC 52).
    pub clipboard_writes: usize,
    /// Window titles saved on the terminal's title stack, and put back.
    pub titles_saved: usize,
    pub titles_restored: usize,
    /// A synchronized update (DEC mode 2026) begun and not yet ended: a
    /// terminal that has the mode shows nothing new meanwhile.
    pub synchronized: bool,
    /// Cursor position requests not yet answered.
    cursor_requests: usize,
    /// Rows that scrolled off the top, oldest first.
    scrolled_off: Vec<String>,
}

impl vt100::Callbacks for Seen {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }

    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles
            .push(String::from_utf8_lossy(title).into_owned());
    }

    fn copy_to_clipboard(&mut self, _: &mut vt100::Screen, _: &[u8], _: &[u8]) {
        self.clipboard_writes += 1;
    }

    fn unhandled_csi(
        &mut self,
        _: &mut vt100::Screen,
        i1: Option<u8>,
        _: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        if c == 'n' && i1.is_none() && params == [&[6][..]] {
            self.cursor_requests += 1;
        }
        if i1 == Some(b'?') && params == [&[2026][..]] && (c == 'h' || c == 'l') {
            self.synchronized = c == 'h';
        }
        if c == 't' && params.first() == Some(&&[22][..]) {
            self.titles_saved += 1;
        }
        if c == 't' && params.first() == Some(&&[23][..]) {
            self.titles_restored += 1;
        }
    }

    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, _alternate: bool) {
        let mut formatted = String::new();
        let mut state = vt100::capture::BasicFormattedCaptureState::new();
        let _ = row.write_formatted_basic(&mut formatted, &mut state);
        let plain: String = vt100::capture::basic_formatted_to_plain(&formatted).collect();
        self.scrolled_off.push(plain.trim_end().to_string());
    }
}

/// The client in a pseudo-terminal, seen through a terminal emulator.
pub struct Terminal {
    session: OsSession,
    parser: vt100::Parser<Seen>,
    exit: Option<WaitStatus>,
}

impl Terminal {
    /// Starts `cmd` in a terminal of `rows` x `cols`.
    pub fn start(cmd: Command, rows: u16, cols: u16) -> Terminal {
        let mut session = Session::spawn(cmd).expect("spawn in a pty");
        session
            .get_process_mut()
            .set_window_size(cols, rows)
            .expect("set the terminal size");
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("a size");
        Terminal {
            session,
            // No scrollback in the emulator: rows that leave the screen are
            // kept by `Seen::on_scroll`, in order.
            parser: vt100::Parser::new_with_callbacks(size(rows), size(cols), 0, Seen::default()),
            exit: None,
        }
    }

    /// The command that runs the client in rich mode on `port`, with its
    /// data and config in `home` (so that no test touches the real ones),
    /// a capable TERM and no colour (the colour tests turn it on).
    pub fn rich_command(port: u16, home: &Path, extra: &[&str]) -> Command {
        let mut cmd = Command::new(chat());
        cmd.args(["--address", "127.0.0.1", "--port", &port.to_string()])
            .args(extra)
            .env("TERM", "xterm-256color")
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("HOME", home)
            .env("NO_COLOR", "1")
            .env_remove("TMUX")
            .env_remove("COLORTERM");
        cmd
    }

    /// The client in rich mode, 24 x 80.
    pub fn rich(port: u16, home: &Path, extra: &[&str]) -> Terminal {
        Terminal::start(Terminal::rich_command(port, home, extra), 24, 80)
    }

    /// Reads what the client wrote so far, into the emulator, and answers
    /// its cursor position requests. Returns whether anything came.
    fn pump(&mut self) -> bool {
        self.read_available() != Available::Nothing
    }

    /// Reads what the client wrote so far (at most 4 MiB: under a flood
    /// there is always more, and the caller has its own deadline to keep),
    /// and says whether the output has ended (the client and its children
    /// have closed the terminal: end of file, or EIO on Linux).
    fn read_available(&mut self) -> Available {
        let mut got = Available::Nothing;
        for _ in 0..64 {
            match self.read_some(65536) {
                Available::Some => got = Available::Some,
                Available::Nothing => return got,
                Available::Ended => return Available::Ended,
            }
        }
        got
    }

    /// One read of at most `most` bytes.
    fn read_some(&mut self, most: usize) -> Available {
        let mut buf = vec![0u8; most];
        match self.session.try_read(&mut buf) {
            Ok(0) => Available::Ended,
            Ok(n) => {
                self.parser.process(&buf[..n]);
                self.answer_cursor_requests();
                Available::Some
            }
            Err(err) if err.kind() == ErrorKind::WouldBlock => Available::Nothing,
            Err(_) => Available::Ended,
        }
    }

    /// Reads like a slow terminal, `step` bytes every 10 ms at most, until
    /// `done` holds, for at most the tests' timeout. Panics, with the
    /// screen, if it never does (the output ending first included).
    pub fn read_slowly(
        &mut self,
        what: &str,
        step: usize,
        mut done: impl FnMut(&mut Terminal) -> bool,
    ) {
        let deadline = Instant::now() + TIMEOUT;
        let mut ended = false;
        while !done(self) {
            if Instant::now() >= deadline {
                let why = if ended {
                    "the output ended"
                } else {
                    "timed out"
                };
                panic!("{why} waiting for {what}; the screen:\n{}", self.dump());
            }
            // Once the output has ended, only the exit status may change.
            ended = ended || self.read_some(step) == Available::Ended;
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the client has ended (its output may not all be read yet).
    pub fn ended(&mut self) -> bool {
        if self.exit.is_none() {
            match self.session.get_process().status() {
                Ok(WaitStatus::StillAlive) | Err(_) => {}
                Ok(status) => self.exit = Some(status),
            }
        }
        self.exit.is_some()
    }

    fn answer_cursor_requests(&mut self) {
        while self.parser.callbacks().cursor_requests > 0 {
            self.parser.callbacks_mut().cursor_requests -= 1;
            let (row, col) = self.parser.screen().cursor_position();
            let cols = self.cols();
            let col = col.min(cols - 1);
            let answer = format!("\x1b[{};{}R", row + 1, col + 1);
            let _ = self.session.write_all(answer.as_bytes());
            let _ = self.session.flush();
        }
    }

    /// Waits until `done` holds of the screen, for at most the tests' timeout.
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&Terminal) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            self.pump();
            if done(self) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("timed out waiting for {what}; the screen:\n{}", self.dump());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `needle` is on the screen.
    pub fn wait_for(&mut self, needle: &str) {
        self.wait_until(needle, |t| t.screen().contains(needle));
    }

    /// Lets the client run for `time`, taking what it writes.
    pub fn settle(&mut self, time: Duration) {
        let deadline = Instant::now() + time;
        while Instant::now() < deadline {
            self.pump();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn cols(&self) -> u16 {
        self.parser.screen().size().1.get()
    }

    /// The visible screen's text.
    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// The text of the row the cursor is on, without trailing blanks.
    pub fn cursor_row(&self) -> String {
        let (row, _) = self.parser.screen().cursor_position();
        let cols = self.cols();
        self.parser
            .screen()
            .rows(0, cols)
            .nth(usize::from(row))
            .unwrap_or_default()
            .trim_end()
            .to_string()
    }

    /// The cursor's row and column, from 0.
    pub fn cursor(&self) -> (u16, u16) {
        self.parser.screen().cursor_position()
    }

    /// Every row the user could see or scroll back to, oldest first,
    /// without trailing blanks and without the blank rows at the end.
    pub fn rows(&self) -> Vec<String> {
        let cols = self.cols();
        let mut rows = self.parser.callbacks().scrolled_off.clone();
        rows.extend(
            self.parser
                .screen()
                .rows(0, cols)
                .map(|row| row.trim_end().to_string()),
        );
        while rows.last().is_some_and(String::is_empty) {
            rows.pop();
        }
        rows
    }

    /// How many rows (screen and scrollback) contain `text`.
    pub fn count(&self, text: &str) -> usize {
        self.rows().iter().filter(|row| row.contains(text)).count()
    }

    /// The colour of the first character of `text`, where it first shows on
    /// the screen; `None` for the default colour. Panics if it is not shown.
    pub fn colour_of(&self, text: &str) -> Option<vt100::Color> {
        match self.first_cell_of(text).fgcolor() {
            vt100::Color::Default => None,
            colour => Some(colour),
        }
    }

    /// Whether the first character of `text`, where it first shows on the
    /// screen, is in reverse video. Panics if it is not shown.
    pub fn reversed(&self, text: &str) -> bool {
        self.first_cell_of(text).inverse()
    }

    /// The cell of the first character of `text`, where it first shows on
    /// the screen. Panics if it is not shown.
    fn first_cell_of(&self, text: &str) -> &vt100::Cell {
        let screen = self.parser.screen();
        for (row, shown) in screen.rows(0, self.cols()).enumerate() {
            if let Some(at) = shown.find(text) {
                let col = shown[..at].chars().count();
                return screen
                    .cell(row as u16, col as u16)
                    .expect("a cell on the screen");
            }
        }
        panic!("{text:?} is not on the screen:\n{}", self.dump());
    }

    /// Bells, titles and clipboard writes seen so far.
    pub fn seen(&self) -> &Seen {
        self.parser.callbacks()
    }

    /// Types `text` (bytes as the terminal would send them).
    pub fn send(&mut self, text: impl AsRef<[u8]>) {
        self.session.write_all(text.as_ref()).expect("type");
        self.session.flush().expect("type");
    }

    /// Types `text` and Enter.
    pub fn send_line(&mut self, text: &str) {
        self.send(format!("{text}\r"));
    }

    /// Resizes the terminal (the client gets SIGWINCH).
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.pump();
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("a size");
        // Through the parser, so that rows pushed off the top are kept.
        self.parser.set_size(size(rows), size(cols));
        self.session
            .get_process_mut()
            .set_window_size(cols, rows)
            .expect("resize");
    }

    /// The client's process id.
    pub fn pid(&self) -> u32 {
        self.session.get_process().pid().as_raw() as u32
    }

    /// Sends a signal to the client.
    pub fn signal(&mut self, signal: expectrl::process::unix::Signal) {
        self.session
            .get_process_mut()
            .signal(signal)
            .expect("signal");
    }

    /// Logs in as `name` at the name prompt and waits for the chat prompt.
    pub fn login(&mut self, name: &str) {
        self.wait_for(text::WELCOME);
        self.wait_until("the name prompt", |t| t.cursor_row().starts_with('>'));
        self.send_line(name);
        self.wait_for(&text::logged_in(&SafeText::neutralise_str(name)));
        self.wait_prompt(&format!("{name}> "));
    }

    /// Waits until the cursor row starts with `prompt`.
    pub fn wait_prompt(&mut self, prompt: &str) {
        // Rows are compared without their trailing blanks.
        let prompt = prompt.trim_end();
        self.wait_until(&format!("the prompt {prompt:?}"), |t| {
            t.cursor_row().starts_with(prompt)
        });
    }

    /// Waits for the client to end; returns its exit code.
    pub fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        while !self.ended() {
            self.pump();
            if Instant::now() >= deadline {
                panic!("the client did not end; the screen:\n{}", self.dump());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Everything it wrote before it ended, however much a busy machine
        // left unread.
        while self.read_available() != Available::Ended {
            if Instant::now() >= deadline {
                panic!("the output did not end; the screen:\n{}", self.dump());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        exit_code(self.exit.expect("ended"))
    }

    /// Types `!quit` and checks that the client ends with success.
    pub fn quit(&mut self) {
        self.send_line("!quit");
        assert_eq!(self.wait_exit(), 0, "{}", self.dump());
    }

    /// The whole transcript, for failure messages.
    pub fn dump(&self) -> String {
        let (row, col) = self.cursor();
        format!("{}\n[cursor at {row}, {col}]", self.rows().join("\n"))
    }
}

fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the client did not exit normally: {other:?}"),
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self
                .session
                .get_process_mut()
                .kill(expectrl::process::unix::Signal::SIGKILL);
        }
    }
}

/// Bytes received and not yet read by the client in its connection to the
/// server on `port` (Linux: the receive queue of its socket in
/// /proc/net/tcp).
pub fn unread_bytes(pid: u32, port: u16) -> u64 {
    queues(pid, port).1
}

/// Bytes the client has written to its connection to the server on `port`
/// and the server has not taken yet (Linux: the send queue of its socket).
pub fn unsent_bytes(pid: u32, port: u16) -> u64 {
    queues(pid, port).0
}

/// The send and receive queues of the client's sockets connected to `port`.
fn queues(pid: u32, port: u16) -> (u64, u64) {
    let mut inodes = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("the client's files") {
        let link = std::fs::read_link(fd.expect("a file").path()).unwrap_or_default();
        let link = link.to_string_lossy();
        if let Some(inode) = link
            .strip_prefix("socket:[")
            .and_then(|l| l.strip_suffix(']'))
        {
            inodes.push(inode.to_string());
        }
    }
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let remote = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode = fields.get(9)?;
            let ours = fields.get(2)?.ends_with(&remote) && inodes.iter().any(|i| i == inode);
            let (tx, rx) = fields.get(4)?.split_once(':')?;
            let tx = u64::from_str_radix(tx, 16).ok()?;
            let rx = u64::from_str_radix(rx, 16).ok()?;
            ours.then_some((tx, rx))
        })
        .fold((0, 0), |(tx, rx), (t, r)| (tx + t, rx + r))
}

/// The entries of a history file, in rustyline's format (a first line
/// `#V2`, then one entry a line with `\` and line breaks escaped).
pub fn history_entries(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("the history file");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("#V2"), "{text:?}");
    lines
        .map(|line| line.replace("\\n", "\n").replace("\\\\", "\\"))
        .collect()
}

/// A fresh folder for one test's files.
pub fn temp_home(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What one read of the terminal found.
#[derive(PartialEq)]
enum Available {
    Nothing,
    Some,
    Ended,
}
