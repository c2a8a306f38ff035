//! A virtual clock on top of `shuttle`, which has none.
//!
//! The clock is the execution's main task (shuttle's `TaskId(0)`): it
//! starts the workload's first thread, then loops, and each turn either
//! unparks the sleepers whose deadline has come or, when none is due,
//! moves the clock to the earliest deadline. [`ClockLastScheduler`]
//! wraps shuttle's scheduler and offers it the clock task only when the
//! clock is the one runnable task: shuttle hands every scheduler the list
//! of runnable tasks at each scheduling point, and the clock never blocks
//! (it only yields), so "the clock is alone in that list" is exactly
//! "every other thread is blocked". A timed wait registers a timer here
//! and parks; whoever wakes it first (the clock or a sender) wins, and a
//! wait that ends by a message cancels its timer, so the clock never
//! stops at a deadline nobody waits for.
//!
//! This module must never hold its timers borrowed across a shuttle
//! operation (each is a scheduling point, and all tasks share one OS
//! thread), and never read the OS clock.

#![allow(clippy::disallowed_types)] // std's Mutex: the boundary log, written between executions

use crate::measure::Sample;
use crate::trace::fnv_step;
use shuttle::scheduler::{RandomScheduler, Schedule, Scheduler, Task, TaskId};
use shuttle::thread::Thread;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A registered timer: its deadline and a number that makes it unique.
pub type TimerKey = (Duration, u64);

#[derive(Default)]
struct Timers {
    now: Duration,
    next: u64,
    waiting: BTreeMap<TimerKey, Thread>,
    done: bool,
}

thread_local! {
    /// The clock of the shuttle execution running on this OS thread (all
    /// its tasks are continuations on the thread that runs the `Runner`).
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
}

fn with_timers<R>(f: impl FnOnce(&mut Timers) -> R) -> R {
    TIMERS.with(|t| f(&mut t.borrow_mut()))
}

/// Virtual time of the current execution.
pub fn now() -> Duration {
    with_timers(|t| t.now)
}

/// Registers `thread` to be unparked at `deadline`.
pub fn register(deadline: Duration, thread: Thread) -> TimerKey {
    with_timers(|t| {
        t.next += 1;
        let key = (deadline, t.next);
        t.waiting.insert(key, thread);
        key
    })
}

/// Forgets a timer whose wait ended otherwise.
pub fn cancel(key: TimerKey) {
    with_timers(|t| t.waiting.remove(&key));
}

/// Runs `workload` as the first thread of the execution, with the calling
/// (main) task as the clock, until the workload ends.
///
/// # Panics
/// On a deadlock: no thread can run and none waits with a deadline.
pub fn drive(workload: impl FnOnce() + Send + 'static) {
    with_timers(|t| *t = Timers::default());
    let handle = shuttle::thread::spawn(move || {
        workload();
        with_timers(|t| t.done = true);
    });
    loop {
        // Back only when every other task is blocked or finished (see
        // `ClockLastScheduler`).
        shuttle::thread::yield_now();
        let due = with_timers(|t| {
            let later = t.waiting.split_off(&(t.now, u64::MAX));
            std::mem::replace(&mut t.waiting, later)
        });
        if !due.is_empty() {
            for thread in due.into_values() {
                thread.unpark();
            }
            continue;
        }
        let (done, moved) = with_timers(|t| {
            let earliest = t.waiting.keys().next().map(|k| k.0);
            if let Some(deadline) = earliest {
                t.now = deadline;
            }
            (t.done, earliest.is_some())
        });
        if done {
            break;
        }
        assert!(moved, "deadlock: no thread can run and none has a deadline");
    }
    handle.join().expect("the workload panicked");
}

/// The shuttle task that is the clock.
const CLOCK: usize = 0;

/// What the wrapped scheduler decided in one execution, for the figures.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    /// Scheduling points (calls to `next_task`).
    pub picks: u64,
    /// Picks of another task than the current one.
    pub switches: u64,
    /// FNV-1a of the sequence of picked tasks.
    pub hash: u64,
}

/// One boundary between executions: when it came, and what the execution
/// that just ended decided (none before the first).
pub struct Boundary {
    pub at: Sample,
    pub ended: Option<Decisions>,
}

/// Shuttle's random scheduler, one fresh seed per execution, with the
/// clock as the task of last resort; it logs a [`Boundary`] before each
/// execution and after the last.
pub struct ClockLastScheduler {
    seeds: VecDeque<u64>,
    inner: Option<RandomScheduler>,
    decisions: Option<Decisions>,
    log: Arc<Mutex<Vec<Boundary>>>,
    others: Vec<usize>,
}

impl ClockLastScheduler {
    /// One execution per seed of `seeds`, logged into `log`.
    pub fn new(seeds: impl IntoIterator<Item = u64>, log: Arc<Mutex<Vec<Boundary>>>) -> Self {
        ClockLastScheduler {
            seeds: seeds.into_iter().collect(),
            inner: None,
            decisions: None,
            log,
            others: Vec::new(),
        }
    }

    fn note(&mut self, picked: Option<TaskId>, current: Option<TaskId>) {
        let d = self.decisions.get_or_insert_with(Decisions::default);
        d.picks += 1;
        if picked != current {
            d.switches += 1;
        }
        let id = picked.map_or(u64::MAX, |t| usize::from(t) as u64);
        d.hash = fnv_step(d.hash, id);
    }
}

impl Scheduler for ClockLastScheduler {
    fn new_execution(&mut self) -> Option<Schedule> {
        let ended = self.decisions.take();
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Boundary {
                at: Sample::now(),
                ended,
            });
        if let Some(mut finished) = self.inner.take() {
            // Its one execution is over: this returns None, which tells it
            // so (otherwise it prints its seed as a failing one when dropped).
            let _ = finished.new_execution();
        }
        let seed = self.seeds.pop_front()?;
        let mut inner = RandomScheduler::new_from_seed(seed, 1);
        let schedule = inner.new_execution();
        self.inner = Some(inner);
        self.decisions = Some(Decisions::default());
        schedule
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.others.clear();
        self.others.extend(
            runnable
                .iter()
                .enumerate()
                .filter(|(_, t)| t.runnable() && usize::from(t.id()) != CLOCK)
                .map(|(i, _)| i),
        );
        let inner = self.inner.as_mut().expect("next_task before new_execution");
        let picked = if self.others.is_empty() {
            Some(TaskId::from(CLOCK))
        } else if self.others.len() == runnable.len() {
            inner.next_task(runnable, current, is_yielding)
        } else {
            let others: Vec<&Task> = self.others.iter().map(|&i| runnable[i]).collect();
            inner.next_task(&others, current, is_yielding)
        };
        self.note(picked, current);
        picked
    }

    fn next_u64(&mut self) -> u64 {
        self.inner.as_mut().map_or(0, |s| s.next_u64())
    }
}
