//! Channels: the only door to message passing for the network, the harness
//! and the Raft.
//!
//! Thin wrappers over `crossbeam-channel` today. A deterministic scheduler
//! will later hook every blocking send and receive here, so nothing outside
//! this module may make a raw channel (clippy enforces it).
//!
//! A channel of capacity zero ([`bounded`]`(0)`) is a rendezvous, like an
//! unbuffered Go channel: the Raft's apply channel is one.
//!
//! [`Select`] waits on several channels at once, like Go's `select`, with
//! an optional deadline:
//!
//! ```
//! use labrpc::chan::{self, Select};
//! use labrpc::time::Duration;
//!
//! let (heartbeat_tx, heartbeats) = chan::unbounded::<u64>();
//! let (_vote_tx, votes) = chan::unbounded::<bool>();
//! heartbeat_tx.send(7).unwrap();
//! let mut sel = Select::new();
//! let heartbeat = sel.recv(&heartbeats);
//! let vote = sel.recv(&votes);
//! match sel.select_timeout(Duration::from_millis(300)) {
//!     Ok(op) if op.index() == heartbeat => assert_eq!(op.recv(&heartbeats), Ok(7)),
//!     Ok(op) if op.index() == vote => { let _ = op.recv(&votes); }
//!     Ok(_) => unreachable!(),
//!     Err(_) => { /* election timeout: start an election */ }
//! }
//! ```
//!
//! This module must never block anywhere but in [`Sender::send`],
//! [`Receiver::recv`] and their timed forms, and `Select`'s one wait, so
//! that a scheduler has a handful of places to hook.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::time::Instant;
pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryRecvError,
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

    /// Messages as they come, until every sender is gone; each one is
    /// taken with [`Receiver::recv`].
    pub fn iter(&self) -> Iter<'_, T> {
        Iter(self)
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

/// The messages of a [`Receiver`], as [`Receiver::iter`] gives them.
pub struct Iter<'a, T>(&'a Receiver<T>);

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.0.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// A wait on several channel operations at once, like Go's `select`: add
/// operations with [`Select::recv`] and [`Select::send`] (each returns its
/// index), then wait with [`Select::select`], [`Select::select_timeout`] or
/// [`Select::select_deadline`]. The wait returns one ready operation,
/// which the caller must complete with [`SelectedOperation::recv`] or
/// [`SelectedOperation::send`] on the same channel. When several are ready
/// one is picked at random.
///
/// A receive on a channel whose senders are all gone is ready (its `recv`
/// then fails), as a send whose receivers are all gone is: a dropped sender
/// wakes a select as it wakes a plain `recv`.
pub struct Select<'a>(crossbeam_channel::Select<'a>);

/// The operation a [`Select`] picked; complete it on the same channel.
#[must_use = "a selected operation must be completed with recv or send"]
pub struct SelectedOperation<'a>(crossbeam_channel::SelectedOperation<'a>);

impl<'a> Select<'a> {
    /// A select with no operations.
    pub fn new() -> Select<'a> {
        Select(crossbeam_channel::Select::new())
    }

    /// Adds a receive on `rx`; returns its index.
    pub fn recv<T>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.0.recv(&rx.0)
    }

    /// Adds a send on `tx`; returns its index.
    pub fn send<T>(&mut self, tx: &'a Sender<T>) -> usize {
        self.0.send(&tx.0)
    }

    /// Waits until one operation is ready.
    ///
    /// # Panics
    /// If the select has no operations (it would wait forever).
    pub fn select(&mut self) -> SelectedOperation<'a> {
        match self.wait(None) {
            Ok(op) => op,
            Err(_) => unreachable!("a select without a deadline cannot time out"),
        }
    }

    /// Waits until one operation is ready, for at most `timeout`.
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.wait(Some(crate::time::now() + timeout))
    }

    /// Waits until one operation is ready, or until `deadline` on the
    /// layer's clock (a deadline already passed only takes what is ready).
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.wait(Some(deadline))
    }

    /// The one place a select blocks.
    fn wait(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        let Some(deadline) = deadline else {
            return Ok(SelectedOperation(self.0.select()));
        };
        let start = std::time::Instant::now();
        let picked = self.0.select_deadline(deadline.to_std());
        if picked.is_err() {
            crate::time::note_wake(start, deadline.to_std().saturating_duration_since(start));
        }
        picked.map(SelectedOperation)
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a> SelectedOperation<'a> {
    /// The index [`Select::recv`] or [`Select::send`] returned for it.
    pub fn index(&self) -> usize {
        self.0.index()
    }

    /// Completes a picked receive; fails if `rx`'s senders are all gone.
    ///
    /// # Panics
    /// If `rx` is not the channel of the picked operation.
    pub fn recv<T>(self, rx: &Receiver<T>) -> Result<T, RecvError> {
        self.0.recv(&rx.0)
    }

    /// Completes a picked send; fails if `tx`'s receivers are all gone.
    ///
    /// # Panics
    /// If `tx` is not the channel of the picked operation.
    pub fn send<T>(self, tx: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        self.0.send(&tx.0, msg)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_takes_the_ready_receive() {
        let (_idle_tx, idle) = unbounded::<u8>();
        let (tx, busy) = bounded::<u8>(1);
        tx.send(5).unwrap();
        let mut sel = Select::new();
        let i_idle = sel.recv(&idle);
        let i_busy = sel.recv(&busy);
        assert_ne!(i_idle, i_busy);
        let op = sel.select_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(op.index(), i_busy);
        assert_eq!(op.recv(&busy), Ok(5));
    }

    #[test]
    fn select_waits_for_a_message_sent_later() {
        let (tx, rx) = bounded::<&str>(0);
        let sender = crate::thread::spawn("later-sender", move || tx.send("late").unwrap());
        let mut sel = Select::new();
        let i = sel.recv(&rx);
        let op = sel.select();
        assert_eq!(op.index(), i);
        assert_eq!(op.recv(&rx), Ok("late"));
        sender.join().unwrap();
    }

    #[test]
    fn select_times_out_when_nothing_is_ready() {
        let (_tx, rx) = unbounded::<u8>();
        let mut sel = Select::new();
        sel.recv(&rx);
        assert!(sel.select_timeout(Duration::from_millis(10)).is_err());
        let passed = crate::time::now();
        assert!(sel.select_deadline(passed).is_err());
    }

    #[test]
    fn select_sees_every_sender_gone() {
        let (tx, rx) = unbounded::<u8>();
        drop(tx);
        let mut sel = Select::new();
        let i = sel.recv(&rx);
        let op = sel.select_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(op.index(), i);
        assert_eq!(op.recv(&rx), Err(RecvError));
    }

    #[test]
    fn select_sends_where_there_is_room() {
        let (full_tx, _full_rx) = bounded::<u8>(0);
        let (tx, rx) = bounded::<u8>(1);
        let mut sel = Select::new();
        sel.send(&full_tx);
        let i = sel.send(&tx);
        let op = sel.select_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(op.index(), i);
        op.send(&tx, 9).unwrap();
        assert_eq!(rx.try_recv(), Ok(9));
    }

    #[test]
    fn iter_ends_when_every_sender_is_gone() {
        let (tx, rx) = unbounded();
        for i in 0..3 {
            tx.send(i).unwrap();
        }
        drop(tx);
        assert_eq!(rx.iter().collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!((&rx).into_iter().next(), None);
    }
}
