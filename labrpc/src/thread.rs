//! Threads: the only door to starting threads for the network, the harness
//! and the Raft.
//!
//! Every thread started with [`spawn`] is named, counted and belongs to an
//! [`Owner`]: the owner of the thread that started it (a test installs one
//! with [`Owner::enter`]; threads started outside any owner belong to the
//! process's root owner). Its owner learns when it ends, so that a test can
//! assert that no thread outlived it, and a panic on it is recorded on the
//! owner with the thread's name and message, so that the test that owns it
//! fails with that message. A panic is never swallowed.
//!
//! A spawned thread is a logical thread: it runs on an OS thread of an
//! elastic pool (see `workers.rs`), which keeps finished OS threads a
//! moment for the next spawn, because the network and the Raft start a
//! thread per RPC. A logical thread has its own name, owner and panic
//! report; it ends when its closure returns.
//!
//! Each thread also has an [`Origin`]: the student's code (started while
//! the harness was inside a Raft call, see [`as_student`], or by such a
//! thread) or the harness's and network's. A test that leaves threads
//! behind can then say whose they are.
//!
//! Nothing outside this module may call `std::thread::spawn` (clippy
//! enforces it): a deterministic scheduler will later run every thread here.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use parking_lot::{Condvar, Mutex};
use std::any::Any;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Who answers for a group of threads: typically one test.
#[derive(Clone)]
pub struct Owner(Arc<OwnerState>);

struct OwnerState {
    name: String,
    inner: Mutex<OwnerInner>,
    changed: Condvar,
}

#[derive(Default)]
struct OwnerInner {
    /// Live threads by id, with their names and origins.
    live: BTreeMap<u64, (String, Origin)>,
    /// Failures reported by this owner's threads, oldest first.
    failures: Vec<String>,
}

/// Whose code started a thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The harness or the network.
    Harness,
    /// The student's code: the Raft.
    Student,
}

thread_local! {
    static CURRENT: RefCell<Option<Owner>> = const { RefCell::new(None) };
    static ORIGIN: std::cell::Cell<Origin> = const { std::cell::Cell::new(Origin::Harness) };
}

/// Runs `f` (a call into the student's code) so that every thread it
/// starts, and every thread those start, counts as the student's.
/// The origin is restored even if `f` panics.
pub fn as_student<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(Origin);
    impl Drop for Restore {
        fn drop(&mut self) {
            ORIGIN.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(ORIGIN.with(|o| o.replace(Origin::Student)));
    f()
}

/// Exchanges `owner` and `origin` with the calling OS thread's (for
/// `fiber.rs`, which swaps logical threads on one OS thread).
pub(crate) fn swap_locals(owner: &mut Option<Owner>, origin: &mut Origin) {
    CURRENT.with(|c| std::mem::swap(&mut *c.borrow_mut(), owner));
    *origin = ORIGIN.with(|o| o.replace(*origin));
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static LIVE_TOTAL: AtomicUsize = AtomicUsize::new(0);

impl Owner {
    /// A new owner with no threads and no failures.
    pub fn new(name: impl Into<String>) -> Owner {
        Owner(Arc::new(OwnerState {
            name: name.into(),
            inner: Mutex::new(OwnerInner::default()),
            changed: Condvar::new(),
        }))
    }

    /// The process's root owner, which owns threads started outside any
    /// other owner.
    pub fn root() -> Owner {
        static ROOT: OnceLock<Owner> = OnceLock::new();
        ROOT.get_or_init(|| Owner::new("root")).clone()
    }

    /// The owner of the calling thread.
    pub fn current() -> Owner {
        CURRENT
            .with(|c| c.borrow().clone())
            .unwrap_or_else(Owner::root)
    }

    /// Makes `self` the owner of the calling thread (and so of every thread
    /// it starts) until the returned guard drops.
    pub fn enter(&self) -> EnterGuard {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard { previous }
    }

    /// The owner's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Records a failure on this owner.
    pub fn fail(&self, message: impl Into<String>) {
        self.0.inner.lock().failures.push(message.into());
        self.0.changed.notify_all();
        crate::sched::notify(self.key());
    }

    /// The owner's key for virtual-time waits.
    fn key(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// Waits up to `timeout` until `done` holds of the owner's state; false
    /// if it still does not. In a virtual-time run, the wait is on the
    /// run's clock.
    fn wait_until(&self, timeout: Duration, done: impl Fn(&OwnerInner) -> bool) -> bool {
        if let Some(deadline) = crate::sched::deadline_after(timeout) {
            loop {
                if done(&self.0.inner.lock()) {
                    return true;
                }
                let wake =
                    crate::sched::block(&[self.key()], Some(deadline), crate::sched::Wait::Owner);
                if wake == crate::sched::Wake::TimedOut {
                    return done(&self.0.inner.lock());
                }
            }
        }
        let deadline = std::time::Instant::now() + timeout;
        let mut inner = self.0.inner.lock();
        while !done(&inner) {
            if self.0.changed.wait_until(&mut inner, deadline).timed_out() {
                return done(&inner);
            }
        }
        true
    }

    /// The first failure recorded, if any.
    pub fn failure(&self) -> Option<String> {
        self.0.inner.lock().failures.first().cloned()
    }

    /// Every failure recorded, oldest first.
    pub fn failures(&self) -> Vec<String> {
        self.0.inner.lock().failures.clone()
    }

    /// Names of the owner's threads that are still running.
    pub fn live_threads(&self) -> Vec<String> {
        self.0
            .inner
            .lock()
            .live
            .values()
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Names of the owner's threads of `origin` that are still running.
    pub fn live_threads_of(&self, origin: Origin) -> Vec<String> {
        let inner = self.0.inner.lock();
        let of = inner.live.values().filter(|(_, o)| *o == origin);
        of.map(|(n, _)| n.clone()).collect()
    }

    /// Waits up to `timeout` for a failure to be recorded; returns the
    /// first failure, if any.
    pub fn wait_failure(&self, timeout: Duration) -> Option<String> {
        self.wait_until(timeout, |inner| !inner.failures.is_empty());
        self.failure()
    }

    /// Waits up to `timeout` for every thread of this owner to end.
    /// Returns the names of those still running after it.
    pub fn wait_threads_ended(&self, timeout: Duration) -> Result<(), Vec<String>> {
        if self.wait_until(timeout, |inner| inner.live.is_empty()) {
            Ok(())
        } else {
            Err(self.live_threads())
        }
    }

    fn register(&self, id: u64, name: &str, origin: Origin) {
        let entry = (name.to_string(), origin);
        self.0.inner.lock().live.insert(id, entry);
        LIVE_TOTAL.fetch_add(1, Ordering::Relaxed);
    }

    fn unregister(&self, id: u64) {
        self.0.inner.lock().live.remove(&id);
        LIVE_TOTAL.fetch_sub(1, Ordering::Relaxed);
        self.0.changed.notify_all();
        crate::sched::notify(self.key());
    }
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Owner({:?})", self.0.name)
    }
}

/// Restores the calling thread's previous owner when dropped.
pub struct EnterGuard {
    previous: Option<Owner>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// A handle to wait for a thread started with [`spawn`].
pub struct JoinHandle<T> {
    result: crate::chan::Receiver<Result<T, String>>,
    name: String,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to end. Returns its result, or the panic
    /// message if it panicked (the panic was already reported to its owner).
    pub fn join(self) -> Result<T, String> {
        self.result
            .recv()
            .unwrap_or_else(|_| Err(format!("thread '{}' vanished", self.name)))
    }

    /// True once the thread has ended.
    pub fn is_finished(&self) -> bool {
        !self.result.is_empty()
    }

    /// The thread's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Starts a named thread owned by the caller's owner. A panic on it is
/// recorded on that owner as `panic on thread '<name>': <message>`.
///
/// # Panics
/// If the OS refuses to start a thread.
pub fn spawn<F, T>(name: impl Into<String>, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let name = name.into();
    let owner = Owner::current();
    let origin = ORIGIN.with(|o| o.get());
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    owner.register(id, &name, origin);
    let stream = crate::rand::child_stream(&name);
    let thread_name = name.clone();
    let (done, result) = crate::chan::bounded(1);
    let body = move || {
        crate::rand::adopt(stream);
        ORIGIN.with(|o| o.set(origin));
        let result = {
            let _enter = owner.enter();
            catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
                let message = panic_message(payload.as_ref());
                owner.fail(format!("panic on thread '{thread_name}': {message}"));
                message
            })
        };
        owner.unregister(id);
        let _ = done.send(result);
        drop(done);
        crate::sched::exit_current();
    };
    match crate::sched::register_child(&name) {
        // A thread of a run: the run's engine starts it.
        Some(child) => child.launch(Box::new(body)),
        None => {
            // A real-time thread: known to the layer if its spawner was.
            let known = crate::foreign::calling_thread_is_known();
            crate::workers::execute(Box::new(move || {
                // Not on a run's CPU, even if this worker was.
                crate::affinity::unpin_current();
                crate::foreign::set_known(known);
                body();
            }));
        }
    }
    // A spawn is a scheduling point of a virtual-time run.
    crate::sched::yield_now();
    JoinHandle { result, name }
}

/// Number of threads started with [`spawn`] that are still running, in the
/// whole process.
pub fn live_count() -> usize {
    LIVE_TOTAL.load(Ordering::Relaxed)
}

/// Number of OS threads behind [`spawn`] now, busy or idle.
pub fn os_threads() -> usize {
    crate::workers::os_threads()
}

/// The text of a panic payload (`&str` or `String`; anything else is named
/// as such).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_reported_to_the_owner() {
        let owner = Owner::new("t");
        let _in = owner.enter();
        let h = spawn("boom", || -> () { panic!("kaboom") });
        assert!(h.join().unwrap_err().contains("kaboom"));
        let failure = owner.failure().unwrap();
        assert!(
            failure.contains("'boom'") && failure.contains("kaboom"),
            "{failure}"
        );
        assert!(owner.wait_threads_ended(Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn nested_threads_inherit_the_owner() {
        let owner = Owner::new("t2");
        let _in = owner.enter();
        let (tx, rx) = crate::chan::bounded::<()>(0);
        let h = spawn("outer", move || {
            spawn("inner", move || {
                let _ = rx.recv();
            });
        });
        h.join().unwrap();
        assert_eq!(owner.live_threads(), vec!["inner".to_string()]);
        assert!(owner.wait_threads_ended(Duration::from_millis(50)).is_err());
        drop(tx);
        assert!(owner.wait_threads_ended(Duration::from_secs(5)).is_ok());
        assert!(owner.failure().is_none());
    }

    #[test]
    fn threads_started_inside_student_code_are_the_students() {
        let owner = Owner::new("t3");
        let _in = owner.enter();
        let (tx, rx) = crate::chan::bounded::<()>(0);
        let (rx1, rx2) = (rx.clone(), rx.clone());
        spawn("harness-thread", move || {
            let _ = rx.recv();
        });
        as_student(|| {
            spawn("raft-thread", move || {
                spawn("raft-child", move || {
                    let _ = rx1.recv();
                });
            })
        })
        .join()
        .unwrap();
        spawn("after", move || {
            let _ = rx2.recv();
        });
        assert_eq!(owner.live_threads_of(Origin::Student), vec!["raft-child"]);
        assert_eq!(
            owner.live_threads_of(Origin::Harness),
            vec!["harness-thread", "after"]
        );
        drop(tx);
        assert!(owner.wait_threads_ended(Duration::from_secs(5)).is_ok());
    }
}
