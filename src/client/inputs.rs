//! What the user does (typed lines, end of input, interrupts), as the main
//! loop receives it, and the budget that stops reading standard input while
//! too much of it waits to be sent.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use super::command::LoginInput;
use super::outcome::Outcome;

/// Something from the user's side.
#[derive(Debug)]
pub(super) enum UserInput {
    /// A typed line, without its line ending.
    Line(Typed),
    /// End of input (Ctrl-D, a closed pipe).
    Eof,
    /// Ctrl-C typed as a key (rich mode): quit.
    Interrupt,
    /// A signal that ends the program (SIGINT, SIGTERM, SIGHUP): its number.
    Signal(i32),
    /// Tab completion wants fresher names.
    RefreshNames,
}

/// A typed line, holding its share of the [`Budget`] until it has been sent
/// (or dropped).
#[derive(Debug)]
pub(super) struct Typed {
    pub(super) text: String,
    pub(super) permit: Permit,
}

/// Most bytes of typed or piped lines that may wait to be written to the
/// server before standard input is no longer read (plus one line, which may
/// be longer).
pub(super) const INPUT_BUDGET: usize = 4 << 20;

/// Bytes read from standard input and not yet written to the server (or
/// dropped). The threads that read standard input wait for room before each
/// read, so a server that stops reading cannot make the client buffer the
/// whole input: TCP's backpressure reaches the process that writes to our
/// standard input.
#[derive(Debug)]
pub(super) struct Budget {
    used: Mutex<usize>,
    room: Condvar,
    limit: usize,
}

impl Budget {
    pub(super) fn new(limit: usize) -> Arc<Budget> {
        Arc::new(Budget {
            used: Mutex::new(0),
            room: Condvar::new(),
            limit,
        })
    }

    fn lock(&self) -> MutexGuard<'_, usize> {
        self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks the calling thread while more than the limit is in use.
    pub(super) fn wait_for_room(&self) {
        let mut used = self.lock();
        while *used > self.limit {
            used = self.room.wait(used).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Counts `bytes` as in use until the permit is dropped. Never waits.
    pub(super) fn take(self: &Arc<Self>, bytes: usize) -> Permit {
        *self.lock() += bytes;
        Permit {
            budget: Some(Arc::clone(self)),
            bytes,
        }
    }

    /// Bytes in use now.
    #[cfg(test)]
    fn used(&self) -> usize {
        *self.lock()
    }
}

/// A share of a [`Budget`], given back when dropped.
#[derive(Debug, Default)]
pub(super) struct Permit {
    budget: Option<Arc<Budget>>,
    bytes: usize,
}

impl Permit {
    /// A permit that counts nothing (for lines that did not come from
    /// standard input).
    pub(super) fn none() -> Permit {
        Permit::default()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            let mut used = budget.lock();
            *used = used.saturating_sub(self.bytes);
            drop(used);
            budget.room.notify_all();
        }
    }
}

/// Typed input, with room for lines typed while the client was busy (during a
/// login attempt), which are kept and handled next, in order.
pub(super) struct Inputs {
    rx: mpsc::UnboundedReceiver<UserInput>,
    ahead: VecDeque<UserInput>,
    /// Set once the channel has closed (then it is not polled again).
    closed: bool,
    /// The lines come from a person at a terminal, who sees the replies as
    /// they come (not from a script or a file, whose lines were all written
    /// ahead).
    interactive: bool,
}

impl Inputs {
    /// Input from `rx`; `interactive` when a person types it at a terminal.
    pub(super) fn new(rx: mpsc::UnboundedReceiver<UserInput>, interactive: bool) -> Inputs {
        Inputs {
            rx,
            ahead: VecDeque::new(),
            closed: false,
            interactive,
        }
    }

    /// True when a person types the lines at a terminal: quitting then ends
    /// the program at once, instead of waiting for the replies owed, as it
    /// does for lines a script wrote ahead.
    pub(super) fn interactive(&self) -> bool {
        self.interactive
    }

    /// True once the input has ended and everything before its end has
    /// been taken: [`next`](Self::next) has nothing more to give.
    pub(super) fn ended(&self) -> bool {
        self.closed && self.ahead.is_empty()
    }

    /// The next input; a closed channel is end of input.
    pub(super) async fn next(&mut self) -> UserInput {
        if let Some(input) = self.ahead.pop_front() {
            return input;
        }
        if !self.closed {
            if let Some(input) = self.rx.recv().await {
                return input;
            }
            self.closed = true;
        }
        UserInput::Eof
    }

    /// Runs `work` to its end while still reading input, so that the user is
    /// never ignored while the client waits for something. Interrupts and
    /// signals end the wait at once, with how the program ends, and so do
    /// `!quit` and the end of input typed at a terminal (Ctrl-D); anything
    /// else is kept, in order, to be
    /// handled afterwards, `!quit` from a script or a file included (its
    /// lines were all written ahead: the answer it waits for is shown, and
    /// says how the program ends).
    pub(super) async fn during<T>(&mut self, work: impl Future<Output = T>) -> Result<T, Outcome> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return Ok(done),
                input = self.rx.recv(), if !self.closed => match input {
                    Some(UserInput::Line(line))
                        if self.interactive
                            && LoginInput::parse(&line.text) == LoginInput::Quit =>
                    {
                        return Err(Outcome::Quit);
                    }
                    Some(UserInput::Interrupt) => return Err(Outcome::Quit),
                    // Ctrl-D at a terminal ends the program as !quit does.
                    Some(UserInput::Eof) if self.interactive => return Err(Outcome::Quit),
                    Some(UserInput::Signal(signal)) => return Err(Outcome::Signalled(signal)),
                    Some(UserInput::RefreshNames) => {}
                    Some(input) => self.ahead.push_back(input),
                    None => {
                        self.closed = true;
                        self.ahead.push_back(UserInput::Eof);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn line(text: &str) -> UserInput {
        UserInput::Line(Typed {
            text: text.to_string(),
            permit: Permit::none(),
        })
    }

    fn text(input: UserInput) -> String {
        match input {
            UserInput::Line(typed) => typed.text,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn a_reader_waits_while_the_budget_is_spent_and_goes_on_when_it_is_given_back() {
        let budget = Budget::new(10);
        let permit = budget.take(25);
        assert_eq!(budget.used(), 25);
        let reader = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || budget.wait_for_room())
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!reader.is_finished(), "the reader waits while 25 > 10");
        drop(permit);
        reader.join().unwrap();
        assert_eq!(budget.used(), 0);
        // Up to the limit, nobody waits.
        let _small = budget.take(10);
        budget.wait_for_room();
    }

    #[tokio::test]
    async fn lines_typed_during_work_are_kept_in_order() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inputs = Inputs::new(rx, false);
        tx.send(line("first")).unwrap();
        tx.send(UserInput::RefreshNames).unwrap();
        tx.send(line("!quit")).unwrap();
        let done = inputs
            .during(tokio::time::sleep(Duration::from_millis(50)))
            .await;
        assert!(done.is_ok(), "a !quit behind another line waits its turn");
        assert_eq!(text(inputs.next().await), "first");
        assert_eq!(text(inputs.next().await), "!quit");
    }

    #[tokio::test]
    async fn a_piped_quit_waits_its_turn_even_with_nothing_before_it() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inputs = Inputs::new(rx, false);
        tx.send(line("!quit")).unwrap();
        let done = inputs
            .during(tokio::time::sleep(Duration::from_millis(20)))
            .await;
        assert!(done.is_ok(), "the work ends before the !quit is handled");
        assert_eq!(text(inputs.next().await), "!quit");
    }

    #[tokio::test]
    async fn quit_at_a_terminal_ends_the_wait_and_a_closed_channel_is_the_end_of_input() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut inputs = Inputs::new(rx, true);
        // Also behind another line: typed at a terminal, !quit ends at once.
        tx.send(line("alice")).unwrap();
        tx.send(line("!quit")).unwrap();
        let never = std::future::pending::<()>;
        assert_eq!(inputs.during(never()).await, Err(Outcome::Quit));
        assert_eq!(text(inputs.next().await), "alice");
        tx.send(UserInput::Signal(15)).unwrap();
        assert_eq!(inputs.during(never()).await, Err(Outcome::Signalled(15)));
        tx.send(UserInput::Interrupt).unwrap();
        assert_eq!(inputs.during(never()).await, Err(Outcome::Quit));
        // Ctrl-D at a terminal, as !quit.
        tx.send(UserInput::Eof).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(5), inputs.during(never())).await;
        assert_eq!(ended, Ok(Err(Outcome::Quit)));
        drop(tx);
        let done = inputs
            .during(tokio::time::sleep(Duration::from_millis(20)))
            .await;
        assert!(done.is_ok());
        assert!(!inputs.ended(), "the end of input is still to be taken");
        assert!(matches!(inputs.next().await, UserInput::Eof));
        assert!(inputs.ended());
        assert!(matches!(inputs.next().await, UserInput::Eof));
    }
}
