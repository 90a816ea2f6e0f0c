//! Giving the terminal back: for a while (Ctrl-Z), or for good, after
//! showing what is left in the time there is.

use std::time::Instant;

use super::{Ui, SHOW_LEFT_TIME};
use crate::client::rich::phase::Phase;
use crate::client::rich::terminal;
use crate::client::safe::SafeText;
use crate::client::text;

impl Ui {
    /// Ctrl-Z: gives the terminal back and stops, as a shell expects; on
    /// `fg`, takes it again.
    pub(super) fn suspend(&mut self) {
        self.clear_row();
        self.frame.push_str(terminal::PASTE_OFF);
        self.frame.push_str(terminal::TITLE_RESTORE);
        self.write_frame();
        self.modes.restore();
        #[cfg(unix)]
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP);
        self.modes.raw_again();
        self.frame.push_str(terminal::PASTE_ON);
        self.frame.push_str(terminal::TITLE_SAVE);
        self.set_title();
        self.columns = terminal::columns();
        self.draw_row();
    }

    /// Shows what is held, keeps and prints a half-typed line, and gives the
    /// terminal back.
    pub(super) fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        self.resizing = None;
        let started = Instant::now();
        while self.printable() {
            // What is left is cut off in time, whatever the pace.
            self.pace.finishing();
            if started.elapsed() >= SHOW_LEFT_TIME {
                let left = std::mem::take(&mut self.held).len();
                let notice = self.notice_now(text::not_shown(left));
                self.held.push_back(notice);
            }
            self.print_held();
            self.write_frame();
        }
        self.clear_row();
        // A search under way is not something typed.
        self.editor.cancel_search();
        let unsent = self.editor.take();
        if !unsent.trim().is_empty() {
            if matches!(self.phase, Phase::Chatting { .. } | Phase::Offline { .. }) {
                self.remember(&unsent);
                self.print_held();
                self.clear_row();
            }
            let notice = self.notice_now(text::not_sent(&SafeText::neutralise_str(&unsent)));
            self.frame.push_str(&notice);
            self.frame.push_str("\r\n");
        }
        self.frame.push_str(terminal::PASTE_OFF);
        self.frame.push_str(terminal::TITLE_RESTORE);
        self.frame.push_str(terminal::SHOW_CURSOR);
        self.write_frame();
        self.modes.restore();
    }
}
