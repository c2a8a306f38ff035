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
//! An idle thread sleeps on a slot of its own (a condition variable), and
//! work is handed to one chosen slot: the most recently idle thread, whose
//! stack is still warm, so the least recently idle ones are the first to
//! end. An idle thread goes straight to sleep: a shared channel would let
//! every thread that runs out of work spin and yield the core several
//! times before it sleeps, which on a loaded machine was half the context
//! switches of a 2A run.
//!
//! Only `thread.rs` uses this; it must never run anything but whole
//! spawned closures, one at a time per OS thread, and never hold the idle
//! list's lock while it waits.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

/// How long an idle OS thread waits for work before it ends.
pub const IDLE_LIFETIME: Duration = Duration::from_secs(2);

pub(crate) type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    /// The idle threads' slots, the most recently idle last. A slot taken
    /// off this list is promised a job.
    idle: Mutex<Vec<Arc<Slot>>>,
    /// OS threads alive in the pool (busy or idle).
    alive: AtomicUsize,
    /// How long an idle thread waits for work ([`IDLE_LIFETIME`]).
    lifetime: Duration,
}

/// Where one idle thread waits for its next job.
#[derive(Default)]
struct Slot {
    job: Mutex<Option<Job>>,
    given: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(IDLE_LIFETIME))
}

/// Locks `m`. A job never panics on a pool thread (`thread::spawn` catches
/// its panics), so a poisoned lock still holds consistent data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `job` on an idle OS thread, or on a new one if none is idle.
///
/// # Panics
/// If the OS refuses to start a thread.
pub(crate) fn execute(job: Job) {
    pool().execute(job);
}

/// OS threads the pool has started since the process began (a count that
/// only grows).
pub(crate) fn os_threads_started() -> usize {
    STARTED.load(Ordering::Relaxed)
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// OS threads in the pool now, busy or idle.
pub(crate) fn os_threads() -> usize {
    pool().alive.load(Ordering::Relaxed)
}

impl Pool {
    fn new(lifetime: Duration) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            alive: AtomicUsize::new(0),
            lifetime,
        }
    }

    fn execute(&'static self, job: Job) {
        let idle = lock(&self.idle).pop();
        match idle {
            Some(slot) => slot.give(job),
            None => {
                self.alive.fetch_add(1, Ordering::Relaxed);
                STARTED.fetch_add(1, Ordering::Relaxed);
                std::thread::Builder::new()
                    .name("lab-worker".into())
                    .spawn(move || self.work(job))
                    .unwrap_or_else(|err| panic!("cannot start a thread: {err}"));
            }
        }
    }

    /// An OS thread's life: its first job, then whatever it is given while
    /// idle, until it has waited [`Pool::lifetime`] for nothing.
    fn work(&self, first: Job) {
        let slot = Arc::new(Slot::default());
        let mut job = first;
        loop {
            job();
            lock(&self.idle).push(slot.clone());
            match slot.wait(self) {
                Some(next) => job = next,
                None => break,
            }
        }
        self.alive.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Slot {
    /// Hands `job` to the thread waiting on this slot.
    fn give(&self, job: Job) {
        *lock(&self.job) = Some(job);
        self.given.notify_one();
    }

    /// The next job, or None once the thread has been idle for the pool's
    /// lifetime and is off the idle list (it must then end).
    fn wait(self: &Arc<Self>, pool: &Pool) -> Option<Job> {
        let job = lock(&self.job);
        let (mut job, _) = self
            .given
            .wait_timeout_while(job, pool.lifetime, |job| job.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = job.take() {
            return Some(next);
        }
        drop(job);
        let mut idle = lock(&pool.idle);
        if let Some(at) = idle.iter().position(|s| Arc::ptr_eq(s, self)) {
            idle.remove(at);
            return None;
        }
        drop(idle);
        // Taken off the list just as the wait ended: a job is on its way.
        let job = lock(&self.job);
        let mut job = self
            .given
            .wait_while(job, |job| job.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        job.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread::ThreadId;

    /// A pool of its own (other tests of this binary use the global one),
    /// whose idle threads end after `lifetime`.
    fn test_pool(lifetime: Duration) -> &'static Pool {
        Box::leak(Box::new(Pool::new(lifetime)))
    }

    /// Waits up to 10 s for `done` (a hang guard, not a timing check).
    fn eventually(what: &str, done: impl Fn() -> bool) {
        for _ in 0..1000 {
            if done() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("never: {what}");
    }

    fn job_reporting_its_thread(tx: mpsc::Sender<ThreadId>) -> Job {
        Box::new(move || tx.send(std::thread::current().id()).unwrap())
    }

    #[test]
    fn work_never_waits_behind_running_work() {
        let pool = test_pool(IDLE_LIFETIME);
        let (b_ran, wait_for_b) = mpsc::channel();
        let (a_saw, verdict) = mpsc::channel();
        pool.execute(Box::new(move || {
            let saw_b = wait_for_b.recv_timeout(Duration::from_secs(10)).is_ok();
            a_saw.send(saw_b).unwrap();
        }));
        pool.execute(Box::new(move || b_ran.send(()).unwrap()));
        assert_eq!(
            verdict.recv(),
            Ok(true),
            "the second job waited behind the first"
        );
        assert_eq!(pool.alive.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn an_idle_thread_takes_the_next_job() {
        let pool = test_pool(IDLE_LIFETIME);
        let (tx, ids) = mpsc::channel();
        pool.execute(job_reporting_its_thread(tx.clone()));
        let first = ids.recv().unwrap();
        eventually("the thread is idle", || lock(&pool.idle).len() == 1);
        pool.execute(job_reporting_its_thread(tx));
        assert_eq!(ids.recv().unwrap(), first, "a new thread took the job");
        assert_eq!(pool.alive.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_most_recently_idle_thread_goes_first() {
        let pool = test_pool(IDLE_LIFETIME);
        let (release_tx, release) = mpsc::channel::<()>();
        let release = Arc::new(Mutex::new(release));
        let (tx, ids) = mpsc::channel();
        for _ in 0..2 {
            let (tx, release) = (tx.clone(), release.clone());
            pool.execute(Box::new(move || {
                lock(&release).recv().unwrap();
                tx.send(std::thread::current().id()).unwrap();
            }));
        }
        release_tx.send(()).unwrap();
        let first_idle = ids.recv().unwrap();
        eventually("one thread is idle", || lock(&pool.idle).len() == 1);
        release_tx.send(()).unwrap();
        let last_idle = ids.recv().unwrap();
        eventually("both threads are idle", || lock(&pool.idle).len() == 2);
        pool.execute(job_reporting_its_thread(tx));
        assert_eq!(ids.recv().unwrap(), last_idle);
        assert_ne!(first_idle, last_idle);
    }

    #[test]
    fn idle_threads_end_after_their_lifetime() {
        let pool = test_pool(Duration::from_millis(20));
        let (tx, ids) = mpsc::channel();
        for _ in 0..3 {
            pool.execute(job_reporting_its_thread(tx.clone()));
        }
        for _ in 0..3 {
            ids.recv().unwrap();
        }
        eventually("every idle thread ended", || {
            pool.alive.load(Ordering::Relaxed) == 0
        });
        assert!(
            lock(&pool.idle).is_empty(),
            "an ended thread is still listed idle"
        );
        // The pool still works: a new thread starts for new work.
        pool.execute(job_reporting_its_thread(tx));
        ids.recv().unwrap();
    }
}
