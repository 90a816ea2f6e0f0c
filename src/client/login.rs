//! Logging in: asking for names until one is accepted, one new connection
//! per attempt (the server closes the connection after a refusal),
//! `HELLO-FROM`, and the server's answer, told to the user.

use std::io;
use std::time::Duration;

use super::command::LoginInput;
use super::connection::Connection;
use super::inputs::{Inputs, UserInput};
use super::outcome::Outcome;
use super::render::Line;
use super::safe::SafeText;
use super::screen::Screen;
use super::session::is_blank;
use super::settings::Settings;
use super::text;
use crate::protocol::{ClientMessage, ServerMessage};

/// How long a server may take to accept the connection, and then to answer
/// `HELLO-FROM`.
pub(super) const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's answer to one login attempt.
pub(super) enum LoginAnswer {
    /// Logged in, under the name the server confirmed (empty if it gave none).
    Accepted(LoggedIn),
    InUse,
    /// `BAD-RQST-BODY`: the name has characters the server does not allow.
    Rejected,
    /// `BAD-RQST-HDR`: the server found fault with the header (the
    /// assignment's header error; a new connection may go better).
    BadHeader,
    Busy,
    /// The connection closed (or broke) before an answer.
    NoAnswer,
    /// No answer within [`LOGIN_TIMEOUT`].
    TimedOut,
    /// The first thing the server said is not part of the chat protocol.
    NotChatServer,
}

/// A login the server accepted.
pub(super) struct LoggedIn {
    pub(super) connection: Connection,
    /// The name logged in under.
    pub(super) name: String,
    /// Messages a (faulty) server sent before its answer, to be shown after
    /// the login line.
    pub(super) early: Early,
}

/// The messages that came before the login answer: in order, at most
/// [`EARLY_LIMIT`] bytes of them; the rest only counted.
#[derive(Debug, Default)]
pub(super) struct Early {
    pub(super) kept: Vec<EarlyMessage>,
    bytes: usize,
    /// How many more came, and were not kept.
    pub(super) dropped: usize,
}

/// The most bytes of messages kept from before the login answer: a server
/// that floods the client before answering cannot make it hold more.
const EARLY_LIMIT: usize = 16 << 20;

/// The longest line taken before the login answer: a message of
/// [`EARLY_LIMIT`] bytes with its header. A longer line (bytes without end,
/// for instance) is no chat server's, and the client holds no more of it
/// than this.
const EARLY_LINE_LIMIT: usize = EARLY_LIMIT + 1024;

/// A message that came before the login answer.
#[derive(Debug)]
pub(super) enum EarlyMessage {
    /// A message for the user: sender and text.
    Delivery(Vec<u8>, Vec<u8>),
    /// A reply to a request never made.
    Unexpected,
}

/// What an [`EarlyMessage::Unexpected`] counts for against [`EARLY_LIMIT`].
const UNEXPECTED_SIZE: usize = 16;

impl Early {
    fn add(&mut self, message: EarlyMessage) {
        let size = match &message {
            EarlyMessage::Delivery(from, body) => from.len() + body.len(),
            EarlyMessage::Unexpected => UNEXPECTED_SIZE,
        };
        if self.dropped == 0 && self.bytes.saturating_add(size) <= EARLY_LIMIT {
            self.bytes += size;
            self.kept.push(message);
        } else {
            self.dropped += 1;
        }
    }
}

/// Asks for names until one is accepted. `preset` is tried first, without
/// asking (`--name`).
pub(super) async fn login(
    settings: &Settings,
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
    mut preset: Option<String>,
) -> Result<LoggedIn, Outcome> {
    loop {
        let name = match preset.take() {
            Some(name) => name,
            None => next_name(inputs, screen).await?,
        };
        // `!quit` and signals must work at any moment, also while the server
        // is asked.
        let answer = inputs
            .during(attempt(&settings.address, settings.port, &name))
            .await?;
        let answer = answer.map_err(|err| {
            let reason = SafeText::neutralise_str(&describe_error(&err)).into_owned();
            screen.note(&[Line::error(text::cannot_connect(
                &settings.shown_address(),
                &reason,
            ))]);
            if settings.is_local_address() && !settings.local {
                screen.note(&[Line::notice(text::TRY_LOCAL)]);
            }
            Outcome::Unreachable
        })?;
        if let Some(logged_in) = show_answer(settings, answer, name, screen)? {
            return Ok(logged_in);
        }
    }
}

/// Reads lines at the name prompt until one is a name to try.
async fn next_name(inputs: &mut Inputs, screen: &mut dyn Screen) -> Result<String, Outcome> {
    loop {
        screen.ask_name();
        let line = match inputs.next().await {
            UserInput::Line(typed) => typed.text,
            UserInput::Eof | UserInput::Interrupt => return Err(Outcome::Quit),
            UserInput::Signal(signal) => return Err(Outcome::Signalled(signal)),
            UserInput::RefreshNames => continue,
        };
        match LoginInput::parse(&line) {
            LoginInput::Quit => return Err(Outcome::Quit),
            LoginInput::Empty => {}
            LoginInput::Unsendable(name) => {
                let shown = SafeText::neutralise_str(&name);
                screen.show(&[Line::error(text::name_rejected(&shown))]);
            }
            LoginInput::Name(name) => return Ok(name),
        }
    }
}

/// Tells the user the server's answer to the name `tried`. Returns the
/// login when logged in, `None` to ask again, or how the program ends.
pub(super) fn show_answer(
    settings: &Settings,
    answer: LoginAnswer,
    tried: String,
    screen: &mut dyn Screen,
) -> Result<Option<LoggedIn>, Outcome> {
    let shown = SafeText::neutralise_str(&tried).into_owned();
    let (line, outcome) = match answer {
        LoginAnswer::Accepted(mut logged_in) => {
            if logged_in.name.is_empty() {
                logged_in.name = tried;
            }
            let shown = SafeText::neutralise_str(&logged_in.name);
            screen.show(&[Line::info(text::logged_in(&shown))]);
            screen.logged_in(&shown);
            return Ok(Some(logged_in));
        }
        LoginAnswer::InUse => (Line::error(text::name_in_use(&shown)), None),
        LoginAnswer::Rejected => (Line::error(text::name_rejected(&shown)), None),
        LoginAnswer::BadHeader => (Line::error(text::BAD_HEADER), None),
        LoginAnswer::Busy => {
            screen.show_final(&[Line::error(text::SERVER_FULL)]);
            return Err(Outcome::ServerFull);
        }
        // Lines of the client's own, not the assignment's.
        LoginAnswer::NoAnswer => {
            screen.note(&[Line::error(text::login_no_answer(&shown))]);
            return Ok(None);
        }
        LoginAnswer::TimedOut => (
            Line::error(text::login_timed_out(
                &settings.shown_address(),
                LOGIN_TIMEOUT.as_secs(),
            )),
            Some(Outcome::NoAnswer),
        ),
        LoginAnswer::NotChatServer => (
            Line::error(text::not_a_chat_server(&settings.shown_address())),
            Some(Outcome::NotChatServer),
        ),
    };
    match outcome {
        Some(outcome) => {
            screen.note(&[line]);
            screen.show_final(&[]);
            Err(outcome)
        }
        None => {
            screen.show(&[line]);
            Ok(None)
        }
    }
}

/// Opens a new connection and says `HELLO-FROM`. Only a failure to connect is
/// an error: everything after that is an answer.
pub(super) async fn attempt(host: &str, port: u16, name: &str) -> io::Result<LoginAnswer> {
    let connection =
        match tokio::time::timeout(LOGIN_TIMEOUT, Connection::connect(host, port)).await {
            Ok(connected) => connected?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection was not accepted in time",
                ))
            }
        };
    connection.send(ClientMessage::HelloFrom(name.as_bytes()).to_bytes());
    let answer = answer(connection);
    Ok(tokio::time::timeout(LOGIN_TIMEOUT, answer)
        .await
        .unwrap_or(LoginAnswer::TimedOut))
}

/// Waits for the answer to `HELLO-FROM`. Messages after the answer stay in
/// the connection, for the session; messages before it are kept with the
/// answer.
async fn answer(mut connection: Connection) -> LoginAnswer {
    let mut early = Early::default();
    connection.limit_lines(Some(EARLY_LINE_LIMIT));
    loop {
        let answer = connection
            .limited_messages()
            .find_map(|message| match message {
                // A line longer than any answer or message kept.
                None => Some(Err(LoginAnswer::NotChatServer)),
                Some(message) => answer_to_login(message, &mut early),
            });
        match answer {
            Some(Ok(name)) => {
                // From now on, lines of any length.
                connection.limit_lines(None);
                return LoginAnswer::Accepted(LoggedIn {
                    connection,
                    name,
                    early,
                });
            }
            Some(Err(refused)) => return refused,
            None => {}
        }
        match connection.receive().await {
            Ok(true) => {}
            Ok(false) | Err(_) => return LoginAnswer::NoAnswer,
        }
    }
}

/// What one message before the login answer means: the name logged in
/// under, a refusal, or (`None`) nothing yet. Messages for the user are kept
/// in `early`.
fn answer_to_login(
    message: ServerMessage<'_>,
    early: &mut Early,
) -> Option<Result<String, LoginAnswer>> {
    match message {
        ServerMessage::Hello(confirmed) => {
            Some(Ok(String::from_utf8_lossy(confirmed).into_owned()))
        }
        ServerMessage::InUse => Some(Err(LoginAnswer::InUse)),
        ServerMessage::Busy => Some(Err(LoginAnswer::Busy)),
        ServerMessage::BadRequestBody => Some(Err(LoginAnswer::Rejected)),
        ServerMessage::BadRequestHeader => Some(Err(LoginAnswer::BadHeader)),
        // A blank line is no answer: wait for one.
        ServerMessage::Unknown(line) if is_blank(line) => None,
        ServerMessage::Unknown(_) => Some(Err(LoginAnswer::NotChatServer)),
        // A message for the user before the answer (a faulty server):
        // shown once logged in.
        ServerMessage::Delivery { from, body } => {
            early.add(EarlyMessage::Delivery(from.to_vec(), body.to_vec()));
            None
        }
        // A reply to a request never made: said once logged in, as after
        // it; wait for the answer.
        ServerMessage::ListOk(_) | ServerMessage::SendOk | ServerMessage::BadDestUser => {
            early.add(EarlyMessage::Unexpected);
            None
        }
    }
}

/// A short reason for an I/O error, without the "(os error N)" suffix.
pub(super) fn describe_error(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
