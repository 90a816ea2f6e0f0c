//! Tab completion, sans-IO: `@` and a name, or `!` and a command, at the
//! start of the line.

use rustyline::completion::longest_common_prefix;

use crate::client::command::{HELP, QUIT, REPLY, REPLY_SHORT, TO, WHO};
use crate::client::safe::SafeText;

/// The commands Tab offers after `!`.
const COMMANDS: &[&str] = &[WHO, QUIT, TO, REPLY, REPLY_SHORT, HELP];

/// What Tab does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    /// The bytes of the line to replace...
    pub(crate) range: std::ops::Range<usize>,
    /// ... with this.
    pub(crate) with: String,
    /// When several candidates match: all of them, to show.
    pub(crate) choices: Vec<SafeText<'static>>,
}

/// Completes the first word of `line` up to `cursor`. `names` are offered
/// in their order (the session orders them: the last person who wrote
/// first, yourself last). A whole name or command gets a space after it,
/// unless one follows already. `None` when nothing matches.
pub(crate) fn complete(
    line: &str,
    cursor: usize,
    names: &[SafeText<'static>],
) -> Option<Completion> {
    let word = &line[..cursor];
    if word.contains(char::is_whitespace) {
        return None;
    }
    let (candidates, suffix): (Vec<&str>, &str) = if let Some(prefix) = word.strip_prefix('@') {
        let matching = names
            .iter()
            .map(|name| name.as_str())
            .filter(|name| name.starts_with(prefix))
            .collect();
        (matching, " ")
    } else if word.starts_with('!') {
        let matching = COMMANDS
            .iter()
            .copied()
            .filter(|command| command.starts_with(word))
            .collect();
        (matching, "")
    } else {
        return None;
    };
    let sigil = if word.starts_with('@') { "@" } else { "" };
    match candidates.as_slice() {
        [] => None,
        [only] => {
            // A command that takes an argument gets its space too.
            let space = if line[cursor..].starts_with(' ') {
                ""
            } else if sigil.is_empty() && [TO, REPLY, REPLY_SHORT].contains(only) {
                " "
            } else {
                suffix
            };
            Some(Completion {
                range: 0..cursor,
                with: format!("{sigil}{only}{space}"),
                choices: Vec::new(),
            })
        }
        several => {
            let choices: Vec<String> = several.iter().map(|c| format!("{sigil}{c}")).collect();
            Some(Completion {
                range: 0..cursor,
                with: longest_common_prefix(&choices).unwrap_or(sigil).to_string(),
                choices: choices
                    .iter()
                    .map(|c| SafeText::neutralise_str(c).into_owned())
                    .collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&'static str]) -> Vec<SafeText<'static>> {
        list.iter().map(|n| SafeText::from(*n)).collect()
    }

    #[test]
    fn one_name_completes_with_a_space() {
        let c = complete("@bo", 3, &names(&["alice", "bob"])).unwrap();
        assert_eq!((c.range, c.with.as_str()), (0..3, "@bob "));
        assert!(c.choices.is_empty());
    }

    #[test]
    fn no_second_space_before_a_space() {
        let c = complete("@bobb hello", 5, &names(&["bobby"])).unwrap();
        assert_eq!((c.range, c.with.as_str()), (0..5, "@bobby"));
        assert_eq!(complete("!t x", 2, &[]).unwrap().with, "!to");
    }

    #[test]
    fn several_names_give_the_common_start_and_the_list_in_order() {
        let c = complete("@", 1, &names(&["carol", "carl", "alice", "me"])).unwrap();
        assert_eq!(c.with, "@");
        let shown: Vec<&str> = c.choices.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            shown,
            ["@carol", "@carl", "@alice", "@me"],
            "the session's order"
        );
        let c = complete("@ca", 3, &names(&["carol", "carl", "alice"])).unwrap();
        assert_eq!(c.with, "@car");
    }

    #[test]
    fn commands_complete_at_the_start_of_a_line() {
        assert_eq!(complete("!w", 2, &[]).unwrap().with, "!who");
        assert_eq!(complete("!t", 2, &[]).unwrap().with, "!to ");
        let c = complete("!", 1, &[]).unwrap();
        assert_eq!(c.choices.len(), COMMANDS.len());
        let c = complete("!r", 2, &[]).unwrap();
        assert_eq!(c.with, "!r");
        assert_eq!(c.choices.len(), 2);
    }

    #[test]
    fn nothing_to_complete() {
        assert!(complete("@z", 2, &names(&["alice"])).is_none());
        assert!(complete("hello", 5, &names(&["alice"])).is_none());
        assert!(complete("@bob hi @al", 11, &names(&["alice"])).is_none());
        assert!(complete("!x", 2, &[]).is_none());
    }

    #[test]
    fn common_start_is_cut_at_a_character() {
        let c = complete("@", 1, &names(&["éa", "éb"])).unwrap();
        assert_eq!(c.with, "@é");
        let c = complete("@", 1, &names(&["x", "y"])).unwrap();
        assert_eq!(c.with, "@");
    }
}
