//! Real-time windows in the labrpc tests, judged against how late the
//! machine woke threads during them, and waits on a condition with a
//! deadline instead of sleeps.
//!
//! Go's tests bound some events in real time (a call fails within 100 ms of
//! `DeleteServer`, a call succeeds within 30 ms of `Enable`). On a loaded
//! 2-core machine a correct network can miss such a bound because the
//! thread that should act woke late. A [`Window`] measures that lateness
//! while it is open (an [`OversleepWatch`] plus a probe thread that sleeps
//! in 1 ms steps), and [`judge`] calls a miss *inconclusive* when the
//! lateness explains it. [`judged`] runs such a scenario again when it was
//! inconclusive, and passes with a note when the machine never let it be
//! judged.
//!
//! A miss the lateness does not explain, or an event that never comes,
//! always fails: this module must never pass a broken network.

#![allow(dead_code)] // each test binary uses its own part

use labrpc::chan::{self, Receiver, RecvTimeoutError};
use labrpc::thread::{self, JoinHandle, Owner};
use labrpc::time::{self, Duration, Instant, OversleepWatch};
use std::io::Write;

/// A miss this small is within what no timed wait measures (a hand-off
/// from one thread to another): Go's 100 ms window after `DeleteServer` is
/// the network's own 100 ms check period, so a correct network meets it
/// with nothing to spare and can miss it by microseconds.
pub const HANDOFF_SLACK: Duration = Duration::from_millis(1);

/// A miss by at most this many times the worst lateness is explained by
/// it: an event in these tests waits on up to three wake-ups in a row (a
/// timed wait, a handler or caller thread, the test thread).
pub const WAKEUPS_IN_A_ROW: u32 = 3;

/// How long after its bound a [`Window::recv`] still waits for the event
/// before calling it missing.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(5);

/// How often [`judged`] runs an inconclusive scenario before it gives up
/// judging.
pub const ATTEMPTS: usize = 3;

/// What a window's check concluded.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// The bound was missed, but the machine woke threads late enough to
    /// explain it.
    Inconclusive(String),
    Failed(String),
}

/// The verdict on `what`, bounded by `bound`, that happened `took` after
/// the window opened (`None`: not at all) while the machine woke threads
/// at most `lateness` late.
pub fn judge(what: &str, bound: Duration, took: Option<Duration>, lateness: Duration) -> Verdict {
    let Some(took) = took else {
        return Verdict::Failed(format!(
            "{what}: did not happen within {:?} (bound {bound:?})",
            bound + GIVE_UP_AFTER
        ));
    };
    if took <= bound {
        return Verdict::Passed;
    }
    let miss = took - bound;
    let seen = format!(
        "{what}: took {took:?}, bound {bound:?}, while the machine woke threads up to {lateness:?} late"
    );
    if miss <= lateness * WAKEUPS_IN_A_ROW + HANDOFF_SLACK {
        Verdict::Inconclusive(seen)
    } else {
        Verdict::Failed(seen)
    }
}

/// An open real-time window: when it opened, its bound, and the lateness
/// measured since.
pub struct Window {
    what: String,
    bound: Duration,
    opened: Instant,
    watch: OversleepWatch,
    probe: Option<(chan::Sender<()>, JoinHandle<()>)>,
}

impl Window {
    /// Opens a window of `bound` for the event `what`, now.
    pub fn open(what: &str, bound: Duration) -> Window {
        let watch = OversleepWatch::start();
        let (stop, stopped) = chan::bounded::<()>(0);
        // Its timed waits are measured by the watch: they show how late a
        // thread that sleeps is woken while the window is open. It belongs
        // to no test, so that a test's count of its threads never sees it.
        let _root = Owner::root().enter();
        let probe = thread::spawn("lateness-probe", move || {
            while let Err(RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_millis(1))
            {}
        });
        Window {
            what: what.to_string(),
            bound,
            opened: time::now(),
            watch,
            probe: Some((stop, probe)),
        }
    }

    /// Judges the window: the event happened now.
    pub fn close(self) -> Verdict {
        let took = self.opened.elapsed();
        self.finish(Some(took))
    }

    /// Waits for the event "a message on `rx`" up to the bound and then up
    /// to [`GIVE_UP_AFTER`] more; returns the message and the verdict.
    pub fn recv<T>(self, rx: &Receiver<T>) -> (Option<T>, Verdict) {
        match rx.recv_timeout(self.bound + GIVE_UP_AFTER) {
            Ok(msg) => {
                let took = self.opened.elapsed();
                (Some(msg), self.finish(Some(took)))
            }
            Err(_) => (None, self.finish(None)),
        }
    }

    fn finish(mut self, took: Option<Duration>) -> Verdict {
        if let Some((stop, probe)) = self.probe.take() {
            drop(stop);
            let _ = probe.join();
        }
        judge(&self.what, self.bound, took, self.watch.worst())
    }
}

/// Runs `scenario` until it is judged: it passes, or it fails (a panic with
/// its message), or after [`ATTEMPTS`] inconclusive runs it passes with a
/// note that it was not judged. Every inconclusive run prints a note.
pub fn judged(test: &str, mut scenario: impl FnMut() -> Verdict) {
    for attempt in 1..=ATTEMPTS {
        match scenario() {
            Verdict::Passed => return,
            Verdict::Failed(why) => panic!("{why}"),
            Verdict::Inconclusive(why) => note(&format!(
                "{test}: inconclusive (attempt {attempt} of {ATTEMPTS}): {why}"
            )),
        }
    }
    note(&format!(
        "{test}: not judged: the machine was too loaded in all {ATTEMPTS} attempts"
    ));
}

/// Waits until `done()` holds, checking every millisecond; panics with
/// `what` after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = time::now() + limit;
    while !done() {
        assert!(time::now() < deadline, "{what}: not within {limit:?}");
        time::sleep(Duration::from_millis(1));
    }
}

/// Prints straight to stderr, past the test harness's capture, so that a
/// note shows in `make test`'s output.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "note: {text}");
}
