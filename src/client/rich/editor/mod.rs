//! The line editor, sans-IO: keys in, the edited line and what to do out.
//!
//! It knows the usual emacs keys, moves by the characters the user sees
//! (grapheme clusters), keeps the last killed text for Ctrl-Y, walks the
//! history with Up and Down (keeping the line being typed), and searches it
//! backwards with Ctrl-R. It knows nothing of terminals: drawing is
//! [`super::draw`]'s job.

use unicode_segmentation::UnicodeSegmentation;

use super::keys::Key;

/// At most this many lines are kept in the history.
pub(crate) const HISTORY_SIZE: usize = 1000;

/// What the caller must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The line or the cursor changed (or may have): draw it again.
    Edited,
    /// Nothing changed.
    Nothing,
    /// Enter: the line, which the editor no longer holds.
    Submit(String),
    /// Ctrl-C on an empty line.
    Interrupt,
    /// Ctrl-D on an empty line.
    Eof,
    /// Tab: complete the word before the cursor.
    Complete,
    /// Ctrl-L.
    ClearScreen,
    /// Ctrl-Z.
    Suspend,
}

/// A search through the history (Ctrl-R).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Search {
    /// What the user typed to search for.
    pub(crate) query: String,
    /// The history entry found, if any.
    pub(crate) found: Option<usize>,
    /// The line and cursor before the search, put back if it is cancelled.
    saved: (String, usize),
}

/// The line being edited, and the history.
#[derive(Debug, Default)]
pub(crate) struct Editor {
    line: String,
    /// Byte offset, always at a grapheme boundary.
    cursor: usize,
    /// The last text killed (Ctrl-K, Ctrl-U, Ctrl-W, ...), for Ctrl-Y.
    killed: String,
    history: Vec<String>,
    /// While walking the history: the entry shown, and the line that was
    /// being typed before.
    browsing: Option<(usize, String)>,
    search: Option<Search>,
}

impl Editor {
    /// The line.
    pub(crate) fn line(&self) -> &str {
        &self.line
    }

    /// The cursor, as a byte offset into [`line`](Self::line).
    pub(crate) fn cursor(&self) -> usize {
        self.cursor
    }

    /// The search under way, if any.
    pub(crate) fn search(&self) -> Option<&Search> {
        self.search.as_ref()
    }

    /// The history entry at `index`.
    pub(crate) fn entry(&self, index: usize) -> &str {
        self.history.get(index).map_or("", String::as_str)
    }

    /// Replaces the history (the oldest first).
    pub(crate) fn set_history(&mut self, entries: Vec<String>) {
        self.history = entries;
        let excess = self.history.len().saturating_sub(HISTORY_SIZE);
        self.history.drain(..excess);
        self.browsing = None;
    }

    /// Adds a line to the history, unless it is empty or the same as the
    /// newest entry. Returns whether it was added.
    pub(crate) fn remember(&mut self, line: &str) -> bool {
        if line.trim().is_empty() || self.history.last().map(String::as_str) == Some(line) {
            return false;
        }
        self.history.push(line.to_string());
        if self.history.len() > HISTORY_SIZE {
            self.history.remove(0);
        }
        true
    }

    /// Inserts text at the cursor (typed or pasted; line breaks are the
    /// caller's business).
    pub(crate) fn insert(&mut self, text: &str) {
        self.end_search(true);
        self.line.insert_str(self.cursor, text);
        self.cursor += text.len();
    }

    /// Replaces the bytes `range` of the line with `text` and puts the
    /// cursor after it (completion).
    pub(crate) fn replace(&mut self, range: std::ops::Range<usize>, text: &str) {
        self.line.replace_range(range.clone(), text);
        self.cursor = range.start + text.len();
    }

    /// Takes the line, leaving the editor empty.
    pub(crate) fn take(&mut self) -> String {
        self.end_search(true);
        self.browsing = None;
        self.cursor = 0;
        std::mem::take(&mut self.line)
    }

    /// Handles one key.
    pub(crate) fn handle(&mut self, key: Key) -> Outcome {
        if self.search.is_some() {
            if let Some(outcome) = self.handle_search(key) {
                return outcome;
            }
        }
        match key {
            Key::Char(c) => {
                let mut buf = [0; 4];
                self.insert(c.encode_utf8(&mut buf));
            }
            Key::Enter => return Outcome::Submit(self.take()),
            Key::Tab => return Outcome::Complete,
            Key::Ctrl('c') if self.line.is_empty() => return Outcome::Interrupt,
            Key::Ctrl('c') => {
                // Gone from the line, not lost: Ctrl-Y brings it back.
                self.end_search(true);
                self.browsing = None;
                self.kill(0..self.line.len());
            }
            Key::Ctrl('d') if self.line.is_empty() => return Outcome::Eof,
            Key::Ctrl('d') | Key::Delete => self.delete_forward(),
            Key::Backspace | Key::Ctrl('h') => self.delete_back(),
            Key::Left | Key::Ctrl('b') => self.cursor = self.prev_boundary(self.cursor),
            Key::Right | Key::Ctrl('f') => self.cursor = self.next_boundary(self.cursor),
            Key::Home | Key::Ctrl('a') => self.cursor = 0,
            Key::End | Key::Ctrl('e') => self.cursor = self.line.len(),
            Key::WordLeft | Key::Alt('b') => self.cursor = self.word_start(self.cursor),
            Key::WordRight | Key::Alt('f') => self.cursor = self.word_end(self.cursor),
            Key::Ctrl('w') => self.kill(self.blank_start(self.cursor)..self.cursor),
            Key::AltBackspace => self.kill(self.word_start(self.cursor)..self.cursor),
            Key::Alt('d') => self.kill(self.cursor..self.word_end(self.cursor)),
            Key::Ctrl('u') => self.kill(0..self.cursor),
            Key::Ctrl('k') => self.kill(self.cursor..self.line.len()),
            Key::Ctrl('y') => {
                let killed = self.killed.clone();
                self.insert(&killed);
            }
            Key::Ctrl('t') => self.transpose(),
            Key::Up | Key::Ctrl('p') => self.older(),
            Key::Down | Key::Ctrl('n') => self.newer(),
            Key::Ctrl('r') => self.start_search(),
            Key::Ctrl('l') => return Outcome::ClearScreen,
            Key::Ctrl('z') => return Outcome::Suspend,
            _ => return Outcome::Nothing,
        }
        Outcome::Edited
    }

    /// A key during a search. `None` ends the search, keeping what was
    /// found, and lets the key do what it does normally.
    fn handle_search(&mut self, key: Key) -> Option<Outcome> {
        let search = self.search.as_mut()?;
        match key {
            Key::Char(c) => {
                search.query.push(c);
                let from = search.found.map_or(self.history.len(), |found| found + 1);
                self.find_older(from);
            }
            Key::Backspace | Key::Ctrl('h') => {
                search.query.pop();
                self.find_older(self.history.len());
            }
            Key::Ctrl('r') => {
                let from = search.found.unwrap_or(self.history.len());
                self.find_older(from);
            }
            Key::Ctrl('g') | Key::Ctrl('c') | Key::Esc => self.end_search(false),
            _ => {
                self.end_search(true);
                return None;
            }
        }
        Some(Outcome::Edited)
    }

    /// Ends a search under way, putting back the line from before it.
    pub(crate) fn cancel_search(&mut self) {
        self.end_search(false);
    }

    fn start_search(&mut self) {
        self.browsing = None;
        self.search = Some(Search {
            query: String::new(),
            found: None,
            saved: (self.line.clone(), self.cursor),
        });
    }

    /// Looks for the query in entries older than `before`, and shows the
    /// newest one that has it.
    fn find_older(&mut self, before: usize) {
        let Some(search) = self.search.as_mut() else {
            return;
        };
        if search.query.is_empty() {
            search.found = None;
            return;
        }
        let found = self.history[..before.min(self.history.len())]
            .iter()
            .rposition(|entry| entry.contains(search.query.as_str()));
        if found.is_some() {
            search.found = found;
        }
    }

    /// Ends a search: `keep` puts the entry found in the line, otherwise
    /// the line from before the search comes back.
    fn end_search(&mut self, keep: bool) {
        let Some(search) = self.search.take() else {
            return;
        };
        match (keep, search.found) {
            (true, Some(found)) => {
                self.line = self.history[found].clone();
                self.cursor = self.line.len();
            }
            _ => (self.line, self.cursor) = search.saved,
        }
    }

    fn older(&mut self) {
        let index = match &self.browsing {
            Some((index, _)) => index.checked_sub(1),
            None => self.history.len().checked_sub(1),
        };
        let Some(index) = index else {
            return;
        };
        let typed = match self.browsing.take() {
            Some((_, typed)) => typed,
            None => std::mem::take(&mut self.line),
        };
        self.line = self.history[index].clone();
        self.cursor = self.line.len();
        self.browsing = Some((index, typed));
    }

    fn newer(&mut self) {
        let Some((index, typed)) = self.browsing.take() else {
            return;
        };
        if index + 1 < self.history.len() {
            self.line = self.history[index + 1].clone();
            self.browsing = Some((index + 1, typed));
        } else {
            self.line = typed;
        }
        self.cursor = self.line.len();
    }

    fn kill(&mut self, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        self.killed = self.line[range.clone()].to_string();
        self.line.replace_range(range.clone(), "");
        self.cursor = range.start;
    }

    fn delete_back(&mut self) {
        let start = self.prev_boundary(self.cursor);
        self.line.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    fn delete_forward(&mut self) {
        let end = self.next_boundary(self.cursor);
        self.line.replace_range(self.cursor..end, "");
    }

    /// Swaps the characters before and at the cursor (at the end of the
    /// line, the last two), and moves past them.
    fn transpose(&mut self) {
        let at = if self.cursor == self.line.len() {
            self.prev_boundary(self.cursor)
        } else {
            self.cursor
        };
        let before = self.prev_boundary(at);
        let after = self.next_boundary(at);
        if before == at || at == after {
            return;
        }
        let swapped = format!("{}{}", &self.line[at..after], &self.line[before..at]);
        self.line.replace_range(before..after, &swapped);
        self.cursor = after;
    }

    fn prev_boundary(&self, at: usize) -> usize {
        self.line[..at]
            .grapheme_indices(true)
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_boundary(&self, at: usize) -> usize {
        self.line[at..]
            .graphemes(true)
            .next()
            .map_or(at, |g| at + g.len())
    }

    /// The start of the word before `at` (words are letters and digits).
    fn word_start(&self, at: usize) -> usize {
        let before = &self.line[..at];
        let trimmed = before.trim_end_matches(|c: char| !c.is_alphanumeric());
        trimmed
            .rfind(|c: char| !c.is_alphanumeric())
            .map_or(0, |i| {
                i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
            })
    }

    /// The end of the word after `at`.
    fn word_end(&self, at: usize) -> usize {
        let after = &self.line[at..];
        let skipped = after.len()
            - after
                .trim_start_matches(|c: char| !c.is_alphanumeric())
                .len();
        let rest = &after[skipped..];
        at + skipped
            + rest
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(rest.len())
    }

    /// The start of the blank-separated word before `at` (Ctrl-W).
    fn blank_start(&self, at: usize) -> usize {
        let trimmed = self.line[..at].trim_end();
        trimmed.rfind(char::is_whitespace).map_or(0, |i| {
            i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
        })
    }
}

#[cfg(test)]
mod tests;
