//! Channels: the only door to message passing for the network, the harness
//! and the Raft.
//!
//! Thin wrappers over `crossbeam-channel` today. A deterministic scheduler
//! will later hook every blocking send and receive here, so nothing outside
//! this module may make a raw channel (clippy enforces it).
//!
//! A channel of capacity zero ([`bounded`]`(0)`) is a rendezvous, like an
//! unbuffered Go channel: the Raft's apply channel is one.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
};
use std::time::Duration;

/// The sending half of a channel; clone it for more senders.
pub struct Sender<T>(crossbeam_channel::Sender<T>);

/// The receiving half of a channel; clone it for more receivers.
pub struct Receiver<T>(crossbeam_channel::Receiver<T>);

/// A channel with no capacity limit.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (Sender(tx), Receiver(rx))
}

/// A channel holding at most `cap` messages; `bounded(0)` is a rendezvous.
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::bounded(cap);
    (Sender(tx), Receiver(rx))
}

impl<T> Sender<T> {
    /// Sends `msg`, blocking while the channel is full; fails once every
    /// receiver is gone.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.0.send(msg)
    }

    /// Sends `msg`, giving up after `timeout`.
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.0.send_timeout(msg, timeout)
    }
}

impl<T> Receiver<T> {
    /// Blocks for the next message; fails once the channel is empty and
    /// every sender is gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.0.recv()
    }

    /// Like [`Receiver::recv`], but gives up after `timeout`. A channel
    /// whose senders are all gone answers at once, which makes a dropped
    /// sender a cheap "stop now" signal for a timed wait.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let start = std::time::Instant::now();
        let got = self.0.recv_timeout(timeout);
        if matches!(got, Err(RecvTimeoutError::Timeout)) {
            crate::time::note_wake(start, timeout);
        }
        got
    }

    /// The next message if one is waiting now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.0.try_recv()
    }

    /// Messages as they come, until every sender is gone.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.0.iter()
    }

    /// Number of messages waiting.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver(self.0.clone())
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender { .. }")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receiver { .. }")
    }
}
