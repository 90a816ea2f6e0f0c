//! How the program ended, and the exit status that says so.

use std::process::ExitCode;

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The user quit (`!quit`, end of input, Ctrl-C as a key in rich mode).
    Quit,
    /// A signal ended it (SIGINT, SIGTERM, SIGHUP): its number.
    Signalled(i32),
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
            // The shells' convention: 128 + the signal's number (130 for
            // SIGINT, 143 for SIGTERM, 129 for SIGHUP).
            Outcome::Signalled(signal) => u8::try_from(signal)
                .ok()
                .and_then(|signal| signal.checked_add(128))
                .map_or(ExitCode::FAILURE, ExitCode::from),
            Outcome::ServerFull
            | Outcome::Unreachable
            | Outcome::ServerGone
            | Outcome::NoAnswer
            | Outcome::NotChatServer => ExitCode::FAILURE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_ends_with_128_and_its_number() {
        assert_eq!(ExitCode::from(Outcome::Signalled(15)), ExitCode::from(143));
        assert_eq!(ExitCode::from(Outcome::Signalled(2)), ExitCode::from(130));
        assert_eq!(ExitCode::from(Outcome::Signalled(1)), ExitCode::from(129));
        assert_eq!(ExitCode::from(Outcome::Signalled(300)), ExitCode::FAILURE);
        assert_eq!(ExitCode::from(Outcome::Quit), ExitCode::SUCCESS);
    }
}
