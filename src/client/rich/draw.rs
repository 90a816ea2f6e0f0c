//! What the edit row looks like, sans-IO: the prompt and the line fitted into
//! one row of the terminal.
//!
//! The row never wraps: a line wider than the terminal scrolls sideways,
//! with `<` and `>` at the edges where text is hidden, and the last column
//! is never written. So the edit row is always exactly one row of the
//! terminal, whatever is typed. That is what lets rich mode print incoming
//! lines above it, and redraw it after a resize, without ever having to
//! guess where a wrapped line started (see `ui.rs`).

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use crate::client::safe::SafeText;

/// A prompt: its text, how it is styled, and how many columns it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prompt {
    /// The text, as it shows.
    text: String,
    /// With colour and style sequences, if any.
    pub(crate) styled: String,
    /// Columns taken on the screen.
    pub(crate) width: usize,
}

impl Prompt {
    /// A prompt of `text`, shown as `styled` (the same text, styled).
    pub(crate) fn new(text: &SafeText<'_>, styled: String) -> Prompt {
        Prompt {
            text: text.to_string(),
            width: UnicodeWidthStr::width(text.as_str()),
            styled,
        }
    }

    /// The text, as it shows.
    pub(crate) fn text(&self) -> SafeText<'static> {
        // Made from a safe text in `new`.
        SafeText::neutralise_str(&self.text).into_owned()
    }

    /// No prompt.
    pub(crate) fn none() -> Prompt {
        Prompt {
            text: String::new(),
            styled: String::new(),
            width: 0,
        }
    }
}

/// The edit row, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The prompt and the visible part of the line.
    pub(crate) text: String,
    /// The column of the cursor, from 0.
    pub(crate) cursor: usize,
    /// Columns the row takes.
    pub(crate) width: usize,
    /// The columns each character of the row takes, in order (what a
    /// terminal that rewraps the row goes by).
    pub(crate) cells: Vec<usize>,
}

/// The smallest part of a terminal's width that is left for the line; a
/// prompt that would leave less is not shown.
const MIN_LINE_COLUMNS: usize = 8;

/// Lays out `prompt` and `line` (with the cursor at byte `cursor`) in a
/// terminal `columns` wide. `scroll`, the first column of the line shown,
/// is kept between calls so that the view moves only when the cursor would
/// leave it.
pub(crate) fn row(
    prompt: &Prompt,
    line: &str,
    cursor: usize,
    columns: usize,
    scroll: &mut usize,
) -> Row {
    let usable = columns.saturating_sub(1).max(1);
    let prompt = if prompt.width + MIN_LINE_COLUMNS <= usable {
        prompt.clone()
    } else {
        Prompt::none()
    };
    let room = usable - prompt.width;
    let total = UnicodeWidthStr::width(line);
    let at = UnicodeWidthStr::width(&line[..floor_boundary(line, cursor)]);
    let view = View::fit(*scroll, at, total, room);
    *scroll = view.start;

    let mut shown = String::new();
    if view.more_left() {
        shown.push('<');
    }
    let (first, last) = (view.first(), view.last());
    let mut x = 0;
    for grapheme in line.graphemes(true) {
        let (start, end) = (x, x + UnicodeWidthStr::width(grapheme));
        x = end;
        if end <= first && start < first || start >= last {
            continue;
        }
        if start < first || end > last {
            // A wide character cut by an edge: blanks where it would be.
            shown.push_str(&" ".repeat(end.min(last) - start.max(first)));
        } else {
            shown.push_str(grapheme);
        }
    }
    if view.more_right() {
        let filled = UnicodeWidthStr::width(shown.as_str()) + view.start;
        shown.push_str(&" ".repeat(last.saturating_sub(filled)));
        shown.push('>');
    }
    let cells = [prompt.text.as_str(), shown.as_str()]
        .iter()
        .flat_map(|part| part.graphemes(true))
        .map(UnicodeWidthStr::width)
        .filter(|&width| width > 0)
        .collect();
    Row {
        width: prompt.width + UnicodeWidthStr::width(shown.as_str()),
        text: prompt.styled + &shown,
        cursor: prompt.width + at - view.start,
        cells,
    }
}

/// The largest character boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The part of a line that is shown: `room` columns from column `start`,
/// with a `<` in the first when text is hidden to the left, and a `>` in
/// the last when text (or the cell after it, where the cursor may be) is
/// hidden to the right.
#[derive(Debug, Clone, Copy)]
struct View {
    start: usize,
    room: usize,
    total: usize,
}

impl View {
    /// A terminal too narrow for markers shows text only.
    fn markers(self) -> bool {
        self.room >= 4
    }

    fn more_left(self) -> bool {
        self.markers() && self.start > 0
    }

    fn more_right(self) -> bool {
        self.markers() && self.total + 1 > self.start + self.room
    }

    /// The first column of the line shown as text.
    fn first(self) -> usize {
        self.start + usize::from(self.more_left())
    }

    /// The column of the line after the last one shown as text.
    fn last(self) -> usize {
        self.start + self.room - usize::from(self.more_right())
    }

    /// True when the cursor, at column `at` of the line, is on a column
    /// shown as text.
    fn shows(self, at: usize) -> bool {
        at >= self.first() && at < self.last()
    }

    /// The view for a cursor at `at` in a line `total` wide: the one from
    /// `start` if it still shows the cursor, otherwise one that puts the
    /// cursor a third of the way in from the edge it crossed.
    fn fit(start: usize, at: usize, total: usize, room: usize) -> View {
        let view = |start| View { start, room, total };
        if total < room {
            return view(0);
        }
        // Never more empty room after the end than the cell for the cursor
        // (after the window grew, say).
        let start = start.min(total + 1 - room.min(total + 1));
        if view(start).shows(at) {
            return view(start);
        }
        let mut start = if at < start {
            at.saturating_sub(room / 3)
        } else {
            (at + 1).saturating_sub(room - room / 3)
        };
        // A step at a time to a view that shows the cursor (one is always
        // near: the cursor one column in from either edge).
        for _ in 0..room + 2 {
            if view(start).shows(at) {
                break;
            }
            if at < view(start).first() {
                start = start.saturating_sub(1);
            } else {
                start += 1;
            }
        }
        view(start)
    }
}

/// How many rows above the cursor the edit row now starts, after the
/// terminal became `columns` wide, given the row's characters' widths
/// (`cells`), the column of the cursor in it (`cursor`), and the column the
/// terminal now says the cursor is at (`now`, from 0). A terminal that
/// rewraps lines moved the cursor to where it falls in the rewrapped row (a
/// wide character that does not fit at the end of a row starts the next
/// one); one that does not left it on the row, at the last column. When the
/// two cannot be told apart (the rewrapped cursor is on the last column
/// too), `rewraps` decides: whether the terminal is known to rewrap lines.
/// If it is not, 0: a stale piece of the row may stay above, but no line
/// above it is ever cleared.
pub(crate) fn rows_above_cursor(
    cells: &[usize],
    cursor: usize,
    now: usize,
    columns: usize,
    rewraps: bool,
) -> usize {
    if columns == 0 || cursor < columns {
        return 0;
    }
    let (row, column) = rewrapped(cells, cursor, columns);
    let cut = columns - 1;
    if row > 0 && now == column && (now != cut || rewraps) {
        row
    } else {
        0
    }
}

/// Where the cursor, at column `cursor` of a row of characters `cells`
/// wide, is once the row is rewrapped at `columns`: (row, column).
fn rewrapped(cells: &[usize], cursor: usize, columns: usize) -> (usize, usize) {
    let (mut row, mut x, mut at) = (0, 0, 0);
    let mut rest = cells.iter();
    for &width in rest.by_ref() {
        if x + width > columns {
            row += 1;
            x = 0;
        }
        if at + width > cursor {
            // The cursor is on this character.
            return (row, x);
        }
        x += width;
        at += width;
        if at == cursor {
            break;
        }
    }
    match rest.next() {
        // The character under the cursor starts the next row if it does
        // not fit on this one.
        Some(&width) if x + width > columns => (row + 1, 0),
        _ if x >= columns => (row + 1, 0),
        _ => (row, x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn prompt(text: &'static str) -> Prompt {
        Prompt::new(&SafeText::from(text), text.to_string())
    }

    #[test]
    fn a_short_line_is_shown_whole_after_the_prompt() {
        let mut scroll = 0;
        let r = row(&prompt("al> "), "@bob hi", 3, 80, &mut scroll);
        assert_eq!(r.text, "al> @bob hi");
        assert_eq!((r.cursor, r.width, scroll), (7, 11, 0));
    }

    #[test]
    fn a_long_line_scrolls_and_shows_markers_and_never_fills_the_last_column() {
        let line: String = ('a'..='z').cycle().take(100).collect();
        let mut scroll = 0;
        let r = row(&prompt("> "), &line, line.len(), 30, &mut scroll);
        assert!(r.width <= 29, "{r:?}");
        assert!(r.text.starts_with("> <"), "{r:?}");
        assert!(r.text.ends_with(&line[line.len() - 5..]), "{r:?}");
        assert!(r.cursor < 29);
        // Back at the start: the end is hidden behind `>`.
        let r = row(&prompt("> "), &line, 0, 30, &mut scroll);
        assert_eq!(scroll, 0);
        assert!(r.text.starts_with("> abc"));
        assert!(r.text.ends_with('>'));
        assert_eq!((r.cursor, r.width), (2, 29));
    }

    #[test]
    fn the_view_moves_only_when_the_cursor_would_leave_it() {
        let line = "x".repeat(200);
        let mut scroll = 0;
        row(&prompt("> "), &line, 150, 50, &mut scroll);
        let settled = scroll;
        row(&prompt("> "), &line, 140, 50, &mut scroll);
        assert_eq!(scroll, settled, "the cursor is still in view");
    }

    #[test]
    fn a_window_that_grows_shows_more_of_the_line_not_empty_room() {
        let line = "x".repeat(100);
        let mut scroll = 0;
        row(&prompt("> "), &line, 100, 40, &mut scroll);
        assert!(scroll > 60);
        let r = row(&prompt("> "), &line, 100, 90, &mut scroll);
        assert_eq!(
            r.width + 1,
            89,
            "the whole width is used, and the cursor cell: {r:?}"
        );
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let mut scroll = 0;
        let r = row(&prompt("> "), "日本語", "日本".len(), 80, &mut scroll);
        assert_eq!((r.cursor, r.width), (6, 8));
        let r = row(&prompt("> "), &"語".repeat(50), 3, 20, &mut scroll);
        assert!(r.width <= 19, "{r:?}");
    }

    #[test]
    fn a_prompt_too_wide_for_the_terminal_is_left_out() {
        let mut scroll = 0;
        let r = row(&prompt("averyveryverylongname> "), "hi", 2, 20, &mut scroll);
        assert_eq!(r.text, "hi");
    }

    proptest! {
        /// Whatever the line, cursor and width: one row, never the last
        /// column, the cursor on the row.
        #[test]
        fn always_one_row_with_the_cursor_on_it(
            line in "[a-z語é\u{301} ]{0,120}",
            cursor_at in 0usize..130,
            columns in 1usize..100,
        ) {
            let mut cursor = cursor_at.min(line.len());
            while !line.is_char_boundary(cursor) {
                cursor -= 1;
            }
            let mut scroll = 0;
            let r = row(&prompt("me> "), &line, cursor, columns, &mut scroll);
            let usable = columns.saturating_sub(1).max(1);
            prop_assert!(r.width <= usable, "{:?} in {}", r, columns);
            prop_assert!(r.cursor <= usable, "{:?} in {}", r, columns);
            prop_assert_eq!(UnicodeWidthStr::width(r.text.as_str()), r.width);
        }
    }

    #[test]
    fn rows_above_the_cursor_after_a_resize() {
        let narrow = |n: usize| vec![1; n];
        // The row fit: nothing moved.
        for rewraps in [false, true] {
            assert_eq!(rows_above_cursor(&narrow(30), 30, 30, 40, rewraps), 0);
            // Rewrapped from 100 to 40 columns: the cursor at 93 went to row 2.
            assert_eq!(rows_above_cursor(&narrow(93), 93, 13, 40, rewraps), 2);
            assert_eq!(rows_above_cursor(&narrow(50), 45, 5, 40, rewraps), 1);
            // Cut (no rewrapping): the cursor stays on the row, at the edge.
            assert_eq!(rows_above_cursor(&narrow(93), 93, 39, 40, rewraps), 0);
        }
        // Both would put it at the edge: no guess, unless the terminal is
        // known to rewrap.
        assert_eq!(rows_above_cursor(&narrow(79), 79, 39, 40, false), 0);
        assert_eq!(rows_above_cursor(&narrow(79), 79, 39, 40, true), 1);
        assert_eq!(rows_above_cursor(&narrow(44), 44, 14, 15, true), 2);
    }

    #[test]
    fn a_wide_character_that_does_not_fit_starts_the_next_row() {
        // 39 narrow characters, then 日本語 (2 columns each), then 5 more.
        let mut cells = vec![1; 39];
        cells.extend([2, 2, 2]);
        cells.extend([1; 5]);
        // At 40 columns 日 does not fit in the last column: it starts row 1.
        assert_eq!(rewrapped(&cells, 39 + 6 + 5, 40), (1, 11));
        assert_eq!(rows_above_cursor(&cells, 50, 11, 40, false), 1);
        // The cursor on 日 itself.
        assert_eq!(rewrapped(&cells, 39, 40), (1, 0));
        // At the end of a row that is full.
        assert_eq!(rewrapped(&[1; 40], 40, 40), (1, 0));
    }
}
