//! One run: a fresh process of a test binary running one test with its own
//! seed, its output in a file, killed with its whole process group if it
//! outlives the timeout, and classified from its exit status and the
//! harness's result record (never from text the test printed).
//!
//! A run must never be able to hang the runner: every wait here is a poll.

use crate::discover::TestCase;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What became of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
}

/// The outcome of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub test: String,
    pub target: String,
    pub seed: u64,
    pub seconds: f64,
    pub verdict: Verdict,
    pub failure: Option<String>,
    pub worst_oversleep_ms: Option<f64>,
    pub exit_code: Option<i32>,
    /// The kept output of a failed run.
    pub log: Option<PathBuf>,
    /// The kept event log of a failed run.
    pub events: Option<PathBuf>,
    /// The HTML timeline of a failed run.
    pub timeline: Option<PathBuf>,
}

/// A run in progress.
pub struct Running {
    pub case: TestCase,
    pub seed: u64,
    child: Child,
    started: Instant,
    output: PathBuf,
    record: PathBuf,
    events: PathBuf,
}

impl Running {
    /// Starts `case` with `seed`, its files in `scratch` named by `index`.
    pub fn start(
        case: &TestCase,
        seed: u64,
        scratch: &Path,
        index: u64,
        limit: Duration,
    ) -> std::io::Result<Running> {
        let output = scratch.join(format!("{index}.out"));
        let record = scratch.join(format!("{index}.result.jsonl"));
        let events = scratch.join(format!("{index}.events.jsonl"));
        let out = File::create(&output)?;
        let child = Command::new(&case.exe)
            .args([case.name.as_str(), "--exact"])
            .env("LAB_SEED", seed.to_string())
            .env("LAB_RESULT_FILE", &record)
            .env("LAB_LOG", &events)
            // The harness's own limit fires first, with a message.
            .env(
                "LAB_TEST_LIMIT",
                limit
                    .saturating_sub(Duration::from_secs(5))
                    .max(Duration::from_secs(1))
                    .as_secs_f64()
                    .to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .process_group(0)
            .spawn()?;
        Ok(Running {
            case: case.clone(),
            seed,
            child,
            started: Instant::now(),
            output,
            record,
            events,
        })
    }

    /// The run's result if it ended, or was killed because it passed
    /// `timeout`; None while it runs.
    pub fn poll(&mut self, timeout: Duration, keep: &Path) -> Option<RunResult> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(self.finish(status.code(), false, keep)),
            Ok(None) if self.started.elapsed() > timeout => {
                self.kill();
                Some(self.finish(None, true, keep))
            }
            Ok(None) => None,
            Err(_) => {
                self.kill();
                Some(self.finish(None, false, keep))
            }
        }
    }

    /// The run's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the run's whole process group and reaps it.
    pub fn kill(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (it was started with process_group(0)); no memory is
        // involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ends an interrupted run.
    pub fn interrupt(mut self, keep: &Path) -> RunResult {
        self.kill();
        let mut result = self.finish(None, false, keep);
        result.verdict = Verdict::Interrupted;
        result
    }

    fn finish(&mut self, exit_code: Option<i32>, timed_out: bool, keep: &Path) -> RunResult {
        let seconds = self.started.elapsed().as_secs_f64();
        let record = read_record(&self.record, &self.case.name);
        let verdict = classify(exit_code, timed_out, record.as_ref());
        let failure = match verdict {
            Verdict::Timeout => Some(format!("killed after {seconds:.0} s")),
            Verdict::Crashed => Some(match exit_code {
                Some(code) => format!("exited with status {code} and no verdict"),
                None => "killed by a signal".to_string(),
            }),
            Verdict::NoRecord => Some("exited 0 without a passing record".to_string()),
            _ => record.as_ref().and_then(|r| r.failure.clone()),
        };
        let (log, events) = if verdict.is_failure() {
            self.keep_files(keep)
        } else {
            let _ = fs::remove_file(&self.output);
            let _ = fs::remove_file(&self.events);
            (None, None)
        };
        let timeline = events.as_ref().and_then(|events| {
            let html = events.with_extension("").with_extension("html");
            let opts = labview::TimelineOptions {
                test: labview::TestSelection::Named(self.case.name.clone()),
                title: Some(format!("{} seed {}", self.case.name, self.seed)),
                ..labview::TimelineOptions::default()
            };
            labview::write_timeline(events, &html, &opts)
                .ok()
                .map(|_| html)
        });
        let _ = fs::remove_file(&self.record);
        RunResult {
            test: self.case.name.clone(),
            target: self.case.target.clone(),
            seed: self.seed,
            seconds,
            verdict,
            failure,
            worst_oversleep_ms: record.and_then(|r| r.worst_oversleep_ms),
            exit_code,
            log,
            events,
            timeline,
        }
    }

    /// Moves the output and event log of a failed run to `keep`, named by
    /// test and seed.
    fn keep_files(&self, keep: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
        let base = format!("{}-{}", self.case.name, self.seed);
        let log = keep.join(format!("{base}.log"));
        let events = keep.join(format!("{base}.events.jsonl"));
        let log = fs::rename(&self.output, &log).ok().map(|_| log);
        let events = fs::rename(&self.events, &events).ok().map(|_| events);
        (log, events)
    }
}

/// The verdict from the exit status and the record: only a zero exit with
/// a passing record is a pass.
pub fn classify(exit_code: Option<i32>, timed_out: bool, record: Option<&Record>) -> Verdict {
    if timed_out {
        return Verdict::Timeout;
    }
    match (exit_code, record) {
        (Some(0), Some(r)) if r.passed => Verdict::Passed,
        (_, Some(r)) if !r.passed => Verdict::Failed,
        (Some(0), _) => Verdict::NoRecord,
        _ => Verdict::Crashed,
    }
}

/// The last record of `test` in the result file, if any.
fn read_record(path: &Path, test: &str) -> Option<Record> {
    let text = fs::read_to_string(path).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<Record>(l).ok())
        .rfind(|r| r.test == test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(passed: bool) -> Record {
        Record {
            test: "t".into(),
            passed,
            failure: None,
            worst_oversleep_ms: None,
        }
    }

    #[test]
    fn only_exit_zero_with_a_passing_record_passes() {
        assert_eq!(
            classify(Some(0), false, Some(&record(true))),
            Verdict::Passed
        );
        assert_eq!(
            classify(Some(101), false, Some(&record(false))),
            Verdict::Failed
        );
        assert_eq!(classify(Some(0), false, None), Verdict::NoRecord);
        assert_eq!(classify(Some(101), false, None), Verdict::Crashed);
        assert_eq!(classify(None, false, None), Verdict::Crashed);
        assert_eq!(classify(None, true, Some(&record(true))), Verdict::Timeout);
        // A passing record with a failing status is not a pass.
        assert_eq!(
            classify(Some(101), false, Some(&record(true))),
            Verdict::Crashed
        );
    }
}
