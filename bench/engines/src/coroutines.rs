//! The `shuttle` back end: every thread is a shuttle task (a user-space
//! continuation on the one OS thread that runs the execution), with the
//! virtual clock of `clock.rs` on top.
//!
//! Locks are shuttle's; channels are shuttle's `mpsc` for the data, with a
//! timed wait built here from `park`/`unpark` and the clock's timers
//! (shuttle's own `recv_timeout` never times out). This module must never
//! block on anything but shuttle's primitives, and never hold its std
//! lock across one of them.

#![allow(clippy::disallowed_types)] // std's Mutex: the waiter slot, never held across a switch

use crate::clock::{self, Boundary, ClockLastScheduler};
use crate::engine::Engine;
use shuttle::rand::RngCore;
use shuttle::sync::mpsc;
use shuttle::thread::Thread;
use shuttle::{Config, MaxSteps, Runner};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `shuttle` with a virtual clock, as an [`Engine`].
pub struct Coroutines;

/// Who waits on a channel's receiving end, if anyone.
type Waiter = Arc<Mutex<Option<Thread>>>;

fn slot(waiter: &Waiter) -> std::sync::MutexGuard<'_, Option<Thread>> {
    waiter.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sending half: shuttle's sender and the receiver's waiter slot.
pub struct Sender<T>(mpsc::Sender<T>, Waiter);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone(), self.1.clone())
    }
}

/// The receiving half.
pub struct Receiver<T>(mpsc::Receiver<T>, Waiter);

/// Runs `work` once per seed of `seeds`, in one shuttle `Runner` (its
/// continuations are reused from one execution to the next). Returns each
/// execution's result and the boundaries between executions.
pub fn run_seeds<R: Send + 'static>(seeds: &[u64], work: fn() -> R) -> (Vec<R>, Vec<Boundary>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let scheduler = ClockLastScheduler::new(seeds.iter().copied(), log.clone());
    let mut config = Config::new();
    config.max_steps = MaxSteps::None;
    let sink = results.clone();
    Runner::new(scheduler, config).run(move || {
        let sink = sink.clone();
        clock::drive(move || {
            let result = work();
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(result);
        });
    });
    (take(&results), take(&log))
}

fn take<T>(m: &Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *m.lock().unwrap_or_else(|p| p.into_inner()))
}

impl Engine for Coroutines {
    type Mutex<T: Send + 'static> = shuttle::sync::Mutex<T>;
    type Sender<T: Send + 'static> = Sender<T>;
    type Receiver<T: Send + 'static> = Receiver<T>;
    type Handle<T: Send + 'static> = shuttle::thread::JoinHandle<T>;

    fn spawn<T: Send + 'static>(
        name: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Self::Handle<T> {
        shuttle::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
            .expect("shuttle refused a thread")
    }

    fn join<T: Send + 'static>(handle: Self::Handle<T>) -> T {
        handle.join().expect("a workload thread panicked")
    }

    fn sleep(d: Duration) {
        if d.is_zero() {
            shuttle::thread::yield_now();
            return;
        }
        let deadline = clock::now() + d;
        clock::register(deadline, shuttle::thread::current());
        while clock::now() < deadline {
            shuttle::thread::park();
        }
    }

    fn now() -> Duration {
        clock::now()
    }

    fn below(n: u64) -> u64 {
        shuttle::rand::thread_rng().next_u64() % n
    }

    fn mutex<T: Send + 'static>(value: T) -> Self::Mutex<T> {
        shuttle::sync::Mutex::new(value)
    }

    fn with_lock<T: Send + 'static, R>(m: &Self::Mutex<T>, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn channel<T: Send + 'static>() -> (Self::Sender<T>, Self::Receiver<T>) {
        let (tx, rx) = mpsc::channel();
        let waiter = Waiter::default();
        (Sender(tx, waiter.clone()), Receiver(rx, waiter))
    }

    fn send<T: Send + 'static>(tx: &Self::Sender<T>, value: T) {
        if tx.0.send(value).is_ok()
            && let Some(receiver) = slot(&tx.1).take()
        {
            receiver.unpark();
        }
    }

    fn recv_timeout<T: Send + 'static>(
        rx: &Self::Receiver<T>,
        timeout: Option<Duration>,
    ) -> Option<T> {
        let deadline = timeout.map(|d| clock::now() + d);
        let mut timer = None;
        let got = loop {
            match rx.0.try_recv() {
                Ok(value) => break Some(value),
                Err(mpsc::TryRecvError::Disconnected) => break None,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            if deadline.is_some_and(|d| clock::now() >= d) {
                break None;
            }
            *slot(&rx.1) = Some(shuttle::thread::current());
            if let (None, Some(d)) = (timer, deadline) {
                timer = Some(clock::register(d, shuttle::thread::current()));
            }
            shuttle::thread::park();
        };
        *slot(&rx.1) = None;
        if let Some(key) = timer {
            clock::cancel(key);
        }
        got
    }
}
