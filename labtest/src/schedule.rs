//! The stress schedule: which run starts when, how many at once, and when
//! to stop (all done, first failure, Ctrl-C or SIGTERM).
//!
//! One loop starts runs while fewer than the parallelism are running and
//! polls the running ones; nothing here blocks on a child. In virtual time
//! a process may run a batch of seeds of one test (`seed_batch`); the
//! seeds a batch did not prove passed run again alone, before any new run.
//! With `-p auto` the parallelism follows the oversleep the runs report:
//! up while runs wake on time, down when they wake late.
//!
//! A signal the session catches (see [`catch_ctrl_c`]) kills every running
//! run's process group and ends the session; the [`Outcome`] names the
//! signal, and a session that was stopped must never exit 0
//! ([`Signal::exit_status`]). The runs' scratch files live in a temporary
//! folder: the plan's `out` folder is created only when a failed run has
//! files to keep.

use crate::discover::{Source, TestCase};
use crate::progress::Progress;
use crate::run::{RunResult, Running, UserEnv};
use crate::seed_batch::{Batch, Batching, Retry};
use crate::time_mode::TimeMode;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How many runs at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Parallel {
    Fixed(usize),
    /// Adapt to keep the runs' worst oversleep under `target_ms`; in
    /// virtual time, where nothing oversleeps, one run per core.
    Auto {
        target_ms: f64,
    },
}

/// What to run and how.
pub struct Plan {
    pub cases: Vec<TestCase>,
    /// How the cases were found (kept with a failed run, for its replay).
    pub source: Source,
    /// Runs of each test (ignored with `looping`).
    pub runs_per_test: usize,
    pub looping: bool,
    pub parallel: Parallel,
    pub timeout: Duration,
    pub until_fail: bool,
    pub master_seed: u64,
    /// Where failed runs' files are kept (created only if one fails).
    pub out: PathBuf,
    /// How many seeds of a test one process runs (see `seed_batch`).
    pub batching: Batching,
}

/// What happened.
pub struct Outcome {
    pub results: Vec<RunResult>,
    /// True if a signal stopped the session (`signal` says which).
    pub interrupted: bool,
    /// The signal that stopped the session, if any.
    pub signal: Option<Signal>,
    pub wall: Duration,
    /// CPU time (user + system) of all runs together.
    pub cpu: Duration,
    /// The most threads and resident memory all running runs had at once.
    pub peak: Load,
}

/// Threads and resident memory of the running runs, read from /proc.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Load {
    pub threads: usize,
    pub rss_kib: u64,
}

impl Load {
    /// The sum over `pids` (processes that ended count nothing).
    fn of(pids: impl Iterator<Item = u32>) -> Load {
        let mut load = Load::default();
        for pid in pids {
            let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
                continue;
            };
            for line in status.lines() {
                let number = || {
                    line.split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                if line.starts_with("Threads:") {
                    load.threads += number() as usize;
                } else if line.starts_with("VmRSS:") {
                    load.rss_kib += number();
                }
            }
        }
        load
    }

    fn max(self, other: Load) -> Load {
        Load {
            threads: self.threads.max(other.threads),
            rss_kib: self.rss_kib.max(other.rss_kib),
        }
    }
}

/// CPU time of this process's reaped children so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we own; RUSAGE_CHILDREN is valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// How often, at the latest, the schedule looks for finished runs (it
/// wakes at once when a run exits, where the kernel has pidfds): a
/// real-time run lasts seconds, a virtual-time one a few milliseconds.
fn poll_every(time: TimeMode) -> Duration {
    match time {
        TimeMode::Real => Duration::from_millis(50),
        TimeMode::Virtual => Duration::from_millis(2),
    }
}

/// How often the running runs' threads and memory are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// A signal that stops a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a CI runner's cancel.
    Terminate,
}

impl Signal {
    const ALL: [Signal; 2] = [Signal::Interrupt, Signal::Terminate];

    fn number(self) -> libc::c_int {
        match self {
            Signal::Interrupt => libc::SIGINT,
            Signal::Terminate => libc::SIGTERM,
        }
    }

    fn from_number(number: libc::c_int) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.number() == number)
    }

    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell's status for a process this signal stopped: 128 + its
    /// number (130 for SIGINT, 143 for SIGTERM). Never 0.
    pub fn exit_status(self) -> u8 {
        128 + self.number() as u8
    }
}

/// The first signal caught (its number), 0 while none.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(number: libc::c_int) {
    let _ = CAUGHT.compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst);
}

/// Makes Ctrl-C (SIGINT) and SIGTERM stop the schedule cleanly instead of
/// killing the runner and leaving its runs behind: the schedule then kills
/// every run's process group and returns what finished.
pub fn catch_ctrl_c() {
    let handler: extern "C" fn(libc::c_int) = on_signal;
    for signal in Signal::ALL {
        // SAFETY: installs a handler that only swaps an atomic, which is
        // async-signal-safe.
        unsafe {
            libc::signal(signal.number(), handler as libc::sighandler_t);
        }
    }
}

/// The signal caught so far, if any.
pub fn caught() -> Option<Signal> {
    Signal::from_number(CAUGHT.load(Ordering::SeqCst))
}

/// A fresh scratch folder for a session's runs, outside the kept folder.
fn scratch_folder() -> std::io::Result<PathBuf> {
    static SESSIONS: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "labtest-runs-{}-{}",
        std::process::id(),
        SESSIONS.fetch_add(1, Ordering::SeqCst)
    ));
    // A folder of an earlier process that had the same pid.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A process of the session: one run, or a batch of seeds of one test.
// A few of them at once (one per slot): their size does not matter.
#[allow(clippy::large_enum_variant)]
enum Job {
    One(Running),
    Many(Batch),
}

impl Job {
    fn pid(&self) -> u32 {
        match self {
            Job::One(run) => run.pid(),
            Job::Many(batch) => batch.pid(),
        }
    }

    fn exit_fd(&self) -> Option<std::os::fd::RawFd> {
        match self {
            Job::One(run) => run.exit_fd(),
            Job::Many(batch) => batch.exit_fd(),
        }
    }
}

/// Ends every job still running (killed with its process group) and the
/// runs waiting to run alone again: what a batch proved passed counts,
/// what a batch saw fail stays a failure, the rest is interrupted.
fn stop_all(
    running: &mut Vec<Job>,
    retries: &mut VecDeque<Retry>,
    env: &UserEnv,
    out: &Path,
) -> Vec<RunResult> {
    let mut results = Vec::new();
    for job in running.drain(..) {
        match job {
            Job::One(run) => results.push(run.interrupt(out)),
            Job::Many(batch) => {
                let end = batch.interrupt();
                results.extend(end.passed);
                retries.extend(end.retries);
            }
        }
    }
    results.extend(
        retries
            .drain(..)
            .map(|retry| retry.unrun(env.time, env.sched.clone())),
    );
    results
}

/// Which runs start next: each test's runs in turn (the test with the
/// fewest started first), so that run `index` is run number
/// `index / tests` of test `index % tests`, with seed
/// `run_seed(master, index)`, batched or not.
struct Queue {
    started: Vec<usize>,
    /// Runs of each test (None: loop).
    per_test: Option<usize>,
}

impl Queue {
    /// Runs not started yet (None: the session loops).
    fn remaining(&self) -> Option<usize> {
        let per_test = self.per_test?;
        Some(self.started.iter().map(|&s| per_test - s).sum())
    }

    /// Up to `most` next runs of one test: its number and the runs'
    /// indices; None when every run has started.
    fn take(&mut self, most: usize) -> Option<(usize, Vec<u64>)> {
        let tests = self.started.len();
        let (case, &done) = self.started.iter().enumerate().min_by_key(|&(_, s)| *s)?;
        let left = self.per_test.map_or(most, |n| n - done.min(n)).min(most);
        if left == 0 {
            return None;
        }
        self.started[case] += left;
        let indices = (done..done + left)
            .map(|run| (run * tests + case) as u64)
            .collect();
        Some((case, indices))
    }
}

/// The seed of run `index` of a session with `master` seed (splitmix64):
/// the same master seed gives the same seeds.
pub fn run_seed(master: u64, index: u64) -> u64 {
    let mut z = master.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) >> 2
}

/// The parallelism with `-p auto`: additive increase, multiplicative
/// decrease on the oversleep of finished runs.
struct AutoLimit {
    limit: usize,
    target_ms: f64,
    /// Finished runs to ignore before the next decrease (they started
    /// under the old load).
    cooldown: usize,
}

impl AutoLimit {
    const MAX: usize = 1024;

    fn observe(&mut self, oversleep_ms: Option<f64>) {
        let Some(late) = oversleep_ms else { return };
        if self.cooldown > 0 {
            self.cooldown -= 1;
        }
        if late > self.target_ms {
            if self.cooldown == 0 {
                self.limit = (self.limit * 7 / 10).max(1);
                self.cooldown = self.limit;
            }
        } else if late < self.target_ms / 2.0 {
            self.limit = (self.limit + 1).min(Self::MAX);
        }
    }
}

/// Runs the plan to its end, reporting progress, with what the user's
/// environment asks of every run.
pub fn run_in(plan: &Plan, env: &UserEnv, progress: &mut Progress) -> std::io::Result<Outcome> {
    let scratch = scratch_folder()?;
    let total = if plan.looping {
        None
    } else {
        Some(plan.runs_per_test * plan.cases.len())
    };
    let adapts = matches!(plan.parallel, Parallel::Auto { .. }) && env.time.load_can_fail_runs();
    let mut auto = match plan.parallel {
        Parallel::Fixed(p) => AutoLimit {
            limit: p.max(1),
            target_ms: f64::INFINITY,
            cooldown: 0,
        },
        // Virtual-time runs never oversleep: the machine's cores are the
        // limit.
        Parallel::Auto { .. } if !adapts => AutoLimit {
            limit: std::thread::available_parallelism().map_or(2, |n| n.get()),
            target_ms: f64::INFINITY,
            cooldown: 0,
        },
        Parallel::Auto { target_ms } => AutoLimit {
            limit: 8,
            target_ms,
            cooldown: 0,
        },
    };
    let t0 = Instant::now();
    let cpu0 = children_cpu();
    let mut peak = Load::default();
    let mut sampled = Instant::now();
    let mut queue = Queue {
        started: vec![0; plan.cases.len()],
        per_test: (!plan.looping).then_some(plan.runs_per_test),
    };
    let mut batching = plan.batching;
    let mut retries: VecDeque<Retry> = VecDeque::new();
    let mut running: Vec<Job> = Vec::new();
    let mut results: Vec<RunResult> = Vec::new();
    let mut stop = false;
    loop {
        if caught().is_some() {
            results.extend(stop_all(&mut running, &mut retries, env, &plan.out));
            break;
        }
        // Start runs while there is room and work: seeds to run alone
        // again first.
        while !stop && running.len() < auto.limit {
            let started = match retries.pop_front() {
                Some(retry) => start_alone(plan, env, &scratch, retry),
                None => {
                    let most = batching.size(queue.remaining(), auto.limit);
                    let Some((case, indices)) = queue.take(most) else {
                        break;
                    };
                    start_runs(plan, env, &scratch, &plan.cases[case], indices)
                }
            };
            match started {
                Ok(job) => running.push(job),
                // Out of processes or threads (the kernel's pid_max counts
                // every thread): run fewer at once, try again later.
                Err((err, undo))
                    if err.kind() == std::io::ErrorKind::WouldBlock && !running.is_empty() =>
                {
                    retries.extend(undo);
                    let limit = (running.len() * 9 / 10).max(1);
                    progress.note(&format!(
                        "the machine refused a new process ({err}): {limit} runs at once from now on"
                    ));
                    auto.limit = limit;
                    break;
                }
                Err((err, _)) => {
                    // Never leave runs behind: kill the ones started.
                    stop_all(&mut running, &mut retries, env, &plan.out);
                    let _ = std::fs::remove_dir_all(&scratch);
                    return Err(err);
                }
            }
        }
        // Collect the finished ones.
        let mut finished = Vec::new();
        let mut k = 0;
        while k < running.len() {
            let ended = match &mut running[k] {
                Job::One(run) => run.poll(plan.timeout, &plan.out).map(|r| vec![r]),
                Job::Many(batch) => batch.poll(plan.timeout).map(|end| {
                    if end.ignored_seeds && batching != Batching::Off {
                        batching = Batching::Off;
                        progress.note(
                            "the test binary ignored LAB_SEEDS (built before it knew it?): one process per run from now on",
                        );
                    }
                    retries.extend(end.retries);
                    end.passed
                }),
            };
            match ended {
                Some(ended) => {
                    running.swap_remove(k);
                    finished.extend(ended);
                }
                None => k += 1,
            }
        }
        for result in finished {
            if adapts {
                auto.observe(result.worst_oversleep_ms);
            }
            if result.verdict.is_failure() && plan.until_fail {
                stop = true;
            }
            progress.finished(&result);
            results.push(result);
        }
        if stop {
            results.extend(stop_all(&mut running, &mut retries, env, &plan.out));
            break;
        }
        if running.is_empty() && retries.is_empty() && queue.remaining() == Some(0) {
            break;
        }
        if sampled.elapsed() >= SAMPLE_EVERY {
            sampled = Instant::now();
            peak = peak.max(Load::of(running.iter().map(Job::pid)));
        }
        progress.tick(results.len(), total, running.len(), auto.limit);
        let exit_fds: Vec<_> = running.iter().map(Job::exit_fd).collect();
        crate::run::wait_for_an_exit(&exit_fds, poll_every(env.time));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let signal = caught();
    Ok(Outcome {
        results,
        interrupted: signal.is_some(),
        signal,
        wall: t0.elapsed(),
        cpu: children_cpu().saturating_sub(cpu0),
        peak,
    })
}

/// A job that could not start, and the runs to give back to the queue.
type NotStarted = (std::io::Error, Vec<Retry>);

/// Starts the runs `indices` of `case`: one process, or a batch of seeds.
fn start_runs(
    plan: &Plan,
    env: &UserEnv,
    scratch: &Path,
    case: &TestCase,
    indices: Vec<u64>,
) -> Result<Job, NotStarted> {
    let runs: Vec<(u64, u64)> = indices
        .iter()
        .map(|&index| (index, run_seed(plan.master_seed, index)))
        .collect();
    let undo = || {
        runs.iter()
            .map(|&(index, seed)| Retry {
                case: case.clone(),
                index,
                seed,
                in_batch: None,
            })
            .collect()
    };
    if let [(index, seed)] = runs[..] {
        return Running::start(case, &plan.source, seed, scratch, index, plan.timeout, env)
            .map(Job::One)
            .map_err(|err| (err, undo()));
    }
    Batch::start(case, runs.clone(), scratch, plan.timeout, env)
        .map(Job::Many)
        .map_err(|err| (err, undo()))
}

/// Starts `retry` alone, in a process of its own.
fn start_alone(
    plan: &Plan,
    env: &UserEnv,
    scratch: &Path,
    retry: Retry,
) -> Result<Job, NotStarted> {
    let started = Running::start(
        &retry.case,
        &plan.source,
        retry.seed,
        scratch,
        retry.index,
        plan.timeout,
        env,
    );
    match started {
        Ok(run) => Ok(Job::One(run.after_batch(retry.in_batch))),
        Err(err) => Err((err, vec![retry])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_repeat_for_a_master_seed_and_differ_between_runs() {
        let a: Vec<u64> = (0..100).map(|i| run_seed(42, i)).collect();
        let b: Vec<u64> = (0..100).map(|i| run_seed(42, i)).collect();
        assert_eq!(a, b);
        let mut dedup = a.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 100);
        assert_ne!(run_seed(43, 0), run_seed(42, 0));
        assert!(a.iter().all(|&s| s < 1 << 62));
    }

    #[test]
    fn a_stopped_session_exits_with_the_shells_signal_status() {
        assert_eq!(Signal::Interrupt.exit_status(), 130);
        assert_eq!(Signal::Terminate.exit_status(), 143);
        assert_eq!(Signal::from_number(libc::SIGTERM), Some(Signal::Terminate));
        assert_eq!(Signal::from_number(0), None);
    }

    #[test]
    fn auto_limit_grows_on_time_and_shrinks_when_late() {
        let mut auto = AutoLimit {
            limit: 8,
            target_ms: 20.0,
            cooldown: 0,
        };
        for _ in 0..10 {
            auto.observe(Some(1.0));
        }
        assert_eq!(auto.limit, 18);
        auto.observe(Some(500.0));
        assert_eq!(auto.limit, 12);
        // Runs started under the old load do not shrink it again at once.
        auto.observe(Some(500.0));
        assert_eq!(auto.limit, 12);
        auto.observe(None);
        assert_eq!(auto.limit, 12);
    }
}
