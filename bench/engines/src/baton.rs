//! The baton back end: `labrpc`'s own layer, in a virtual-time run of
//! `labrpc::sched` (one OS thread per logical thread, one futex hand-off
//! per switch, every thread of the run pinned to one CPU).
//!
//! Outside a run the same calls are plain real time on OS threads, which
//! the ping-pong uses as a reference. This module must never reach a clock,
//! lock or thread except through `labrpc`'s layer.

use crate::engine::Engine;
use labrpc::sched::{self, Policy};
use labrpc::{chan, sync, thread, time};
use std::cell::Cell;
use std::time::Duration;

/// `labrpc`'s layer as an [`Engine`].
pub struct Baton;

thread_local! {
    /// The layer's clock when the run on this OS thread started.
    static START: Cell<Option<time::Instant>> = const { Cell::new(None) };
}

/// What one run on the baton cost the scheduler.
pub struct RunCount {
    /// Picks of the next thread (`labrpc::sched`'s hand-off count).
    pub picks: u64,
}

/// Runs `f` as the first thread of a virtual-time run seeded with `seed`.
pub fn in_run<R>(seed: u64, f: impl FnOnce() -> R) -> (R, RunCount) {
    let run = sched::enter("engines", seed, Policy::Random);
    let progress = run.progress();
    let result = with_start(f);
    let picks = progress.switches();
    drop(run);
    (result, RunCount { picks })
}

/// Runs `f` in real time, outside any run (OS threads, OS clock).
pub fn real_time<R>(f: impl FnOnce() -> R) -> R {
    with_start(f)
}

fn with_start<R>(f: impl FnOnce() -> R) -> R {
    START.set(Some(time::now()));
    let result = f();
    START.set(None);
    result
}

impl Engine for Baton {
    type Mutex<T: Send + 'static> = sync::Mutex<T>;
    type Sender<T: Send + 'static> = chan::Sender<T>;
    type Receiver<T: Send + 'static> = chan::Receiver<T>;
    type Handle<T: Send + 'static> = thread::JoinHandle<T>;

    fn spawn<T: Send + 'static>(
        name: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Self::Handle<T> {
        let start = START.get();
        thread::spawn(name, move || {
            START.set(start);
            f()
        })
    }

    fn join<T: Send + 'static>(handle: Self::Handle<T>) -> T {
        handle.join().expect("a workload thread panicked")
    }

    fn sleep(d: Duration) {
        time::sleep(d);
    }

    fn now() -> Duration {
        let start = START.get().expect("Baton::now outside a workload");
        time::now() - start
    }

    fn below(n: u64) -> u64 {
        labrpc::rand::below(0..n)
    }

    fn mutex<T: Send + 'static>(value: T) -> Self::Mutex<T> {
        sync::Mutex::new(value)
    }

    fn with_lock<T: Send + 'static, R>(m: &Self::Mutex<T>, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut m.lock())
    }

    fn channel<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>) {
        chan::unbounded()
    }

    fn send<T: Send + 'static>(tx: &Self::Sender<T>, value: T) {
        let _ = tx.send(value);
    }

    fn recv_timeout<T: Send + 'static>(
        rx: &Self::Receiver<T>,
        timeout: Option<Duration>,
    ) -> Option<T> {
        match timeout {
            Some(d) => rx.recv_timeout(d).ok(),
            None => rx.recv().ok(),
        }
    }
}
