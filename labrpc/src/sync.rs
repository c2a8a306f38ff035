//! Locks and condition variables: the only door to blocking on shared state
//! for the network, the harness and the Raft.
//!
//! Thin wrappers over `parking_lot` (no poisoning: a panic on one thread
//! is reported by [`crate::thread`], not turned into a second panic on the
//! next locker). On a thread of a virtual-time run (see `sched.rs`), a
//! lock held by another thread and every wait are scheduling points of the
//! run: the lock is tried, and the thread waits in the scheduler, never in
//! `parking_lot`. So nothing outside this module may use
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

use crate::sched;
use std::time::Duration;

/// A mutual-exclusion lock.
#[derive(Default)]
pub struct Mutex<T: ?Sized>(parking_lot::Mutex<T>);

/// The guard of a locked [`Mutex`]; the lock is released when it drops.
/// It is the layer's own type (see [`Guard`]).
pub type MutexGuard<'a, T> = Guard<parking_lot::MutexGuard<'a, T>>;

/// The key a virtual-time run knows a lock or condition variable by.
fn key_of<T: ?Sized>(x: &T) -> usize {
    x as *const T as *const () as usize
}

/// Takes a lock through `try_take` in a virtual-time run: while another
/// thread holds it, waits in the scheduler until it is released (or until
/// `deadline` on the run's clock). `exclusive` locks are recorded with
/// their holder for the deadlock report.
fn take_virtual<G>(
    key: usize,
    exclusive: bool,
    deadline: Option<Duration>,
    mut try_take: impl FnMut() -> Option<G>,
) -> Option<Guard<G>> {
    loop {
        if let Some(g) = try_take() {
            if exclusive {
                sched::note_holder(key);
            }
            return Some(Guard(g, key));
        }
        if sched::block(&[key], deadline, sched::Wait::Lock) == sched::Wake::TimedOut {
            return try_take().map(|g| Guard(g, key));
        }
    }
}

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
        let key = key_of(self);
        if sched::active() {
            let taken = take_virtual(key, true, None, || self.0.try_lock());
            return taken.expect("a lock wait without a deadline ends with the lock");
        }
        Guard(self.0.lock(), key)
    }

    /// Takes the lock if it is free now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let key = key_of(self);
        let g = self.0.try_lock().map(|g| Guard(g, key));
        if g.is_some() {
            sched::note_holder(key);
        }
        g
    }

    /// Takes the lock if it frees within `timeout`.
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        let key = key_of(self);
        if let Some(deadline) = sched::deadline_after(timeout) {
            return take_virtual(key, true, Some(deadline), || self.0.try_lock());
        }
        self.0.try_lock_for(timeout).map(|g| Guard(g, key))
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
pub struct Guard<G>(G, usize);

impl<G> Drop for Guard<G> {
    fn drop(&mut self) {
        // The lock itself is released right after, when the field drops;
        // waiters only become runnable here, and run after this thread
        // gives up the baton.
        sched::note_released(self.1);
    }
}

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
        let key = key_of(self);
        if sched::active() {
            let taken = take_virtual(key, false, None, || self.0.try_read());
            return taken.expect("a lock wait without a deadline ends with the lock");
        }
        Guard(self.0.read(), key)
    }

    /// Blocks until nobody holds the lock, then takes it to write.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let key = key_of(self);
        if sched::active() {
            let taken = take_virtual(key, true, None, || self.0.try_write());
            return taken.expect("a lock wait without a deadline ends with the lock");
        }
        Guard(self.0.write(), key)
    }

    /// Takes a read lock if one is available now.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        let key = key_of(self);
        self.0.try_read().map(|g| Guard(g, key))
    }

    /// Takes the write lock if nobody holds the lock now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        let key = key_of(self);
        let g = self.0.try_write().map(|g| Guard(g, key));
        if g.is_some() {
            sched::note_holder(key);
        }
        g
    }

    /// Takes a read lock if one becomes available within `timeout`.
    pub fn try_read_for(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        let key = key_of(self);
        if let Some(deadline) = sched::deadline_after(timeout) {
            return take_virtual(key, false, Some(deadline), || self.0.try_read());
        }
        self.0.try_read_for(timeout).map(|g| Guard(g, key))
    }

    /// Takes the write lock if it frees within `timeout`.
    pub fn try_write_for(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T>> {
        let key = key_of(self);
        if let Some(deadline) = sched::deadline_after(timeout) {
            return take_virtual(key, true, Some(deadline), || self.0.try_write());
        }
        self.0.try_write_for(timeout).map(|g| Guard(g, key))
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
        if sched::active() {
            self.wait_virtual(guard, None);
            return;
        }
        self.0.wait(&mut guard.0);
    }

    /// A wait in a virtual-time run: releases the lock, waits in the
    /// scheduler for a notification (or `deadline`), then waits there
    /// until the lock is free and retakes it. True if it timed out.
    fn wait_virtual<T: ?Sized>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: Option<Duration>,
    ) -> bool {
        let lock_key = guard.1;
        let mutex = parking_lot::MutexGuard::mutex(&guard.0);
        parking_lot::MutexGuard::unlocked(&mut guard.0, || {
            sched::note_released(lock_key);
            let wake = sched::block(&[key_of(self)], deadline, sched::Wait::Condvar);
            while mutex.is_locked() {
                sched::block(&[lock_key], None, sched::Wait::Lock);
            }
            sched::note_holder(lock_key);
            wake == sched::Wake::TimedOut
        })
    }

    /// Like [`Condvar::wait`], but gives up after `timeout`; returns true
    /// if it timed out.
    pub fn wait_for<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> bool {
        if let Some(deadline) = sched::deadline_after(timeout) {
            return self.wait_virtual(guard, Some(deadline));
        }
        let start = std::time::Instant::now();
        let timed_out = self.0.wait_for(&mut guard.0, timeout).timed_out();
        if timed_out {
            crate::time::note_wake(start, timeout);
        }
        timed_out
    }

    /// Wakes one waiter.
    /// (In a virtual-time run it wakes every waiter: waking more than one
    /// is a spurious wake-up, which every condition-variable loop allows.)
    pub fn notify_one(&self) {
        sched::notify(key_of(self));
        self.0.notify_one();
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        sched::notify(key_of(self));
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
