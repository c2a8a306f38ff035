//! The one seam both engines sit behind: what the workload and the
//! ping-pong need of time, threads, locks, channels and randomness.
//!
//! It mirrors the part of `labrpc::{time, thread, sync, chan, rand}` that a
//! 2A test uses. This module must never hold an engine's own state: it only
//! names the operations, so that the workload is written once.

use std::time::Duration;

/// A scheduler engine for virtual time: every blocking operation below is
/// a scheduling point of the engine.
pub trait Engine: Sized + 'static {
    /// A lock guarding a `T`.
    type Mutex<T: Send + 'static>: Send + Sync;
    /// The sending half of an unbounded channel.
    type Sender<T: Send + 'static>: Send + Clone;
    /// The receiving half of an unbounded channel.
    type Receiver<T: Send + 'static>: Send;
    /// A handle to join a thread.
    type Handle<T: Send + 'static>: Send;

    /// Starts a thread named `name`.
    fn spawn<T: Send + 'static>(
        name: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Self::Handle<T>;
    /// Waits for a thread to end and returns its result.
    fn join<T: Send + 'static>(handle: Self::Handle<T>) -> T;
    /// Sleeps `d` of virtual time.
    fn sleep(d: Duration);
    /// Virtual time since the run started.
    fn now() -> Duration;
    /// A seeded draw in `0..n`.
    fn below(n: u64) -> u64;
    /// A new lock.
    fn mutex<T: Send + 'static>(value: T) -> Self::Mutex<T>;
    /// Runs `f` with the lock held (locking is a scheduling point).
    fn with_lock<T: Send + 'static, R>(m: &Self::Mutex<T>, f: impl FnOnce(&mut T) -> R) -> R;
    /// A new unbounded channel.
    fn channel<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>);
    /// Sends without waiting (the receiver may be gone: then the message is dropped).
    fn send<T: Send + 'static>(tx: &Self::Sender<T>, value: T);
    /// Receives, waiting at most `timeout` of virtual time (`None`: for ever).
    fn recv_timeout<T: Send + 'static>(
        rx: &Self::Receiver<T>,
        timeout: Option<Duration>,
    ) -> Option<T>;
}
