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

    /// Adds a line of the client's own: one that is not among the
    /// assignment's lines (a hint, a notice, a connection error). Plain mode
    /// writes these to standard error, after the lines added before them; a
    /// screen that shows everything in one place adds them as any other.
    fn add_note(&mut self, line: &Line<'_>) {
        self.add(line);
    }

    /// Shows the lines added since the last flush, in order, at once.
    fn flush(&mut self);

    /// Shows complete lines, in order, at once.
    fn show(&mut self, lines: &[Line<'_>]) {
        for line in lines {
            self.add(line);
        }
        self.flush();
    }

    /// Shows lines of the client's own (see [`add_note`](Self::add_note)),
    /// in order, at once.
    fn note(&mut self, lines: &[Line<'_>]) {
        for line in lines {
            self.add_note(line);
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

    /// After a login, everything that came before the login's answer or in
    /// the same read has been shown: what the user types next comes below
    /// it.
    fn caught_up(&mut self) {}

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
    /// change, and after each answer to a refresh the screen asked for;
    /// `listed` when they are the server's answer to a list (or the server
    /// answers none), not only what messages taught.
    fn names_changed(&mut self, _names: Vec<SafeText<'static>>, _listed: bool) {}

    /// What waits to be shown, for a screen that shows lines later (on a
    /// thread of its own); `None` for one that shows them at once.
    fn backlog(&self) -> Option<std::sync::Arc<Backlog>> {
        None
    }
}

/// What a screen has been given to show and has not shown yet, in bytes.
/// A screen whose terminal is slower than the network says so through it,
/// and the main loop stops reading the socket (TCP then slows the sender)
/// until the screen has caught up, instead of queueing without limit. Only
/// reading the socket waits: input, signals and everything else go on.
#[derive(Debug)]
pub(super) struct Backlog {
    bytes: std::sync::atomic::AtomicUsize,
    limit: usize,
    caught_up: tokio::sync::Notify,
}

impl Backlog {
    pub(super) fn new(limit: usize) -> std::sync::Arc<Backlog> {
        std::sync::Arc::new(Backlog {
            bytes: std::sync::atomic::AtomicUsize::new(0),
            limit,
            caught_up: tokio::sync::Notify::new(),
        })
    }

    /// `bytes` more to show.
    pub(super) fn add(&self, bytes: usize) {
        self.bytes
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// `bytes` shown.
    pub(super) fn shown(&self, bytes: usize) {
        let before = self
            .bytes
            .fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
        if before > self.limit && before - bytes <= self.limit {
            self.caught_up.notify_one();
        }
    }

    /// True while more than the limit waits to be shown.
    pub(super) fn full(&self) -> bool {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed) > self.limit
    }

    /// Waits until no more than the limit waits to be shown.
    pub(super) async fn caught_up(&self) {
        while self.full() {
            self.caught_up.notified().await;
        }
    }
}
