//! The client's main loop, shared by the plain and the rich front ends:
//! hosting a server (`--local`), logging in, the logged-in session, and, in
//! rich mode, reconnecting when the connection ends (`reconnect`).
//!
//! A front end supplies a channel of [`UserInput`] (typed lines, end of
//! input, Ctrl-C; the signals that end the program come through it too) and
//! a [`Screen`]. Everything else is the same in both modes, how the program
//! ends and its exit status included ([`Outcome`]): a front end only gives
//! the terminal back when its screen is dropped.

use std::time::{Duration, Instant};

use super::command::{Command, Dialect};
use super::connection::Connection;
use super::inputs::{Inputs, UserInput};
use super::local::{self, LocalServer};
use super::login::{describe_error, login, EarlyMessage, LoggedIn};
use super::outcome::Outcome;
use super::reconnect::{reconnect, Backoff};
use super::render::{is_the_assignments, render, Line};
use super::safe::SafeText;
use super::screen::{Backlog, Screen};
use super::session::{Action, Event, Session};
use super::settings::Settings;
use super::text;
use crate::protocol::ServerMessage;

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
    let (outcome, me) = run_logged_in(settings, inputs, screen, &mut local).await;
    if let Some(server) = local {
        // The other users are told who left, if this user was logged in.
        server.stop(me.as_deref()).await;
    }
    outcome
}

/// Logs in and chats until the end; tells how it ended, and, when the user
/// left while logged in (quitting, or by a signal), under which name.
async fn run_logged_in(
    settings: &Settings,
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
    local: &mut Option<LocalServer>,
) -> (Outcome, Option<String>) {
    screen.show(&[Line::info(text::WELCOME)]);
    let logged_in = match login(settings, inputs, screen, settings.name.clone()).await {
        Ok(logged_in) => logged_in,
        Err(outcome) => return (outcome, None),
    };
    let mut session = Session::new(&logged_in.name);
    let mut connection = start(logged_in, &mut session, screen);
    let mut backoff = Backoff::new();
    loop {
        match chat(&mut connection, &mut session, inputs, screen).await {
            End::Quit(outcome) => {
                connection.close().await;
                return (outcome, Some(session.me().to_string()));
            }
            End::Lost(line) if !screen.reconnects() => {
                screen.note(&[Line::error(line)]);
                screen.show_final(&[]);
                return (Outcome::ServerGone, None);
            }
            End::Lost(line) => {
                screen.note(&[Line::error(line)]);
                let name = session.me().to_string();
                backoff.lost();
                match reconnect(settings, inputs, screen, local, &name, &mut backoff).await {
                    Ok(logged_in) => {
                        session.restart(&logged_in.name);
                        connection = start(logged_in, &mut session, screen);
                        backoff.connected();
                    }
                    Err(outcome) => return (outcome, None),
                }
            }
        }
    }
}

/// A session begins: what the server sent before its login answer is shown
/// after the login line, as it would have been after it.
fn start(logged_in: LoggedIn, session: &mut Session, screen: &mut dyn Screen) -> Connection {
    let early = &logged_in.early;
    for message in &early.kept {
        let event = match message {
            EarlyMessage::Delivery(from, body) => {
                session.receive(ServerMessage::Delivery { from, body })
            }
            EarlyMessage::Unexpected => Some(Event::Unexpected),
        };
        if let Some(event) = event {
            add_event(event, screen);
        }
    }
    if early.dropped > 0 {
        screen.add_note(&Line::notice(text::early_not_kept(early.dropped)));
    }
    if !early.kept.is_empty() || early.dropped > 0 {
        screen.flush();
    }
    logged_in.connection
}

/// `--local`: starts a server unless one is listening already.
async fn host(
    settings: &Settings,
    screen: &mut dyn Screen,
) -> Result<Option<LocalServer>, Outcome> {
    match local::host(&settings.address, settings.port).await {
        Ok(Some(server)) => {
            screen.note(&[Line::notice(text::hosting(&settings.shown_address()))]);
            Ok(Some(server))
        }
        Ok(None) => Ok(None),
        Err(err) => {
            let reason = SafeText::neutralise_str(&describe_error(&err)).into_owned();
            screen.note(&[Line::error(text::cannot_host(
                &settings.shown_address(),
                &reason,
            ))]);
            Err(Outcome::Unreachable)
        }
    }
}

/// How a logged-in session ended.
enum End {
    /// The user quit, or a signal ended it.
    Quit(Outcome),
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
    if screen.completes_names() && !session.lists_refused() {
        connection.send(session.silent_list().to_bytes());
    }
    // After the end of input: when to stop waiting for the replies still owed.
    let mut ending: Option<Instant> = None;
    let mut first = true;
    loop {
        // Show everything that has arrived complete, in one go. Nothing is
        // copied on the way: the lines borrow the connection's buffer.
        let mut added = false;
        for message in connection.messages() {
            if let Some(event) = session.receive(message) {
                add_event(event, screen);
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
        if std::mem::take(&mut first) {
            screen.caught_up();
        }

        if let Some(deadline) = ending {
            if !session.awaits_replies() || Instant::now() >= deadline {
                return End::Quit(Outcome::Quit);
            }
        }

        // A screen that has not caught up with what it was given: read
        // nothing more from the server until it has.
        let full = backlog.as_deref().is_some_and(Backlog::full);
        tokio::select! {
            () = caught_up(backlog.as_deref()), if full => {}
            received = connection.receive(), if !full => match received {
                Ok(true) => {}
                // Also on the way out, while replies are still owed.
                Ok(false) => return End::Lost(text::SERVER_CLOSED.into()),
                Err(err) => {
                    let reason = SafeText::neutralise_str(&describe_error(&err)).into_owned();
                    return End::Lost(text::connection_lost(&reason));
                }
            },
            _ = sleep_until_deadline(ending) => {}
            input = inputs.next(), if !inputs.ended() => match input {
                UserInput::Interrupt => return End::Quit(Outcome::Quit),
                UserInput::Signal(signal) => return End::Quit(Outcome::Signalled(signal)),
                // On the way out, only the replies owed are waited for.
                _ if ending.is_some() => {}
                UserInput::Line(typed) => {
                    match session.command(Command::parse(&typed.text, dialect)) {
                        Action::Send(request) => connection.send_holding(request, typed.permit),
                        Action::Show(event) => {
                            tell(event, session, screen, dialect);
                            screen.flush();
                        }
                        Action::Quit => match wait_for_replies(session, inputs) {
                            Some(deadline) => ending = Some(deadline),
                            None => return End::Quit(Outcome::Quit),
                        },
                        Action::Nothing => {}
                    }
                }
                // A server that refused a list: the names known now.
                UserInput::RefreshNames if session.lists_refused() => {
                    names.give(session, screen, true);
                }
                UserInput::RefreshNames => {
                    connection.send(session.silent_list().to_bytes());
                    names.refresh_asked = true;
                }
                // Input ended (a closed pipe, Ctrl-D): show the replies to what
                // was already sent, then quit.
                UserInput::Eof => match wait_for_replies(session, inputs) {
                    Some(deadline) => ending = Some(deadline),
                    None => return End::Quit(Outcome::Quit),
                },
            },
        }
    }
}

/// On the way out (`!quit`, typed or piped in after other lines, or the end
/// of input): until when to wait for the replies owed, if at all. Lines a
/// script wrote ahead get their replies, up to [`REPLY_GRACE`]; a person at
/// a terminal, who sees the replies as they come, quits at once.
fn wait_for_replies(session: &Session, inputs: &Inputs) -> Option<Instant> {
    (session.awaits_replies() && !inputs.interactive()).then(|| Instant::now() + REPLY_GRACE)
}

/// Adds the lines of an event from the server: the assignment's lines as
/// such, anything else as a note of the client's own.
fn add_event(event: Event<'_>, screen: &mut dyn Screen) {
    if is_the_assignments(&event) {
        render(event, |line| screen.add(&line));
    } else {
        render(event, |line| screen.add_note(&line));
    }
}

/// Tells the user something a typed command made (no request): adds its
/// lines, and follows a change of conversation in the prompt.
fn tell(event: Event<'_>, session: &Session, screen: &mut dyn Screen, dialect: Dialect) {
    match event {
        Event::Hint if dialect == Dialect::Rich => screen.add_note(&Line::notice(text::RICH_HINT)),
        Event::Conversation(_) => {
            add_event(event, screen);
            let with = session.conversation().map(SafeText::neutralise_str);
            screen.conversation(with.as_ref());
        }
        event => add_event(event, screen),
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
            return self.give(session, screen, false);
        };
        let listed = now.1 != given.1;
        if now.0 != given.0 || (self.refresh_asked && listed) {
            self.give(session, screen, listed);
        }
    }

    /// `listed`: the names are the server's answer to a list (or it answers
    /// none), not only what messages taught.
    fn give(&mut self, session: &Session, screen: &mut dyn Screen, listed: bool) {
        self.refresh_asked = false;
        let names = session
            .names_by_recency()
            .into_iter()
            .map(|name| SafeText::neutralise_str(name).into_owned())
            .collect();
        screen.names_changed(names, listed);
    }
}

/// How long the client waits, after the end of input (or a `!quit`) from a
/// script, for the replies to requests already sent.
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
