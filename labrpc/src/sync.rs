//! Locks and condition variables: the only door to blocking on shared state
//! for the network, the harness and the Raft.
//!
//! Thin wrappers over `parking_lot` today (no poisoning: a panic on one
//! thread is reported by [`crate::thread`], not turned into a second panic
//! on the next locker). A deterministic scheduler will later hook every
//! lock and wait here, so nothing outside this module may use
//! `std::sync::Mutex`, `parking_lot::Mutex` or a raw condition variable
//! (clippy enforces it). Atomics and `Arc` are not blocking and are
//! re-exported as they are.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub use std::sync::atomic;
pub use std::sync::{Arc, OnceLock, Weak};

use std::time::Duration;

/// A mutual-exclusion lock.
#[derive(Default)]
pub struct Mutex<T: ?Sized>(parking_lot::Mutex<T>);

/// The guard of a locked [`Mutex`]; the lock is released when it drops.
pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

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
        self.0.lock()
    }

    /// Takes the lock if it is free now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock()
    }

    /// Takes the lock if it frees within `timeout`.
    pub fn try_lock_for(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock_for(timeout)
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for Mutex<T> {
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
        self.0.wait(guard);
    }

    /// Like [`Condvar::wait`], but gives up after `timeout`; returns true
    /// if it timed out.
    pub fn wait_for<T: ?Sized>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        let timed_out = self.0.wait_for(guard, timeout).timed_out();
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
