//! The OS threads behind [`crate::thread::spawn`]: an elastic pool that
//! always has a free thread for new work, at once.
//!
//! Starting an OS thread costs more than a whole simulated RPC (a clone,
//! a stack to map and unmap, a dozen system calls), and the network and
//! the Raft start a thread per RPC. So a finished thread waits a while for
//! the next piece of work instead of ending. The promise of a thread per
//! spawn is kept: work goes to an idle thread only when one is idle, else a
//! new OS thread starts for it; the pool has no size limit and never
//! queues work behind running work. Idle threads end after
//! [`IDLE_LIFETIME`] without work.
//!
//! Only `thread.rs` uses this; it must never run anything but whole
//! spawned closures, one at a time per OS thread.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long an idle OS thread waits for work before it ends.
pub const IDLE_LIFETIME: Duration = Duration::from_secs(2);

pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Sender<Job>,
    queue: Receiver<Job>,
    /// Idle threads not yet promised a job.
    idle: AtomicUsize,
    /// OS threads alive in the pool (busy or idle).
    alive: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (jobs, queue) = crossbeam_channel::unbounded();
        Pool {
            jobs,
            queue,
            idle: AtomicUsize::new(0),
            alive: AtomicUsize::new(0),
        }
    })
}

/// Runs `job` on an idle OS thread, or on a new one if none is idle.
///
/// # Panics
/// If the OS refuses to start a thread.
pub(crate) fn execute(job: Job) {
    let pool = pool();
    if claim(&pool.idle) {
        // The channel lives as long as the process: the send cannot fail.
        let _ = pool.jobs.send(job);
        return;
    }
    pool.alive.fetch_add(1, Ordering::Relaxed);
    std::thread::Builder::new()
        .name("lab-worker".into())
        .spawn(move || work(job, pool))
        .unwrap_or_else(|err| panic!("cannot start a thread: {err}"));
}

/// OS threads in the pool now, busy or idle.
pub(crate) fn os_threads() -> usize {
    pool().alive.load(Ordering::Relaxed)
}

/// Takes one idle thread's place, if there is one.
fn claim(idle: &AtomicUsize) -> bool {
    idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

fn work(first: Job, pool: &Pool) {
    first();
    loop {
        pool.idle.fetch_add(1, Ordering::AcqRel);
        let job = match pool.queue.recv_timeout(IDLE_LIFETIME) {
            Ok(job) => job,
            // Retire, unless every idle place is promised to a job on its
            // way: then one of those jobs is this thread's to run.
            Err(RecvTimeoutError::Timeout) if claim(&pool.idle) => break,
            Err(RecvTimeoutError::Timeout) => match pool.queue.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
            Err(RecvTimeoutError::Disconnected) => break,
        };
        job();
    }
    pool.alive.fetch_sub(1, Ordering::Relaxed);
}
