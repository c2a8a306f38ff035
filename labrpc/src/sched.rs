//! Virtual time: the layer's second mode, a deterministic scheduler.
//!
//! `LAB_TIME=virtual` makes the test runner run each test inside a
//! [`Run`]. Only one thread of a run executes at a time: it holds the
//! run's baton. A thread gives the baton up only at a scheduling point of
//! the layer: a sleep, a lock held by another thread, a condition-variable
//! wait, a channel send or receive that must wait, a select, a join, a
//! spawn, and its own end. The next thread is drawn from the run's seed
//! among the runnable ones (or, with `LAB_SCHED=pct`, by the priorities of
//! PCT: Burckhardt et al., ASPLOS 2010). When no thread can run, the clock
//! jumps to the earliest deadline. The same seed therefore gives the same
//! run, event for event, and a run costs its CPU alone: nobody ever sleeps
//! on the OS clock.
//!
//! Two engines carry the baton ([`Engine`], `LAB_ENGINE`), and they make
//! the same picks, so a seed gives the same run on either
//! (`tests/tests/determinism.rs` compares their event logs):
//! - **fibers** (the default): every thread after the run's first is a
//!   user-space continuation on the first thread's OS thread (`fiber.rs`,
//!   on `corosensei`). A switch is a few dozen nanoseconds of user code.
//! - **threads**: every thread is an OS thread of the worker pool, pinned
//!   with the others to one CPU (`affinity.rs`); a switch is a futex
//!   hand-off in the kernel, microseconds. A `thread_local!` of the Raft's
//!   own is per thread, as in real time, where fibers share one.
//!
//! Measured in `bench/engines` (`docs/engine-comparison.md`) on one
//! 2A-shaped workload: fibers 1.4 ms of CPU per run, the threads engine
//! 8.1 ms and awslabs' `shuttle` with a virtual clock on top 2.5 ms, all
//! three replaying every seed exactly. Fibers keep what the baton spared
//! the rest of the code: the layer already owns every blocking call, so the
//! Raft, the network's thread per RPC and the harness run unchanged, with
//! the layer's own select and timed waits, on 2 MiB stacks, for one small
//! crate. `make bench-virtual` measures a real 2A.
//!
//! A thread that blocks outside the layer (a `std` lock, `std::thread::sleep`,
//! a busy loop) keeps the baton: the whole run stops. The runner's
//! wall-clock watchdog names it (see [`Progress`]). A deadlock (no
//! thread can run and no thread but the run's watchers waits with a
//! deadline) is recorded at once with what every thread waits for
//! ([`deadlock`]).
//!
//! This module must never let two threads of a run execute at once, never
//! draw from anything but the run's seeded generator, and never read the
//! OS clock for the run's time.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::{affinity, fiber, foreign};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The key of a wait for the clock's next move (no lock or channel has
/// address 1).
const CLOCK_MOVED: usize = 1;

/// A thread's number within its run, in order of creation.
pub(crate) type Tid = u64;

/// What a blocked thread waits for, for the deadlock report.
#[derive(Clone, Debug)]
pub(crate) enum Wait {
    Sleep,
    Lock,
    Condvar,
    Recv,
    Send,
    Select,
    Owner,
}

/// Why a blocked thread was woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// A key it waited on was notified (or it yielded).
    Notified,
    /// Its deadline came.
    TimedOut,
    /// The run deadlocked for good; the run's first thread reports it.
    Deadlock,
}

/// How the next thread is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Uniformly among the runnable threads.
    Random,
    /// PCT: each thread gets a random priority; the highest runnable one
    /// runs; at `depth - 1` random steps the running thread drops to the
    /// lowest priority.
    Pct { depth: u32 },
}

impl Policy {
    /// `LAB_SCHED`: unset, empty or `random`; `pct` (depth 3) or `pct:N`.
    pub fn parse(text: Option<&str>) -> Result<Policy, String> {
        let text = text.map(str::trim).unwrap_or("");
        match text {
            "" | "random" => Ok(Policy::Random),
            "pct" => Ok(Policy::Pct { depth: 3 }),
            t => match t.strip_prefix("pct:").map(|d| d.parse::<u32>()) {
                Some(Ok(depth)) if depth >= 1 => Ok(Policy::Pct { depth }),
                _ => Err(format!(
                    "LAB_SCHED={t:?}: must be random, pct or pct:N (N >= 1)"
                )),
            },
        }
    }
}

/// What runs a virtual-time run's threads (`LAB_ENGINE`). Both give the
/// same schedule: the same seed gives the same event log on either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Every thread after the first is a fiber on the first thread's OS
    /// thread, switched in user space (`fiber.rs`): the default.
    Fibers,
    /// Every thread is an OS thread, and the run's baton passes between
    /// them by futex hand-offs: slower, but a `thread_local!` of the
    /// Raft's own is per thread, as in real time.
    Threads,
}

impl Engine {
    /// `LAB_ENGINE`: unset, empty or `fibers`; or `threads`.
    pub fn parse(text: Option<&str>) -> Result<Engine, String> {
        match text.map(str::trim).unwrap_or("") {
            "" | "fibers" => Ok(Engine::Fibers),
            "threads" => Ok(Engine::Threads),
            other => Err(format!("LAB_ENGINE={other:?}: must be fibers or threads")),
        }
    }

    /// The process's engine, from `LAB_ENGINE`.
    ///
    /// # Panics
    /// If `LAB_ENGINE` is set to something else than an engine (the lab's
    /// runner rejects it before any test, with [`Engine::parse`]'s message).
    pub fn from_env() -> Engine {
        static ENGINE: std::sync::OnceLock<Result<Engine, String>> = std::sync::OnceLock::new();
        ENGINE
            .get_or_init(|| Engine::parse(std::env::var("LAB_ENGINE").ok().as_deref()))
            .clone()
            .unwrap_or_else(|err| panic!("{err}"))
    }
}

/// The steps among which PCT draws its priority change points.
const PCT_HORIZON: u64 = 50_000;

struct Blocked {
    keys: Vec<usize>,
    deadline: Option<Duration>,
    what: Wait,
}

struct Thread {
    name: String,
    parker: Arc<Parker>,
    blocked: Option<Blocked>,
    woke: Wake,
    watcher: bool,
    priority: u64,
}

struct State {
    clock: Duration,
    threads: BTreeMap<Tid, Thread>,
    running: Option<Tid>,
    next_tid: Tid,
    rng: StdRng,
    policy: Policy,
    change_points: Vec<u64>,
    steps: u64,
    deadlock: Option<String>,
    frozen: bool,
    /// Which thread holds each lock, by the lock's key.
    holders: HashMap<usize, Tid>,
    /// The threads blocked on each key: an index of `Thread::blocked`, so
    /// that a notification touches only its waiters, not every thread.
    waiters: HashMap<usize, Vec<Tid>>,
    /// The threads not blocked, in id order: the other index of
    /// `Thread::blocked`, so that a pick does not walk every thread.
    runnable: Vec<Tid>,
}

/// One virtual-time run: its clock, its threads and its baton.
pub struct Run {
    label: String,
    engine: Engine,
    /// The CPU every thread of the run is pinned to (see `affinity`).
    cpu: Option<usize>,
    state: Mutex<State>,
    /// Hand-offs so far, for the wall-clock watchdog.
    switches: AtomicU64,
}

/// A one-shot wake-up flag for one thread.
struct Parker {
    go: Mutex<bool>,
    signal: Condvar,
}

impl Parker {
    fn new() -> Arc<Parker> {
        Arc::new(Parker {
            go: Mutex::new(false),
            signal: Condvar::new(),
        })
    }

    fn park(&self) {
        let mut go = lock(&self.go);
        while !*go {
            go = self.signal.wait(go).unwrap_or_else(|p| p.into_inner());
        }
        *go = false;
    }

    fn unpark(&self) {
        *lock(&self.go) = true;
        self.signal.notify_one();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The calling thread's membership of a run.
#[derive(Clone)]
pub(crate) struct Current {
    run: Arc<Run>,
    tid: Tid,
    parker: Arc<Parker>,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Exchanges `saved` with the calling OS thread's run membership (for
/// `fiber.rs`, which swaps logical threads on one OS thread).
pub(crate) fn swap_current(saved: &mut Option<Current>) {
    CURRENT.with(|c| std::mem::swap(&mut *c.borrow_mut(), saved));
}

/// Calls `f` with the calling thread's run, if it is in one.
/// Outside a run, notes the use for [`foreign`].
fn with_current<R>(f: impl FnOnce(&Current) -> R) -> Option<R> {
    // A copy, not a borrow: `f` may switch threads, and a switch to a
    // fiber swaps this thread-local.
    let r = CURRENT.with(|c| c.borrow().clone()).as_ref().map(f);
    if r.is_none() {
        foreign::note_use_outside_run();
    }
    r
}

/// True when the calling thread runs in virtual time.
pub fn active() -> bool {
    let active = CURRENT.with(|c| c.borrow().is_some());
    if !active {
        foreign::note_use_outside_run();
    }
    active
}

/// `LAB_TIME`: false for real time (unset, empty or `real`), true for
/// `virtual`; anything else is an error that says what is allowed.
pub fn parse_mode(text: Option<&str>) -> Result<bool, String> {
    match text.map(str::trim).unwrap_or("") {
        "" | "real" => Ok(false),
        "virtual" => Ok(true),
        other => Err(format!("LAB_TIME={other:?}: must be real or virtual")),
    }
}

/// A mixing function (splitmix64) for deriving the run's seed from a label.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn seed_for(seed: u64, label: &str) -> u64 {
    label
        .bytes()
        .fold(mix(seed ^ 0x5eed_5c4e_d01e), |h, b| mix(h ^ u64::from(b)))
}

/// The calling thread's membership of a run; dropping it ends the run:
/// threads of the run still alive are frozen where they wait, for good.
pub struct RunGuard {
    run: Arc<Run>,
}

/// Starts a virtual-time run named `label` (a test's name), seeded from
/// `seed` and the label, with the calling thread as its first thread. The
/// calling thread is the run's watcher: its timed waits do not keep a
/// deadlocked run from being reported.
///
/// # Panics
/// If the calling thread is already in a run.
pub fn enter(label: &str, seed: u64, policy: Policy) -> RunGuard {
    enter_on(Engine::from_env(), label, seed, policy)
}

/// [`enter`] on the engine `engine` rather than `LAB_ENGINE`'s.
///
/// # Panics
/// If the calling thread is already in a run.
pub fn enter_on(engine: Engine, label: &str, seed: u64, policy: Policy) -> RunGuard {
    assert!(!active(), "a thread cannot enter a second virtual-time run");
    let mut rng = StdRng::seed_from_u64(seed_for(seed, label));
    let change_points = match policy {
        Policy::Random => Vec::new(),
        Policy::Pct { depth } => (1..depth)
            .map(|_| rng.random_range(0..PCT_HORIZON))
            .collect(),
    };
    let parker = Parker::new();
    let mut state = State {
        clock: Duration::ZERO,
        threads: BTreeMap::new(),
        running: Some(0),
        next_tid: 1,
        rng,
        policy,
        change_points,
        steps: 0,
        deadlock: None,
        frozen: false,
        holders: HashMap::new(),
        waiters: HashMap::new(),
        runnable: Vec::new(),
    };
    let priority = state.draw_priority();
    state.add_thread(
        0,
        Thread {
            name: "main".to_string(),
            parker: parker.clone(),
            blocked: None,
            woke: Wake::Notified,
            watcher: true,
            priority,
        },
    );
    foreign::run_began();
    // Fibers share their first thread's OS thread: nothing to pin.
    let cpu = match engine {
        Engine::Threads => affinity::current_cpu(),
        Engine::Fibers => None,
    };
    if let Some(cpu) = cpu {
        affinity::pin_current(cpu);
    }
    let run = Arc::new(Run {
        label: label.to_string(),
        engine,
        cpu,
        state: Mutex::new(state),
        switches: AtomicU64::new(0),
    });
    CURRENT.with(|c| {
        *c.borrow_mut() = Some(Current {
            run: run.clone(),
            tid: 0,
            parker,
        })
    });
    RunGuard { run }
}

impl RunGuard {
    /// A handle the wall-clock watchdog can poll from outside the run.
    pub fn progress(&self) -> Progress {
        Progress(self.run.clone())
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let mut st = lock(&self.run.state);
        st.frozen = true;
        st.remove_thread(0);
        st.running = None;
        drop(st);
        CURRENT.with(|c| *c.borrow_mut() = None);
        if self.run.engine == Engine::Fibers {
            fiber::abandon_all();
        }
        affinity::unpin_current();
        foreign::run_ended();
    }
}

/// What the wall-clock watchdog sees of a run from outside it.
#[derive(Clone)]
pub struct Progress(Arc<Run>);

impl Progress {
    /// Hand-offs so far: a count that stops moving means the thread
    /// holding the baton never reaches a scheduling point.
    pub fn switches(&self) -> u64 {
        self.0.switches.load(Ordering::Relaxed)
    }

    /// The run's virtual clock: a clock that stands still while the
    /// hand-offs go on means threads loop without ever letting time pass.
    pub fn clock(&self) -> Duration {
        lock(&self.0.state).clock
    }

    /// The name of the thread holding the baton.
    pub fn running(&self) -> Option<String> {
        let st = lock(&self.0.state);
        let tid = st.running?;
        st.threads.get(&tid).map(|t| t.name.clone())
    }

    /// The run's label.
    pub fn label(&self) -> &str {
        &self.0.label
    }
}

impl State {
    fn draw_priority(&mut self) -> u64 {
        match self.policy {
            Policy::Random => 0,
            // Above the lowered priorities (1..=depth).
            Policy::Pct { .. } => self.rng.random_range(1_000..u64::MAX / 2),
        }
    }

    /// The next thread to run among the runnable ones, if any.
    fn pick(&mut self) -> Option<Tid> {
        let next = match self.policy {
            Policy::Random => {
                if self.runnable.is_empty() {
                    return None;
                }
                self.runnable[self.rng.random_range(0..self.runnable.len())]
            }
            // Of equal priorities, the last in id order.
            Policy::Pct { .. } => *self
                .runnable
                .iter()
                .max_by_key(|tid| self.threads.get(tid).map_or(0, |t| t.priority))?,
        };
        self.steps += 1;
        if let Some(at) = self.change_points.iter().position(|&p| p == self.steps) {
            let low = at as u64 + 1;
            if let Some(t) = self.threads.get_mut(&next) {
                t.priority = low;
            }
        }
        Some(next)
    }

    /// Moves the clock to the earliest deadline and wakes every thread
    /// whose deadline it reached. False when no thread has a deadline.
    fn advance_clock(&mut self) -> bool {
        let earliest = self
            .threads
            .values()
            .filter_map(|t| t.blocked.as_ref()?.deadline)
            .min();
        let Some(earliest) = earliest else {
            return false;
        };
        if self.deadlock.is_none() && !self.some_worker_can_go_on() {
            self.deadlock = Some(self.wait_report("deadlock"));
        }
        let moved = earliest > self.clock;
        self.clock = self.clock.max(earliest);
        let clock = self.clock;
        if moved {
            self.wake_waiters_of(CLOCK_MOVED);
        }
        let due: Vec<Tid> = self
            .threads
            .iter()
            .filter(|(_, t)| {
                t.blocked
                    .as_ref()
                    .is_some_and(|b| b.deadline.is_some_and(|d| d <= clock))
            })
            .map(|(&tid, _)| tid)
            .collect();
        for tid in due {
            self.unblock(tid, Wake::TimedOut);
        }
        true
    }

    /// Adds thread `tid` to the run, runnable.
    fn add_thread(&mut self, tid: Tid, thread: Thread) {
        debug_assert!(thread.blocked.is_none());
        self.threads.insert(tid, thread);
        mark_runnable(&mut self.runnable, tid);
    }

    /// Takes thread `tid` out of the run.
    fn remove_thread(&mut self, tid: Tid) {
        if let Some(t) = self.threads.remove(&tid) {
            match t.blocked {
                Some(b) => unindex(&mut self.waiters, tid, &b.keys),
                None => mark_blocked(&mut self.runnable, tid),
            }
        }
    }

    /// Blocks thread `tid` as `blocked` says.
    fn set_blocked(&mut self, tid: Tid, blocked: Blocked) {
        let Some(t) = self.threads.get_mut(&tid) else {
            return;
        };
        // Off the old waits' lists first: a key in both stays listed.
        match t.blocked.replace(blocked) {
            Some(old) => unindex(&mut self.waiters, tid, &old.keys),
            None => mark_blocked(&mut self.runnable, tid),
        }
        if let Some(b) = &t.blocked {
            for &key in &b.keys {
                self.waiters.entry(key).or_default().push(tid);
            }
        }
    }

    /// Makes thread `tid` runnable again, woken for `why`.
    fn unblock(&mut self, tid: Tid, why: Wake) {
        if let Some(t) = self.threads.get_mut(&tid) {
            if let Some(b) = t.blocked.take() {
                unindex(&mut self.waiters, tid, &b.keys);
                mark_runnable(&mut self.runnable, tid);
            }
            t.woke = why;
        }
    }

    fn wake_waiters_of(&mut self, key: usize) {
        for tid in self.waiters.remove(&key).unwrap_or_default() {
            let waits_on_key = self
                .threads
                .get(&tid)
                .and_then(|t| t.blocked.as_ref())
                .is_some_and(|b| b.keys.contains(&key));
            if waits_on_key {
                self.unblock(tid, Wake::Notified);
            }
        }
    }

    /// True if a thread other than the watchers is runnable or waits with
    /// a deadline.
    fn some_worker_can_go_on(&self) -> bool {
        self.threads
            .values()
            .any(|t| !t.watcher && t.blocked.as_ref().is_none_or(|b| b.deadline.is_some()))
    }

    /// Every thread and what it waits for, one per line.
    fn wait_report(&self, title: &str) -> String {
        let mut out = format!(
            "{title}: no thread of the test can go on (virtual time {:.3} s); each waits:",
            self.clock.as_secs_f64()
        );
        for (tid, t) in &self.threads {
            if t.watcher {
                continue;
            }
            let what = match &t.blocked {
                None => "runnable".to_string(),
                Some(b) => self.describe(*tid, b),
            };
            out.push_str(&format!("\n      '{}': {what}", t.name));
        }
        out
    }

    fn describe(&self, me: Tid, b: &Blocked) -> String {
        let holder = |key: &usize| {
            self.holders
                .get(key)
                .filter(|&&h| h != me)
                .and_then(|h| self.threads.get(h))
                .map(|t| format!(" held by '{}'", t.name))
                .unwrap_or_default()
        };
        match &b.what {
            Wait::Sleep => "sleeping".to_string(),
            Wait::Lock => format!(
                "for a lock{}",
                b.keys.first().map(holder).unwrap_or_default()
            ),
            Wait::Condvar => "on a condition variable".to_string(),
            Wait::Recv => "to receive on a channel".to_string(),
            Wait::Send => "to send on a channel (full, or no receiver took it yet)".to_string(),
            Wait::Select => format!("in a select over {} channel operations", b.keys.len()),
            Wait::Owner => "for the test's threads to end or fail".to_string(),
        }
    }
}

impl Run {
    /// Hands the baton to the next thread and, unless `me` ends, waits for
    /// it to come back. `st` is the run's locked state with `me` already
    /// marked blocked (or runnable, for a yield; or removed, when ending).
    fn switch(&self, mut st: MutexGuard<'_, State>, me: &Current, ending: bool) -> Wake {
        let next = loop {
            if st.frozen {
                // The run is over: its remaining threads stay where they are.
                drop(st);
                if ending {
                    return Wake::Notified;
                }
                self.stay_forever(me);
            }
            if let Some(next) = st.pick() {
                break next;
            }
            if !st.advance_clock() {
                // Nothing can ever run again.
                if st.deadlock.is_none() {
                    st.deadlock = Some(st.wait_report("deadlock"));
                }
                if st
                    .threads
                    .get(&0)
                    .is_some_and(|main| main.blocked.is_some())
                {
                    // The run's first thread reports it (see `block`).
                    st.unblock(0, Wake::Deadlock);
                    continue;
                }
                st.running = None;
                drop(st);
                if ending {
                    return Wake::Notified;
                }
                self.stay_forever(me);
            }
        };
        st.running = Some(next);
        self.switches.fetch_add(1, Ordering::Relaxed);
        if next == me.tid {
            return st.threads[&next].woke;
        }
        if self.engine == Engine::Fibers {
            drop(st);
            if ending {
                // The fiber returns, and its driver goes on with `next`.
                return Wake::Notified;
            }
            if fiber::on_fiber() {
                fiber::suspend();
            } else {
                self.drive_fibers(me.tid);
            }
            let st = lock(&self.state);
            return st.threads.get(&me.tid).map_or(Wake::Notified, |t| t.woke);
        }
        let parker = st.threads[&next].parker.clone();
        drop(st);
        parker.unpark();
        if ending {
            return Wake::Notified;
        }
        me.parker.park();
        let st = lock(&self.state);
        st.threads.get(&me.tid).map_or(Wake::Notified, |t| t.woke)
    }

    /// On the run's first thread, blocked: resumes the fibers the scheduler
    /// picks, one after the other, until it picks thread `me` again.
    fn drive_fibers(&self, me: Tid) {
        loop {
            let next = lock(&self.state).running;
            match next {
                Some(tid) if tid == me => return,
                Some(tid) => {
                    if !fiber::resume(tid) {
                        panic!(
                            "virtual time: thread {tid} of run '{}' has no fiber",
                            self.label
                        );
                    }
                }
                None => {
                    let report = lock(&self.state).wait_report("no thread can run");
                    panic!("{report}");
                }
            }
        }
    }

    /// A thread of a run that is over, or that can never run again: it
    /// stays where it is for good.
    fn stay_forever(&self, me: &Current) -> ! {
        loop {
            if fiber::on_fiber() {
                fiber::suspend();
            } else {
                me.parker.park();
            }
        }
    }
}

/// Puts `tid` in the id-ordered runnable list.
fn mark_runnable(runnable: &mut Vec<Tid>, tid: Tid) {
    if let Err(at) = runnable.binary_search(&tid) {
        runnable.insert(at, tid);
    }
}

/// Takes `tid` out of the id-ordered runnable list.
fn mark_blocked(runnable: &mut Vec<Tid>, tid: Tid) {
    if let Ok(at) = runnable.binary_search(&tid) {
        runnable.remove(at);
    }
}

/// Takes thread `tid` off the waiter lists of `keys`.
fn unindex(waiters: &mut HashMap<usize, Vec<Tid>>, tid: Tid, keys: &[usize]) {
    for key in keys {
        if let Some(list) = waiters.get_mut(key) {
            list.retain(|&t| t != tid);
            if list.is_empty() {
                waiters.remove(key);
            }
        }
    }
}

/// Blocks the calling thread of a run until one of `keys` is notified or
/// the virtual clock reaches `deadline`. Only for threads in a run.
pub(crate) fn block(keys: &[usize], deadline: Option<Duration>, what: Wait) -> Wake {
    with_current(|me| {
        let mut st = lock(&me.run.state);
        let clock = st.clock;
        if deadline.is_some_and(|d| d <= clock) {
            // Already due: a timeout now, after a yield.
            if let Some(t) = st.threads.get_mut(&me.tid) {
                t.woke = Wake::TimedOut;
            }
        } else {
            let blocked = Blocked {
                keys: keys.to_vec(),
                deadline,
                what,
            };
            st.set_blocked(me.tid, blocked);
        }
        let wake = me.run.switch(st, me, false);
        if wake == Wake::Deadlock {
            let report = lock(&me.run.state).deadlock.clone().unwrap_or_default();
            panic!("{report}");
        }
        wake
    })
    .unwrap_or(Wake::TimedOut)
}

/// Wakes every thread of the calling thread's run that waits on `key`.
/// A no-op outside a run.
pub(crate) fn notify(key: usize) {
    with_current(|me| lock(&me.run.state).wake_waiters_of(key));
}

/// A scheduling point where the calling thread stays runnable.
pub(crate) fn yield_now() {
    with_current(|me| {
        let st = lock(&me.run.state);
        me.run.switch(st, me, false)
    });
}

/// A draw below `n` from the run's generator (a select's pick among ready
/// operations). Outside a run: 0.
pub(crate) fn draw_index(n: usize) -> usize {
    with_current(|me| lock(&me.run.state).rng.random_range(0..n)).unwrap_or(0)
}

/// The calling thread's virtual clock, if it is in a run.
pub(crate) fn now() -> Option<Duration> {
    with_current(|me| lock(&me.run.state).clock)
}

/// Records that the calling thread holds the lock `key` (for reports).
pub(crate) fn note_holder(key: usize) {
    with_current(|me| {
        lock(&me.run.state).holders.insert(key, me.tid);
    });
}

/// A lock `key` was released: forgets its holder and wakes its waiters.
pub(crate) fn note_released(key: usize) {
    with_current(|me| {
        let mut st = lock(&me.run.state);
        st.holders.remove(&key);
        st.wake_waiters_of(key);
    });
}

/// Marks the calling thread of a run as a watcher (or not): a thread
/// that only polls, whose timed waits must not hide a deadlock.
pub fn set_watcher(watcher: bool) {
    with_current(|me| {
        if let Some(t) = lock(&me.run.state).threads.get_mut(&me.tid) {
            t.watcher = watcher;
        }
    });
}

/// The deadlock report of the calling thread's run, once one happened.
pub fn deadlock() -> Option<String> {
    with_current(|me| lock(&me.run.state).deadlock.clone()).flatten()
}

/// Every thread of the calling thread's run but its watchers, and what
/// each waits for (for a report of threads left after a test).
pub fn wait_report(title: &str) -> Option<String> {
    with_current(|me| lock(&me.run.state).wait_report(title))
}

/// A thread registered in its parent's run, not yet started.
pub(crate) struct Child {
    run: Arc<Run>,
    tid: Tid,
    parker: Arc<Parker>,
}

/// Registers a new thread named `name` in the calling thread's run, as
/// runnable. None outside a run.
pub(crate) fn register_child(name: &str) -> Option<Child> {
    with_current(|me| {
        let mut st = lock(&me.run.state);
        let tid = st.next_tid;
        st.next_tid += 1;
        let parker = Parker::new();
        let priority = st.draw_priority();
        st.add_thread(
            tid,
            Thread {
                name: name.to_string(),
                parker: parker.clone(),
                blocked: None,
                woke: Wake::Notified,
                watcher: false,
                priority,
            },
        );
        Child {
            run: me.run.clone(),
            tid,
            parker,
        }
    })
}

impl Child {
    /// Starts the new thread, which runs `job` when the scheduler first
    /// picks it: a fiber, or an OS thread of the worker pool that waits
    /// for the baton.
    pub(crate) fn launch(self, job: Box<dyn FnOnce() + Send>) {
        match self.run.engine {
            Engine::Fibers => {
                let current = Current {
                    run: self.run,
                    tid: self.tid,
                    parker: self.parker,
                };
                fiber::create(current.tid, current, job);
            }
            Engine::Threads => crate::workers::execute(Box::new(move || {
                self.start();
                job();
            })),
        }
    }

    /// On the new OS thread: waits for the baton, then makes the thread a
    /// member of the run.
    fn start(self) {
        if let Some(cpu) = self.run.cpu {
            affinity::pin_current(cpu);
        }
        foreign::set_known(true);
        self.parker.park();
        CURRENT.with(|c| {
            *c.borrow_mut() = Some(Current {
                run: self.run,
                tid: self.tid,
                parker: self.parker,
            })
        });
    }
}

/// On a thread of a run that ends: leaves the run and hands the baton on.
pub(crate) fn exit_current() {
    let Some(me) = CURRENT.with(|c| c.borrow_mut().take()) else {
        return;
    };
    let mut st = lock(&me.run.state);
    st.remove_thread(me.tid);
    st.holders.retain(|_, h| *h != me.tid);
    me.run.switch(st, &me, true);
}

/// A point in virtual time as a deadline `d` after the run's clock.
pub(crate) fn deadline_after(d: Duration) -> Option<Duration> {
    now().map(|clock| clock.saturating_add(d))
}

/// Runs `f` on the calling thread as if it were outside its run (on the
/// OS clock; a thread it spawns is a real-time thread), then puts the
/// thread back in its run.
pub fn outside<R>(f: impl FnOnce() -> R) -> R {
    struct Back(Option<Current>);
    impl Drop for Back {
        fn drop(&mut self) {
            let current = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = current);
        }
    }
    let _back = Back(CURRENT.with(|c| c.borrow_mut().take()));
    f()
}

/// Waits until the run's virtual clock next moves, or `max` passes: a
/// monitor that samples at every clock advance sees every state that
/// lasts any virtual time at all. Outside a run it sleeps `max`.
pub fn sleep_until_clock_moves(max: Duration) {
    match deadline_after(max) {
        Some(deadline) => {
            block(&[CLOCK_MOVED], Some(deadline), Wait::Sleep);
        }
        None => crate::time::sleep(max),
    }
}
