//! Rendering of events as lines of text.
//!
//! Remote text (names and messages) is made safe here, through the one
//! neutraliser ([`SafeText::neutralise`]): a line holds only [`SafeText`], so
//! a sender cannot control the recipient's terminal.

use super::command::RICH_COMMANDS;
use super::safe::SafeText;
use super::session::Event;
use super::text;

/// The kind of a line, which decides its colour in rich mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The assignment's informational lines.
    Info,
    /// Errors reported by the server or the connection.
    Error,
    /// Lines of our own: hints and notices.
    Notice,
}

/// One line of output, without its line ending.
///
/// Remote text that needs no change is borrowed from where it was received
/// (the connection's buffer), so showing a message copies it only into the
/// output, and a huge message is not copied at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// `From <name>: <message>`, kept in parts so that rich mode can colour the
    /// name and a huge message is never copied into a second string.
    From {
        name: SafeText<'a>,
        message: SafeText<'a>,
    },
    /// Any other line.
    Text(Kind, SafeText<'a>),
}

impl<'a> Line<'a> {
    pub fn info(text: impl Into<SafeText<'a>>) -> Line<'a> {
        Line::Text(Kind::Info, text.into())
    }

    pub fn error(text: impl Into<SafeText<'a>>) -> Line<'a> {
        Line::Text(Kind::Error, text.into())
    }

    pub fn notice(text: impl Into<SafeText<'a>>) -> Line<'a> {
        Line::Text(Kind::Notice, text.into())
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> Line<'static> {
        match self {
            Line::From { name, message } => Line::From {
                name: name.into_owned(),
                message: message.into_owned(),
            },
            Line::Text(kind, text) => Line::Text(kind, text.into_owned()),
        }
    }

    /// The plain text of the line, without its `\n`, in pieces: the same
    /// text as [`plain`](Self::plain) without building it first, so that a
    /// huge message is never copied and a flood of small ones costs no
    /// formatting.
    pub fn plain_parts(&self) -> [&[u8]; 4] {
        match self {
            // The pieces of text::message_from.
            Line::From { name, message } => [
                text::FROM_PREFIX.as_bytes(),
                name.as_bytes(),
                text::FROM_SEPARATOR.as_bytes(),
                message.as_bytes(),
            ],
            Line::Text(_, text) => [text.as_bytes(), b"", b"", b""],
        }
    }

    /// The length of the line's plain text, in bytes.
    pub fn len(&self) -> usize {
        self.plain_parts().iter().map(|part| part.len()).sum()
    }

    /// True for an empty line.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the line as plain text, with its `\n`.
    pub fn append_plain(&self, out: &mut Vec<u8>) {
        for part in self.plain_parts() {
            out.extend_from_slice(part);
        }
        out.push(b'\n');
    }

    /// The line as plain text, without its `\n`.
    pub fn plain(&self) -> SafeText<'static> {
        match self {
            Line::From { name, message } => text::message_from(name, message),
            Line::Text(_, text) => text.clone().into_owned(),
        }
    }
}

/// Whether `event` is shown with the assignment's lines (`From <name>:
/// <message>`, `The message was sent succesfully`, ...), rather than with
/// lines of the client's own (hints, notices, rich mode's commands). Plain
/// mode prints only the assignment's lines on standard output.
pub(crate) fn is_the_assignments(event: &Event<'_>) -> bool {
    match event {
        Event::Sent
        | Event::NoSuchUser
        | Event::Message { .. }
        | Event::Users(_)
        | Event::BadHeader
        | Event::BadBody => true,
        Event::NoSender { .. }
        | Event::Unexpected
        | Event::Hint
        | Event::LineBreak
        | Event::Conversation(_)
        | Event::NobodyToAnswer
        | Event::Help => false,
    }
}

/// Renders an event as the lines the assignment prescribes, handing each to
/// `emit` in order.
pub fn render<'a>(event: Event<'a>, mut emit: impl FnMut(Line<'a>)) {
    match event {
        Event::Sent => emit(Line::info(text::SENT)),
        Event::NoSuchUser => emit(Line::error(text::NO_SUCH_USER)),
        Event::Message { from, body } => emit(Line::From {
            name: SafeText::neutralise(from),
            message: SafeText::neutralise(body),
        }),
        Event::NoSender { body } => {
            emit(Line::notice(text::no_sender(&SafeText::neutralise(body))))
        }
        Event::Users(names) => {
            emit(Line::info(text::user_count(names.len())));
            for name in names {
                emit(Line::info(text::user_entry(&SafeText::neutralise(name))));
            }
        }
        Event::BadHeader => emit(Line::error(text::BAD_HEADER)),
        Event::BadBody => emit(Line::error(text::BAD_BODY)),
        Event::Unexpected => emit(Line::notice(text::UNEXPECTED_REPLY)),
        Event::Hint => emit(Line::notice(text::COMMAND_HINT)),
        Event::LineBreak => emit(Line::notice(text::LINE_BREAK)),
        Event::Conversation(Some(name)) => emit(Line::notice(text::talking_to(
            &SafeText::neutralise_str(&name),
        ))),
        Event::Conversation(None) => emit(Line::notice(text::NO_CONVERSATION)),
        Event::NobodyToAnswer => emit(Line::notice(text::NOBODY_TO_ANSWER)),
        Event::Help => {
            emit(Line::info(text::HELP_HEADING));
            let width = RICH_COMMANDS
                .iter()
                .map(|(c, _)| c.len())
                .max()
                .unwrap_or(0);
            for &(command, meaning) in RICH_COMMANDS {
                emit(Line::info(text::help_entry(command, width, meaning)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(event: Event) -> Vec<String> {
        let mut lines = Vec::new();
        render(event, |line| lines.push(line.plain().to_string()));
        lines
    }

    #[test]
    fn assignment_lines() {
        assert_eq!(plain(Event::Sent), [text::SENT]);
        assert_eq!(plain(Event::NoSuchUser), [text::NO_SUCH_USER]);
        assert_eq!(plain(Event::BadHeader), [text::BAD_HEADER]);
        assert_eq!(plain(Event::BadBody), [text::BAD_BODY]);
        assert_eq!(
            plain(Event::Message {
                from: &b"bob"[..],
                body: &b"hi there"[..]
            }),
            ["From bob: hi there"]
        );
    }

    #[test]
    fn a_message_without_a_sender_is_a_note_not_a_line_from_a_user() {
        let event = Event::NoSender {
            body: &b"bob: \x1b[2Jhi"[..],
        };
        assert!(!is_the_assignments(&event));
        let mut lines = Vec::new();
        render(event, |line| lines.push(line));
        assert!(matches!(lines[..], [Line::Text(Kind::Notice, _)]));
        assert_eq!(
            lines[0].plain().as_str(),
            "A message without a sender's name: bob: \\x1b[2Jhi"
        );
    }

    #[test]
    fn the_assignments_lines_are_told_from_the_clients_own() {
        let message = Event::Message {
            from: b"bob",
            body: b"hi",
        };
        for event in [
            Event::Sent,
            Event::NoSuchUser,
            message,
            Event::Users(vec![]),
            Event::BadHeader,
            Event::BadBody,
        ] {
            assert!(is_the_assignments(&event), "{event:?}");
        }
        for event in [
            Event::Unexpected,
            Event::Hint,
            Event::LineBreak,
            Event::Help,
        ] {
            assert!(!is_the_assignments(&event), "{event:?}");
        }
    }

    #[test]
    fn rich_help_and_hints_fit_80_columns_with_timestamps() {
        const TIMESTAMP: usize = "[HH:MM] ".len();
        let help = plain(Event::Help);
        assert_eq!(help.len(), 1 + RICH_COMMANDS.len());
        // (Plain mode's hint, `Event::Hint`, is rich mode's RICH_HINT.)
        let hints = [
            vec![text::RICH_HINT.to_string()],
            plain(Event::NobodyToAnswer),
            plain(Event::Conversation(None)),
        ];
        for line in help.iter().chain(hints.iter().flatten()) {
            assert!(TIMESTAMP + line.chars().count() < 80, "too wide: {line:?}");
        }
    }

    #[test]
    fn user_list_keeps_the_server_order() {
        assert_eq!(
            plain(Event::Users(vec![
                &b"echobot"[..],
                &b"zed"[..],
                &b"amy"[..]
            ])),
            ["There are 3 online users:", "- echobot", "- zed", "- amy"]
        );
        assert_eq!(
            plain(Event::Users(vec![&b"a"[..]])),
            ["There are 1 online users:", "- a"]
        );
    }

    #[test]
    fn append_plain_matches_plain() {
        for line in [
            Line::From {
                name: "bob".into(),
                message: "hi there".into(),
            },
            Line::info(text::SENT),
        ] {
            let mut out = b"before\n".to_vec();
            line.append_plain(&mut out);
            assert_eq!(out, format!("before\n{}\n", line.plain()).into_bytes());
        }
    }

    #[test]
    fn names_in_lists_and_senders_are_neutralised() {
        let lines = plain(Event::Users(vec![&b"\x1b]0;pwned\x07"[..]]));
        assert_eq!(lines[1], "- \\x1b]0;pwned\\x07");
        let lines = plain(Event::Message {
            from: &b"e\x1bvil"[..],
            body: &b"\x1b[31mred"[..],
        });
        assert_eq!(lines[0], "From e\\x1bvil: \\x1b[31mred");
    }
}
