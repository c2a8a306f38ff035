//! Clocks and sleeping: the only door to time for the network, the harness
//! and the Raft.
//!
//! In real time (the default) [`now`] reads the OS monotonic clock and
//! [`sleep`] sleeps the OS thread. On a thread of a virtual-time run (see
//! `sched.rs`) both use the run's virtual clock instead, without any caller
//! changing, so nothing outside this module may read
//! `std::time::Instant::now` or call `std::thread::sleep` (clippy enforces
//! it through `clippy.toml`).
//!
//! Each [`sleep`] also measures how late it woke (oversleep). A machine
//! that is too loaded to wake a sleeper on time makes a correct Raft miss
//! its elections; [`worst_oversleep`] lets a test runner tell such a false
//! failure from a real bug, and an [`OversleepWatch`] measures the same over
//! one window (a check with a real-time bound) while other tests run in the
//! same process.
//!
//! This module must never sleep or read the clock other than through the
//! OS monotonic clock, and its measures must never slow a wait down: with
//! no watch open, a wake-up costs two atomic operations.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use parking_lot::Mutex;
use std::ops::{Add, Sub};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
pub use std::time::Duration;

/// A point in time on the layer's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

/// The current time on the layer's clock: the OS monotonic clock, or the
/// run's virtual clock on a thread of a virtual-time run.
pub fn now() -> Instant {
    match crate::sched::now() {
        Some(clock) => Instant(epoch() + clock),
        None => Instant(std::time::Instant::now()),
    }
}

/// Virtual time 0 as an OS instant: virtual instants are this plus the
/// run's clock, so that both kinds share one type.
fn epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

impl Instant {
    /// The deadline this instant is on the run's virtual clock.
    pub(crate) fn to_virtual(self) -> Duration {
        self.0.saturating_duration_since(epoch())
    }
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

    /// The OS instant behind `self`, for the layer's own timed waits.
    pub(crate) fn to_std(self) -> std::time::Instant {
        self.0
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

/// Blocks the calling thread for `d` (in a virtual-time run: until the
/// run's clock has moved `d` on; a zero sleep yields).
pub fn sleep(d: Duration) {
    if crate::sched::active() {
        match crate::sched::deadline_after(d) {
            Some(_) if d.is_zero() => crate::sched::yield_now(),
            Some(deadline) => {
                crate::sched::block(&[], Some(deadline), crate::sched::Wait::Sleep);
            }
            None => {}
        }
        return;
    }
    let start = std::time::Instant::now();
    std::thread::sleep(d);
    note_wake(start, d);
}

/// Records how late a timed wait that began at `start` and meant to last
/// `meant` woke up. Every timed wait of the layer reports through here.
pub(crate) fn note_wake(start: std::time::Instant, meant: Duration) {
    let late_us = start.elapsed().saturating_sub(meant).as_micros() as u64;
    WORST_OVERSLEEP_US.fetch_max(late_us, Ordering::Relaxed);
    if OPEN_WATCHES.load(Ordering::Acquire) > 0 {
        for watch in WATCHES.lock().iter() {
            watch.fetch_max(late_us, Ordering::Relaxed);
        }
    }
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

/// The worst oversleep of every open [`OversleepWatch`], in microseconds.
static WATCHES: Mutex<Vec<Arc<AtomicU64>>> = Mutex::new(Vec::new());

/// How many watches are open (read on every wake-up without the lock).
static OPEN_WATCHES: AtomicUsize = AtomicUsize::new(0);

/// The worst oversleep of any timed wait of the layer, on any thread, that
/// ends while the watch is open: how late the machine woke threads during
/// one window. A check with a real-time bound uses it to tell a machine too
/// loaded to judge from a real miss.
pub struct OversleepWatch(Arc<AtomicU64>);

impl OversleepWatch {
    /// Opens a watch; it measures until it is dropped.
    pub fn start() -> OversleepWatch {
        let worst = Arc::new(AtomicU64::new(0));
        WATCHES.lock().push(worst.clone());
        OPEN_WATCHES.fetch_add(1, Ordering::Release);
        OversleepWatch(worst)
    }

    /// The worst oversleep since [`OversleepWatch::start`] (or the last
    /// [`OversleepWatch::take`]).
    pub fn worst(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }

    /// The worst oversleep since the start or the last take, and starts a
    /// new window: a watcher polling it learns of every stall, not only of
    /// a new worst.
    pub fn take(&self) -> Duration {
        Duration::from_micros(self.0.swap(0, Ordering::Relaxed))
    }
}

impl Drop for OversleepWatch {
    fn drop(&mut self) {
        WATCHES.lock().retain(|w| !Arc::ptr_eq(w, &self.0));
        OPEN_WATCHES.fetch_sub(1, Ordering::Release);
    }
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
    fn a_take_starts_a_new_window_so_a_late_wake_below_the_worst_still_shows() {
        let watch = OversleepWatch::start();
        note_wake(
            std::time::Instant::now() - Duration::from_millis(900),
            Duration::ZERO,
        );
        assert!(watch.take() >= Duration::from_millis(900));
        note_wake(
            std::time::Instant::now() - Duration::from_millis(300),
            Duration::ZERO,
        );
        let second = watch.take();
        assert!(second >= Duration::from_millis(300), "{second:?}");
        assert!(second < Duration::from_millis(900), "{second:?}");
    }

    #[test]
    fn a_watch_sees_only_wakes_while_it_is_open() {
        // Other tests of this binary may wake meanwhile, a little late:
        // the fakes below are far later than any of theirs.
        let long_ago = std::time::Instant::now() - Duration::from_millis(2100);
        note_wake(long_ago, Duration::from_millis(100)); // 2 s late, no watch open
        let watch = OversleepWatch::start();
        assert!(
            watch.worst() < Duration::from_secs(2),
            "{:?}",
            watch.worst()
        );
        let start = std::time::Instant::now() - Duration::from_millis(1600);
        note_wake(start, Duration::from_millis(100)); // 1.5 s late
        assert!(watch.worst() >= Duration::from_millis(1500));
        assert!(worst_oversleep() >= Duration::from_secs(2));
        drop(watch);
        assert!(
            WATCHES
                .lock()
                .iter()
                .all(|w| w.load(Ordering::Relaxed) < 1_500_000)
        );
    }
}
