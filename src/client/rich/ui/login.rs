//! What logging in changes on the terminal side: the history and log files
//! for this server and name are opened, and what was typed offline or shown
//! before login is kept in them.

use chrono::{DateTime, Local};

use super::{Ui, EARLY_LINES};
use crate::client::rich::phase::Phase;
use crate::client::safe::SafeText;

impl Ui {
    /// Adds a line sent to the history (and its file).
    pub(super) fn remember(&mut self, line: &str) {
        if self.editor.remember(line) {
            if let Some(warning) = self.files.remember(line) {
                self.warn(warning);
            }
        }
    }

    pub(super) fn logged_in(&mut self, name: SafeText<'static>, address: &str, port: u16) {
        let renamed = self
            .options
            .style
            .me
            .as_deref()
            .is_some_and(|me| me != name.as_str());
        self.options.style.me = Some(name.to_string());
        let opened = self.files.open(
            &self.options.history,
            self.options.log,
            address,
            port,
            &name,
        );
        if let Some(entries) = opened.history {
            self.editor.set_history(entries);
        }
        // Lines typed while offline were promised to be in the history:
        // under a new name too.
        for line in std::mem::take(&mut self.typed_offline) {
            if renamed {
                self.remember(&line);
            }
        }
        for (at, line) in std::mem::take(&mut self.early) {
            self.files.log(at, std::iter::once(line.as_str()));
        }
        for warning in opened.warnings {
            self.warn(warning);
        }
        self.set_phase(Phase::Chatting { me: name });
        self.set_title();
    }

    /// Whether lines shown now go to the log (or are kept for it): when not,
    /// nothing needs to be made ready for it.
    pub(super) fn logging(&self) -> bool {
        if self.phase.me().is_some() {
            self.files.logging()
        } else {
            self.options.log && self.early.len() < EARLY_LINES
        }
    }

    /// Appends lines shown to the log, or keeps them for it until the log
    /// opens at login (a few lines only: what is shown before login).
    pub(super) fn log<'a>(&mut self, at: DateTime<Local>, lines: impl Iterator<Item = &'a str>) {
        if self.phase.me().is_some() {
            self.files.log(at, lines);
        } else if self.options.log && self.early.len() < EARLY_LINES {
            self.early.extend(lines.map(|line| (at, line.to_string())));
        }
    }
}
