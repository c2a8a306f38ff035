//! The wall-clock watchdog of a virtual-time run.
//!
//! In virtual time only one thread of a run executes at a time, and the
//! clock moves only when every thread waits. So a thread that never
//! reaches a scheduling point of labrpc's layer (a busy loop, a `std`
//! lock or sleep) stops the whole run, and threads that loop through the
//! layer without ever waiting for time to pass stop its clock: neither
//! the virtual time limit nor a deadlock report can end such a run. This
//! module watches the run from outside, on the OS clock, and names the
//! threads. It must never touch the run's own state but through
//! [`sched::Progress`], and never end the process itself: the runner does,
//! after recording the verdict.

use labrpc::chan::{self, RecvTimeoutError};
use labrpc::sched;
use labrpc::thread::{self, Owner};
use labrpc::time::{self, Duration, Instant};
use std::collections::BTreeMap;

/// How long (wall clock) one thread may hold the run without reaching a
/// scheduling point of the layer, or the run's threads may go on without
/// letting its clock move, before the test fails.
pub const WALL_STALL: Duration = Duration::from_secs(10);

/// In virtual time, a thread that never reaches a scheduling point stops
/// the whole run, and threads that loop without ever waiting for time to
/// pass stop its clock. A real-time thread watches the run's hand-offs
/// and its clock: when no hand-off happened for [`WALL_STALL`], or the
/// clock stood still that long while hand-offs went on, it fails the test
/// naming the threads: `on_stuck` gets the failure, and must end the
/// process (those threads cannot be stopped). The watch ends when the
/// returned sender drops.
pub fn start(
    run: &sched::RunGuard,
    on_stuck: impl FnOnce(String) + Send + 'static,
) -> chan::Sender<()> {
    let progress = run.progress();
    let (stop_tx, stop) = chan::bounded::<()>(0);
    // Started outside the run (and outside the test's owner), on the OS clock.
    let outside = Owner::root();
    let _in = outside.enter();
    sched::outside(|| {
        thread::spawn("virtual-time-watchdog", move || {
            let mut watch = StallWatch::new(&progress);
            loop {
                match stop.recv_timeout(Duration::from_millis(500)) {
                    Err(RecvTimeoutError::Timeout) => {}
                    _ => return,
                }
                if let Some(failure) = watch.check(&progress) {
                    on_stuck(failure);
                    return;
                }
            }
        });
    });
    stop_tx
}

/// What the wall-clock watchdog has seen of a virtual-time run: when its
/// hand-offs and its clock last moved, and which threads held the baton
/// while the clock stood still.
struct StallWatch {
    switches: u64,
    switched_at: Instant,
    clock: Duration,
    clock_moved_at: Instant,
    holders: BTreeMap<String, u32>,
}

impl StallWatch {
    fn new(progress: &sched::Progress) -> StallWatch {
        StallWatch {
            switches: progress.switches(),
            switched_at: time::now(),
            clock: progress.clock(),
            clock_moved_at: time::now(),
            holders: BTreeMap::new(),
        }
    }

    /// The failure, once the run has been stuck for [`WALL_STALL`].
    fn check(&mut self, progress: &sched::Progress) -> Option<String> {
        let holder = progress.running().unwrap_or_else(|| "?".into());
        let switches = progress.switches();
        if switches == self.switches {
            return (self.switched_at.elapsed() > WALL_STALL).then(|| {
                format!(
                    "thread '{holder}' ran {} s of wall-clock time without reaching a scheduling point of labrpc's layer: a busy loop, or a wait outside the layer (std locks, std::thread::sleep, std channels), which virtual time cannot schedule",
                    WALL_STALL.as_secs()
                )
            });
        }
        self.switches = switches;
        self.switched_at = time::now();
        let clock = progress.clock();
        if clock != self.clock {
            self.clock = clock;
            self.clock_moved_at = time::now();
            self.holders.clear();
            return None;
        }
        *self.holders.entry(holder).or_default() += 1;
        (self.clock_moved_at.elapsed() > WALL_STALL).then(|| self.frozen_clock_failure())
    }

    fn frozen_clock_failure(&self) -> String {
        let mut seen: Vec<(&String, &u32)> = self.holders.iter().collect();
        seen.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let seen: Vec<String> = seen
            .iter()
            .map(|(name, times)| format!("'{name}' ({times}x)"))
            .collect();
        format!(
            "the virtual clock stood still at {:.3} s for {} s of wall-clock time while threads kept handing the baton on: a loop that never waits for time to pass (a zero sleep or a yield in a loop, an RPC sent again as soon as it is answered). Virtual time moves only when every thread waits, so such a loop stops it for good; in real time it would burn a CPU instead. Threads seen holding the baton meanwhile: {}",
            self.clock.as_secs_f64(),
            WALL_STALL.as_secs(),
            seen.join(", ")
        )
    }
}
