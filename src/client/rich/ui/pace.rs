//! How much to write to the terminal at a time: frames sized to take about
//! [`FRAME_TIME`] at the pace the terminal takes them, so that the terminal
//! thread reads the keys often however slow the terminal is.
//!
//! The pace is what the terminal took over the last [`PACE_TIME`]. Not
//! since the frames began: the first frames go at once into the kernel's
//! buffer for the terminal (a few KiB to some tens), whatever its pace, and
//! a measure that counts them would overrate a slow terminal for seconds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A frame is sized to take about this long to write...
const FRAME_TIME: Duration = Duration::from_millis(50);
/// ... within these bounds (one line may be longer than the least)...
const FRAME_MIN: usize = 1024;
const FRAME_MAX: usize = 64 * 1024;
/// ... at the pace of the last this long of frames written back to back;
/// before there is that much, each frame may be twice the last, up to
/// [`FRAME_FIRST_MAX`].
const PACE_TIME: Duration = Duration::from_millis(200);
const FRAME_FIRST_MAX: usize = 8 * 1024;

/// The terminal's pace, and the size of the next frame.
#[derive(Debug)]
pub(super) struct Pace {
    /// How many bytes of lines the next frame may hold.
    frame_bytes: usize,
    /// Since when frames have been written back to back (lines were held
    /// after each).
    since: Option<Instant>,
    /// When each of the frames of the last [`PACE_TIME`] was written, and
    /// its bytes.
    recent: VecDeque<(Instant, usize)>,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            frame_bytes: FRAME_MIN,
            since: None,
            recent: VecDeque::new(),
        }
    }
}

impl Pace {
    /// How many bytes of lines the next frame may hold (one line may be
    /// longer).
    pub(super) fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// A frame is about to be written.
    pub(super) fn writing(&mut self) {
        self.since.get_or_insert_with(Instant::now);
    }

    /// A frame of `bytes` was written.
    pub(super) fn wrote(&mut self, bytes: usize) {
        let now = Instant::now();
        self.recent.push_back((now, bytes));
        while self
            .recent
            .front()
            .is_some_and(|&(at, _)| now.duration_since(at) > PACE_TIME)
        {
            self.recent.pop_front();
        }
        let busy = self
            .since
            .map_or(Duration::ZERO, |since| now.duration_since(since));
        let lately = self.recent.iter().map(|&(_, bytes)| bytes).sum();
        self.frame_bytes = next_frame_bytes(self.frame_bytes, lately, busy);
    }

    /// Nothing is held any more: the next frame starts a new measure.
    pub(super) fn caught_up(&mut self) {
        self.since = None;
        self.recent.clear();
    }

    /// On the way out: the smallest frames, each of which takes little
    /// whatever the pace.
    pub(super) fn finishing(&mut self) {
        self.frame_bytes = FRAME_MIN;
    }
}

/// The size of the next frame, after frames have been written back to back
/// for `busy`, `lately` bytes of them in the last [`PACE_TIME`]: what the
/// terminal takes in [`FRAME_TIME`] at that pace; before `busy` reaches
/// [`PACE_TIME`], twice the last size, up to [`FRAME_FIRST_MAX`].
fn next_frame_bytes(last: usize, lately: usize, busy: Duration) -> usize {
    if busy < PACE_TIME {
        return last
            .saturating_mul(2)
            .clamp(FRAME_MIN, FRAME_FIRST_MAX.max(last));
    }
    let per_second = lately as f64 / PACE_TIME.as_secs_f64();
    ((per_second * FRAME_TIME.as_secs_f64()) as usize).clamp(FRAME_MIN, FRAME_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_take_about_frame_time_on_a_slow_terminal() {
        let long = PACE_TIME * 10;
        // 25 KB/s: 5,000 bytes in the last 200 ms, 1,250 in 50 ms.
        let slow = next_frame_bytes(FRAME_MAX, 5_000, long);
        assert_eq!(slow, 1_250);
        // Slower than FRAME_MIN in FRAME_TIME: FRAME_MIN.
        assert_eq!(next_frame_bytes(slow, 100, long), FRAME_MIN);
        // Fast: the most.
        assert_eq!(next_frame_bytes(FRAME_MIN, 1 << 22, long), FRAME_MAX);
        // Too soon to tell: twice as much next time, up to FRAME_FIRST_MAX
        // (a size the pace gave already is kept).
        assert_eq!(
            next_frame_bytes(FRAME_MIN, 0, Duration::ZERO),
            2 * FRAME_MIN
        );
        assert_eq!(
            next_frame_bytes(FRAME_FIRST_MAX, 0, Duration::ZERO),
            FRAME_FIRST_MAX
        );
        assert_eq!(next_frame_bytes(FRAME_MAX, 0, Duration::ZERO), FRAME_MAX);
    }

    #[test]
    fn the_first_burst_into_the_kernels_buffer_is_forgotten() {
        let mut pace = Pace::default();
        pace.writing();
        // 64 KiB taken at once by the kernel's buffer...
        pace.wrote(64 * 1024);
        std::thread::sleep(PACE_TIME + PACE_TIME / 2);
        // ... then 1,000 bytes a frame.
        pace.wrote(1_000);
        assert!(
            pace.frame_bytes() <= FRAME_FIRST_MAX,
            "{}",
            pace.frame_bytes()
        );
        assert_eq!(
            pace.frame_bytes(),
            next_frame_bytes(0, 1_000, PACE_TIME * 2)
        );
    }
}
