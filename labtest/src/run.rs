//! One run: a fresh process of a test binary running one test with its own
//! seed, its output in a file, killed with its whole process group if it
//! outlives the timeout, and classified from its exit status and the
//! harness's result record (never from text the test printed): a pass needs
//! exit 0 and exactly one record, a passing one, naming the test that ran.
//!
//! A run must never be able to hang the runner: every wait here is a poll.
//! Its files live in the session's scratch folder and move to the kept
//! folder only for a failed run; nothing here creates the kept folder for a
//! run that passed or was interrupted.

use crate::discover::{Source, TestCase};
use crate::kept_run::KeptRun;
use crate::seed_batch::BatchFailure;
use crate::time_mode::TimeMode;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What became of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Exit 0 and the harness recorded a pass.
    Passed,
    /// The harness recorded a failure.
    Failed,
    /// Killed at the timeout.
    Timeout,
    /// Ended without a record and with a failing status or a signal.
    Crashed,
    /// Exit 0 but no passing record: nothing says it passed.
    #[serde(rename = "no-verdict")]
    NoRecord,
    /// The result file holds something other than exactly one record of
    /// the test that ran: several records, another test's, or a line that
    /// is not a record.
    BadRecord,
    /// Killed because the user stopped the runner.
    Interrupted,
}

impl Verdict {
    pub fn is_failure(self) -> bool {
        !matches!(self, Verdict::Passed | Verdict::Interrupted)
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Timeout => "timeout",
            Verdict::Crashed => "crashed",
            Verdict::NoRecord => "no verdict",
            Verdict::BadRecord => "bad record",
            Verdict::Interrupted => "interrupted",
        }
    }
}

/// The harness's record of one test (`LAB_RESULT_FILE`).
#[derive(Clone, Debug, Deserialize)]
pub struct Record {
    pub test: String,
    pub passed: bool,
    #[serde(default)]
    pub failure: Option<String>,
    #[serde(default)]
    pub worst_oversleep_ms: Option<f64>,
    /// The harness step a failed test was in.
    #[serde(default)]
    pub step: Option<String>,
    /// The clock the test ran on; absent in records of binaries that
    /// know only real time.
    #[serde(default)]
    pub time: Option<TimeMode>,
    /// The seed the test ran with; absent in records of older binaries.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl Record {
    /// The clock the record says the test ran on (absent: real time).
    pub fn time(&self) -> TimeMode {
        self.time.unwrap_or_default()
    }
}

/// Why a run's result file does not hold exactly one record of the test
/// that ran.
#[derive(Clone, Debug, PartialEq)]
pub enum RecordProblem {
    /// No record at all.
    Missing,
    /// This line (from 1) is not a result record.
    NotARecord { line: usize },
    /// Several records where a run writes one.
    Several { count: usize },
    /// The one record names another test.
    OtherTest { named: String },
    /// The record says the test ran on another clock than the one asked
    /// for (a binary that ignores `LAB_TIME`).
    WrongTime { asked: TimeMode, ran: TimeMode },
}

impl RecordProblem {
    /// Why the run cannot count, for the report.
    fn describe(&self, test: &str) -> String {
        match self {
            RecordProblem::Missing => format!("no result record for {test}"),
            RecordProblem::NotARecord { line } => {
                format!("line {line} of the result file is not a result record")
            }
            RecordProblem::Several { count } => {
                format!("the result file holds {count} records; a run of {test} writes exactly one")
            }
            RecordProblem::OtherTest { named } => {
                format!("the result record names {named}, not {test}, the test that ran")
            }
            RecordProblem::WrongTime { asked, ran } => format!(
                "LAB_TIME={} was asked for, but the result record says the test ran in {} (does this test binary know {}?)",
                asked.name(),
                ran.label(),
                asked.label()
            ),
        }
    }
}

/// The one record of `test` in the result file at `path`, run in `time`.
pub fn read_record(path: &Path, test: &str, time: TimeMode) -> Result<Record, RecordProblem> {
    let record = match fs::read(path) {
        Ok(bytes) => parse_record(&String::from_utf8_lossy(&bytes), test)?,
        Err(_) => return Err(RecordProblem::Missing),
    };
    match record.time() {
        ran if ran == time => Ok(record),
        ran => Err(RecordProblem::WrongTime { asked: time, ran }),
    }
}

/// The one record of `test` in a result file's `text`: any other line, a
/// second record or another test's record makes the file unusable.
fn parse_record(text: &str, test: &str) -> Result<Record, RecordProblem> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(record) => records.push(record),
            Err(_) => return Err(RecordProblem::NotARecord { line: i + 1 }),
        }
    }
    match (records.pop(), records.len()) {
        (None, _) => Err(RecordProblem::Missing),
        (Some(record), 0) if record.test == test => Ok(record),
        (Some(record), 0) => Err(RecordProblem::OtherTest { named: record.test }),
        (Some(_), others) => Err(RecordProblem::Several { count: others + 1 }),
    }
}

/// How a run's process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It ended by itself with this exit status (None: killed by a signal).
    Exited(Option<i32>),
    /// The runner killed it at the timeout.
    TimedOut,
    /// The runner killed it because the user stopped the session.
    Interrupted,
}

/// The outcome of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub test: String,
    pub target: String,
    pub seed: u64,
    /// The clock the run was asked to run on (`LAB_TIME`).
    pub time: TimeMode,
    /// The virtual-time scheduler asked for (`LAB_SCHED`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sched: Option<String>,
    pub seconds: f64,
    pub verdict: Verdict,
    pub failure: Option<String>,
    pub worst_oversleep_ms: Option<f64>,
    /// The step the harness's record gives for a failed test.
    pub step: Option<String>,
    pub exit_code: Option<i32>,
    /// The kept output of a failed run.
    pub log: Option<PathBuf>,
    /// The run's event log, if kept: a failed run's, or every run's when
    /// the user set `LAB_LOG`.
    pub events: Option<PathBuf>,
    /// The HTML timeline of a failed run.
    pub timeline: Option<PathBuf>,
    /// A failed run's description (`<test>-<seed>.run.json`), which
    /// `labtest replay` reads.
    pub kept: Option<PathBuf>,
}

impl RunResult {
    /// A result of `case` with `seed` on `time` that kept no file, ran no
    /// time and says nothing more than its verdict: the caller fills in
    /// what it knows.
    pub fn bare(case: &TestCase, seed: u64, time: TimeMode, verdict: Verdict) -> RunResult {
        RunResult {
            test: case.name.clone(),
            target: case.target.clone(),
            seed,
            time,
            sched: None,
            seconds: 0.0,
            verdict,
            failure: None,
            worst_oversleep_ms: None,
            step: None,
            exit_code: None,
            log: None,
            events: None,
            timeline: None,
            kept: None,
        }
    }
}

/// Where each run's event log (`LAB_LOG`) goes.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum EventLogs {
    /// Into the session's scratch folder; kept, with a timeline, only for a
    /// failed run.
    #[default]
    FailedRuns,
    /// Every run keeps its own file, named after the user's `LAB_LOG`:
    /// `events.jsonl` gives `events-<test>-<seed>.jsonl` beside it; a folder
    /// gets `<test>-<seed>.jsonl` inside it.
    EveryRun { like: PathBuf },
}

impl EventLogs {
    /// From the user's `LAB_LOG`, read as the lab reads it: unset, empty or
    /// `0` is off, `1` is `lab-events.jsonl`, anything else a path; relative
    /// paths are taken from `cwd`.
    pub fn from_lab_log(value: Option<&str>, cwd: &Path) -> EventLogs {
        match value {
            None | Some("" | "0") => EventLogs::FailedRuns,
            Some("1") => EventLogs::EveryRun {
                like: cwd.join("lab-events.jsonl"),
            },
            Some(path) => EventLogs::EveryRun {
                like: cwd.join(path),
            },
        }
    }

    /// The event log of run `index`, `test` with `seed`.
    pub fn path(&self, scratch: &Path, index: u64, test: &str, seed: u64) -> PathBuf {
        match self {
            EventLogs::FailedRuns => scratch.join(format!("{index}.events.jsonl")),
            EventLogs::EveryRun { like } if like.is_dir() => {
                like.join(format!("{test}-{seed}.jsonl"))
            }
            EventLogs::EveryRun { like } => {
                let stem = like
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("events");
                let name = match like.extension().and_then(|e| e.to_str()) {
                    Some(ext) => format!("{stem}-{test}-{seed}.{ext}"),
                    None => format!("{stem}-{test}-{seed}"),
                };
                like.with_file_name(name)
            }
        }
    }
}

/// What the user's environment asks of every run of a stress session
/// (`LAB_LOG`, `LAB_TEST_LIMIT`, `LAB_TIME`), read and checked before the
/// session starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserEnv {
    pub event_logs: EventLogs,
    /// The harness's limit the user set (`LAB_TEST_LIMIT`), if any.
    pub test_limit: Option<Duration>,
    /// The clock every run runs on (`LAB_TIME`, or the runner's `--time`).
    pub time: TimeMode,
    /// How virtual time picks the next thread (`LAB_SCHED`, checked by
    /// the test binaries), if the user set it.
    pub sched: Option<String>,
}

impl UserEnv {
    /// Reads `LAB_LOG`, `LAB_TEST_LIMIT` and `LAB_TIME`; Err names a bad
    /// value.
    pub fn from_env() -> Result<UserEnv, String> {
        let cwd =
            std::env::current_dir().map_err(|e| format!("cannot read the current folder: {e}"))?;
        let var = |name: &str| std::env::var(name).ok();
        Ok(UserEnv {
            event_logs: EventLogs::from_lab_log(var("LAB_LOG").as_deref(), &cwd),
            test_limit: parse_test_limit(var("LAB_TEST_LIMIT").as_deref())?,
            time: TimeMode::from_lab_time(var("LAB_TIME").as_deref())?,
            sched: var("LAB_SCHED").filter(|s| !s.is_empty()),
        })
    }
}

// The harness's own parser of `LAB_TEST_LIMIT`, so the two agree.
#[path = "../../tests/src/limit.rs"]
mod limit;
pub use limit::{parse_test_limit, positive_seconds};

/// The harness's own limit for a run killed at `timeout`: 5 s under it (at
/// least 1 s) so that the harness's message comes first, or the user's
/// limit if that is lower.
pub fn harness_limit(timeout: Duration, user: Option<Duration>) -> Duration {
    let below_timeout = timeout
        .saturating_sub(Duration::from_secs(5))
        .max(Duration::from_secs(1));
    user.map_or(below_timeout, |user| user.min(below_timeout))
}

/// The files one run of a test writes.
pub struct RunFiles<'a> {
    /// The harness's result record (`LAB_RESULT_FILE`).
    pub record: &'a Path,
    /// The event log (`LAB_LOG`); None writes none.
    pub events: Option<&'a Path>,
}

/// The command that runs `test` of the binary `exe` once, with `seed` on
/// the clock `time` (with the scheduler `sched`, `LAB_SCHED`), writing
/// `files`, stopped by the harness itself after `limit`, in a process
/// group of its own (see [`kill_group`]).
pub fn test_command(
    exe: &Path,
    test: &str,
    seed: u64,
    (time, sched): (TimeMode, Option<&str>),
    files: RunFiles<'_>,
    limit: Duration,
) -> Command {
    let mut cmd = Command::new(exe);
    match sched {
        Some(sched) => cmd.env("LAB_SCHED", sched),
        None => cmd.env_remove("LAB_SCHED"),
    };
    match files.events {
        Some(events) => cmd.env("LAB_LOG", events),
        None => cmd.env_remove("LAB_LOG"),
    };
    cmd.args([test, "--exact"])
        .env("LAB_SEED", seed.to_string())
        .env("LAB_TIME", time.name())
        .env("LAB_RESULT_FILE", files.record)
        .env("LAB_TEST_LIMIT", limit.as_secs_f64().to_string())
        .stdin(Stdio::null())
        .process_group(0);
    cmd
}

/// Waits for `child` (started from [`test_command`]) to end. Kills its
/// process group when it passes `timeout`, or at once when Ctrl-C or
/// SIGTERM stopped the session.
pub fn wait_to_end(child: &mut Child, timeout: Duration) -> std::io::Result<Ending> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(Ending::Exited(status.code())),
            Ok(None) if crate::schedule::caught().is_some() => {
                kill_group(child);
                return Ok(Ending::Interrupted);
            }
            Ok(None) if started.elapsed() > timeout => {
                kill_group(child);
                return Ok(Ending::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(err) => {
                kill_group(child);
                return Err(err);
            }
        }
    }
}

/// How `child`, started at `started`, ended, if it did; one that passed
/// `timeout`, or that cannot be waited for, is killed with its process
/// group first. None while it runs. Never blocks.
pub fn poll_child(child: &mut Child, started: Instant, timeout: Duration) -> Option<Ending> {
    match child.try_wait() {
        Ok(Some(status)) => Some(Ending::Exited(status.code())),
        Ok(None) if started.elapsed() > timeout => {
            kill_group(child);
            Some(Ending::TimedOut)
        }
        Ok(None) => None,
        Err(_) => {
            kill_group(child);
            Some(Ending::Exited(None))
        }
    }
}

/// A pidfd for `child` (Linux 5.3 and later), else None.
pub fn exit_fd(child: &Child) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new file
    // descriptor or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
    let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the descriptor is new and owned by nobody else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Waits until one of the processes whose `exit_fds` these are exits, or
/// `max` passes: at once for one that ends, where the kernel tells (pidfd;
/// see [`exit_fd`]), else a plain sleep of `max`.
pub fn wait_for_an_exit(exit_fds: &[Option<std::os::fd::RawFd>], max: Duration) {
    let fds: Option<Vec<libc::pollfd>> = exit_fds
        .iter()
        .map(|fd| {
            fd.map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
        })
        .collect();
    match fds {
        Some(mut fds) if !fds.is_empty() => {
            let ms = i32::try_from(max.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: `fds` is a live array of `fds.len()` pollfd entries
            // for the duration of the call.
            unsafe {
                libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms);
            }
        }
        _ => std::thread::sleep(max),
    }
}

/// Kills the whole process group `child` leads (started by
/// [`test_command`]) and reaps it.
pub fn kill_group(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) with a negative pid signals the process group the
    // child leads (it was started with process_group(0)); no memory is
    // involved.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A run in progress.
pub struct Running {
    pub case: TestCase,
    pub seed: u64,
    time: TimeMode,
    sched: Option<String>,
    /// The harness's own limit (`LAB_TEST_LIMIT`) the run was given.
    limit: Duration,
    /// How the session found the test binary, for the kept run file.
    source: Source,
    child: Child,
    /// A descriptor that becomes readable when the child exits (Linux's
    /// pidfd), so that the schedule wakes at once instead of at its next
    /// poll; None where the kernel has none.
    exit_fd: Option<std::os::fd::OwnedFd>,
    started: Instant,
    output: PathBuf,
    record: PathBuf,
    events: PathBuf,
    event_logs: EventLogs,
    /// The run writes no event log: it is in virtual time, where a failed
    /// run replays exactly, so only a failed run's replay writes one
    /// (see [`Running::replay_for_events`]).
    log_by_replay: bool,
    /// How this seed failed in a process that ran several seeds, if it did
    /// (see `seed_batch`): a pass alone then is still a failure.
    in_batch: Option<BatchFailure>,
}

impl Running {
    /// Starts `case` (found as `source` says) with `seed`, its files in
    /// `scratch` named by `index` (its event log where `env` says).
    pub fn start(
        case: &TestCase,
        source: &Source,
        seed: u64,
        scratch: &Path,
        index: u64,
        timeout: Duration,
        env: &UserEnv,
    ) -> std::io::Result<Running> {
        let output = scratch.join(format!("{index}.out"));
        let record = scratch.join(format!("{index}.result.jsonl"));
        let events = env.event_logs.path(scratch, index, &case.name, seed);
        let out = File::create(&output)?;
        // Logging is about a quarter of a virtual-time run's CPU, and only
        // a failed run's log is kept: in virtual time the failed run is
        // replayed to write it.
        let log_by_replay =
            env.time == TimeMode::Virtual && env.event_logs == EventLogs::FailedRuns;
        let files = RunFiles {
            record: &record,
            events: (!log_by_replay).then_some(events.as_path()),
        };
        let limit = harness_limit(timeout, env.test_limit);
        let clock = (env.time, env.sched.as_deref());
        let child = test_command(&case.exe, &case.name, seed, clock, files, limit)
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .spawn()?;
        let exit_fd = exit_fd(&child);
        Ok(Running {
            case: case.clone(),
            seed,
            time: env.time,
            sched: env.sched.clone(),
            limit,
            source: source.clone(),
            child,
            exit_fd,
            started: Instant::now(),
            output,
            record,
            events,
            event_logs: env.event_logs.clone(),
            log_by_replay,
            in_batch: None,
        })
    }

    /// The run of a seed that failed in a batch (see `seed_batch`).
    pub fn after_batch(self, in_batch: Option<BatchFailure>) -> Running {
        Running { in_batch, ..self }
    }

    /// A descriptor readable once the run's process exits (see [`exit_fd`]).
    pub fn exit_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.exit_fd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// The run's result if it ended, or was killed because it passed
    /// `timeout`; None while it runs.
    pub fn poll(&mut self, timeout: Duration, keep: &Path) -> Option<RunResult> {
        let ending = poll_child(&mut self.child, self.started, timeout)?;
        Some(self.finish(ending, keep))
    }

    /// The run's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the run's whole process group and reaps it.
    pub fn kill(&mut self) {
        kill_group(&mut self.child);
    }

    /// Ends a run because the user stopped the session: its process group
    /// is killed and its files are dropped (it neither passed nor failed).
    pub fn interrupt(mut self, keep: &Path) -> RunResult {
        self.kill();
        self.finish(Ending::Interrupted, keep)
    }

    fn finish(&mut self, ending: Ending, keep: &Path) -> RunResult {
        let seconds = self.started.elapsed().as_secs_f64();
        let record_text = fs::read_to_string(&self.record).ok();
        let record = read_record(&self.record, &self.case.name, self.time);
        let _ = fs::remove_file(&self.record);
        let mut verdict = classify(ending, &record);
        let mut failure = failure_text(verdict, ending, seconds, &self.case.name, &record);
        // Failed in a batch, passed alone: the batch's output is the log.
        let batch_only = match &self.in_batch {
            Some(in_batch) if verdict == Verdict::Passed => {
                verdict = Verdict::Failed;
                failure = Some(crate::seed_batch::passed_only_alone(in_batch));
                Some(in_batch.output.clone())
            }
            _ => None,
        };
        // Not for a run killed at its timeout: its replay would take as
        // long, and hold up the whole session.
        if self.log_by_replay
            && verdict.is_failure()
            && batch_only.is_none()
            && matches!(ending, Ending::Exited(_))
        {
            let first = record.as_ref().ok().and_then(|r| r.failure.clone());
            if let Some(note) = self.replay_for_events(first.as_deref()) {
                failure = Some(format!("{}\n{note}", failure.unwrap_or_default()));
            }
        }
        let (log, events) = match &batch_only {
            Some(batch_output) => (self.keep_batch_output(batch_output, keep), None),
            None if verdict.is_failure() => self.keep_files(keep),
            None => self.drop_files(),
        };
        let timeline = match (verdict.is_failure(), &events) {
            (true, Some(events)) => self.write_timeline(events, keep),
            _ => None,
        };
        let result = RunResult {
            test: self.case.name.clone(),
            target: self.case.target.clone(),
            seed: self.seed,
            time: self.time,
            sched: self.sched.clone(),
            seconds,
            verdict,
            failure,
            worst_oversleep_ms: record.as_ref().ok().and_then(|r| r.worst_oversleep_ms),
            step: record.ok().and_then(|r| r.step),
            exit_code: match ending {
                Ending::Exited(code) => code,
                Ending::TimedOut | Ending::Interrupted => None,
            },
            log,
            events,
            timeline,
            kept: None,
        };
        if !result.verdict.is_failure() || !keep.is_dir() {
            return result;
        }
        RunResult {
            kept: self.keep_description(keep, &result, record_text),
            ..result
        }
    }

    /// Writes what `labtest replay` needs to re-run a failed run (its test,
    /// seed, clock, binary, record, output and event log) as
    /// `<test>-<seed>.run.json` in `keep`.
    fn keep_description(
        &self,
        keep: &Path,
        result: &RunResult,
        record: Option<String>,
    ) -> Option<PathBuf> {
        let run = KeptRun {
            test: self.case.name.clone(),
            target: self.case.target.clone(),
            seed: self.seed,
            time: self.time,
            sched: self.sched.clone(),
            test_limit_seconds: self.limit.as_secs_f64(),
            verdict: result.verdict,
            failure: result.failure.clone(),
            source: self.source.pinned(),
            exe: absolute(&self.case.exe),
            record,
            output: result.log.as_deref().map(absolute),
            events: result.events.as_deref().map(absolute),
        };
        run.write(&keep.join(format!("{}.run.json", self.base_name())))
    }

    /// `<test>-<seed>`: the name of a failed run's files in the kept folder.
    /// Runs a failed virtual-time run again, the same way, to write its
    /// event log (a seed replays a virtual-time run event for event).
    /// Returns a note when the replay did not fail as the run did
    /// (`first`: the run's failure): then the log is not the run's.
    fn replay_for_events(&self, first: Option<&str>) -> Option<String> {
        let record = self.record.with_extension("replay.jsonl");
        let files = RunFiles {
            record: &record,
            events: Some(&self.events),
        };
        let clock = (self.time, self.sched.as_deref());
        let mut command = test_command(
            &self.case.exe,
            &self.case.name,
            self.seed,
            clock,
            files,
            self.limit,
        );
        let replayed = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut child| wait_to_end(&mut child, self.limit + Duration::from_secs(5)));
        let again = read_record(&record, &self.case.name, self.time)
            .ok()
            .and_then(|r| r.failure);
        let _ = fs::remove_file(&record);
        match replayed {
            Err(err) => Some(format!("(no event log: its replay could not run: {err})")),
            Ok(Ending::Interrupted) => Some("(no event log: its replay was stopped)".to_string()),
            Ok(_) if again.as_deref() == first => None,
            Ok(_) => Some(format!(
                "(the event log is from a replay of this seed, which did not fail the same way: {}; the run went around labrpc's layer somewhere, or the binary changed)",
                again.as_deref().unwrap_or("it passed or left no record")
            )),
        }
    }

    fn base_name(&self) -> String {
        format!("{}-{}", self.case.name, self.seed)
    }

    /// Moves the output (and the event log, unless the user placed it) of a
    /// failed run to `keep`, which is created here, named by test and seed.
    fn keep_files(&self, keep: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
        if let Err(err) = fs::create_dir_all(keep) {
            eprintln!(
                "cannot keep the failed run's files in {}: {err}",
                keep.display()
            );
            return (None, self.user_events());
        }
        let base = self.base_name();
        let log = keep.join(format!("{base}.log"));
        let log = move_file(&self.output, &log).ok().map(|_| log);
        let events = match self.event_logs {
            EventLogs::FailedRuns => {
                let events = keep.join(format!("{base}.events.jsonl"));
                move_file(&self.events, &events).ok().map(|_| events)
            }
            EventLogs::EveryRun { .. } => self.user_events(),
        };
        (log, events)
    }

    /// Copies the output of the batch in which this seed failed to `keep`
    /// (the batch's other seeds may still need it), and drops the run's.
    fn keep_batch_output(&self, batch_output: &Path, keep: &Path) -> Option<PathBuf> {
        self.drop_files();
        let log = keep.join(format!("{}.batch.log", self.base_name()));
        fs::create_dir_all(keep).ok()?;
        fs::copy(batch_output, &log).ok().map(|_| log)
    }

    /// Removes the files of a run that did not fail; an event log the user
    /// asked for stays.
    fn drop_files(&self) -> (Option<PathBuf>, Option<PathBuf>) {
        let _ = fs::remove_file(&self.output);
        match self.event_logs {
            EventLogs::FailedRuns => {
                let _ = fs::remove_file(&self.events);
                (None, None)
            }
            EventLogs::EveryRun { .. } => (None, self.user_events()),
        }
    }

    /// The event log the user asked for, if the run wrote one.
    fn user_events(&self) -> Option<PathBuf> {
        match self.event_logs {
            EventLogs::EveryRun { .. } if self.events.exists() => Some(self.events.clone()),
            _ => None,
        }
    }

    /// The HTML timeline of a failed run's `events`, in `keep`.
    fn write_timeline(&self, events: &Path, keep: &Path) -> Option<PathBuf> {
        let html = keep.join(format!("{}.html", self.base_name()));
        write_timeline(events, &html, &self.case.name, self.seed)
    }
}

/// Writes the HTML timeline of `test`'s run with `seed` from its event log
/// `events` to `html`; None if the log holds nothing to draw.
pub fn write_timeline(events: &Path, html: &Path, test: &str, seed: u64) -> Option<PathBuf> {
    let opts = labview::TimelineOptions {
        test: labview::TestSelection::Named(test.to_string()),
        title: Some(format!("{test} seed {seed}")),
        ..labview::TimelineOptions::default()
    };
    labview::write_timeline(events, html, &opts)
        .ok()
        .map(|_| html.to_path_buf())
}

/// `path` made absolute, as it is if that fails.
fn absolute(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Moves a file, copying it where a rename cannot (the scratch folder may
/// be on another file system).
fn move_file(from: &Path, to: &Path) -> std::io::Result<()> {
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to)?;
    fs::remove_file(from)
}

/// The verdict from how the run ended and its record: only a zero exit
/// with exactly one record, a passing one of the test that ran, is a pass.
pub fn classify(ending: Ending, record: &Result<Record, RecordProblem>) -> Verdict {
    match (ending, record) {
        (Ending::Interrupted, _) => Verdict::Interrupted,
        (Ending::TimedOut, _) => Verdict::Timeout,
        (Ending::Exited(Some(0)), Err(RecordProblem::Missing)) => Verdict::NoRecord,
        (Ending::Exited(_), Err(RecordProblem::Missing)) => Verdict::Crashed,
        (Ending::Exited(_), Err(_)) => Verdict::BadRecord,
        (Ending::Exited(Some(0)), Ok(r)) if r.passed => Verdict::Passed,
        (Ending::Exited(_), Ok(r)) if !r.passed => Verdict::Failed,
        (Ending::Exited(_), Ok(_)) => Verdict::Crashed,
    }
}

/// What the report says about a run that did not pass.
pub fn failure_text(
    verdict: Verdict,
    ending: Ending,
    seconds: f64,
    test: &str,
    record: &Result<Record, RecordProblem>,
) -> Option<String> {
    match (verdict, ending, record) {
        (Verdict::Timeout, ..) => Some(format!("killed after {seconds:.0} s")),
        (Verdict::Crashed, Ending::Exited(Some(code)), Ok(_)) => {
            Some(format!("exited with status {code} after a passing record"))
        }
        (Verdict::Crashed, Ending::Exited(Some(code)), _) => {
            Some(format!("exited with status {code} and no verdict"))
        }
        (Verdict::Crashed, ..) => Some("killed by a signal".to_string()),
        (Verdict::NoRecord, ..) => Some("exited 0 without a passing record".to_string()),
        (Verdict::BadRecord, _, Err(problem)) => Some(problem.describe(test)),
        (Verdict::Failed, _, Ok(r)) => r.failure.clone(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(passed: bool) -> Result<Record, RecordProblem> {
        Ok(Record {
            test: "t".into(),
            passed,
            failure: None,
            worst_oversleep_ms: None,
            step: None,
            time: None,
            seed: None,
        })
    }

    #[test]
    fn only_exit_zero_with_a_passing_record_passes() {
        let exit = |code| Ending::Exited(Some(code));
        assert_eq!(classify(exit(0), &record(true)), Verdict::Passed);
        assert_eq!(classify(exit(101), &record(false)), Verdict::Failed);
        let missing = Err(RecordProblem::Missing);
        assert_eq!(classify(exit(0), &missing), Verdict::NoRecord);
        assert_eq!(classify(exit(101), &missing), Verdict::Crashed);
        assert_eq!(classify(Ending::Exited(None), &missing), Verdict::Crashed);
        assert_eq!(classify(Ending::TimedOut, &record(true)), Verdict::Timeout);
        assert_eq!(
            classify(Ending::Interrupted, &record(false)),
            Verdict::Interrupted
        );
        // A passing record with a failing status is not a pass.
        assert_eq!(classify(exit(101), &record(true)), Verdict::Crashed);
        // Nor is exit 0 with a record that cannot count.
        let several = Err(RecordProblem::Several { count: 2 });
        assert_eq!(classify(exit(0), &several), Verdict::BadRecord);
    }

    const PASS_T: &str = r#"{"test":"t","passed":true}"#;
    const PASS_U: &str = r#"{"test":"u","passed":true}"#;

    #[test]
    fn a_result_file_must_hold_exactly_one_record_of_the_test() {
        assert_eq!(parse_record(PASS_T, "t").map(|r| r.passed), Ok(true));
        assert_eq!(
            parse_record(&format!("\n{PASS_T}\n\n"), "t").map(|r| r.test),
            Ok("t".to_string())
        );
        assert_eq!(parse_record("", "t").err(), Some(RecordProblem::Missing));
        assert_eq!(
            parse_record(&format!("{PASS_T}\n{PASS_T}"), "t").err(),
            Some(RecordProblem::Several { count: 2 })
        );
        assert_eq!(
            parse_record(&format!("{PASS_U}\n{PASS_T}"), "t").err(),
            Some(RecordProblem::Several { count: 2 })
        );
        assert_eq!(
            parse_record(PASS_U, "t").err(),
            Some(RecordProblem::OtherTest { named: "u".into() })
        );
        assert_eq!(
            parse_record(&format!("PASS\n{PASS_T}"), "t").err(),
            Some(RecordProblem::NotARecord { line: 1 })
        );
        assert_eq!(
            read_record(
                Path::new("/nonexistent/labtest-record"),
                "t",
                TimeMode::Real
            )
            .err(),
            Some(RecordProblem::Missing)
        );
    }

    #[test]
    fn a_record_must_name_the_clock_that_was_asked_for() {
        let path = std::env::temp_dir().join(format!("labtest-record-{}", std::process::id()));
        let read = |text: &str, time| {
            fs::write(&path, text).unwrap();
            read_record(&path, "t", time).map(|r| r.time())
        };
        // Absent is real time.
        assert_eq!(read(PASS_T, TimeMode::Real), Ok(TimeMode::Real));
        assert_eq!(
            read(PASS_T, TimeMode::Virtual),
            Err(RecordProblem::WrongTime {
                asked: TimeMode::Virtual,
                ran: TimeMode::Real
            })
        );
        let virtual_pass = r#"{"test":"t","passed":true,"time":"virtual"}"#;
        assert_eq!(read(virtual_pass, TimeMode::Virtual), Ok(TimeMode::Virtual));
        assert!(read(virtual_pass, TimeMode::Real).is_err());
        let _ = fs::remove_file(&path);
    }

    #[test]
    fn the_harness_limit_stays_under_the_timeout() {
        let s = Duration::from_secs;
        assert_eq!(harness_limit(s(150), None), s(145));
        assert_eq!(harness_limit(s(3), None), s(1));
        assert_eq!(harness_limit(s(150), Some(s(10))), s(10));
        assert_eq!(harness_limit(s(150), Some(s(600))), s(145));
    }

    #[test]
    fn user_event_logs_get_one_file_per_run() {
        let cwd = Path::new("/home/u/lab");
        let scratch = Path::new("/tmp/s");
        assert_eq!(EventLogs::from_lab_log(None, cwd), EventLogs::FailedRuns);
        assert_eq!(
            EventLogs::from_lab_log(Some("0"), cwd),
            EventLogs::FailedRuns
        );
        assert_eq!(
            EventLogs::FailedRuns.path(scratch, 7, "t", 9),
            PathBuf::from("/tmp/s/7.events.jsonl")
        );
        let path = |value: &str| EventLogs::from_lab_log(Some(value), cwd).path(scratch, 7, "t", 9);
        assert_eq!(path("ev.jsonl"), PathBuf::from("/home/u/lab/ev-t-9.jsonl"));
        assert_eq!(path("/var/log/ev"), PathBuf::from("/var/log/ev-t-9"));
        assert_eq!(path("1"), PathBuf::from("/home/u/lab/lab-events-t-9.jsonl"));
        assert_eq!(path("/tmp"), PathBuf::from("/tmp/t-9.jsonl"));
    }
}
