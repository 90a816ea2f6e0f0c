//! Every exact line of the user interface, in one place.
//!
//! The assignment's lines (RI2-RI12, R13) are matched by the course's grading
//! scripts with regular expressions, so they must be reproduced to the letter,
//! including the spelling `succesfully`. The tests import these, never copies.

/// Printed once at start, before connecting (RI2).
pub const WELCOME: &str = "Welcome to Chat Client. Enter your login:";

/// Login succeeded (RI3).
pub fn logged_in(name: &str) -> String {
    format!("Successfully logged in as {name}!")
}

/// Login refused: the name is taken (RI4).
pub fn name_in_use(name: &str) -> String {
    format!("Cannot log in as {name}. That username is already in use.")
}

/// Login refused: the name is not allowed (RI5).
pub fn name_rejected(name: &str) -> String {
    format!("Cannot log in as {name}. That username contains disallowed characters.")
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

/// A message from another user (RI10). The plain front end writes the same
/// pieces without building the string.
pub fn message_from(name: &str, message: &str) -> String {
    [FROM_PREFIX, name, FROM_SEPARATOR, message].concat()
}

/// The first line of a user list (RI11).
pub fn user_count(count: usize) -> String {
    format!("There are {count} online users:")
}

/// One line per user of a user list (RI11).
pub fn user_entry(name: &str) -> String {
    format!("- {name}")
}

/// The server rejected the header of the previous request (RI12).
pub const BAD_HEADER: &str = "Error: Unknown issue in previous message header.";

/// The server rejected the body of the previous request (R13).
pub const BAD_BODY: &str = "Error: Unknown issue in previous message body.";

// ---- Lines of our own (not in the assignment) ---------------------------

/// The server closed the connection after a login attempt without answering.
pub fn login_no_answer(name: &str) -> String {
    format!(
        "Cannot log in as {name}. The server closed the connection without an answer; try again."
    )
}

/// The server could not be reached.
pub fn cannot_connect(address: &str, reason: &str) -> String {
    format!("Cannot connect to the chat server at {address}: {reason}")
}

/// The connection to the server ended after login.
pub const SERVER_CLOSED: &str = "The server closed the connection.";

/// The connection failed after login.
pub fn connection_lost(reason: &str) -> String {
    format!("Lost the connection to the server: {reason}")
}

/// A typed line that is not a command.
pub const COMMAND_HINT: &str =
    "Type @<username> <message> to send a message, !who to list users, or !quit to exit.";

/// The server sent something that does not fit at this moment, or that the
/// client does not know. The raw header is never shown.
pub const UNEXPECTED_REPLY: &str = "(The server sent a reply that was not expected; ignored.)";

/// `chat --local` started an embedded server.
pub fn hosting(address: &str) -> String {
    format!("Started a local chat server at {address}; it stops when this client quits.")
}

/// `chat --local` could not start its server.
pub fn cannot_host(address: &str, err: &std::io::Error) -> String {
    format!("Cannot start a local chat server at {address}: {err}")
}
