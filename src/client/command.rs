//! What the user types, parsed into commands.
//!
//! Plain mode understands exactly the assignment's commands. Rich mode adds
//! conversations and a few commands of its own ([`Dialect::Rich`]); every
//! line that means something in plain mode means the same in rich mode,
//! except `@name` with nothing after it, which starts a conversation.

/// The command that quits, at the name prompt and after login.
pub(crate) const QUIT: &str = "!quit";
/// The command that lists the users online.
pub(crate) const WHO: &str = "!who";
/// Rich mode: starts (`!to bob`) or leaves (`!to`) a conversation.
pub(crate) const TO: &str = "!to";
/// Rich mode: answers the last person who wrote to you.
pub(crate) const REPLY: &str = "!reply";
/// Rich mode: short for [`REPLY`].
pub(crate) const REPLY_SHORT: &str = "!r";
/// Rich mode: lists the commands.
pub(crate) const HELP: &str = "!help";

/// Every command of rich mode with its one-line description, in the order
/// `!help` lists them (and Tab offers them).
pub(crate) const RICH_COMMANDS: &[(&str, &str)] = &[
    ("@<name> <message>", "send <message> to <name>"),
    ("@<name>", "talk to <name>: other lines go to them"),
    ("@", "leave the conversation"),
    (TO, "!to <name> is @<name>; !to alone is @"),
    (REPLY, "!reply <message> (or !r): answer the last sender"),
    (WHO, "list the users online"),
    (HELP, "show this list"),
    (QUIT, "leave (Ctrl-D on an empty line too)"),
];

/// Which commands a front end understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Exactly the assignment's commands.
    Plain,
    /// The assignment's commands, conversations and the commands of rich mode.
    Rich,
}

/// One typed line, after login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// `!quit`
    Quit,
    /// `!who`
    Who,
    /// `@<to> <body>`: the body is exactly what follows the first space after
    /// the name, possibly empty (the server judges it).
    Send { to: &'a str, body: &'a str },
    /// Rich mode: a line for the current conversation (one that starts with
    /// neither `@` nor `!`).
    Say(&'a str),
    /// Rich mode: `@<name>` or `!to <name>` (start a conversation), `@` or
    /// `!to` (leave it).
    Converse(Option<&'a str>),
    /// Rich mode: `!r <body>` or `!reply <body>`.
    Reply(&'a str),
    /// Rich mode: `!help`.
    Help,
    /// An empty line: nothing to do.
    Empty,
    /// Anything else: the user gets a hint, and nothing is sent.
    Invalid,
    /// A line with a line break inside (a carriage return, which servers
    /// may take for the end of a line): nothing is sent, and the user is
    /// told why.
    LineBreak,
}

impl<'a> Command<'a> {
    /// Parses one typed line (without its line ending).
    pub(crate) fn parse(line: &'a str, dialect: Dialect) -> Command<'a> {
        let line = line.trim_end_matches(['\r', '\n']);
        let trimmed = line.trim();
        if trimmed == QUIT {
            return Command::Quit;
        }
        if trimmed == WHO {
            return Command::Who;
        }
        if trimmed.is_empty() {
            return Command::Empty;
        }
        if line.contains(['\n', '\r']) {
            // A line break would split the message into two requests.
            return Command::LineBreak;
        }
        if dialect == Dialect::Rich {
            if let Some(command) = Command::parse_rich(line, trimmed) {
                return command;
            }
        }
        let Some(rest) = line.strip_prefix('@') else {
            return Command::Invalid;
        };
        let (to, body) = rest.split_once(' ').unwrap_or((rest, ""));
        if to.is_empty() || to.contains(char::is_whitespace) {
            return Command::Invalid;
        }
        Command::Send { to, body }
    }

    /// The lines that mean something only in rich mode.
    fn parse_rich(line: &'a str, trimmed: &'a str) -> Option<Command<'a>> {
        if trimmed == HELP {
            return Some(Command::Help);
        }
        if let Some(rest) = line.strip_prefix('@') {
            // Spaces after the name alone (Tab completion leaves one) send
            // nothing: the line means the conversation, as without them.
            let rest = rest.trim_end();
            if rest.is_empty() {
                return Some(Command::Converse(None));
            }
            if !rest.contains(char::is_whitespace) {
                return Some(Command::Converse(Some(rest)));
            }
            return None;
        }
        if line.starts_with('!') {
            let (head, arg) = line.split_once(' ').unwrap_or((line, ""));
            return Some(match head {
                TO => match arg.trim() {
                    "" => Command::Converse(None),
                    name if !name.contains(char::is_whitespace) => Command::Converse(Some(name)),
                    _ => Command::Invalid,
                },
                REPLY | REPLY_SHORT if arg.trim().is_empty() => Command::Reply(""),
                REPLY | REPLY_SHORT => Command::Reply(arg),
                _ => Command::Invalid,
            });
        }
        Some(Command::Say(line))
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

    fn plain(line: &str) -> Command<'_> {
        Command::parse(line, Dialect::Plain)
    }

    fn rich(line: &str) -> Command<'_> {
        Command::parse(line, Dialect::Rich)
    }

    #[test]
    fn quit_and_who() {
        for parse in [plain, rich] {
            assert_eq!(parse("!quit"), Command::Quit);
            assert_eq!(parse("!quit\r\n"), Command::Quit);
            assert_eq!(parse("  !quit "), Command::Quit);
            assert_eq!(parse("!who"), Command::Who);
            assert_eq!(parse("!whom"), Command::Invalid);
        }
    }

    #[test]
    fn message_body_is_everything_after_the_first_space() {
        for parse in [plain, rich] {
            assert_eq!(parse("@bob hello"), send("bob", "hello"));
            assert_eq!(parse("@bob  two  spaces "), send("bob", " two  spaces "));
            assert_eq!(parse("@bob ü €"), send("bob", "ü €"));
        }
        assert_eq!(plain("@echobot "), send("echobot", ""));
    }

    #[test]
    fn plain_mode_sends_an_empty_body_for_the_server_to_judge() {
        assert_eq!(plain("@echobot"), send("echobot", ""));
    }

    #[test]
    fn plain_mode_has_only_the_assignments_commands() {
        assert_eq!(plain(""), Command::Empty);
        assert_eq!(plain("   "), Command::Empty);
        assert_eq!(plain("hello"), Command::Invalid);
        assert_eq!(plain("@"), Command::Invalid);
        assert_eq!(plain("@ hi"), Command::Invalid);
        assert_eq!(plain("@bob\thi"), Command::Invalid);
        assert_eq!(plain("@bob a\nSEND eve x"), Command::LineBreak);
        assert_eq!(plain("@bob a\rb"), Command::LineBreak);
        assert_eq!(plain("@bob \rb"), Command::LineBreak);
        assert_eq!(
            plain("@bob ab\r\n"),
            Command::Send {
                to: "bob",
                body: "ab"
            }
        );
        assert_eq!(plain("!help"), Command::Invalid);
        assert_eq!(plain("!r hi"), Command::Invalid);
        assert_eq!(plain("!to bob"), Command::Invalid);
    }

    #[test]
    fn rich_mode_conversations() {
        assert_eq!(rich("@bob"), Command::Converse(Some("bob")));
        assert_eq!(rich("@bob "), Command::Converse(Some("bob")));
        assert_eq!(rich("@bob  \t"), Command::Converse(Some("bob")));
        assert_eq!(rich("@ "), Command::Converse(None));
        // Plain mode sends it as typed: the server judges an empty message.
        assert_eq!(
            plain("@bob "),
            Command::Send {
                to: "bob",
                body: ""
            }
        );
        assert_eq!(rich("@"), Command::Converse(None));
        assert_eq!(rich("!to bob"), Command::Converse(Some("bob")));
        assert_eq!(rich("!to  bob "), Command::Converse(Some("bob")));
        assert_eq!(rich("!to"), Command::Converse(None));
        assert_eq!(rich("!to a b"), Command::Invalid);
        assert_eq!(rich("hello there"), Command::Say("hello there"));
        assert_eq!(rich(" indented"), Command::Say(" indented"));
        assert_eq!(rich("@bob\thi"), Command::Invalid);
        assert_eq!(rich("a\nSEND eve x"), Command::LineBreak);
    }

    #[test]
    fn rich_mode_reply_and_help() {
        assert_eq!(rich("!r thanks"), Command::Reply("thanks"));
        assert_eq!(rich("!reply thanks a lot"), Command::Reply("thanks a lot"));
        assert_eq!(rich("!r"), Command::Reply(""));
        assert_eq!(rich("!r   "), Command::Reply(""));
        assert_eq!(rich("!help"), Command::Help);
        assert_eq!(rich("!nonsense"), Command::Invalid);
        assert_eq!(rich("!"), Command::Invalid);
    }

    #[test]
    fn every_rich_command_is_listed() {
        let listed: Vec<&str> = RICH_COMMANDS.iter().map(|(c, _)| *c).collect();
        for command in [QUIT, WHO, TO, REPLY, HELP] {
            assert!(listed.contains(&command), "{command}");
        }
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
