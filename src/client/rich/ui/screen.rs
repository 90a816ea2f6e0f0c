//! The terminal's rows, as the terminal thread draws them: lines printed
//! above the edit row, the edit row itself, and what a resize does to it.

use std::time::Instant;

use chrono::{DateTime, Local};

use super::super::draw::{self, rows_above_cursor, Prompt};
use super::super::phase::Phase;
use super::super::terminal;
use super::{Ui, CURSOR_WAIT};
use crate::client::render::Line;
use crate::client::safe::SafeText;

/// The edit row as last drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Drawn {
    /// Columns the row took.
    pub(super) width: usize,
    /// The column of the cursor.
    pub(super) cursor: usize,
    /// The columns each of its characters took.
    pub(super) cells: Vec<usize>,
}

impl Ui {
    /// Shows lines above the edit row.
    pub(super) fn show(&mut self, lines: Vec<(Line<'static>, DateTime<Local>)>) {
        let messages = lines
            .iter()
            .filter(|(line, _)| matches!(line, Line::From { .. }))
            .count();
        if let Some((_, at)) = lines.first().filter(|_| self.logging()) {
            let plain: Vec<SafeText<'static>> =
                lines.iter().map(|(line, _)| line.plain()).collect();
            self.log(*at, plain.iter().map(|line| line.as_str()));
        }
        for (line, at) in &lines {
            let shown = self.options.style.line(line, *at);
            self.held.push_back(shown);
        }
        if messages > 0 && matches!(self.phase, Phase::Chatting { .. }) {
            self.bell_due |= self.options.bell;
            self.unread += messages;
            self.title_due = true;
        }
        self.check_size();
    }

    /// Prints the lines held, unless a resize is being sorted out: as many
    /// as fit in the frame's size (at least one), so that no single write
    /// keeps the thread from the keys for long on a slow terminal. The rest
    /// wait for the next write.
    pub(super) fn print_held(&mut self) {
        if self.resizing.is_some() || self.held.is_empty() {
            return;
        }
        self.clear_row();
        while let Some(line) = self.held.pop_front() {
            self.frame.push_str(&line);
            self.frame.push_str("\r\n");
            if self.frame.len() >= self.pace.frame_bytes() {
                break;
            }
        }
        self.draw_row();
    }

    /// Whether lines are held that can be printed now.
    pub(super) fn printable(&self) -> bool {
        self.resizing.is_none() && !self.held.is_empty()
    }

    pub(super) fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
        self.prompt = self.phase.prompt(self.with.as_ref(), &self.options.style);
        self.draw_row();
    }

    pub(super) fn set_title(&mut self) {
        let title = self.phase.title(self.unread);
        self.frame.push_str(&terminal::set_title(&title));
    }

    pub(super) fn clear_row(&mut self) {
        if self.drawn.take().is_some() {
            self.frame.push_str(terminal::CLEAR_ROW);
        }
    }

    /// Draws the edit row again (unless a resize is being sorted out).
    pub(super) fn draw_row(&mut self) {
        if self.resizing.is_some() {
            return;
        }
        let (prompt, line, cursor) = match self.editor.search() {
            Some(search) => {
                let found = search.found.map_or("", |i| self.editor.entry(i));
                let prompt =
                    SafeText::neutralise_str(&format!("(search: {})> ", search.query)).into_owned();
                let at = found.find(search.query.as_str()).unwrap_or(0);
                (Prompt::new(&prompt, prompt.to_string()), found, at)
            }
            None => (
                self.prompt.clone(),
                self.editor.line(),
                self.editor.cursor(),
            ),
        };
        let row = draw::row(&prompt, line, cursor, self.columns, &mut self.scroll);
        self.frame.push_str(terminal::HIDE_CURSOR);
        self.frame.push_str(terminal::CLEAR_ROW);
        self.frame.push_str(&row.text);
        self.frame.push('\r');
        if row.cursor > 0 {
            self.frame.push_str(&format!("\x1b[{}C", row.cursor));
        }
        self.frame.push_str(terminal::SHOW_CURSOR);
        self.drawn = Some(Drawn {
            width: row.width,
            cursor: row.cursor,
            cells: row.cells,
        });
    }

    /// Notices a change of the terminal's width (a resize signal may come
    /// after the first line drawn at the new size).
    pub(super) fn check_size(&mut self) {
        let columns = terminal::columns();
        if columns == self.columns || self.resizing.is_some() {
            return;
        }
        self.columns = columns;
        match &self.drawn {
            // The row is wider than the terminal now: it was rewrapped onto
            // the rows below, or cut. Ask where the cursor went.
            Some(drawn) if drawn.width >= columns => {
                let drawn = drawn.clone();
                self.frame.push_str(terminal::ASK_CURSOR);
                self.resizing = Some((Instant::now() + CURSOR_WAIT, drawn));
            }
            // It still fits: it was neither rewrapped nor cut.
            Some(_) => self.draw_row(),
            None => {}
        }
    }

    /// The terminal said where the cursor is (its column, from 1).
    pub(super) fn on_cursor_report(&mut self, column: usize) {
        let Some((_, drawn)) = &self.resizing else {
            return;
        };
        // The terminal answers as it is now, which may be a size or two
        // after the one that made the thread ask (a window being dragged).
        self.columns = terminal::columns();
        let rows_up = rows_above_cursor(
            &drawn.cells,
            drawn.cursor,
            column.saturating_sub(1),
            self.columns,
            self.rewraps,
        );
        self.resized(rows_up);
    }

    /// The row started `rows_up` rows above the cursor: clear from there
    /// down, and draw it again.
    pub(super) fn resized(&mut self, rows_up: usize) {
        self.resizing = None;
        if rows_up > 0 {
            self.frame.push_str(&format!("\x1b[{rows_up}A"));
        }
        self.frame.push_str(terminal::CLEAR_BELOW);
        self.drawn = None;
        self.columns = terminal::columns();
        self.print_held();
        self.draw_row();
        // It may have changed again meanwhile.
        self.check_size();
    }
}
