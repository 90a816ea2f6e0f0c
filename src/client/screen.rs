//! What a front end provides to the main loop: somewhere to show lines, and
//! to be told what the prompt should say.

use super::command::Dialect;
use super::render::Line;
use super::safe::SafeText;

/// Where lines are shown. Showing never waits for the terminal: a front end
/// that cannot write at once queues.
pub(super) trait Screen {
    /// Adds a complete line to those shown at the next [`flush`](Self::flush).
    /// (A screen may also write it at once, for example a huge one.)
    fn add(&mut self, line: &Line<'_>);

    /// Shows the lines added since the last flush, in order, at once.
    fn flush(&mut self);

    /// Shows complete lines, in order, at once.
    fn show(&mut self, lines: &[Line<'_>]) {
        for line in lines {
            self.add(line);
        }
        self.flush();
    }

    /// Shows the last lines before the program ends (the terminal may need
    /// to be given back first).
    fn show_final(&mut self, lines: &[Line<'_>]) {
        self.show(lines);
    }

    /// Which commands the user types here.
    fn dialect(&self) -> Dialect {
        Dialect::Plain
    }

    /// Whether the client reconnects when the connection ends (instead of
    /// ending).
    fn reconnects(&self) -> bool {
        false
    }

    /// Called each time the client is ready to read a name.
    fn ask_name(&mut self) {}

    /// Logged in as `name` (again after a reconnect).
    fn logged_in(&mut self, _name: &SafeText<'_>) {}

    /// The connection is lost; the client tries to reconnect.
    fn offline(&mut self) {}

    /// The current conversation changed.
    fn conversation(&mut self, _with: Option<&SafeText<'_>>) {}

    /// Whether this screen completes names (then the session keeps them fresh
    /// with silent `LIST` requests).
    fn completes_names(&self) -> bool {
        false
    }

    /// The names to complete, in the order to offer them. Called when they
    /// change, and after each answer to a refresh the screen asked for.
    fn names_changed(&mut self, _names: Vec<SafeText<'static>>) {}
}
