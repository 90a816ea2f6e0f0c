//! What the user types, parsed into commands.

/// The command that quits, at the name prompt and after login.
pub(crate) const QUIT: &str = "!quit";
/// The command that lists the users online.
pub(crate) const WHO: &str = "!who";

/// One typed line, after login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `!quit`
    Quit,
    /// `!who`
    Who,
    /// `@<to> <body>`: the body is exactly what follows the first space after
    /// the name, possibly empty (the server judges it).
    Send { to: &'a str, body: &'a str },
    /// An empty line: nothing to do.
    Empty,
    /// Anything else: the user gets a hint, and nothing is sent.
    Invalid,
}

impl<'a> Command<'a> {
    /// Parses one typed line (without its line ending).
    pub fn parse(line: &'a str) -> Command<'a> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim() == QUIT {
            return Command::Quit;
        }
        if line.trim() == WHO {
            return Command::Who;
        }
        if line.trim().is_empty() {
            return Command::Empty;
        }
        let Some(rest) = line.strip_prefix('@') else {
            return Command::Invalid;
        };
        let (to, body) = rest.split_once(' ').unwrap_or((rest, ""));
        if to.is_empty() || to.contains(char::is_whitespace) || body.contains(['\n', '\r']) {
            // A pasted line break would split the message into two requests.
            return Command::Invalid;
        }
        Command::Send { to, body }
    }
}

/// What the user typed at the name prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoginInput {
    /// `!quit`
    Quit,
    /// An empty line: ask again.
    Empty,
    /// A name that cannot travel in a `HELLO-FROM` line (it contains
    /// whitespace), rejected without asking the server.
    Unsendable(String),
    /// A name to try. The server decides whether it is allowed.
    Name(String),
}

impl LoginInput {
    /// Parses one line typed at the name prompt.
    pub(crate) fn parse(line: &str) -> LoginInput {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim() == QUIT {
            LoginInput::Quit
        } else if line.is_empty() {
            LoginInput::Empty
        } else if line.contains(char::is_whitespace) {
            LoginInput::Unsendable(line.to_string())
        } else {
            LoginInput::Name(line.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<'a>(to: &'a str, body: &'a str) -> Command<'a> {
        Command::Send { to, body }
    }

    #[test]
    fn quit_and_who() {
        assert_eq!(Command::parse("!quit"), Command::Quit);
        assert_eq!(Command::parse("!quit\r\n"), Command::Quit);
        assert_eq!(Command::parse("  !quit "), Command::Quit);
        assert_eq!(Command::parse("!who"), Command::Who);
        assert_eq!(Command::parse("!whom"), Command::Invalid);
    }

    #[test]
    fn message_body_is_everything_after_the_first_space() {
        assert_eq!(Command::parse("@bob hello"), send("bob", "hello"));
        assert_eq!(
            Command::parse("@bob  two  spaces "),
            send("bob", " two  spaces ")
        );
        assert_eq!(Command::parse("@bob ü €"), send("bob", "ü €"));
    }

    #[test]
    fn empty_body_is_sent_for_the_server_to_judge() {
        assert_eq!(Command::parse("@echobot "), send("echobot", ""));
        assert_eq!(Command::parse("@echobot"), send("echobot", ""));
    }

    #[test]
    fn other_lines_are_invalid_or_empty() {
        assert_eq!(Command::parse(""), Command::Empty);
        assert_eq!(Command::parse("   "), Command::Empty);
        assert_eq!(Command::parse("hello"), Command::Invalid);
        assert_eq!(Command::parse("@"), Command::Invalid);
        assert_eq!(Command::parse("@ hi"), Command::Invalid);
        assert_eq!(Command::parse("@bob\thi"), Command::Invalid);
        assert_eq!(Command::parse("@bob a\nSEND eve x"), Command::Invalid);
    }

    #[test]
    fn login_input() {
        assert_eq!(LoginInput::parse("!quit"), LoginInput::Quit);
        assert_eq!(LoginInput::parse(""), LoginInput::Empty);
        assert_eq!(
            LoginInput::parse("alice\n"),
            LoginInput::Name("alice".into())
        );
        assert_eq!(LoginInput::parse("@!"), LoginInput::Name("@!".into()));
        assert_eq!(LoginInput::parse("!who"), LoginInput::Name("!who".into()));
        assert_eq!(
            LoginInput::parse("a b"),
            LoginInput::Unsendable("a b".into())
        );
        assert_eq!(LoginInput::parse(" "), LoginInput::Unsendable(" ".into()));
    }
}
