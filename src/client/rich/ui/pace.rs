//! How much to write to the terminal at a time: frames sized to take about
//! [`FRAME_TIME`] at the pace the terminal takes them, so that the terminal
//! thread reads the keys often however slow the terminal is.

use std::time::{Duration, Instant};

/// Lines are written in frames, the keys read between them. A frame is
/// sized to take about this long at the pace the terminal has taken the
/// frames so far ([`next_frame_bytes`])...
const FRAME_TIME: Duration = Duration::from_millis(50);
/// ... within these bounds (one line may be longer than the least)...
const FRAME_MIN: usize = 1024;
const FRAME_MAX: usize = 64 * 1024;
/// ... once frames have been written back to back for this long; before,
/// each frame may be twice the last.
const PACE_TIME: Duration = Duration::from_millis(100);

/// The terminal's pace as measured so far, and the size of the next frame.
#[derive(Debug)]
pub(super) struct Pace {
    /// How many bytes of lines the next frame may hold: [`FRAME_MIN`] at
    /// first, so that a slow terminal is not given a large frame before its
    /// pace is known.
    frame_bytes: usize,
    /// Since when frames have been written back to back (lines were held
    /// after each), and how many bytes.
    busy: Option<(Instant, usize)>,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            frame_bytes: FRAME_MIN,
            busy: None,
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
        self.busy.get_or_insert((Instant::now(), 0));
    }

    /// A frame of `bytes` was written.
    pub(super) fn wrote(&mut self, bytes: usize) {
        if let Some((since, written)) = &mut self.busy {
            *written += bytes;
            self.frame_bytes = next_frame_bytes(self.frame_bytes, *written, since.elapsed());
        }
    }

    /// Nothing is held any more: the next frame starts a new measure.
    pub(super) fn caught_up(&mut self) {
        self.busy = None;
    }

    /// On the way out: the smallest frames, each of which takes little
    /// whatever the pace.
    pub(super) fn finishing(&mut self) {
        self.frame_bytes = FRAME_MIN;
    }
}

/// The size of the next frame, after frames of `written` bytes in all were
/// written back to back for `busy`: what the terminal takes in
/// [`FRAME_TIME`] at that pace. Until [`PACE_TIME`] has passed, twice the
/// last size: the first frames go at once into the kernel's buffer for the
/// terminal (a few KiB to some tens), whatever its pace; after that the
/// buffer is a smaller and smaller part of the measure.
fn next_frame_bytes(last: usize, written: usize, busy: Duration) -> usize {
    let next = if busy < PACE_TIME {
        last.saturating_mul(2)
    } else {
        let per_second = written as f64 / busy.as_secs_f64();
        (per_second * FRAME_TIME.as_secs_f64()) as usize
    };
    next.clamp(FRAME_MIN, FRAME_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_take_about_frame_time_on_a_slow_terminal() {
        // 25 KB/s over two seconds: 1,250 bytes in 50 ms.
        let slow = next_frame_bytes(FRAME_MAX, 50_000, Duration::from_secs(2));
        assert_eq!(slow, 1_250);
        // Slower than FRAME_MIN in FRAME_TIME: FRAME_MIN.
        assert_eq!(
            next_frame_bytes(slow, 100, Duration::from_secs(1)),
            FRAME_MIN
        );
        // Too soon to tell: twice as much next time, up to the most.
        assert_eq!(
            next_frame_bytes(FRAME_MIN, 10, Duration::ZERO),
            2 * FRAME_MIN
        );
        assert_eq!(next_frame_bytes(FRAME_MAX, 10, Duration::ZERO), FRAME_MAX);
        // Fast: the most.
        assert_eq!(
            next_frame_bytes(FRAME_MIN, 1 << 22, Duration::from_millis(200)),
            FRAME_MAX
        );
    }
}
