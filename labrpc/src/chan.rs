//! Channels: the only door to message passing for the network, the harness
//! and the Raft.
//!
//! Thin wrappers over `crossbeam-channel`. On a thread of a virtual-time
//! run (see `sched.rs`), a send or receive that must wait, and a select,
//! wait in the run's scheduler instead: the operation is tried, and the
//! thread sleeps on the channel's key until the other side acts. Nothing
//! outside this module may make a raw channel (clippy enforces it).
//!
//! A rendezvous channel made in a virtual-time run is a one-slot channel
//! whose sender then waits until a receiver took its message: the same
//! hand-off as an unbuffered Go channel, built from operations that never
//! block.
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

use crate::sched::{self, Wait, Wake};
use crate::time::Instant;
use crossbeam_channel::TrySendError;
pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryRecvError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// What both halves of a channel share beside crossbeam's channel: its
/// key in a virtual-time run, how many halves are left, and, for a
/// rendezvous made in a run, how many messages were taken.
struct Meta {
    rendezvous: bool,
    senders: AtomicUsize,
    receivers: AtomicUsize,
    sent: AtomicU64,
    taken: AtomicU64,
}

impl Meta {
    fn new(rendezvous: bool) -> Arc<Meta> {
        Arc::new(Meta {
            rendezvous,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            sent: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        })
    }
}

fn key(meta: &Arc<Meta>) -> usize {
    Arc::as_ptr(meta) as usize
}

/// The sending half of a channel; clone it for more senders.
pub struct Sender<T>(crossbeam_channel::Sender<T>, Arc<Meta>);

/// The receiving half of a channel; clone it for more receivers.
pub struct Receiver<T>(crossbeam_channel::Receiver<T>, Arc<Meta>);

/// A channel with no capacity limit.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let meta = Meta::new(false);
    (Sender(tx, meta.clone()), Receiver(rx, meta))
}

/// A channel holding at most `cap` messages; `bounded(0)` is a rendezvous.
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let rendezvous = cap == 0 && sched::active();
    let (tx, rx) = crossbeam_channel::bounded(if rendezvous { 1 } else { cap });
    let meta = Meta::new(rendezvous);
    (Sender(tx, meta.clone()), Receiver(rx, meta))
}

impl<T> Sender<T> {
    /// Sends `msg`, blocking while the channel is full; fails once every
    /// receiver is gone.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        if sched::active() {
            return self.send_virtual(msg, None).map_err(|e| match e {
                SendTimeoutError::Timeout(m) | SendTimeoutError::Disconnected(m) => SendError(m),
            });
        }
        self.0.send(msg)
    }

    /// Sends `msg`, giving up after `timeout`.
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        if let Some(deadline) = sched::deadline_after(timeout) {
            return self.send_virtual(msg, Some(deadline));
        }
        self.0.send_timeout(msg, timeout)
    }

    /// A send in a virtual-time run: tries, and waits in the scheduler
    /// while the channel is full; on a rendezvous, then waits until a
    /// receiver took the message (past `deadline` too: it is on its way).
    fn send_virtual(&self, msg: T, deadline: Option<Duration>) -> Result<(), SendTimeoutError<T>> {
        let key = key(&self.1);
        let mut msg = msg;
        loop {
            match self.0.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(m)) => {
                    return Err(SendTimeoutError::Disconnected(m));
                }
                Err(TrySendError::Full(m)) => msg = m,
            }
            if sched::block(&[key], deadline, Wait::Send) == Wake::TimedOut {
                return match self.0.try_send(msg) {
                    Ok(()) => break,
                    Err(TrySendError::Disconnected(m)) => Err(SendTimeoutError::Disconnected(m)),
                    Err(TrySendError::Full(m)) => Err(SendTimeoutError::Timeout(m)),
                };
            }
        }
        sched::notify(key);
        if self.1.rendezvous {
            let ticket = self.1.sent.fetch_add(1, Ordering::Relaxed);
            while self.1.taken.load(Ordering::Relaxed) <= ticket
                && self.1.receivers.load(Ordering::Relaxed) > 0
            {
                sched::block(&[key], None, Wait::Send);
            }
        }
        Ok(())
    }
}

impl<T> Receiver<T> {
    /// Blocks for the next message; fails once the channel is empty and
    /// every sender is gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        if sched::active() {
            return self.recv_virtual(None).map_err(|_| RecvError);
        }
        self.0.recv()
    }

    /// Like [`Receiver::recv`], but gives up after `timeout`. A channel
    /// whose senders are all gone answers at once, which makes a dropped
    /// sender a cheap "stop now" signal for a timed wait.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        if let Some(deadline) = sched::deadline_after(timeout) {
            return self.recv_virtual(Some(deadline));
        }
        let start = std::time::Instant::now();
        let got = self.0.recv_timeout(timeout);
        if matches!(got, Err(RecvTimeoutError::Timeout)) {
            crate::time::note_wake(start, timeout);
        }
        got
    }

    /// A receive in a virtual-time run: tries, and waits in the scheduler
    /// while the channel is empty and a sender is left.
    fn recv_virtual(&self, deadline: Option<Duration>) -> Result<T, RecvTimeoutError> {
        loop {
            match self.try_recv() {
                Ok(v) => return Ok(v),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            if sched::block(&[key(&self.1)], deadline, Wait::Recv) == Wake::TimedOut {
                return self.try_recv().map_err(|e| match e {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                });
            }
        }
    }

    /// The next message if one is waiting now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let got = self.0.try_recv();
        if got.is_ok() && sched::active() {
            // A sender waiting for room, or for its rendezvous, may go on.
            self.1.taken.fetch_add(1, Ordering::Relaxed);
            sched::notify(key(&self.1));
        }
        got
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

    /// True when a receive would not wait: a message is there, or every
    /// sender is gone.
    fn ready(&self) -> bool {
        !self.0.is_empty() || self.1.senders.load(Ordering::Relaxed) == 0
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
/// one is picked at random (in a virtual-time run, from the run's seed).
///
/// A receive on a channel whose senders are all gone is ready (its `recv`
/// then fails), as a send whose receivers are all gone is: a dropped sender
/// wakes a select as it wakes a plain `recv`.
pub struct Select<'a> {
    real: crossbeam_channel::Select<'a>,
    /// Each operation's channel key and readiness test, for a wait in a
    /// virtual-time run.
    ops: Vec<(usize, Box<dyn Fn() -> bool + 'a>)>,
}

/// The operation a [`Select`] picked; complete it on the same channel.
#[must_use = "a selected operation must be completed with recv or send"]
pub struct SelectedOperation<'a>(Picked<'a>);

enum Picked<'a> {
    Real(crossbeam_channel::SelectedOperation<'a>),
    /// Picked in a virtual-time run: ready, and nobody else runs before
    /// it is completed.
    Virtual(usize),
}

impl<'a> Select<'a> {
    /// A select with no operations.
    pub fn new() -> Select<'a> {
        Select {
            real: crossbeam_channel::Select::new(),
            ops: Vec::new(),
        }
    }

    /// Adds a receive on `rx`; returns its index.
    pub fn recv<T>(&mut self, rx: &'a Receiver<T>) -> usize {
        if sched::active() {
            self.ops.push((key(&rx.1), Box::new(move || rx.ready())));
        }
        self.real.recv(&rx.0)
    }

    /// Adds a send on `tx`; returns its index.
    pub fn send<T>(&mut self, tx: &'a Sender<T>) -> usize {
        if sched::active() {
            let ready = move || !tx.0.is_full() || tx.1.receivers.load(Ordering::Relaxed) == 0;
            self.ops.push((key(&tx.1), Box::new(ready)));
        }
        self.real.send(&tx.0)
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
        if sched::active() {
            return self.wait_virtual(deadline.map(Instant::to_virtual));
        }
        let Some(deadline) = deadline else {
            return Ok(SelectedOperation(Picked::Real(self.real.select())));
        };
        let start = std::time::Instant::now();
        let picked = self.real.select_deadline(deadline.to_std());
        if picked.is_err() {
            crate::time::note_wake(start, deadline.to_std().saturating_duration_since(start));
        }
        picked.map(|op| SelectedOperation(Picked::Real(op)))
    }

    /// A select in a virtual-time run: picks a ready operation with the
    /// run's generator, else waits in the scheduler on every channel.
    fn wait_virtual(
        &mut self,
        deadline: Option<Duration>,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        assert!(!self.ops.is_empty(), "a select needs an operation");
        let keys: Vec<usize> = self.ops.iter().map(|(k, _)| *k).collect();
        loop {
            let ready: Vec<usize> = (0..self.ops.len()).filter(|&i| (self.ops[i].1)()).collect();
            if !ready.is_empty() {
                let i = ready[sched::draw_index(ready.len())];
                return Ok(SelectedOperation(Picked::Virtual(i)));
            }
            if sched::block(&keys, deadline, Wait::Select) == Wake::TimedOut
                && !self.ops.iter().any(|(_, ready)| ready())
            {
                return Err(SelectTimeoutError);
            }
        }
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
        match &self.0 {
            Picked::Real(op) => op.index(),
            Picked::Virtual(i) => *i,
        }
    }

    /// Completes a picked receive; fails if `rx`'s senders are all gone.
    ///
    /// # Panics
    /// If `rx` is not the channel of the picked operation.
    pub fn recv<T>(self, rx: &Receiver<T>) -> Result<T, RecvError> {
        match self.0 {
            Picked::Real(op) => op.recv(&rx.0),
            Picked::Virtual(_) => rx.recv(),
        }
    }

    /// Completes a picked send; fails if `tx`'s receivers are all gone.
    ///
    /// # Panics
    /// If `tx` is not the channel of the picked operation.
    pub fn send<T>(self, tx: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        match self.0 {
            Picked::Real(op) => op.send(&tx.0, msg),
            Picked::Virtual(_) => tx.send(msg),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.1.senders.fetch_add(1, Ordering::Relaxed);
        Sender(self.0.clone(), self.1.clone())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.1.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver(self.0.clone(), self.1.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.1.senders.fetch_sub(1, Ordering::Relaxed);
        // Receivers waiting in a virtual-time run see the last one go.
        sched::notify(key(&self.1));
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.1.receivers.fetch_sub(1, Ordering::Relaxed);
        sched::notify(key(&self.1));
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
