//! Tab: completing a name or a command, after waiting briefly for a fresh
//! list of names when the one held is stale or finds nothing.

use chrono::Local;

use super::{Ui, NAMES_MAX_AGE, NAMES_WAIT};
use crate::client::inputs::UserInput;
use crate::client::render::{Kind, Line};
use crate::client::rich::complete::{complete, Completion};
use crate::client::rich::phase::Phase;
use crate::client::safe::SafeText;
use std::time::Instant;

impl Ui {
    pub(super) fn start_completion(&mut self) {
        if !matches!(self.phase, Phase::Chatting { .. }) {
            return;
        }
        let line = self.editor.line();
        let stale = self.names_at.is_none_or(|at| at.elapsed() >= NAMES_MAX_AGE);
        let found = complete(line, self.editor.cursor(), &self.names);
        if line.starts_with('@') && (stale || found.is_none()) {
            // Ask for the list, and answer when it comes (or soon anyway).
            let _ = self.inputs.send(UserInput::RefreshNames);
            self.tab_wait = Some(Instant::now() + NAMES_WAIT);
            return;
        }
        self.apply(found);
    }

    pub(super) fn complete_now(&mut self) {
        let found = complete(self.editor.line(), self.editor.cursor(), &self.names);
        self.apply(found);
    }

    fn apply(&mut self, completion: Option<Completion>) {
        let Some(completion) = completion else {
            return;
        };
        self.editor.replace(completion.range, &completion.with);
        if completion.choices.is_empty() {
            self.draw_row();
        } else {
            let list = completion
                .choices
                .iter()
                .map(|choice| choice.as_str())
                .collect::<Vec<_>>()
                .join("  ");
            let list = SafeText::neutralise_str(&list).into_owned();
            self.show(vec![(Line::Text(Kind::Info, list), Local::now())]);
        }
    }
}
