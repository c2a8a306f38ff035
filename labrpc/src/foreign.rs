//! Catches threads the layer did not start using it during a virtual-time
//! run.
//!
//! A thread started with `std::thread::spawn` is not a thread of any run:
//! the scheduler never sees it, so it runs beside the baton on the OS
//! clock, and the run is neither scheduled nor replayable any more. The
//! course's clippy ban stops such code at build time; this module catches
//! it at run time too, the first time such a thread calls the layer
//! (a sleep, a lock, a channel, a clock read) while a run is in progress.
//! The lab's test runner, which runs one test at a time and so knows every
//! thread of the process is a test's ([`watch_every_thread`]), fails the
//! test with [`take`]'s report.
//!
//! A thread is known to the layer when it entered a run, is the process's
//! main thread, or was started by `labrpc::thread::spawn` from a known
//! thread. This module must never stop or slow down a known thread: it only
//! records, and outside virtual time it costs one relaxed atomic load.

#![allow(clippy::disallowed_types)]

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Set by a process whose every thread belongs to its tests (the lab's
/// test runner): only there is an unknown thread a test's own.
static WATCHING: AtomicBool = AtomicBool::new(false);

/// Virtual-time runs in progress in this process.
static RUNS_LIVE: AtomicUsize = AtomicUsize::new(0);

/// The first use of the layer by an unknown thread during a run.
static FIRST_USE: Mutex<Option<String>> = Mutex::new(None);

thread_local! {
    /// Set on threads the layer started or that entered a run.
    static KNOWN: Cell<bool> = const { Cell::new(false) };
}

/// Watches every thread of the process from now on: called by the lab's
/// test runner, which runs one test at a time, so that a thread unknown
/// to the layer can only be the test's. Without it (libtest, whose other
/// test threads use the layer in real time beside a run) nothing is
/// recorded.
pub fn watch_every_thread() {
    WATCHING.store(true, Ordering::Relaxed);
}

/// A run begins on the calling thread, which is known from now on.
pub(crate) fn run_began() {
    KNOWN.set(true);
    RUNS_LIVE.fetch_add(1, Ordering::Relaxed);
}

/// A run ended.
pub(crate) fn run_ended() {
    RUNS_LIVE.fetch_sub(1, Ordering::Relaxed);
}

/// True if the calling thread is known to the layer (see the module doc).
pub(crate) fn calling_thread_is_known() -> bool {
    KNOWN.get() || std::thread::current().name() == Some("main")
}

/// On a thread the layer starts outside any run: known if its spawner was.
pub(crate) fn set_known(known: bool) {
    KNOWN.set(known);
}

/// The calling thread, which is in no run, uses the layer: recorded if a
/// run is in progress and the layer did not start the thread.
pub(crate) fn note_use_outside_run() {
    if !WATCHING.load(Ordering::Relaxed)
        || RUNS_LIVE.load(Ordering::Relaxed) == 0
        || calling_thread_is_known()
    {
        return;
    }
    let me = std::thread::current();
    record(format!(
        "thread '{}' used labrpc's layer during a virtual-time run, but labrpc::thread::spawn did not start it: \
         virtual time schedules only the layer's threads, so this run is neither scheduled nor replayable \
         (start every thread with labrpc::thread::spawn, never std::thread::spawn)",
        me.name().unwrap_or("<unnamed>")
    ));
}

/// Runs `what` (a call into the student's code, such as `Raft::make`) as
/// `f`, and during a virtual-time run of a watched process records it if
/// it started an OS thread the layer did not start. A thread that uses
/// the layer is caught by that use too, but only if the OS runs it before
/// the run ends, and on fibers a whole test can end within a millisecond;
/// a thread that is started is seen at once, in the process's thread count.
/// The count can only miss such a thread (a pool thread ending meanwhile
/// hides one), never blame a thread the layer started.
pub fn watch_thread_starts<T>(what: &str, f: impl FnOnce() -> T) -> T {
    if !WATCHING.load(Ordering::Relaxed) || RUNS_LIVE.load(Ordering::Relaxed) == 0 {
        return f();
    }
    let before = (process_threads(), crate::workers::os_threads_started());
    let result = f();
    let after = (process_threads(), crate::workers::os_threads_started());
    if let (Some(was), Some(is)) = (before.0, after.0) {
        let layer_started = after.1 - before.1;
        let unknown = is.saturating_sub(was).saturating_sub(layer_started);
        if unknown > 0 {
            record(format!(
                "{what} started {unknown} OS thread(s) that labrpc::thread::spawn did not start \
                 (std::thread::spawn?): virtual time schedules only the layer's threads, so this run \
                 is neither scheduled nor replayable (start every thread with labrpc::thread::spawn)"
            ));
        }
    }
    result
}

/// The process's OS threads now (Linux: `/proc/self/stat`), else None.
fn process_threads() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 20, counted after the command name, which is in parentheses
    // and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(17)?.parse().ok()
}

/// Keeps `report` unless an earlier one is kept.
fn record(report: String) {
    let mut first = FIRST_USE.lock().unwrap_or_else(|p| p.into_inner());
    first.get_or_insert(report);
}

/// The report of the first use of the layer by a thread it did not start
/// during a run, once; None if there was none.
pub fn take() -> Option<String> {
    FIRST_USE.lock().unwrap_or_else(|p| p.into_inner()).take()
}
