//! The client's main loop, shared by the plain and the rich front ends:
//! hosting a server (`--local`), logging in, the logged-in session, and, in
//! rich mode, reconnecting when the connection ends (`reconnect`).
//!
//! A front end supplies a channel of [`UserInput`] (typed lines, end of
//! input, interrupts) and a [`Screen`]. Everything else is the same in both
//! modes.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::command::{Command, Dialect, LoginInput};
use super::connection::Connection;
use super::inputs::{Inputs, UserInput};
use super::local::{self, LocalServer};
use super::login::{self, describe_error, LoginAnswer};
use super::reconnect::reconnect;
use super::render::{render, Line};
use super::safe::SafeText;
use super::screen::{Backlog, Screen};
use super::session::{Action, Event, Session};
use super::settings::Settings;
use super::text;

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The user quit (`!quit`, end of input, Ctrl-C, a signal).
    Quit,
    /// The server was full.
    ServerFull,
    /// The server could not be reached, or the local server could not start.
    Unreachable,
    /// The server closed the connection or it failed.
    ServerGone,
    /// The server did not answer the login in time.
    NoAnswer,
    /// The server does not speak the chat protocol.
    NotChatServer,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Quit => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        }
    }
}

/// Runs the client until it ends, and tells how it ended.
pub(super) async fn run(
    settings: &Settings,
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
) -> Outcome {
    // The server started by --local lives as long as this function.
    let mut local = None;
    if settings.local {
        match host(settings, screen).await {
            Ok(server) => local = server,
            Err(outcome) => return outcome,
        }
    }
    screen.show(&[Line::info(text::WELCOME)]);
    let (mut connection, name) = match login(settings, inputs, screen, settings.name.clone()).await
    {
        Ok(logged_in) => logged_in,
        Err(outcome) => return outcome,
    };
    let mut session = Session::new(&name);
    loop {
        match chat(&mut connection, &mut session, inputs, screen).await {
            End::Quit => {
                connection.close().await;
                if let Some(server) = local.take() {
                    server.farewell(session.me());
                }
                return Outcome::Quit;
            }
            End::Lost(line) if !screen.reconnects() => {
                screen.show_final(&[Line::error(line)]);
                return Outcome::ServerGone;
            }
            End::Lost(line) => {
                screen.show(&[Line::error(line)]);
                let name = session.me().to_string();
                match reconnect(settings, inputs, screen, &mut local, &name).await {
                    Ok((fresh, name)) => {
                        connection = fresh;
                        session.restart(&name);
                    }
                    Err(outcome) => return outcome,
                }
            }
        }
    }
}

/// `--local`: starts a server unless one is listening already.
async fn host(
    settings: &Settings,
    screen: &mut dyn Screen,
) -> Result<Option<LocalServer>, Outcome> {
    match local::host(&settings.address, settings.port).await {
        Ok(Some(server)) => {
            screen.show(&[Line::notice(text::hosting(&settings.shown_address()))]);
            Ok(Some(server))
        }
        Ok(None) => Ok(None),
        Err(err) => {
            let reason = SafeText::neutralise_str(&describe_error(&err)).into_owned();
            screen.show(&[Line::error(text::cannot_host(
                &settings.shown_address(),
                &reason,
            ))]);
            Err(Outcome::Unreachable)
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
) -> Result<(Connection, String), Outcome> {
    loop {
        let name = match preset.take() {
            Some(name) => name,
            None => next_name(inputs, screen).await?,
        };
        // `!quit` must work at any moment, also while the server is asked.
        let attempt = login::attempt(&settings.address, settings.port, &name);
        let Some(answer) = inputs.during(attempt).await else {
            return Err(Outcome::Quit);
        };
        let answer = answer.map_err(|err| {
            let reason = SafeText::neutralise_str(&describe_error(&err)).into_owned();
            screen.show(&[Line::error(text::cannot_connect(
                &settings.shown_address(),
                &reason,
            ))]);
            if settings.is_local_address() && !settings.local {
                screen.show(&[Line::notice(text::TRY_LOCAL)]);
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
/// connection and the confirmed name when logged in, `None` to ask again, or
/// how the program ends.
pub(super) fn show_answer(
    settings: &Settings,
    answer: LoginAnswer,
    tried: String,
    screen: &mut dyn Screen,
) -> Result<Option<(Connection, String)>, Outcome> {
    let shown = SafeText::neutralise_str(&tried).into_owned();
    let (line, outcome) = match answer {
        LoginAnswer::Accepted(connection, confirmed) => {
            let name = if confirmed.is_empty() {
                tried
            } else {
                confirmed
            };
            let shown = SafeText::neutralise_str(&name);
            screen.show(&[Line::info(text::logged_in(&shown))]);
            screen.logged_in(&shown);
            return Ok(Some((connection, name)));
        }
        LoginAnswer::Busy => (Line::error(text::SERVER_FULL), Some(Outcome::ServerFull)),
        LoginAnswer::TimedOut => (
            Line::error(text::login_timed_out(
                &settings.shown_address(),
                login::LOGIN_TIMEOUT.as_secs(),
            )),
            Some(Outcome::NoAnswer),
        ),
        LoginAnswer::NotChatServer => (
            Line::error(text::not_a_chat_server(&settings.shown_address())),
            Some(Outcome::NotChatServer),
        ),
        LoginAnswer::InUse => (Line::error(text::name_in_use(&shown)), None),
        LoginAnswer::Rejected => (Line::error(text::name_rejected(&shown)), None),
        LoginAnswer::NoAnswer => (Line::error(text::login_no_answer(&shown)), None),
    };
    match outcome {
        Some(outcome) => {
            screen.show_final(&[line]);
            Err(outcome)
        }
        None => {
            screen.show(&[line]);
            Ok(None)
        }
    }
}

/// How a logged-in session ended.
enum End {
    /// The user quit.
    Quit,
    /// The connection ended; the line says how.
    Lost(SafeText<'static>),
}

/// The logged-in session, until the user quits or the connection ends.
async fn chat(
    connection: &mut Connection,
    session: &mut Session,
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
) -> End {
    let dialect = screen.dialect();
    let backlog = screen.backlog();
    let mut names = NamesSync::default();
    if screen.completes_names() {
        connection.send(session.silent_list().to_bytes());
    }
    // After the end of input: when to stop waiting for the replies still owed.
    let mut ending: Option<Instant> = None;
    loop {
        // Show everything that has arrived complete, in one go. Nothing is
        // copied on the way: the lines borrow the connection's buffer.
        let mut added = false;
        for message in connection.messages() {
            if let Some(event) = session.receive(message) {
                render(event, |line| screen.add(&line));
                added = true;
            }
            // What waited for these replies.
            while let Some(notice) = session.next_notice() {
                tell(notice, session, screen, dialect);
                added = true;
            }
        }
        // Names first: once a sender's line is visible, completing that name
        // must work.
        names.update(session, screen);
        if added {
            screen.flush();
        }

        if let Some(deadline) = ending {
            if !session.awaits_replies() || Instant::now() >= deadline {
                return End::Quit;
            }
        }

        // A screen that has not caught up with what it was given: read
        // nothing more from the server until it has.
        let full = backlog.as_deref().is_some_and(Backlog::full);
        tokio::select! {
            () = caught_up(backlog.as_deref()), if full => {}
            received = connection.receive(), if !full => match received {
                Ok(true) => {}
                // Already on the way out: nothing more is owed.
                Ok(false) | Err(_) if ending.is_some() => return End::Quit,
                Ok(false) => return End::Lost(text::SERVER_CLOSED.into()),
                Err(err) => {
                    let reason = SafeText::neutralise_str(&describe_error(&err)).into_owned();
                    return End::Lost(text::connection_lost(&reason));
                }
            },
            _ = sleep_until_deadline(ending) => {}
            input = inputs.next(), if ending.is_none() => match input {
                UserInput::Line(typed) => {
                    match session.command(Command::parse(&typed.text, dialect)) {
                        Action::Send(request) => connection.send_holding(request, typed.permit),
                        Action::Show(event) => {
                            tell(event, session, screen, dialect);
                            screen.flush();
                        }
                        // Quitting (typed, or piped in after other lines)
                        // waits for the replies owed, as the end of input does.
                        Action::Quit if session.awaits_replies() => {
                            ending = Some(Instant::now() + REPLY_GRACE);
                        }
                        Action::Quit => return End::Quit,
                        Action::Nothing => {}
                    }
                }
                UserInput::RefreshNames => {
                    connection.send(session.silent_list().to_bytes());
                    names.refresh_asked = true;
                }
                UserInput::Interrupt => return End::Quit,
                // Input ended (a closed pipe, Ctrl-D): show the replies to what
                // was already sent, then quit.
                UserInput::Eof => ending = Some(Instant::now() + REPLY_GRACE),
            },
        }
    }
}

/// Tells the user something a typed command made (no request): adds its
/// lines, and follows a change of conversation in the prompt.
fn tell(event: Event<'_>, session: &Session, screen: &mut dyn Screen, dialect: Dialect) {
    match event {
        Event::Hint if dialect == Dialect::Rich => screen.add(&Line::notice(text::RICH_HINT)),
        Event::Conversation(_) => {
            render(event, |line| screen.add(&line));
            let with = session.conversation().map(SafeText::neutralise_str);
            screen.conversation(with.as_ref());
        }
        event => render(event, |line| screen.add(&line)),
    }
}

/// Keeps the screen's completion names in step with the session.
#[derive(Default)]
struct NamesSync {
    /// The session's names version and `LIST-OK` count last given.
    given: Option<(u64, u64)>,
    /// The screen asked for fresh names and waits for the answer.
    refresh_asked: bool,
}

impl NamesSync {
    fn update(&mut self, session: &Session, screen: &mut dyn Screen) {
        if !screen.completes_names() {
            return;
        }
        let now = (session.names_version(), session.lists_answered());
        let Some(given) = self.given.replace(now) else {
            return self.give(session, screen);
        };
        let answered = self.refresh_asked && now.1 != given.1;
        if now.0 != given.0 || answered {
            self.give(session, screen);
        }
    }

    fn give(&mut self, session: &Session, screen: &mut dyn Screen) {
        self.refresh_asked = false;
        let names = session
            .names_by_recency()
            .into_iter()
            .map(|name| SafeText::neutralise_str(name).into_owned())
            .collect();
        screen.names_changed(names);
    }
}

/// How long the client waits, after the end of input, for the replies to
/// requests already sent.
const REPLY_GRACE: Duration = Duration::from_secs(2);

/// Waits until `backlog` (if any) has caught up.
async fn caught_up(backlog: Option<&Backlog>) {
    if let Some(backlog) = backlog {
        backlog.caught_up().await;
    }
}

async fn sleep_until_deadline(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
