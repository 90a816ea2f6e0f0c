//! Where the user is at (asking for a name, chatting, offline), and what
//! that makes the prompt and the window title say.

use super::style::Style;
use crate::client::safe::SafeText;

/// Where the user is at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Nothing asked yet, or a login attempt under way: no prompt.
    #[default]
    Waiting,
    /// Asking for a name.
    AskingName,
    /// Logged in as `me`.
    Chatting { me: SafeText<'static> },
    /// Logged in as `me`, but the connection is lost.
    Offline { me: SafeText<'static> },
}

impl Phase {
    /// The name logged in as.
    pub(crate) fn me(&self) -> Option<&SafeText<'static>> {
        match self {
            Phase::Chatting { me } | Phase::Offline { me } => Some(me),
            Phase::Waiting | Phase::AskingName => None,
        }
    }

    /// The prompt, with the conversation (`with`) when chatting: as text,
    /// and styled (the same width). `None` while waiting.
    pub(crate) fn prompt(
        &self,
        with: Option<&SafeText<'_>>,
        style: &Style,
    ) -> Option<(String, String)> {
        let (me, end) = match self {
            Phase::Waiting => return None,
            Phase::AskingName => return Some(("> ".to_string(), "> ".to_string())),
            Phase::Chatting { me } => (me, "> "),
            Phase::Offline { me } => (me, " (offline)> "),
        };
        Some(match with {
            None => (format!("{me}{end}"), format!("{}{end}", style.name(me))),
            Some(with) => (
                format!("{me} -> {with}{end}"),
                format!("{} -> {}{end}", style.name(me), style.name(with)),
            ),
        })
    }

    /// The window title: who you are, and how many messages came since you
    /// last pressed a key.
    pub(crate) fn title(&self, unread: usize) -> String {
        match (self.me(), unread) {
            (None, _) => "chat".to_string(),
            (Some(me), 0) => format!("chat: {me}"),
            (Some(me), unread) => format!("chat: {me} ({unread})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::rich::style::Palette;

    fn style() -> Style {
        Style {
            palette: Palette::None,
            timestamps: false,
            me: Some("al".into()),
        }
    }

    fn prompt(phase: &Phase, with: Option<&SafeText<'_>>) -> String {
        phase.prompt(with, &style()).unwrap().1
    }

    #[test]
    fn prompts() {
        let me = || SafeText::from("al");
        assert_eq!(Phase::Waiting.prompt(None, &style()), None);
        assert_eq!(prompt(&Phase::AskingName, None), "> ");
        assert_eq!(prompt(&Phase::Chatting { me: me() }, None), "al> ");
        assert_eq!(
            prompt(&Phase::Chatting { me: me() }, Some(&"bo".into())),
            "al -> bo> "
        );
        assert_eq!(prompt(&Phase::Offline { me: me() }, None), "al (offline)> ");
        assert_eq!(
            prompt(&Phase::Offline { me: me() }, Some(&"bo".into())),
            "al -> bo (offline)> "
        );
    }

    #[test]
    fn titles() {
        assert_eq!(Phase::AskingName.title(3), "chat");
        assert_eq!(Phase::Chatting { me: "al".into() }.title(0), "chat: al");
        assert_eq!(Phase::Offline { me: "al".into() }.title(2), "chat: al (2)");
    }
}
