//! Clocks and sleeping: the only door to time for the network, the harness
//! and the Raft.
//!
//! Today [`now`] reads the OS monotonic clock and [`sleep`] sleeps the OS
//! thread. A deterministic virtual-time scheduler will later replace both
//! without any caller changing, so nothing outside this module may read
//! `std::time::Instant::now` or call `std::thread::sleep` (clippy enforces
//! it through `clippy.toml`).
//!
//! Each [`sleep`] also measures how late it woke (oversleep). A machine
//! that is too loaded to wake a sleeper on time makes a correct Raft miss
//! its elections; [`worst_oversleep`] lets a test runner tell such a false
//! failure from a real bug.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::ops::{Add, Sub};
use std::sync::atomic::{AtomicU64, Ordering};
pub use std::time::Duration;

/// A point in time on the layer's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

/// The current time on the layer's clock.
pub fn now() -> Instant {
    Instant(std::time::Instant::now())
}

impl Instant {
    /// Time passed since `self`.
    pub fn elapsed(&self) -> Duration {
        now().0.saturating_duration_since(self.0)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// Worst oversleep seen by [`sleep`] in this process, in microseconds.
static WORST_OVERSLEEP_US: AtomicU64 = AtomicU64::new(0);

/// Worst oversleep since the last [`take_recent_oversleep`], in
/// microseconds.
static RECENT_OVERSLEEP_US: AtomicU64 = AtomicU64::new(0);

/// Blocks the calling thread for `d`.
pub fn sleep(d: Duration) {
    let start = std::time::Instant::now();
    std::thread::sleep(d);
    note_wake(start, d);
}

/// Records how late a timed wait that began at `start` and meant to last
/// `meant` woke up. Every timed wait of the layer reports through here.
pub(crate) fn note_wake(start: std::time::Instant, meant: Duration) {
    let late = start.elapsed().saturating_sub(meant);
    WORST_OVERSLEEP_US.fetch_max(late.as_micros() as u64, Ordering::Relaxed);
    RECENT_OVERSLEEP_US.fetch_max(late.as_micros() as u64, Ordering::Relaxed);
}

/// The worst oversleep since the previous call, and starts a new window:
/// a watcher polling it learns of every stall, not only of a new worst.
/// For one watcher per process (the harness's monitor).
pub fn take_recent_oversleep() -> Duration {
    Duration::from_micros(RECENT_OVERSLEEP_US.swap(0, Ordering::Relaxed))
}

/// The worst oversleep of any [`sleep`] in this process so far: how much
/// later than asked a sleeping thread woke up. A few milliseconds is normal;
/// tens of milliseconds means the machine is overloaded.
pub fn worst_oversleep() -> Duration {
    Duration::from_micros(WORST_OVERSLEEP_US.load(Ordering::Relaxed))
}

/// Forgets the oversleep measured so far (a test runner calls it between
/// tests of one process).
pub fn reset_oversleep() {
    WORST_OVERSLEEP_US.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_waits_and_measures() {
        let t0 = now();
        sleep(Duration::from_millis(20));
        assert!(t0.elapsed() >= Duration::from_millis(20));
        assert!(now() - t0 >= Duration::from_millis(20));
        assert!(worst_oversleep() < Duration::from_secs(60));
    }

    #[test]
    fn a_late_wake_shows_in_the_recent_window_even_below_the_worst() {
        let started = std::time::Instant::now() - Duration::from_millis(500);
        note_wake(started, Duration::ZERO);
        assert!(worst_oversleep() >= Duration::from_millis(500));
        take_recent_oversleep();
        let started = std::time::Instant::now() - Duration::from_millis(300);
        note_wake(started, Duration::ZERO);
        assert!(take_recent_oversleep() >= Duration::from_millis(300));
    }
}
