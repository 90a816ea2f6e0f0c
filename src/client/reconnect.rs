//! Rich mode's reconnecting: after the connection ended, log in again with
//! the same name, with capped exponential backoff, until it works or the
//! user quits; with `--local`, start the server if nothing listens any more.

use std::time::{Duration, Instant};

use super::command::LoginInput;
use super::inputs::{Inputs, UserInput};
use super::local::{self, LocalServer};
use super::login::{self, describe_error, login, show_answer, LoggedIn, LoginAnswer};
use super::outcome::Outcome;
use super::render::Line;
use super::safe::SafeText;
use super::screen::Screen;
use super::settings::Settings;
use super::text;

/// Logs in again after the connection ended, with capped
/// exponential backoff, until it works or the user quits. With `--local`, a
/// client that finds nothing listening starts the server itself.
pub(super) async fn reconnect(
    settings: &Settings,
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
    local: &mut Option<LocalServer>,
    name: &str,
    backoff: &mut Backoff,
) -> Result<LoggedIn, Outcome> {
    screen.offline();
    loop {
        let wait = backoff.next_wait();
        screen.note(&[Line::notice(text::reconnecting(
            wait.as_secs_f64().round().max(1.0) as u64,
        ))]);
        wait_offline(inputs, screen, wait).await?;
        if settings.local && local.is_none() {
            if let Ok(Some(server)) = local::host(&settings.address, settings.port).await {
                screen.note(&[Line::notice(text::hosting(&settings.shown_address()))]);
                *local = Some(server);
            }
        }
        let login_attempt = login::attempt(&settings.address, settings.port, name);
        let reason = match inputs.during(login_attempt).await? {
            Ok(refused @ (LoginAnswer::InUse | LoginAnswer::Rejected | LoginAnswer::BadHeader)) => {
                show_answer(settings, refused, name.to_string(), screen)?;
                screen.note(&[Line::info(text::ENTER_LOGIN)]);
                return login(settings, inputs, screen, None).await;
            }
            Ok(accepted @ LoginAnswer::Accepted(..)) => {
                match show_answer(settings, accepted, name.to_string(), screen)? {
                    Some(logged_in) => return Ok(logged_in),
                    None => continue,
                }
            }
            Ok(LoginAnswer::Busy) => text::SERVER_FULL.to_string(),
            Ok(LoginAnswer::NoAnswer | LoginAnswer::TimedOut) => "no answer".to_string(),
            Ok(LoginAnswer::NotChatServer) => "not a chat server".to_string(),
            Err(err) => describe_error(&err),
        };
        let reason = SafeText::neutralise_str(&reason);
        screen.note(&[Line::notice(text::reconnect_failed(&reason))]);
    }
}

/// Waits `wait` while disconnected, or until the user quits (then how the
/// program ends).
async fn wait_offline(
    inputs: &mut Inputs,
    screen: &mut dyn Screen,
    wait: Duration,
) -> Result<(), Outcome> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return Ok(()),
            input = inputs.next() => match input {
                UserInput::Line(typed) => match LoginInput::parse(&typed.text) {
                    LoginInput::Quit => return Err(Outcome::Quit),
                    LoginInput::Empty => {}
                    _ => screen.note(&[Line::notice(text::NOT_CONNECTED)]),
                },
                UserInput::Eof | UserInput::Interrupt => return Err(Outcome::Quit),
                UserInput::Signal(signal) => return Err(Outcome::Signalled(signal)),
                UserInput::RefreshNames => {}
            },
        }
    }
}

/// Capped exponential backoff with jitter: about 1, 2, 4, ... seconds, at
/// most 30, each between 75% and 125% of its step and never over 30 (so
/// 22.5 to 30 at the cap), so that many clients cut off together do not all
/// come back at the same moment. It goes on over a login that is lost
/// again soon (a server that drops its users right after their login is not
/// tried again every second), and starts again from 1 s after a connection
/// that lasted [`STABLE`].
#[derive(Debug)]
pub(super) struct Backoff {
    attempts: u32,
    /// When the connection was last made.
    connected: Instant,
}

/// The longest wait between two reconnection attempts, jitter included.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long a connection must have lasted for the backoff to start again.
const STABLE: Duration = Duration::from_secs(30);

impl Backoff {
    /// For a connection made now.
    pub(super) fn new() -> Backoff {
        Backoff {
            attempts: 0,
            connected: Instant::now(),
        }
    }

    /// A connection is made (logged in again).
    pub(super) fn connected(&mut self) {
        self.connected = Instant::now();
    }

    /// The connection ended.
    pub(super) fn lost(&mut self) {
        self.lost_after(self.connected.elapsed());
    }

    /// The connection that just ended lasted `up`.
    fn lost_after(&mut self, up: Duration) {
        if up >= STABLE {
            self.attempts = 0;
        }
    }

    fn next_wait(&mut self) -> Duration {
        let wait = Backoff::wait(self.attempts, random_fraction());
        self.attempts += 1;
        wait
    }

    /// The wait after `attempts` attempts, `fraction` (in [0, 1)) placing
    /// it in the jitter's range.
    fn wait(attempts: u32, fraction: f64) -> Duration {
        let step = Duration::from_secs(1u64 << attempts.min(5)).min(MAX_BACKOFF);
        let shortest = step.mul_f64(0.75);
        let longest = step.mul_f64(1.25).min(MAX_BACKOFF);
        shortest + (longest - shortest).mul_f64(fraction.clamp(0.0, 1.0))
    }
}

/// A number in [0, 1), different in every call and every process: the
/// output of the standard library's hasher with fresh random keys (each
/// `RandomState` has keys of its own, seeded from the operating system's
/// random source once per thread), which is enough for jitter.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let hasher = std::collections::hash_map::RandomState::new().build_hasher();
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_never_goes_past_the_cap() {
        for attempts in 0..12 {
            for fraction in [0.0, 0.5, 0.999_999] {
                let wait = Backoff::wait(attempts, fraction);
                assert!(wait <= MAX_BACKOFF, "{wait:?} after {attempts} attempts");
            }
        }
        // Spread below the cap, so that clients cut off together do not all
        // come back at the same moment.
        assert!(Backoff::wait(9, 0.0) < Backoff::wait(9, 0.5));
        assert!(Backoff::wait(9, 0.5) < Backoff::wait(9, 0.999_999));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let mut backoff = Backoff::new();
        let waits: Vec<f64> = (0..9).map(|_| backoff.next_wait().as_secs_f64()).collect();
        let steps: [f64; 9] = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0];
        for (wait, step) in waits.iter().zip(steps) {
            assert!(
                (0.75 * step..=(1.25 * step).min(30.0)).contains(wait),
                "{wait} for a step of {step}"
            );
        }
    }

    #[test]
    fn backoff_goes_on_over_short_connections_and_starts_again_after_a_lasting_one() {
        let step = |backoff: &mut Backoff| backoff.next_wait().as_secs_f64();
        let mut backoff = Backoff::new();
        assert!(step(&mut backoff) <= 1.25);
        backoff.lost_after(Duration::from_secs(2));
        assert!((1.5..=2.5).contains(&step(&mut backoff)));
        backoff.lost_after(STABLE - Duration::from_millis(1));
        assert!((3.0..=5.0).contains(&step(&mut backoff)));
        backoff.lost_after(STABLE);
        assert!(step(&mut backoff) <= 1.25);
    }

    #[test]
    fn jitter_differs_between_calls() {
        let draws: Vec<f64> = (0..20).map(|_| random_fraction()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }
}
