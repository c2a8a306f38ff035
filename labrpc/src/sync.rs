//! Locks and condition variables: the only door to blocking on shared state
//! for the network, the harness and the Raft.
//!
//! Thin wrappers over `parking_lot` today (no poisoning: a panic on one
//! thread is reported by [`crate::thread`], not turned into a second panic
//! on the next locker). A deterministic scheduler will later hook every
//! lock and wait here, so nothing outside this module may use
//! `std::sync::Mutex`, `std::sync::RwLock`, their `parking_lot` twins or a
//! raw condition variable (clippy enforces it). Atomics and `Arc` are not
//! blocking and are re-exported as they are.
//!
//! [`Mutex`] is the lock to reach for. [`RwLock`] lets many readers in at
//! once (a peer's `get_state` beside its RPC handlers, say); like the
//! Mutex it is fair enough that a waiting writer is not starved, and a
//! thread that takes a read lock it already holds may deadlock behind a
//! waiting writer.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub use std::sync::atomic;
pub use std::sync::{Arc, OnceLock, Weak};

use std::time::Duration;

/// A mutual-exclusion lock.
#[derive(Default)]
pub struct Mutex<T: ?Sized>(parking_lot::Mutex<T>);

/// The guard of a locked [`Mutex`]; the lock is released when it drops.
/// It is the layer's own type (see [`Guard`]).
pub type MutexGuard<'a, T> = Guard<parking_lot::MutexGuard<'a, T>>;

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    pub const fn new(value: T) -> Self {
        Mutex(parking_lot::Mutex::new(value))
    }

    /// Consumes the mutex and returns what it held.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is free, then takes it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        Guard(self.0.lock())
    }

    /// Takes the lock if it is free now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock().map(Guard)
    }

    /// Takes the lock if it frees within `timeout`.
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock_for(timeout).map(Guard)
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A reader-writer lock: many readers or one writer at a time.
#[derive(Default)]
pub struct RwLock<T: ?Sized>(parking_lot::RwLock<T>);

/// The guard of a read-locked [`RwLock`]; the lock is released when it
/// drops. It is the layer's own type (see [`Guard`]).
pub type RwLockReadGuard<'a, T> = Guard<parking_lot::RwLockReadGuard<'a, T>>;

/// The guard of a write-locked [`RwLock`]; the lock is released when it
/// drops. It is the layer's own type (see [`Guard`]).
pub type RwLockWriteGuard<'a, T> = Guard<parking_lot::RwLockWriteGuard<'a, T>>;

/// A held lock of this module. The layer's own type around `parking_lot`'s
/// guard, so that every release of a lock happens in a drop the layer owns,
/// where a deterministic scheduler can hook it (a `Drop` here); no caller names
/// `parking_lot`. Use it through `*` and `.` like the value it guards.
pub struct Guard<G>(G);

impl<G: std::ops::Deref> std::ops::Deref for Guard<G> {
    type Target = G::Target;
    fn deref(&self) -> &G::Target {
        &self.0
    }
}

impl<G: std::ops::DerefMut> std::ops::DerefMut for Guard<G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        &mut self.0
    }
}

impl<G: std::fmt::Debug> std::fmt::Debug for Guard<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> RwLock<T> {
    /// A new unlocked reader-writer lock holding `value`.
    pub const fn new(value: T) -> Self {
        RwLock(parking_lot::RwLock::new(value))
    }

    /// Consumes the lock and returns what it held.
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Blocks until no writer holds or waits for the lock, then takes a
    /// shared read lock.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        Guard(self.0.read())
    }

    /// Blocks until nobody holds the lock, then takes it to write.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        Guard(self.0.write())
    }

    /// Takes a read lock if one is available now.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.0.try_read().map(Guard)
    }

    /// Takes the write lock if nobody holds the lock now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.0.try_write().map(Guard)
    }

    /// Takes a read lock if one becomes available within `timeout`.
    pub fn try_read_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        self.0.try_read_for(timeout).map(Guard)
    }

    /// Takes the write lock if it frees within `timeout`.
    pub fn try_write_for(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T>> {
        self.0.try_write_for(timeout).map(Guard)
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A condition variable to wait on together with a [`Mutex`].
#[derive(Default)]
pub struct Condvar(parking_lot::Condvar);

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Self {
        Condvar(parking_lot::Condvar::new())
    }

    /// Releases the guard's lock, waits for a notification, relocks.
    pub fn wait<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>) {
        self.0.wait(&mut guard.0);
    }

    /// Like [`Condvar::wait`], but gives up after `timeout`; returns true
    /// if it timed out.
    pub fn wait_for<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        let timed_out = self.0.wait_for(&mut guard.0, timeout).timed_out();
        if timed_out {
            crate::time::note_wake(start, timeout);
        }
        timed_out
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rwlock_lets_readers_share_and_writers_exclude() {
        let lock = RwLock::new(vec![1]);
        {
            let a = lock.read();
            let b = lock.read();
            assert_eq!((a.len(), b.len()), (1, 1));
            assert!(lock.try_write().is_none(), "a writer got in beside readers");
            assert!(lock.try_write_for(Duration::from_millis(5)).is_none());
        }
        {
            let mut w = lock.write();
            w.push(2);
            assert!(lock.try_read().is_none(), "a reader got in beside a writer");
            assert!(lock.try_read_for(Duration::from_millis(5)).is_none());
        }
        assert_eq!(*lock.try_read().unwrap(), vec![1, 2]);
        assert_eq!(lock.into_inner(), vec![1, 2]);
    }

    #[test]
    fn rwlock_writer_waits_for_the_reader_across_threads() {
        let lock = Arc::new(RwLock::new(0u32));
        let reading = lock.read();
        let (started_tx, started) = crate::chan::bounded::<()>(0);
        let writer = {
            let lock = lock.clone();
            crate::thread::spawn("writer", move || {
                started_tx.send(()).unwrap();
                *lock.write() += 1;
            })
        };
        started.recv().unwrap();
        assert_eq!(*reading, 0, "the writer wrote under a reader");
        drop(reading);
        writer.join().unwrap();
        assert_eq!(*lock.read(), 1);
    }
}
