//! Logging in: one new connection per attempt (the server closes the
//! connection after a refusal), `HELLO-FROM`, and the server's answer.

use std::io;
use std::time::Duration;

use super::connection::Connection;
use crate::protocol::{ClientMessage, ServerMessage};

/// How long a server may take to accept the connection, and then to answer
/// `HELLO-FROM`.
pub(super) const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's answer to one login attempt.
pub(super) enum LoginAnswer {
    /// Logged in, under the name the server confirmed (empty if it gave none).
    Accepted(Connection, String),
    InUse,
    Rejected,
    Busy,
    /// The connection closed (or broke) before an answer.
    NoAnswer,
    /// No answer within [`LOGIN_TIMEOUT`].
    TimedOut,
    /// The first thing the server said is not part of the chat protocol.
    NotChatServer,
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
/// the connection, for the session.
async fn answer(mut connection: Connection) -> LoginAnswer {
    loop {
        let answer = connection.messages().find_map(|message| match message {
            ServerMessage::Hello(confirmed) => {
                Some(Ok(String::from_utf8_lossy(confirmed).into_owned()))
            }
            ServerMessage::InUse => Some(Err(LoginAnswer::InUse)),
            ServerMessage::Busy => Some(Err(LoginAnswer::Busy)),
            ServerMessage::BadRequestBody | ServerMessage::BadRequestHeader => {
                Some(Err(LoginAnswer::Rejected))
            }
            ServerMessage::Unknown(_) => Some(Err(LoginAnswer::NotChatServer)),
            // A chat message that is not an answer to HELLO-FROM: wait for one.
            _ => None,
        });
        match answer {
            Some(Ok(confirmed)) => return LoginAnswer::Accepted(connection, confirmed),
            Some(Err(refused)) => return refused,
            None => {}
        }
        match connection.receive().await {
            Ok(true) => {}
            Ok(false) | Err(_) => return LoginAnswer::NoAnswer,
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
