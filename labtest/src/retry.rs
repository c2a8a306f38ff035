//! Re-running the failures a loaded grader caused, so that a correct
//! submission never loses points to the machine.
//!
//! A failed run whose worst oversleep passed the suspect threshold (a
//! thread woke so late that a correct Raft could lose an election) is set
//! aside, not scored, and its test runs once more with a fresh seed. Each
//! test gets at most `max_reruns` such re-runs; a suspect failure past that
//! cap is scored as the failure it is, and the grade says so. This module
//! only decides which runs count; it never starts a process itself.

use crate::discover::TestCase;
use crate::report::is_suspect;
use crate::run::RunResult;
use crate::schedule::run_seed;
use std::collections::BTreeMap;

/// How runs are re-run.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// A failed run that woke more than this many ms late is suspect.
    pub suspect_oversleep_ms: f64,
    /// Re-runs of suspect failures allowed per test.
    pub max_reruns: usize,
}

/// The finished runs of one round, and whether the grade was interrupted
/// (or why the round could not run at all).
pub type Round = Result<(Vec<RunResult>, bool), String>;

/// Runs `cases`, each `runs` times, seeded from a master seed.
pub type Runner<'a> = dyn FnMut(&[TestCase], usize, u64) -> Round + 'a;

/// The runs of a grade, split into the ones that count and the ones set
/// aside.
#[derive(Default)]
pub struct Runs {
    /// The runs that are scored.
    pub scored: Vec<RunResult>,
    /// Suspect failures that were re-run instead of scored.
    pub set_aside: Vec<RunResult>,
    /// Per test: suspect failures scored because the cap was reached.
    pub capped: BTreeMap<String, usize>,
    pub interrupted: bool,
    /// Why the runs could not be made.
    pub error: Option<String>,
}

impl Runs {
    /// Suspect runs of `test` that were re-run.
    pub fn reruns(&self, test: &str) -> usize {
        self.set_aside.iter().filter(|r| r.test == test).count()
    }

    /// Suspect failures of `test` scored at the cap.
    pub fn capped(&self, test: &str) -> usize {
        self.capped.get(test).copied().unwrap_or(0)
    }
}

/// The master seed of re-run round `round` of a grade seeded `master`:
/// fresh seeds, still repeated by the same master seed.
fn rerun_seed(master: u64, round: u64) -> u64 {
    const RERUNS: u64 = 0x5355_5350_4543_5421;
    run_seed(master ^ RERUNS, round)
}

/// Runs each case `runs` times with `master` seed, then re-runs the
/// suspect failures (a fresh seed each time) until none is left or each
/// test reached the cap.
pub fn run_scored(
    cases: &[TestCase],
    runs: usize,
    master: u64,
    policy: Policy,
    run: &mut Runner<'_>,
) -> Runs {
    let mut out = Runs::default();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut batch = run(cases, runs, master);
    let mut round = 0;
    loop {
        let (results, interrupted) = match batch {
            Ok(done) => done,
            Err(err) => {
                out.error = Some(err);
                return out;
            }
        };
        out.interrupted |= interrupted;
        let mut again: Vec<TestCase> = Vec::new();
        for r in results {
            if is_suspect(&r, policy.suspect_oversleep_ms) {
                let reruns = used.entry(r.test.clone()).or_default();
                if *reruns < policy.max_reruns {
                    *reruns += 1;
                    if let Some(case) = cases.iter().find(|c| c.name == r.test) {
                        again.push(case.clone());
                    }
                    out.set_aside.push(r);
                    continue;
                }
                *out.capped.entry(r.test.clone()).or_default() += 1;
            }
            out.scored.push(r);
        }
        if out.interrupted || again.is_empty() {
            return out;
        }
        round += 1;
        batch = run(&again, 1, rerun_seed(master, round));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Verdict;
    use crate::time_mode::TimeMode;
    use std::path::PathBuf;

    fn case(name: &str) -> TestCase {
        TestCase {
            target: "raft_2a".into(),
            exe: PathBuf::from("x"),
            name: name.into(),
        }
    }

    fn result(test: &str, seed: u64, verdict: Verdict, oversleep_ms: f64) -> RunResult {
        RunResult {
            seconds: 1.0,
            worst_oversleep_ms: Some(oversleep_ms),
            ..RunResult::bare(&case(test), seed, TimeMode::Real, verdict)
        }
    }

    const POLICY: Policy = Policy {
        suspect_oversleep_ms: 100.0,
        max_reruns: 3,
    };

    /// A fake runner: `late(test, seed)` says which runs fail woken late;
    /// every other run passes. Logs each call's tests and master seed.
    fn runner<'a>(
        late: impl Fn(&str, u64) -> bool + 'a,
        calls: &'a mut Vec<(Vec<String>, u64)>,
    ) -> impl FnMut(&[TestCase], usize, u64) -> Round + 'a {
        move |cases, runs, master| {
            calls.push((cases.iter().map(|c| c.name.clone()).collect(), master));
            let mut out = Vec::new();
            for i in 0..runs * cases.len() {
                let c = &cases[i % cases.len()];
                let seed = run_seed(master, i as u64);
                out.push(if late(&c.name, seed) {
                    result(&c.name, seed, Verdict::Failed, 400.0)
                } else {
                    result(&c.name, seed, Verdict::Passed, 2.0)
                });
            }
            Ok((out, false))
        }
    }

    #[test]
    fn a_suspect_failure_is_run_again_and_not_scored() {
        let cases = [case("a"), case("b")];
        let first = run_seed(7, 0);
        let mut calls = Vec::new();
        let runs = run_scored(
            &cases,
            2,
            7,
            POLICY,
            &mut runner(|t, seed| t == "a" && seed == first, &mut calls),
        );
        assert_eq!(runs.scored.len(), 4);
        assert!(runs.scored.iter().all(|r| r.verdict == Verdict::Passed));
        assert_eq!((runs.reruns("a"), runs.reruns("b")), (1, 0));
        assert_eq!(runs.capped("a"), 0);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].0, vec!["a".to_string()]);
        assert_ne!(calls[1].1, 7, "a re-run draws fresh seeds");
    }

    #[test]
    fn at_the_cap_the_suspect_failure_is_scored() {
        let cases = [case("a"), case("b")];
        let mut calls = Vec::new();
        let runs = run_scored(
            &cases,
            1,
            7,
            POLICY,
            &mut runner(|t, _| t == "b", &mut calls),
        );
        assert_eq!(runs.reruns("b"), 3);
        assert_eq!(runs.capped("b"), 1);
        let b: Vec<&RunResult> = runs.scored.iter().filter(|r| r.test == "b").collect();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].verdict, Verdict::Failed);
        assert_eq!(calls.len(), 4);
        // Each round had its own seeds.
        let mut masters: Vec<u64> = calls.iter().map(|c| c.1).collect();
        masters.dedup();
        assert_eq!(masters.len(), 4);
    }

    #[test]
    fn a_virtual_time_failure_is_never_re_run() {
        let cases = [case("a")];
        let mut calls = 0;
        let mut run = |cases: &[TestCase], _: usize, master: u64| {
            calls += 1;
            // Woke 400 ms late by its record: suspect in real time.
            let late = RunResult {
                time: crate::time_mode::TimeMode::Virtual,
                ..result(&cases[0].name, master, Verdict::Failed, 400.0)
            };
            Ok((vec![late], false))
        };
        let runs = run_scored(&cases, 1, 7, POLICY, &mut run);
        assert_eq!(runs.scored.len(), 1);
        assert_eq!((runs.reruns("a"), runs.capped("a")), (0, 0));
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_failure_on_time_is_scored_at_once() {
        let cases = [case("a")];
        let mut calls = Vec::new();
        let mut run = |cases: &[TestCase], _: usize, master: u64| {
            calls.push(master);
            Ok((
                vec![result(&cases[0].name, master, Verdict::Failed, 5.0)],
                false,
            ))
        };
        let runs = run_scored(&cases, 1, 7, POLICY, &mut run);
        assert_eq!(runs.scored.len(), 1);
        assert_eq!(runs.reruns("a"), 0);
        assert_eq!(calls.len(), 1);
    }
}
