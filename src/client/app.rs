//! The client's main loop, shared by the plain and the rich front ends.
//!
//! A front end supplies two things: a channel of [`UserInput`] (typed lines, end of
//! input, interrupts) and a [`Screen`] that shows lines. Everything else (login,
//! the session, rendering) is the same in both modes.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::cli::Cli;
use super::command::{Command, LoginInput};
use super::connection::Connection;
use super::render::{render, safe_text, Line};
use super::session::{Action, Session};
use super::text;
use crate::protocol::{ClientMessage, ServerMessage};

/// Something from the user's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UserInput {
    /// A typed line, without its line ending.
    Line(String),
    /// End of input (Ctrl-D, a closed pipe).
    Eof,
    /// Ctrl-C or a termination signal.
    Interrupt,
    /// Tab completion wants fresher names.
    RefreshNames,
}

/// Where lines are shown.
pub(super) trait Screen {
    /// Adds a complete line to those shown at the next [`flush`](Self::flush).
    /// (A screen may also write it at once, for example a huge one.)
    fn add(&mut self, line: &Line<'_>);

    /// Shows the lines added since the last flush, in order, at once.
    fn flush(&mut self);

    /// Shows complete lines, in order, at once.
    fn show(&mut self, lines: &[Line<'_>]) {
        for line in lines {
            self.add(line);
        }
        self.flush();
    }

    /// Shows the last lines before the program ends (the terminal may need
    /// to be given back first).
    fn show_final(&mut self, lines: &[Line<'_>]) {
        self.show(lines);
    }

    /// Called each time the client is ready to read a name.
    fn ask_name(&mut self) {}

    /// Called once the user is logged in as `name`.
    fn logged_in(&mut self, _name: &str) {}

    /// Whether this screen completes names (then the session keeps them fresh
    /// with silent `LIST` requests).
    fn completes_names(&self) -> bool {
        false
    }

    /// The names of users seen online changed.
    fn names_changed(&mut self, _names: &mut dyn Iterator<Item = &str>) {}
}

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The user quit (`!quit`, end of input, Ctrl-C).
    Quit,
    /// The server was full.
    ServerFull,
    /// The server could not be reached, or the local server could not start.
    Unreachable,
    /// The server closed the connection or it failed.
    ServerGone,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Quit => ExitCode::SUCCESS,
            Outcome::ServerFull | Outcome::Unreachable | Outcome::ServerGone => ExitCode::FAILURE,
        }
    }
}

/// Typed input, with room for lines typed while the client was busy (during a
/// login attempt), which are kept and handled next, in order.
pub(super) struct Inputs {
    rx: mpsc::UnboundedReceiver<UserInput>,
    ahead: VecDeque<UserInput>,
    /// Set once the channel has closed (then it is not polled again).
    closed: bool,
}

impl Inputs {
    pub(super) fn new(rx: mpsc::UnboundedReceiver<UserInput>) -> Inputs {
        Inputs {
            rx,
            ahead: VecDeque::new(),
            closed: false,
        }
    }

    /// The next input; a closed channel is end of input.
    async fn next(&mut self) -> UserInput {
        if let Some(input) = self.ahead.pop_front() {
            return input;
        }
        if !self.closed {
            if let Some(input) = self.rx.recv().await {
                return input;
            }
            self.closed = true;
        }
        UserInput::Eof
    }

    /// Runs `work` to its end while still reading input, so that the user is
    /// never ignored while the client waits for something. `!quit` (unless
    /// lines typed before it wait their turn, as with piped input) and
    /// interrupts end the wait at once, with `None`; anything else typed is
    /// kept, in order, to be handled afterwards.
    async fn during<T>(&mut self, work: impl Future<Output = T>) -> Option<T> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return Some(done),
                input = self.rx.recv(), if !self.closed => match input {
                    Some(UserInput::Line(line))
                        if self.ahead.is_empty() && LoginInput::parse(&line) == LoginInput::Quit =>
                    {
                        return None;
                    }
                    Some(UserInput::Interrupt) => return None,
                    Some(UserInput::RefreshNames) => {}
                    Some(input) => self.ahead.push_back(input),
                    None => {
                        self.closed = true;
                        self.ahead.push_back(UserInput::Eof);
                    }
                },
            }
        }
    }
}

/// Runs the client until it ends, and tells how it ended.
pub(super) async fn run(cli: &Cli, mut inputs: Inputs, screen: &mut dyn Screen) -> Outcome {
    // The server started by --local lives as long as this future.
    let _local_server = if cli.local {
        match super::local::host(&cli.address, cli.port).await {
            Ok(Some(server)) => {
                screen.show(&[Line::notice(text::hosting(&cli.server_address()))]);
                Some(server)
            }
            Ok(None) => None,
            Err(err) => {
                screen.show(&[Line::error(text::cannot_host(&cli.server_address(), &err))]);
                return Outcome::Unreachable;
            }
        }
    } else {
        None
    };
    screen.show(&[Line::info(text::WELCOME)]);
    let (connection, name) = match login(cli, &mut inputs, screen).await {
        Ok(logged_in) => logged_in,
        Err(outcome) => return outcome,
    };
    chat(connection, &name, &mut inputs, screen).await
}

/// Asks for names until one is accepted.
async fn login(
    cli: &Cli,
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
) -> Result<(Connection, String), Outcome> {
    loop {
        let name = next_name(inputs, screen).await?;
        // `!quit` must work at any moment, also while the server is asked.
        let Some(answer) = inputs.during(attempt_login(cli, &name)).await else {
            return Err(Outcome::Quit);
        };
        let answer = answer.map_err(|err| {
            screen.show(&[Line::error(text::cannot_connect(
                &cli.server_address(),
                &describe_error(&err),
            ))]);
            Outcome::Unreachable
        })?;
        if let Some(logged_in) = show_answer(answer, name, screen)? {
            return Ok(logged_in);
        }
    }
}

/// Reads lines at the name prompt until one is a name to try.
async fn next_name(inputs: &mut Inputs, screen: &mut dyn Screen) -> Result<String, Outcome> {
    loop {
        screen.ask_name();
        let line = match inputs.next().await {
            UserInput::Line(line) => line,
            UserInput::Eof | UserInput::Interrupt => return Err(Outcome::Quit),
            UserInput::RefreshNames => continue,
        };
        match LoginInput::parse(&line) {
            LoginInput::Quit => return Err(Outcome::Quit),
            LoginInput::Empty => {}
            LoginInput::Unsendable(name) => {
                screen.show(&[Line::error(text::name_rejected(&safe_text(
                    name.as_bytes(),
                )))]);
            }
            LoginInput::Name(name) => return Ok(name),
        }
    }
}

/// Tells the user the server's answer to the name `tried`. Returns the
/// connection and the confirmed name when logged in, `None` to ask again, or
/// how the program ends.
fn show_answer(
    answer: LoginAnswer,
    tried: String,
    screen: &mut dyn Screen,
) -> Result<Option<(Connection, String)>, Outcome> {
    let shown = safe_text(tried.as_bytes()).into_owned();
    let line = match answer {
        LoginAnswer::Accepted(connection, confirmed) => {
            let name = if confirmed.is_empty() {
                tried
            } else {
                confirmed
            };
            screen.show(&[Line::info(text::logged_in(&safe_text(name.as_bytes())))]);
            return Ok(Some((connection, name)));
        }
        LoginAnswer::Busy => {
            screen.show(&[Line::error(text::SERVER_FULL)]);
            return Err(Outcome::ServerFull);
        }
        LoginAnswer::InUse => text::name_in_use(&shown),
        LoginAnswer::Rejected => text::name_rejected(&shown),
        LoginAnswer::NoAnswer => text::login_no_answer(&shown),
    };
    screen.show(&[Line::error(line)]);
    Ok(None)
}

/// The server's answer to one login attempt.
enum LoginAnswer {
    /// Logged in, under the name the server confirmed (empty if it gave none).
    Accepted(Connection, String),
    InUse,
    Rejected,
    Busy,
    /// The connection closed (or broke) before an answer.
    NoAnswer,
}

/// Opens a new connection and says `HELLO-FROM`. Only a failure to connect is
/// an error: everything after that is an answer.
async fn attempt_login(cli: &Cli, name: &str) -> io::Result<LoginAnswer> {
    let mut connection = Connection::connect(&cli.address, cli.port).await?;
    connection.send(&ClientMessage::HelloFrom(name.as_bytes()));
    loop {
        // Messages after the answer stay in the connection, for the session.
        let answer = connection.messages().find_map(|message| match message {
            ServerMessage::Hello(confirmed) => {
                Some(Ok(String::from_utf8_lossy(confirmed).into_owned()))
            }
            ServerMessage::InUse => Some(Err(LoginAnswer::InUse)),
            ServerMessage::Busy => Some(Err(LoginAnswer::Busy)),
            ServerMessage::BadRequestBody | ServerMessage::BadRequestHeader => {
                Some(Err(LoginAnswer::Rejected))
            }
            // Anything else is not an answer to HELLO-FROM; wait for one.
            _ => None,
        });
        match answer {
            Some(Ok(confirmed)) => return Ok(LoginAnswer::Accepted(connection, confirmed)),
            Some(Err(refused)) => return Ok(refused),
            None => {}
        }
        match connection.receive().await {
            Ok(true) => {}
            Ok(false) | Err(_) => return Ok(LoginAnswer::NoAnswer),
        }
    }
}

/// The logged-in session, until the user quits or the server goes away.
async fn chat(
    mut connection: Connection,
    name: &str,
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
) -> Outcome {
    let mut session = Session::new(name);
    let mut names_version = None;
    screen.logged_in(name);
    if screen.completes_names() {
        connection.send(&session.silent_list());
    }
    // After the end of input: when to stop waiting for the replies still owed.
    let mut ending: Option<Instant> = None;
    let outcome = loop {
        // Show everything that has arrived complete, in one go. Nothing is
        // copied on the way: the lines borrow the connection's buffer.
        let mut added = false;
        for message in connection.messages() {
            if let Some(event) = session.receive(message) {
                render(event, |line| screen.add(&line));
                added = true;
            }
        }
        // Names first: once a sender's line is visible, completing that name
        // must work.
        if names_version != Some(session.names_version()) {
            names_version = Some(session.names_version());
            screen.names_changed(&mut session.names());
        }
        if added {
            screen.flush();
        }

        if let Some(deadline) = ending {
            if !session.awaits_replies() || Instant::now() >= deadline {
                break Outcome::Quit;
            }
        }

        tokio::select! {
            received = connection.receive() => match received {
                Ok(true) => {}
                Ok(false) => {
                    screen.show_final(&[Line::error(text::SERVER_CLOSED)]);
                    break Outcome::ServerGone;
                }
                Err(err) => {
                    screen.show_final(&[Line::error(text::connection_lost(&describe_error(&err)))]);
                    break Outcome::ServerGone;
                }
            },
            _ = sleep_until_deadline(ending) => {}
            input = inputs.next(), if ending.is_none() => match input {
                UserInput::Line(line) => match session.command(Command::parse(&line)) {
                    Action::Send(request) => connection.send(&request),
                    Action::Show(event) => {
                        render(event, |line| screen.add(&line));
                        screen.flush();
                    }
                    Action::Quit => break Outcome::Quit,
                    Action::Nothing => {}
                },
                UserInput::RefreshNames => connection.send(&session.silent_list()),
                UserInput::Interrupt => break Outcome::Quit,
                // Input ended (a closed pipe, Ctrl-D): show the replies to what
                // was already sent, then quit.
                UserInput::Eof => ending = Some(Instant::now() + REPLY_GRACE),
            },
        }
    };
    if outcome == Outcome::Quit {
        connection.close().await;
    }
    outcome
}

/// How long the client waits, after the end of input, for the replies to
/// requests already sent.
const REPLY_GRACE: Duration = Duration::from_secs(2);

async fn sleep_until_deadline(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// A short reason for an I/O error, without the "(os error N)" suffix.
fn describe_error(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
