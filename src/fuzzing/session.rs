//! The client's session driven by any mix of typed lines and server bytes:
//! what it renders is always safe to show.

use crate::client::command::{Command, Dialect, LoginInput};
use crate::client::render::{render, Line};
use crate::client::safe::needs_escape;
use crate::client::session::{Action, Session};
use crate::client::SafeText;
use crate::protocol::{ClientMessage, Frame, LineFramer, ServerMessage};

use super::messages::assert_one_line;

use super::Input;

fn assert_safe(lines: &[Line]) {
    for line in lines {
        let plain = line.plain();
        if let Some(c) = plain.chars().find(|&c| needs_escape(c)) {
            panic!("rendered line contains {c:?}: {plain:?}");
        }
        let mut written = Vec::new();
        line.append_plain(&mut written);
        assert_eq!(
            written,
            format!("{plain}\n").into_bytes(),
            "append_plain differs from plain"
        );
    }
}

/// Checks what a typed command asks to send: one request, which parses back to
/// itself (a typed line can never inject a second request).
fn check_action<'a>(action: Action<'a>, lines: &mut Vec<Line<'a>>) {
    match action {
        Action::Send(wire) => {
            assert_one_line(&wire);
            let request = ClientMessage::parse(&wire[..wire.len() - 1]);
            assert_eq!(
                request.to_bytes(),
                wire,
                "the request parses back to itself"
            );
        }
        Action::Show(event) => render(event, |line| lines.push(line)),
        Action::Quit | Action::Nothing => {}
    }
}

/// The client's receive path on any server stream, with commands in between:
/// `LineFramer::frames` -> `ServerMessage::parse` -> `Session::receive` -> `render`.
///
/// Input: a sequence of records, each a control byte and maybe bytes. Control
/// `c`: `c & 3` of 0, 1 or 2 feeds the next `c >> 2` bytes to the framer as one
/// chunk; 3 is a command chosen by `(c >> 2) & 3`: `!who`, `@x y`, a silent
/// `LIST`, or a typed line made of the next `c >> 4` bytes.
pub fn client_session(data: &[u8]) {
    let mut input = Input { data };
    let mut framer = LineFramer::new();
    let mut session = Session::new("me");
    while !input.data.is_empty() {
        // Declared first: the lines may borrow from it, and from the framer.
        let typed: String;
        let mut lines = Vec::new();
        let control = input.byte();
        if control & 3 != 3 {
            framer.push(input.take(usize::from(control >> 2)));
            for frame in framer.frames() {
                let Frame::Line(line) = frame else {
                    panic!("a framer without maximum reported a line too long");
                };
                if let Some(event) = session.receive(ServerMessage::parse(line)) {
                    render(event, |line| lines.push(line));
                }
                while let Some(notice) = session.next_notice() {
                    render(notice, |line| lines.push(line));
                }
            }
        } else {
            let action = match (control >> 2) & 3 {
                0 => session.command(Command::parse("!who", Dialect::Plain)),
                1 => session.command(Command::parse("@x y", Dialect::Plain)),
                2 => Action::Send(session.silent_list().to_bytes()),
                _ => {
                    typed =
                        String::from_utf8_lossy(input.take(usize::from(control >> 4))).into_owned();
                    // The name prompt accepts what it can send.
                    if let LoginInput::Name(name) = LoginInput::parse(&typed) {
                        let wire = ClientMessage::HelloFrom(name.as_bytes()).to_bytes();
                        assert_one_line(&wire);
                        assert_eq!(
                            ClientMessage::parse(&wire[..wire.len() - 1]),
                            ClientMessage::HelloFrom(name.as_bytes())
                        );
                    }
                    // Rich mode's commands are a superset of plain mode's:
                    // odd lengths are typed in one, even in the other.
                    let dialect = if control & 0x10 == 0 {
                        Dialect::Plain
                    } else {
                        Dialect::Rich
                    };
                    session.command(Command::parse(&typed, dialect))
                }
            };
            check_action(action, &mut lines);
        }
        assert_safe(&lines);
        // Names offered for completion are printable and have no spaces,
        // and the user's own name comes last.
        for name in session.names().chain(session.names_by_recency()) {
            assert!(!name.is_empty());
            assert!(
                !name.chars().any(|c| c.is_whitespace() || needs_escape(c)),
                "{name:?}"
            );
        }
        let ordered = session.names_by_recency();
        if ordered.contains(&"me") {
            assert_eq!(ordered.last(), Some(&"me"), "the user's own name last");
        }
    }
    // Remote text on its own, whatever the bytes.
    let shown = SafeText::neutralise(data);
    assert!(
        !shown.chars().any(needs_escape),
        "the neutraliser let through {shown:?}"
    );
}
