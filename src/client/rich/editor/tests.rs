//! Tests of [`super`].

use super::*;

fn typed(text: &str) -> Editor {
    let mut editor = Editor::default();
    editor.insert(text);
    editor
}

fn press(editor: &mut Editor, keys: &[Key]) {
    for &key in keys {
        editor.handle(key);
    }
}

/// The line with `|` at the cursor.
fn shown(editor: &Editor) -> String {
    let mut line = editor.line().to_string();
    line.insert(editor.cursor(), '|');
    line
}

#[test]
fn typing_and_moving_by_what_the_user_sees() {
    let mut e = typed("ae\u{301}🇳🇱z");
    press(&mut e, &[Key::Left, Key::Left]);
    assert_eq!(shown(&e), "ae\u{301}|🇳🇱z", "a flag is one step");
    press(&mut e, &[Key::Backspace]);
    assert_eq!(shown(&e), "a|🇳🇱z", "e with an accent is one character");
    press(
        &mut e,
        &[Key::Char('x'), Key::Home, Key::Ctrl('d'), Key::End],
    );
    assert_eq!(shown(&e), "x🇳🇱z|");
    press(
        &mut e,
        &[Key::Ctrl('a'), Key::Delete, Key::Ctrl('e'), Key::Ctrl('b')],
    );
    assert_eq!(shown(&e), "🇳🇱|z");
}

#[test]
fn words_kills_and_yank() {
    let mut e = typed("@bob hello  wide world");
    press(&mut e, &[Key::Ctrl('w')]);
    assert_eq!(shown(&e), "@bob hello  wide |");
    press(&mut e, &[Key::Alt('b'), Key::Alt('b')]);
    assert_eq!(shown(&e), "@bob |hello  wide ");
    press(&mut e, &[Key::Alt('d')]);
    assert_eq!(shown(&e), "@bob |  wide ");
    press(&mut e, &[Key::End, Key::Ctrl('y')]);
    assert_eq!(shown(&e), "@bob   wide hello|");
    press(&mut e, &[Key::AltBackspace]);
    assert_eq!(shown(&e), "@bob   wide |");
    press(&mut e, &[Key::WordLeft, Key::Ctrl('k')]);
    assert_eq!(shown(&e), "@bob   |");
    press(&mut e, &[Key::WordLeft, Key::WordRight]);
    assert_eq!(shown(&e), "@bob|   ");
    press(&mut e, &[Key::Ctrl('u')]);
    assert_eq!(shown(&e), "|   ");
    press(&mut e, &[Key::Ctrl('y')]);
    assert_eq!(shown(&e), "@bob|   ");
}

#[test]
fn transpose() {
    let mut e = typed("ab");
    press(&mut e, &[Key::Ctrl('t')]);
    assert_eq!(shown(&e), "ba|");
    press(&mut e, &[Key::Home, Key::Right, Key::Ctrl('t')]);
    assert_eq!(shown(&e), "ab|");
}

#[test]
fn enter_ctrl_c_and_ctrl_d() {
    let mut e = typed("hello");
    assert_eq!(e.handle(Key::Enter), Outcome::Submit("hello".into()));
    assert_eq!(e.line(), "");
    assert_eq!(e.handle(Key::Ctrl('d')), Outcome::Eof);
    assert_eq!(e.handle(Key::Ctrl('c')), Outcome::Interrupt);
    e.insert("half");
    assert_eq!(e.handle(Key::Ctrl('c')), Outcome::Edited);
    assert_eq!(e.line(), "", "Ctrl-C clears a line that has text");
    e.handle(Key::Ctrl('y'));
    assert_eq!(e.line(), "half", "and Ctrl-Y brings it back");
    assert_eq!(e.handle(Key::Tab), Outcome::Complete);
    assert_eq!(e.handle(Key::PageUp), Outcome::Nothing);
}

#[test]
fn history_walks_and_keeps_the_line_being_typed() {
    let mut e = Editor::default();
    e.set_history(vec!["one".into(), "two".into()]);
    assert!(e.remember("three"));
    assert!(!e.remember("three"), "the same as the newest");
    assert!(!e.remember("  "));
    e.insert("draft");
    press(&mut e, &[Key::Up]);
    assert_eq!(shown(&e), "three|");
    press(&mut e, &[Key::Up, Key::Up, Key::Up]);
    assert_eq!(e.line(), "one", "the oldest stays");
    press(&mut e, &[Key::Down, Key::Down]);
    assert_eq!(e.line(), "three");
    press(&mut e, &[Key::Down]);
    assert_eq!(shown(&e), "draft|", "the typed line comes back");
    press(&mut e, &[Key::Down]);
    assert_eq!(e.line(), "draft");
}

#[test]
fn history_is_bounded() {
    let mut e = Editor::default();
    e.set_history((0..HISTORY_SIZE + 5).map(|i| i.to_string()).collect());
    assert_eq!(e.entry(0), "5");
    e.remember("new");
    assert_eq!(e.entry(0), "6");
    assert_eq!(e.entry(HISTORY_SIZE - 1), "new");
}

#[test]
fn reverse_search() {
    let mut e = Editor::default();
    e.set_history(vec!["@bob hi".into(), "@amy hello".into(), "!who".into()]);
    e.insert("draft");
    press(&mut e, &[Key::Ctrl('r'), Key::Char('h')]);
    let search = e.search().unwrap();
    assert_eq!((search.query.as_str(), search.found), ("h", Some(2)));
    press(&mut e, &[Key::Char('e')]);
    assert_eq!(e.search().unwrap().found, Some(1), "the newest with \"he\"");
    press(&mut e, &[Key::Backspace, Key::Ctrl('r'), Key::Ctrl('r')]);
    assert_eq!(e.search().unwrap().found, Some(0), "the next older matches");
    press(&mut e, &[Key::Ctrl('r')]);
    assert_eq!(e.search().unwrap().found, Some(0), "none older: stays");
    // Cancelled: the draft comes back.
    press(&mut e, &[Key::Ctrl('g')]);
    assert_eq!(shown(&e), "draft|");
    // Another key ends the search with the line found, then acts.
    press(
        &mut e,
        &[Key::Ctrl('r'), Key::Char('a'), Key::Char('m'), Key::Home],
    );
    assert!(e.search().is_none());
    assert_eq!(shown(&e), "|@amy hello");
    // Enter submits what was found.
    press(&mut e, &[Key::Ctrl('r'), Key::Char('w')]);
    assert_eq!(e.handle(Key::Enter), Outcome::Submit("!who".into()));
}

#[test]
fn replace_for_completion() {
    let mut e = typed("@bo hi");
    e.handle(Key::Home);
    e.handle(Key::Right);
    e.handle(Key::Right);
    e.handle(Key::Right);
    e.replace(0..3, "@bob");
    assert_eq!(shown(&e), "@bob| hi");
}
