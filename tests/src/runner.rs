//! The lab tests' runner: cargo's test command line, Go's output, a
//! verdict for every test.
//!
//! Each test runs on its own thread under a fresh
//! [`Owner`], so that every Raft and network thread
//! it starts belongs to it. The runner fails a test that panics or fails a
//! check, whose background threads panic, that outlives its time limit
//! (`LAB_TEST_LIMIT`, default 120 s), or that leaves threads running after
//! cleanup. A test stuck past its limit cannot be stopped (its threads may
//! be blocked in the Raft), so the runner then prints the verdict and ends
//! the process: it must never hang.

use crate::failure::{Failure, failure_step, step};
use crate::limit::parse_test_limit;
use crate::monitor::{self, Figures};
use crate::report::{self, ResultRecord, Stats};
use crate::watchdog;
use labrpc::chan::{self, RecvTimeoutError};
use labrpc::sched::{self, Policy};
use labrpc::thread::{self, Origin, Owner};
use labrpc::time::{self, Duration, Instant};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// One lab test: its name (what `--list` shows and `--exact` takes) and
/// its body.
pub struct LabTest {
    pub name: &'static str,
    pub body: fn(),
}

/// How long after a background failure the test's own thread may take to
/// notice it and stop.
const FAILURE_GRACE: Duration = Duration::from_secs(5);

/// How long threads may take to end after cleanup.
const THREADS_GRACE: Duration = Duration::from_secs(3);

/// The exit status of a run with a failed test (cargo's).
const EXIT_FAILED: i32 = 101;

/// The clock the tests run on: `LAB_TIME` (real or virtual) and, in
/// virtual time, how the scheduler picks the next thread (`LAB_SCHED`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Clock {
    Real,
    Virtual(Policy),
}

impl Clock {
    /// Reads `LAB_TIME`, `LAB_SCHED` and `LAB_ENGINE`; Err says what is
    /// wrong.
    pub fn from_env() -> Result<Clock, String> {
        let time = std::env::var("LAB_TIME").ok();
        if !sched::parse_mode(time.as_deref())? {
            return Ok(Clock::Real);
        }
        let policy = Policy::parse(std::env::var("LAB_SCHED").ok().as_deref())?;
        // The engine changes how a run executes, never which run it is.
        sched::Engine::parse(std::env::var("LAB_ENGINE").ok().as_deref())?;
        Ok(Clock::Virtual(policy))
    }

    /// `real` or `virtual`, as results record it.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Real => "real",
            Clock::Virtual(_) => "virtual",
        }
    }

    /// The variables a replay line must set besides `LAB_SEED`.
    fn replay_vars(self) -> String {
        match self {
            Clock::Real => String::new(),
            Clock::Virtual(Policy::Random) => " LAB_TIME=virtual".to_string(),
            Clock::Virtual(Policy::Pct { depth }) => {
                format!(" LAB_TIME=virtual LAB_SCHED=pct:{depth}")
            }
        }
    }
}

/// The clock of this process's tests (checked by [`main`] before any test).
pub fn clock() -> Clock {
    Clock::from_env().unwrap_or(Clock::Real)
}

/// The time limit of one test: `LAB_TEST_LIMIT` seconds, else 120. A bad
/// value never gets this far: [`main`] rejects it before any test runs.
pub fn test_limit() -> Duration {
    let value = std::env::var("LAB_TEST_LIMIT").ok();
    parse_test_limit(value.as_deref())
        .ok()
        .flatten()
        .unwrap_or(crate::config::TEST_LIMIT)
}

/// Go's message for a test past its limit, with the limit in force.
pub fn timeout_message(limit: Duration) -> String {
    format!("test took longer than {} seconds", limit.as_secs_f64())
}

/// What the command line asked for.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    pub filters: Vec<String>,
    pub exact: bool,
    pub list: bool,
}

/// Parses cargo's test command line; flags that do not apply to these
/// tests (`--nocapture`, `--test-threads N`, `-q`...) are accepted and
/// ignored.
pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--exact" => opts.exact = true,
            "--list" => opts.list = true,
            "--nocapture" | "--no-capture" | "--show-output" | "-q" | "--quiet" | "--ignored"
            | "--include-ignored" => {}
            "--test-threads" | "--format" | "--color" | "-Z" | "--logfile" | "--skip" => {
                args.next().ok_or(format!("{arg} needs a value"))?;
            }
            a if a.starts_with("--test-threads=")
                || a.starts_with("--format=")
                || a.starts_with("--color=") => {}
            "-h" | "--help" => return Err(String::new()),
            a if a.starts_with('-') => return Err(format!("unknown option {a}")),
            filter => opts.filters.push(filter.to_string()),
        }
    }
    Ok(opts)
}

/// The tests that `opts` selects, in order.
pub fn select<'a>(tests: &'a [LabTest], opts: &Options) -> Vec<&'a LabTest> {
    tests
        .iter()
        .filter(|t| {
            opts.filters.is_empty()
                || opts.filters.iter().any(|f| {
                    if opts.exact {
                        t.name == f
                    } else {
                        t.name.contains(f.as_str())
                    }
                })
        })
        .collect()
}

/// The result of one test.
pub struct Verdict {
    pub name: &'static str,
    pub failure: Option<String>,
    /// Where the test was when it failed.
    pub step: String,
    pub stats: Option<Stats>,
    pub seconds: f64,
    /// How late a sleeping thread woke, at worst, during the test.
    pub worst_oversleep: Duration,
    /// The test is stuck (past its limit, or not stopping after a
    /// background failure): its threads cannot be stopped, so the process
    /// must end once the verdict is reported.
    pub stuck: bool,
    /// What the monitors counted, in the tests that run them.
    pub monitor: Option<Figures>,
}

impl Verdict {
    /// The line `LAB_RESULT_FILE` gets for this verdict.
    pub fn record(&self, seed: u64) -> ResultRecord<'_> {
        let stats = self.stats.clone().unwrap_or_default();
        ResultRecord {
            test: self.name,
            passed: self.failure.is_none(),
            seconds: self.seconds,
            peers: stats.peers,
            rpcs: stats.rpcs,
            bytes: stats.bytes,
            commands: stats.commands,
            seed,
            time: clock().name(),
            worst_oversleep_ms: self.worst_oversleep.as_secs_f64() * 1000.0,
            failure: self.failure.as_deref(),
            step: self.failure.as_ref().map(|_| self.step.clone()),
            monitor: self.monitor.clone(),
        }
    }
}

/// Runs the binary's tests as the command line asks, prints Go's lines and
/// a summary, and exits: 0 if all passed, 101 if any failed, 2 on bad
/// usage. `binary` names the test target for the replay line.
pub fn main(binary: &str, tests: &[LabTest]) -> ! {
    // SAFETY: the first thing main does; no other thread exists yet. The
    // verdict's channel leaves the environment before any Raft code runs.
    unsafe { report::claim_result_file() };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(opts) => opts,
        Err(err) => usage_error(binary, tests, &err),
    };
    if let Err(err) = parse_test_limit(std::env::var("LAB_TEST_LIMIT").ok().as_deref()) {
        usage_error(binary, tests, &err);
    }
    if let Err(err) = Clock::from_env() {
        usage_error(binary, tests, &err);
    }
    let selected = select(tests, &opts);
    if opts.list {
        print_list(&selected);
        std::process::exit(0);
    }
    if selected.is_empty() {
        println!(
            "no test matches {:?}; the tests are: {}",
            opts.filters,
            names(tests)
        );
    }
    install_panic_hook();
    // Tests run one at a time here: a thread the layer did not start can
    // only be the test's (see labrpc::foreign).
    labrpc::foreign::watch_every_thread();
    let seeds = match seeds_from_env() {
        Ok(seeds) => seeds,
        Err(err) => usage_error(binary, tests, &err),
    };
    let mut tally = Tally {
        ran: 0,
        failed: 0,
        filtered: tests.len() - selected.len(),
        t0: time::now(),
    };
    let batch = seeds.is_some();
    for seed in seeds.unwrap_or_else(|| vec![labrpc::rand::seed()]) {
        if batch {
            labrpc::rand::set_seed(seed);
        }
        print_seed(seed);
        for test in &selected {
            let verdict = run_test(test, binary);
            print_and_record(binary, &verdict, seed);
            tally.ran += 1;
            tally.failed += usize::from(verdict.failure.is_some());
            if verdict.stuck {
                println!("(a thread of the test is stuck: ending the process)");
                finish(&tally);
            }
            if crate::failure::process_must_end() {
                println!("(an apply error ends the process, as Go's log.Fatalf does)");
                finish(&tally);
            }
        }
    }
    finish(&tally)
}

/// The seeds of `LAB_SEEDS` (comma-separated), which runs the selected
/// tests once per seed in this one process, in virtual time only: None
/// when it is unset or empty; Err says what is wrong.
///
/// A process start costs about as much as a short virtual-time test, so
/// the stress runner hands each test process a batch of seeds. Each test
/// still runs exactly as it does alone with `LAB_SEED` (its streams and
/// its schedule derive from the seed and its name only); in real time a
/// test is never alone in a process that ran others before it.
pub fn seeds_from_env() -> Result<Option<Vec<u64>>, String> {
    let Some(text) = std::env::var("LAB_SEEDS")
        .ok()
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(None);
    };
    if clock() == Clock::Real {
        return Err(
            "LAB_SEEDS (several seeds in one process) needs LAB_TIME=virtual, where a seed replays the whole run; in real time, run one LAB_SEED per process".to_string(),
        );
    }
    text.split(',')
        .map(|part| {
            part.trim().parse::<u64>().map_err(|_| {
                format!("LAB_SEEDS must be decimal seeds below 2^64, comma-separated; {part:?} is not one")
            })
        })
        .collect::<Result<Vec<u64>, String>>()
        .map(Some)
}

/// The line that says which seed the tests below it run with, and how to
/// replay them.
fn print_seed(seed: u64) {
    match clock() {
        Clock::Real => println!("seed: {seed} (LAB_SEED={seed} replays each thread's draws)"),
        c => println!(
            "seed: {seed}, virtual time (LAB_SEED={seed}{} replays each test event for event)",
            c.replay_vars()
        ),
    }
    if let Some(path) = labrpc::event::path() {
        println!("event log: {path}");
    }
}

/// Prints the usage and exits with status 2.
fn usage_error(binary: &str, tests: &[LabTest], err: &str) -> ! {
    if !err.is_empty() {
        eprintln!("error: {err}");
    }
    eprintln!(
        "usage: {binary} [FILTER...] [--exact] [--list] [--nocapture] [--test-threads N] [-q]"
    );
    eprintln!("tests: {}", names(tests));
    std::process::exit(2)
}

/// The tests' names, comma-separated.
fn names(tests: &[LabTest]) -> String {
    tests.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// cargo's `--list` output.
fn print_list(tests: &[&LabTest]) {
    for t in tests {
        println!("{}: test", t.name);
    }
    println!("\n{} tests, 0 benchmarks", tests.len());
}

/// Tests run so far, and when the run began.
#[derive(Clone, Copy)]
struct Tally {
    ran: usize,
    failed: usize,
    filtered: usize,
    t0: Instant,
}

/// Prints the summary and exits.
fn finish(tally: &Tally) -> ! {
    let Tally {
        ran,
        failed,
        filtered,
        t0,
    } = *tally;
    let secs = t0.elapsed().as_secs_f64();
    if failed == 0 {
        println!("PASS\nok  \traft\t{secs:.3}s");
    } else {
        println!("FAIL\nFAIL\traft\t{secs:.3}s");
    }
    println!(
        "test result: {}. {} passed; {failed} failed; 0 ignored; 0 measured; {filtered} filtered out; finished in {secs:.2}s",
        if failed == 0 { "ok" } else { "FAILED" },
        ran - failed,
    );
    let _ = std::io::stdout().flush();
    std::process::exit(if failed == 0 { 0 } else { EXIT_FAILED })
}

/// Runs one test to its verdict on its own thread under a fresh owner,
/// in a virtual-time run of its own when `LAB_TIME=virtual`. A stuck
/// verdict (see [`Verdict::stuck`]) leaves threads running: the caller
/// must end the process after reporting it.
pub fn run_test(test: &LabTest, binary: &str) -> Verdict {
    let Clock::Virtual(policy) = clock() else {
        return judge_test(test);
    };
    let run = sched::enter(test.name, labrpc::rand::seed(), policy);
    let name = test.name;
    let binary = binary.to_string();
    let watchdog = watchdog::start(&run, move |failure| {
        end_stuck_process(name, &binary, failure)
    });
    let verdict = judge_test(test);
    drop(watchdog);
    verdict
}

/// Runs one test to its verdict (see [`run_test`]), on the calling
/// thread's clock.
fn judge_test(test: &LabTest) -> Verdict {
    labrpc::rand::restart_stream(test.name);
    let owner = Owner::new(test.name);
    time::reset_oversleep();
    monitor::take_figures();
    labrpc::event::begin_test(test.name);
    step("starting");
    let t0 = time::now();
    let done = start_test_thread(&owner, test);
    let verdict = |failure: Option<String>, step: String, stats: Option<Stats>| Verdict {
        name: test.name,
        stuck: false,
        failure,
        step,
        stats,
        seconds: t0.elapsed().as_secs_f64(),
        worst_oversleep: time::worst_oversleep(),
        monitor: monitor::take_figures(),
    };
    let mut failure = match wait_for_test(&owner, &done, t0, test_limit()) {
        Ok(outcome) => outcome.err().or_else(|| owner.failure()),
        Err(stuck) => {
            return logged(Verdict {
                stuck: true,
                ..verdict(Some(stuck), failure_step(), None)
            });
        }
    };
    let mut where_failed = failure_step();
    step("after cleanup: waiting for the test's threads to end");
    if owner.wait_threads_ended(THREADS_GRACE).is_err() {
        let leak = leftover_threads(&owner);
        if failure.is_none() {
            where_failed = failure_step();
        }
        failure = Some(failure.map_or(leak.clone(), |f| format!("{f}\n    {leak}")));
    }
    if failure.is_none()
        && let Some(late) = owner.failure()
    {
        // A thread failed while the test was being cleaned up.
        failure = Some(late);
        where_failed = failure_step();
    }
    if let Some(foreign) = labrpc::foreign::take() {
        // A thread the layer did not start ran beside the virtual-time run.
        if failure.is_none() {
            where_failed = failure_step();
        }
        failure = Some(failure.map_or(foreign.clone(), |f| format!("{f}\n    {foreign}")));
    }
    let stats = report::take_stats();
    if failure.is_none() && stats.is_none() {
        failure = Some("the test ended without calling end()".to_string());
    }
    logged(verdict(failure, where_failed, stats))
}

/// Writes the verdict's event (on the test's clock) and passes it on.
fn logged(verdict: Verdict) -> Verdict {
    labrpc::event!(
        None,
        "verdict",
        test = verdict.name,
        passed = verdict.failure.is_none(),
        failure = verdict.failure.as_deref(),
        step = verdict.failure.as_ref().map(|_| verdict.step.as_str())
    );
    // Virtual time gathers the log's lines: the test's are all written
    // before its verdict is printed.
    labrpc::event::flush();
    verdict
}

/// Records `failure` as the verdict of a test whose threads are stuck for
/// good, and ends the process: they cannot be stopped.
fn end_stuck_process(name: &'static str, binary: &str, failure: String) -> ! {
    let verdict = Verdict {
        name,
        failure: Some(failure),
        step: failure_step(),
        stats: None,
        seconds: 0.0,
        worst_oversleep: Duration::ZERO,
        stuck: true,
        monitor: None,
    };
    print_and_record(binary, &verdict, labrpc::rand::seed());
    println!("(a thread of the test is stuck: ending the process)");
    println!("FAIL\nFAIL\traft");
    let _ = std::io::stdout().flush();
    std::process::exit(EXIT_FAILED);
}

/// The threads `owner` still has, the student's (the Raft's) apart from
/// the harness's and the network's.
fn leftover_threads(owner: &Owner) -> String {
    let list = |names: Vec<String>| {
        if names.is_empty() {
            "none".to_string()
        } else {
            format!("{names:?}")
        }
    };
    let mut text = format!(
        "threads still running after cleanup: the Raft's: {}; the harness's and network's: {}",
        list(owner.live_threads_of(Origin::Student)),
        list(owner.live_threads_of(Origin::Harness))
    );
    if let Some(waits) = sched::wait_report("in virtual time") {
        text.push_str(&format!("\n    {waits}"));
    }
    text
}

/// Starts the test's body on a thread owned by `owner`; the receiver gets
/// its outcome (the failure text if it panicked).
fn start_test_thread(owner: &Owner, test: &LabTest) -> chan::Receiver<Result<(), String>> {
    let (done_tx, done_rx) = chan::bounded(1);
    let body = test.body;
    let _in = owner.enter();
    thread::spawn(format!("test-{}", test.name), move || {
        let outcome = catch_unwind(AssertUnwindSafe(body)).map_err(|p| failure_text(p.as_ref()));
        let _ = done_tx.send(outcome);
    });
    done_rx
}

/// Waits for the test's thread. Err with the failure when the test is
/// stuck: past its limit, or not stopping after a background failure.
fn wait_for_test(
    owner: &Owner,
    done: &chan::Receiver<Result<(), String>>,
    t0: Instant,
    limit: Duration,
) -> Result<Result<(), String>, String> {
    let mut failed_at: Option<Instant> = None;
    loop {
        match done.recv_timeout(Duration::from_millis(100)) {
            Ok(outcome) => return Ok(outcome),
            Err(RecvTimeoutError::Disconnected) => {
                return Ok(Err("the test's thread vanished".into()));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        if t0.elapsed() > limit {
            return Err(timeout_message(limit));
        }
        if let Some(deadlock) = sched::deadlock() {
            return Err(deadlock);
        }
        if let Some(failure) = owner.failure() {
            let since = *failed_at.get_or_insert_with(time::now);
            if since.elapsed() > FAILURE_GRACE {
                return Err(format!("{failure}\n    and the test's thread did not stop"));
            }
        }
    }
}

fn print_and_record(binary: &str, verdict: &Verdict, seed: u64) {
    if let Some(failure) = &verdict.failure {
        println!("--- FAIL: {} ({:.2}s)", verdict.name, verdict.seconds);
        println!("    {failure}");
        println!("    while: {}", verdict.step);
        println!(
            "    seed: {seed} (replay: LAB_SEED={seed}{} cargo test --release -p tests --test {binary} -- {} --exact)",
            clock().replay_vars(),
            verdict.name
        );
    }
    report::write_record(&verdict.record(seed));
    let _ = std::io::stdout().flush();
}

/// The message of a test thread's panic: a failed check's text, or
/// `panic: <message>` for any other panic.
fn failure_text(payload: &(dyn std::any::Any + Send)) -> String {
    match payload.downcast_ref::<Failure>() {
        Some(Failure(message)) => message.clone(),
        None => format!("panic: {}", thread::panic_message(payload)),
    }
}

/// Keeps failed checks quiet (the runner prints them); other panics print
/// as usual.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Failure>() {
            // A panic may end the process: the event log's lines so far
            // are on disk first.
            labrpc::event::flush();
            default(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_cargo_command_lines() {
        let o = parse_args(&args(&[
            "initial",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ]))
        .unwrap();
        assert_eq!(o.filters, vec!["initial"]);
        assert!(o.exact && !o.list);
        assert!(
            parse_args(&args(&["--bogus"]))
                .unwrap_err()
                .contains("--bogus")
        );
        assert!(parse_args(&args(&["--test-threads"])).is_err());
        assert!(
            parse_args(&args(&["--list", "--format", "terse"]))
                .unwrap()
                .list
        );
    }
}
