//! The elastic handler pool: a free thread for every request handler, at
//! once, always.
//!
//! The network runs each handler on a thread of its own so that a handler
//! that sleeps or blocks never delays another request (the Go lab starts a
//! goroutine per request). Starting an OS thread per request costs more
//! than the whole rest of an RPC, so finished handler threads wait a while
//! for the next request instead of ending. The promise is kept: a request
//! goes to an idle thread only when one is idle, else a new thread starts
//! for it. The pool never has a fixed size and never queues a request
//! behind a running handler.
//!
//! Idle threads end after [`IDLE_LIFETIME`] without work, and all of them
//! at once when the network shuts the pool down.

use crate::chan::{self, RecvTimeoutError};
use crate::sync::Mutex;
use crate::thread;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long an idle handler thread waits for work before it ends.
pub const IDLE_LIFETIME: Duration = Duration::from_secs(2);

type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct Pool {
    jobs: Mutex<Option<chan::Sender<Job>>>,
    queue: chan::Receiver<Job>,
    /// Idle threads not yet promised a job.
    idle: Arc<AtomicUsize>,
}

impl Pool {
    pub(crate) fn new() -> Pool {
        let (tx, rx) = chan::unbounded();
        Pool {
            jobs: Mutex::new(Some(tx)),
            queue: rx,
            idle: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs `job` on an idle thread, or on a new one if none is idle.
    pub(crate) fn execute(&self, job: Job) {
        let jobs = self.jobs.lock().clone();
        let Some(jobs) = jobs else {
            // Shut down: the job still runs, on a thread of its own.
            thread::spawn("labrpc-handler", job);
            return;
        };
        if claim(&self.idle) {
            if let Err(err) = jobs.send(job) {
                thread::spawn("labrpc-handler", err.into_inner());
            }
            return;
        }
        let queue = self.queue.clone();
        let idle = self.idle.clone();
        thread::spawn("labrpc-handler", move || work(job, &queue, &idle));
    }

    /// Ends every idle thread now; busy ones end when their job returns.
    pub(crate) fn shutdown(&self) {
        self.jobs.lock().take();
    }
}

/// Takes one idle thread's place, if there is one.
fn claim(idle: &AtomicUsize) -> bool {
    idle.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

fn work(first: Job, queue: &chan::Receiver<Job>, idle: &AtomicUsize) {
    first();
    loop {
        idle.fetch_add(1, Ordering::AcqRel);
        let job = match queue.recv_timeout(IDLE_LIFETIME) {
            Ok(job) => job,
            Err(RecvTimeoutError::Disconnected) => return,
            // Retire, unless every idle place is promised to a job that is
            // on its way: then one of those jobs is this thread's to run.
            Err(RecvTimeoutError::Timeout) if claim(idle) => return,
            Err(RecvTimeoutError::Timeout) => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        job();
    }
}
