//! Every exact line of the user interface, in one place.
//!
//! The assignment's lines (RI2-RI12, R13) are matched by the course's grading
//! scripts with regular expressions, so they must be reproduced to the letter,
//! including the spelling `succesfully`. The tests import these, never copies.
//!
//! Lines that carry text from elsewhere (a name, a reason) take it as
//! [`SafeText`] and give a [`SafeText`] back, so nothing unneutralised can be
//! built into a line.

use super::safe::SafeText;

/// Joins static pieces and safe pieces into one safe line. (Not `line!`,
/// which would hide the standard library's macro of that name.)
macro_rules! joined {
    ($($part:expr),* $(,)?) => {
        SafeText::concat(&[$(&SafeText::from($part)),*])
    };
}

/// Printed once at start, before connecting (RI2).
pub const WELCOME: &str = "Welcome to Chat Client. Enter your login:";

/// Login succeeded (RI3).
pub fn logged_in(name: &SafeText) -> SafeText<'static> {
    joined!("Successfully logged in as ", name.clone(), "!")
}

/// Login refused: the name is taken (RI4).
pub fn name_in_use(name: &SafeText) -> SafeText<'static> {
    joined!(
        "Cannot log in as ",
        name.clone(),
        ". That username is already in use."
    )
}

/// Login refused: the name is not allowed (RI5).
pub fn name_rejected(name: &SafeText) -> SafeText<'static> {
    joined!(
        "Cannot log in as ",
        name.clone(),
        ". That username contains disallowed characters."
    )
}

/// Login refused: the server is full (RI6).
pub const SERVER_FULL: &str = "Cannot log in. The server is full!";

/// The server accepted a message (RI8; the spelling is the assignment's).
pub const SENT: &str = "The message was sent succesfully";

/// The destination of a message is not logged in (RI9).
pub const NO_SUCH_USER: &str = "The destination user does not exist";

/// The text before the sender's name in [`message_from`].
pub const FROM_PREFIX: &str = "From ";
/// The text between the sender's name and the message in [`message_from`].
pub const FROM_SEPARATOR: &str = ": ";

/// A message from another user (RI10). The front ends write the same pieces
/// without building the string.
pub fn message_from(name: &SafeText, message: &SafeText) -> SafeText<'static> {
    joined!(FROM_PREFIX, name.clone(), FROM_SEPARATOR, message.clone())
}

/// The first line of a user list (RI11).
pub fn user_count(count: usize) -> SafeText<'static> {
    joined!(
        "There are ",
        SafeText::number(count as u64),
        " online users:"
    )
}

/// One line per user of a user list (RI11).
pub fn user_entry(name: &SafeText) -> SafeText<'static> {
    joined!("- ", name.clone())
}

/// The server rejected the header of the previous request (RI12).
pub const BAD_HEADER: &str = "Error: Unknown issue in previous message header.";

/// The server rejected the body of the previous request (R13).
pub const BAD_BODY: &str = "Error: Unknown issue in previous message body.";

// ---- Lines of our own (not in the assignment) ---------------------------

/// The server closed the connection after a login attempt without answering.
pub fn login_no_answer(name: &SafeText) -> SafeText<'static> {
    joined!(
        "Cannot log in as ",
        name.clone(),
        ". The server closed the connection without an answer; try again."
    )
}

/// The server could not be reached.
pub fn cannot_connect(address: &SafeText, reason: &SafeText) -> SafeText<'static> {
    joined!(
        "Cannot connect to the chat server at ",
        address.clone(),
        ": ",
        reason.clone()
    )
}

/// The connection to the server ended after login.
pub const SERVER_CLOSED: &str = "The server closed the connection.";

/// The connection failed after login.
pub fn connection_lost(reason: &SafeText) -> SafeText<'static> {
    joined!("Lost the connection to the server: ", reason.clone())
}

/// A typed line that is not a command.
pub const COMMAND_HINT: &str =
    "Type @<username> <message> to send a message, !who to list users, or !quit to exit.";

/// A message whose sender's name is empty: shown so that it cannot pass for
/// a message from a user (`From : ...`).
pub fn no_sender(message: &SafeText) -> SafeText<'static> {
    joined!("A message without a sender's name: ", message.clone())
}

/// The server sent something that does not fit at this moment, or that the
/// client does not know. The raw header is never shown.
pub const UNEXPECTED_REPLY: &str = "(The server sent a reply that was not expected; ignored.)";

/// `chat --local` started an embedded server.
pub fn hosting(address: &SafeText) -> SafeText<'static> {
    joined!(
        "Started a local chat server at ",
        address.clone(),
        "; it stops when this client quits."
    )
}

/// `chat --local` could not start its server.
pub fn cannot_host(address: &SafeText, reason: &SafeText) -> SafeText<'static> {
    joined!(
        "Cannot start a local chat server at ",
        address.clone(),
        ": ",
        reason.clone()
    )
}

/// No login answer came in time.
pub fn login_timed_out(address: &SafeText, seconds: u64) -> SafeText<'static> {
    joined!(
        "The server at ",
        address.clone(),
        " did not answer the login within ",
        SafeText::number(seconds),
        " seconds; is it a chat server?"
    )
}

/// The server answered the login with something outside the protocol.
pub fn not_a_chat_server(address: &SafeText) -> SafeText<'static> {
    joined!(
        "The server at ",
        address.clone(),
        " is not a chat server: its answer is not part of the chat protocol."
    )
}

/// A typed message with a line break inside (a carriage return), not sent.
pub const LINE_BREAK: &str =
    "Not sent: a message cannot contain a line break (here a carriage return).";

/// Nothing listens on a local address: `--local` would start a server.
pub const TRY_LOCAL: &str = "To start a chat server here, run the client with --local.";

// ---- Rich mode ---------------------------------------------------------------

/// A typed line that is not a command, in rich mode.
pub const RICH_HINT: &str = "To send: @<name> <message>. To talk to someone: @<name>. More: !help";

/// Asked again for a name (after a reconnect found the name taken).
pub const ENTER_LOGIN: &str = "Enter your login:";

/// The connection is being restored.
pub fn reconnecting(seconds: u64) -> SafeText<'static> {
    joined!(
        "Reconnecting in ",
        SafeText::number(seconds),
        " s... (!quit or Ctrl-C stops)"
    )
}

/// A reconnection attempt failed.
pub fn reconnect_failed(reason: &SafeText) -> SafeText<'static> {
    joined!("Could not reconnect: ", reason.clone())
}

/// A line typed while not connected.
pub const NOT_CONNECTED: &str =
    "Not connected, so that was not sent; it is in your history (press Up).";

/// A conversation started.
pub fn talking_to(name: &SafeText) -> SafeText<'static> {
    joined!(
        "Talking to ",
        name.clone(),
        ": lines without @ or ! go to ",
        name.clone(),
        "; a lone @ ends this."
    )
}

/// The conversation ended.
pub const NO_CONVERSATION: &str =
    "No conversation: start a line with @<username> to send a message.";

/// `!r` with nobody to answer.
pub const NOBODY_TO_ANSWER: &str = "Nobody has written to you yet, so there is nobody to answer.";

/// The heading of `!help`.
pub const HELP_HEADING: &str = "Commands:";

/// One line of `!help`: the command, padded to `width`, and what it does.
pub fn help_entry(command: &'static str, width: usize, meaning: &'static str) -> SafeText<'static> {
    const SPACES: &str = "                                ";
    let pad = &SPACES[..width.saturating_sub(command.len()).min(SPACES.len())];
    joined!("  ", command, pad, "  ", meaning)
}

/// What the hosting user's server tells everyone when that user quits.
pub const HOST_LEFT: &str = "(left the chat; the chat server they were hosting is closing now)";

/// A half-typed line, printed on the way out so that it can be copied.
pub fn not_sent(line: &SafeText) -> SafeText<'static> {
    joined!("Not sent: ", line.clone())
}

/// Lines that came just before the program ended, on a terminal too slow
/// to show them in time.
pub fn not_shown(lines: usize) -> SafeText<'static> {
    let what = if lines == 1 {
        " more line"
    } else {
        " more lines"
    };
    joined!(
        "(",
        SafeText::number(u64::try_from(lines).unwrap_or(u64::MAX)),
        what,
        " not shown: the terminal did not keep up)"
    )
}

/// Messages that came before the login answer, beyond what is kept of them.
pub fn early_not_kept(messages: usize) -> SafeText<'static> {
    let what = if messages == 1 {
        " more message"
    } else {
        " more messages"
    };
    joined!(
        "(",
        SafeText::number(u64::try_from(messages).unwrap_or(u64::MAX)),
        what,
        " sent before the login answer not kept: too much came before it)"
    )
}

/// The history file could not be used.
pub fn no_history(path: &SafeText, reason: &SafeText) -> SafeText<'static> {
    joined!(
        "Cannot keep the history in ",
        path.clone(),
        " (",
        reason.clone(),
        "); going on without it."
    )
}

/// Why a path names no file for the history or the log: it is something
/// else (a FIFO, a device).
pub const NOT_A_FILE: &str = "not a regular file";

/// The log file could not be used.
pub fn no_log(path: &SafeText, reason: &SafeText) -> SafeText<'static> {
    joined!(
        "Cannot write the log to ",
        path.clone(),
        " (",
        reason.clone(),
        "); going on without it."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_not_kept_are_counted_in_good_english() {
        assert_eq!(
            early_not_kept(1).as_str(),
            "(1 more message sent before the login answer not kept: too much came before it)"
        );
        assert!(early_not_kept(2)
            .as_str()
            .starts_with("(2 more messages sent"));
    }

    #[test]
    fn lines_not_shown_are_counted_in_good_english() {
        assert_eq!(
            not_shown(1).as_str(),
            "(1 more line not shown: the terminal did not keep up)"
        );
        assert_eq!(
            not_shown(2).as_str(),
            "(2 more lines not shown: the terminal did not keep up)"
        );
    }
}
