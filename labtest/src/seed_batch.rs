//! Several seeds of one test in one process, in virtual time: a process
//! start costs about as much as a short virtual-time test, so the stress
//! runner can hand a test process a batch of seeds (`LAB_SEEDS`), and the
//! harness runs the test once per seed, one after another, each exactly as
//! it runs alone (its streams and its schedule derive from its seed and
//! its name only).
//!
//! A batch only ever proves passes. A seed passed when the process wrote a
//! passing record for it (the test, that seed, virtual time) and then went
//! on to the next seed's record, or ended with every seed recorded and the
//! status those records give (0, or 101 when one failed).
//! Every other seed (a failure, a missing or unreadable record, a crash, a
//! timeout, the records that follow an unexpected one) runs again alone
//! ([`Retry`]), as any run does, and that run gives its verdict, kept
//! files and replay line. A seed that failed in the batch and passes alone
//! is still a failure: its run did not replay from its seed.
//!
//! This module must never count a seed as passed on a record it cannot tie
//! to that seed of its batch, nor drop a seed without a result.

use crate::discover::TestCase;
use crate::run::{self, Ending, Record, RunFiles, RunResult, UserEnv, Verdict};
use crate::time_mode::TimeMode;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The exit status of a test process one of whose tests failed (cargo's).
const EXIT_FAILED: i32 = 101;

/// The most seeds one process runs.
pub const MOST_SEEDS: usize = 32;

/// How many seeds of a test go into one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Batching {
    /// One process per run (real time, per-run event logs, grading).
    Off,
    /// As many as keep every slot busy to the end, at most [`MOST_SEEDS`].
    Auto,
    /// This many (at least 2).
    Fixed(usize),
}

impl Batching {
    /// Seeds for the next process, with `remaining` runs not started yet
    /// (None: the session loops) and `parallel` processes at once.
    pub fn size(self, remaining: Option<usize>, parallel: usize) -> usize {
        match self {
            Batching::Off => 1,
            Batching::Fixed(n) => n,
            // Four batches per slot at least, so that the last ones end
            // together.
            Batching::Auto => remaining.map_or(MOST_SEEDS, |r| {
                (r / (4 * parallel.max(1))).clamp(1, MOST_SEEDS)
            }),
        }
    }
}

/// One process running `case` with several seeds.
pub struct Batch {
    case: TestCase,
    /// (run index, seed), in the order the process runs them.
    runs: Vec<(u64, u64)>,
    time: TimeMode,
    sched: Option<String>,
    child: Child,
    exit_fd: Option<std::os::fd::OwnedFd>,
    started: Instant,
    output: PathBuf,
    record: PathBuf,
}

/// A seed its batch did not prove passed: it runs again alone.
pub struct Retry {
    pub case: TestCase,
    pub index: u64,
    pub seed: u64,
    /// How it failed in the batch, if the batch recorded a failure.
    pub in_batch: Option<BatchFailure>,
}

/// A failure recorded in a batch, with the batch's output.
#[derive(Clone, Debug)]
pub struct BatchFailure {
    pub failure: String,
    pub output: PathBuf,
}

/// What a batch gave when its process ended.
pub struct BatchEnd {
    pub passed: Vec<RunResult>,
    pub retries: Vec<Retry>,
    /// The process wrote records but not of its seeds, in order: the
    /// binary does not know `LAB_SEEDS` (built before it, or not ours).
    pub ignored_seeds: bool,
}

impl Batch {
    /// Starts `case` with the seeds of `runs` ((run index, seed) pairs),
    /// its files in `scratch`.
    pub fn start(
        case: &TestCase,
        runs: Vec<(u64, u64)>,
        scratch: &Path,
        timeout: Duration,
        env: &UserEnv,
    ) -> std::io::Result<Batch> {
        let first = runs[0].0;
        let output = scratch.join(format!("batch-{first}.out"));
        let record = scratch.join(format!("batch-{first}.result.jsonl"));
        let out = File::create(&output)?;
        let seeds: Vec<String> = runs.iter().map(|(_, seed)| seed.to_string()).collect();
        let files = RunFiles {
            record: &record,
            events: None,
        };
        let limit = run::harness_limit(timeout, env.test_limit);
        let clock = (env.time, env.sched.as_deref());
        let child = run::test_command(&case.exe, &case.name, runs[0].1, clock, files, limit)
            .env_remove("LAB_SEED")
            .env("LAB_SEEDS", seeds.join(","))
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .spawn()?;
        Ok(Batch {
            case: case.clone(),
            runs,
            time: env.time,
            sched: env.sched.clone(),
            exit_fd: run::exit_fd(&child),
            child,
            started: Instant::now(),
            output,
            record,
        })
    }

    /// The process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A descriptor readable once the process exits (see [`run::exit_fd`]).
    pub fn exit_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.exit_fd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// What the batch gave if its process ended, or was killed because it
    /// passed `timeout`; None while it runs.
    pub fn poll(&mut self, timeout: Duration) -> Option<BatchEnd> {
        let ending = run::poll_child(&mut self.child, self.started, timeout)?;
        Some(self.end(ending))
    }

    /// Ends the batch because the session stops: its process group is
    /// killed; the seeds it proved passed count, the others are left to
    /// the caller ([`Retry::unrun`]).
    pub fn interrupt(mut self) -> BatchEnd {
        run::kill_group(&mut self.child);
        self.end(Ending::Interrupted)
    }

    fn end(&mut self, ending: Ending) -> BatchEnd {
        let text = fs::read_to_string(&self.record).unwrap_or_default();
        let _ = fs::remove_file(&self.record);
        let seeds: Vec<u64> = self.runs.iter().map(|&(_, seed)| seed).collect();
        let records = records_of(&text, &self.case.name, &seeds, self.time);
        let ignored_seeds = records.is_empty() && !text.trim().is_empty();
        // The exit status says what the records say: every seed recorded,
        // and 0 if all passed, the runner's 101 if one failed.
        let any_failed = records.iter().any(|r| !r.passed);
        let status_agrees = records.len() == seeds.len()
            && match ending {
                Ending::Exited(Some(0)) => !any_failed,
                Ending::Exited(Some(EXIT_FAILED)) => any_failed,
                _ => false,
            };
        let share = self.started.elapsed().as_secs_f64() / seeds.len() as f64;
        let mut end = BatchEnd {
            passed: Vec::new(),
            retries: Vec::new(),
            ignored_seeds,
        };
        let mut kept_output = false;
        for (i, &(index, seed)) in self.runs.iter().enumerate() {
            let went_on = i + 1 < records.len() || status_agrees;
            match records.get(i) {
                Some(record) if record.passed && went_on => {
                    end.passed.push(self.passed(seed, record, share));
                    continue;
                }
                Some(record) if !record.passed => {
                    kept_output = true;
                    end.retries.push(Retry {
                        case: self.case.clone(),
                        index,
                        seed,
                        in_batch: Some(BatchFailure {
                            failure: record.failure.clone().unwrap_or_else(|| "failed".into()),
                            output: self.output.clone(),
                        }),
                    });
                }
                _ => end.retries.push(Retry {
                    case: self.case.clone(),
                    index,
                    seed,
                    in_batch: None,
                }),
            }
        }
        if !kept_output {
            let _ = fs::remove_file(&self.output);
        }
        end
    }

    fn passed(&self, seed: u64, record: &Record, seconds: f64) -> RunResult {
        RunResult {
            sched: self.sched.clone(),
            seconds,
            worst_oversleep_ms: record.worst_oversleep_ms,
            ..RunResult::bare(&self.case, seed, self.time, Verdict::Passed)
        }
    }
}

impl Retry {
    /// The result of a seed that never ran alone because the session
    /// stopped: a failure if the batch recorded one, else interrupted.
    pub fn unrun(self, time: TimeMode, sched: Option<String>) -> RunResult {
        let (verdict, failure) = match self.in_batch {
            Some(f) => (
                Verdict::Failed,
                Some(format!(
                    "{}\n(in a process that ran several seeds; the session stopped before it ran alone)",
                    f.failure
                )),
            ),
            None => (Verdict::Interrupted, None),
        };
        RunResult {
            sched,
            failure,
            ..RunResult::bare(&self.case, self.seed, time, verdict)
        }
    }
}

/// The records in a batch's result `text` that belong, in order, to the
/// first of `seeds`: each names `test`, the clock `time` and the next seed.
/// The first line that does not stops the list (what follows it cannot be
/// tied to a seed).
fn records_of(text: &str, test: &str, seeds: &[u64], time: TimeMode) -> Vec<Record> {
    let mut records = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(record) = serde_json::from_str::<Record>(line) else {
            break;
        };
        let expected = seeds.get(records.len()).copied();
        if record.test != test || record.seed.is_none() || record.seed != expected {
            break;
        }
        if record.time() != time {
            break;
        }
        records.push(record);
    }
    records
}

/// What a seed that failed in a batch and passed alone gives: a failure.
pub fn passed_only_alone(in_batch: &BatchFailure) -> String {
    format!(
        "{}\n(failed in a process that ran several seeds of the test one after another (LAB_SEEDS), but passed when run alone: this run does not replay from its seed; state left by an earlier seed, or a wait outside labrpc's layer)",
        in_batch.failure
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seed: u64, passed: bool) -> String {
        format!(r#"{{"test":"t","passed":{passed},"seed":{seed},"time":"virtual"}}"#)
    }

    #[test]
    fn only_records_of_the_batchs_seeds_in_order_count() {
        let seeds = [7, 8, 9];
        let v = TimeMode::Virtual;
        let text = [line(7, true), line(8, false), line(9, true)].join("\n");
        let got = records_of(&text, "t", &seeds, v);
        assert_eq!(got.len(), 3);
        assert!(got[0].passed && !got[1].passed);
        // A seed out of place stops the list.
        let text = [line(7, true), line(9, true)].join("\n");
        assert_eq!(records_of(&text, "t", &seeds, v).len(), 1);
        // Another test, another clock, a line that is not a record, a
        // record without a seed.
        assert!(records_of(&line(7, true).replace("\"t\"", "\"u\""), "t", &seeds, v).is_empty());
        assert!(records_of(&line(7, true), "t", &seeds, TimeMode::Real).is_empty());
        assert!(records_of("PASS", "t", &seeds, v).is_empty());
        let no_seed = r#"{"test":"t","passed":true,"time":"virtual"}"#;
        assert!(records_of(no_seed, "t", &seeds, v).is_empty());
        // More records than seeds.
        let text = [line(7, true), line(8, true), line(9, true), line(9, true)].join("\n");
        assert_eq!(records_of(&text, "t", &seeds, v).len(), 3);
    }

    #[test]
    fn auto_batches_keep_every_slot_busy() {
        assert_eq!(Batching::Off.size(Some(3000), 1), 1);
        assert_eq!(Batching::Fixed(5).size(Some(3), 1), 5);
        assert_eq!(Batching::Auto.size(Some(3000), 1), MOST_SEEDS);
        assert_eq!(Batching::Auto.size(Some(60), 8), 1);
        assert_eq!(Batching::Auto.size(Some(80), 2), 10);
        assert_eq!(Batching::Auto.size(None, 2), MOST_SEEDS);
    }
}
