//! The README's Slurm example, run for real: the job scripts in
//! `grading/slurm/` (an array job of `grade-batch --partition I/3`, then
//! the merge, submitted to start once every share has succeeded) grade a
//! class as one unpartitioned `grade-batch` does (partition.rs's class of
//! four, part 2A, one run of each test, in virtual time). A share that
//! fails fails the run, and its jobs are cancelled.
//!
//! Skips (passes, printing "skipped: no Slurm here") when `sbatch` is not
//! on PATH or Slurm does not answer (`sinfo` fails), as in CI;
//! `grading/slurm/single-node-setup.sh` installs a single-node Slurm to
//! take the real path. The jobs run as the user running the test, in the
//! repository's root, and are given the class and reports folders (in a
//! scratch folder every node must see: on one node, /tmp) as paths
//! relative to it, as the README's example gives them. It never waits on
//! the queue past [`DEADLINE`]; the jobs' logs stay in `target/`.

// Drives OS processes (sbatch, scontrol) and real waits; outside the lab's
// time layer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{assert_class_graded_alike, batch, class, repo, scratch, text};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a test waits for its jobs to finish, queue time included.
const DEADLINE: Duration = Duration::from_secs(600);

/// How often the jobs' states are read.
const POLL: Duration = Duration::from_secs(1);

/// The options every share grades with: those of `common::batch`
/// (master seed 5 is `GRADE_SEED`).
const GRADE_OPTS: &str = "--part 2a -k 1 --time virtual --quiet";

/// One test at a time submits: the whole-class run beside another test's
/// shares would be more grading processes than the machine has CPUs.
static SLURM: Mutex<()> = Mutex::new(());

/// Whether Slurm is here and answers; if not, prints why the test skips.
fn slurm_answers() -> bool {
    let answers = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if answers("sbatch", "--version") && answers("sinfo", "-h") {
        return true;
    }
    note("skipped: no Slurm here (see grading/slurm/single-node-setup.sh)");
    false
}

/// Writes `line` to stderr past libtest's capture, so that a passing run
/// shows it too (whether the test skipped, how long Slurm took).
fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "slurm.rs: {line}");
}

/// A grading submitted to Slurm: the array job of shares and the merge job
/// that waits on it.
struct Submitted {
    grade: String,
    merge: String,
}

/// `path` (absolute) as a path relative to the repository's root, where
/// the jobs run: the README's example gives relative folders, and so does
/// this test (a relative `--out` once failed every build).
fn from_repo(path: &Path) -> PathBuf {
    let up = repo().components().count() - 1;
    let mut relative: PathBuf = std::iter::repeat_n("..", up).collect();
    relative.push(path.strip_prefix("/").unwrap());
    relative
}

/// Submits `grading/slurm/grade.sbatch` as `--array=ARRAY` of a class of
/// `shares` shares and `merge.sbatch` after it, from the repository's
/// root, the way the README does, with the merged reports in `out`.
fn submit(subs: &Path, out: &Path, array: &str, shares: u32) -> Submitted {
    let sbatch = |args: &[&str]| -> String {
        let o = Command::new("sbatch")
            .arg("--parsable")
            .args(args)
            .current_dir(repo())
            .env("GRADE_SUBMISSIONS", from_repo(subs))
            .env("GRADE_SEED", "5")
            .env("GRADE_SHARES", shares.to_string())
            .env("GRADE_OUT", from_repo(out))
            .env("GRADE_OPTS", GRADE_OPTS)
            .env("GRADE_LABTEST", env!("CARGO_BIN_EXE_labtest"))
            .output()
            .unwrap();
        assert!(o.status.success(), "sbatch {args:?}: {}", text(&o));
        // --parsable prints "id" or "id;cluster".
        let id = String::from_utf8_lossy(&o.stdout);
        id.trim().split(';').next().unwrap().to_string()
    };
    let grade = sbatch(&[&format!("--array={array}"), "grading/slurm/grade.sbatch"]);
    let merge = sbatch(&[
        &format!("--dependency=afterok:{grade}"),
        "grading/slurm/merge.sbatch",
    ]);
    Submitted { grade, merge }
}

/// One task of a Slurm job (the job itself, if not an array), as
/// `scontrol show job` gives it.
#[derive(Debug)]
struct Task {
    /// Its index in the array ("2-3" for tasks still pending together;
    /// empty for a plain job).
    index: String,
    state: String,
    /// Why it waits (or ended), e.g. `DependencyNeverSatisfied`.
    reason: String,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.index.is_empty() {
            write!(f, "task {} ", self.index)?;
        }
        write!(f, "{} ({})", self.state, self.reason)
    }
}

/// Every task of job `id`; None once Slurm forgot the job.
fn tasks(id: &str) -> Option<Vec<Task>> {
    let o = Command::new("scontrol")
        .args(["show", "job", "-o", id])
        .output()
        .unwrap();
    if !o.status.success() {
        return None;
    }
    let field = |line: &str, key: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(key))
            .unwrap_or("")
            .to_string()
    };
    Some(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Task {
                index: field(l, "ArrayTaskId="),
                state: field(l, "JobState="),
                reason: field(l, "Reason="),
            })
            .collect(),
    )
}

/// Whether a job in `state` will still change.
fn unfinished(state: &str) -> bool {
    matches!(
        state,
        "PENDING" | "CONFIGURING" | "RUNNING" | "COMPLETING" | "REQUEUED" | "RESIZING"
    )
}

/// Waits until every task of job `id` has finished: Ok if all completed,
/// else what went wrong (a task's end state, a merge whose dependency can
/// never be met, the deadline).
fn wait_for(id: &str, deadline: Instant) -> Result<(), String> {
    loop {
        let Some(tasks) = tasks(id) else {
            return Err(format!("job {id}: Slurm no longer knows it"));
        };
        if let Some(stuck) = tasks
            .iter()
            .find(|t| t.reason == "DependencyNeverSatisfied")
        {
            return Err(format!("job {id}: {stuck}"));
        }
        if !tasks.iter().any(|t| unfinished(&t.state)) {
            return match tasks.iter().find(|t| t.state != "COMPLETED") {
                None => Ok(()),
                Some(failed) => Err(format!("job {id}: {failed}")),
            };
        }
        if Instant::now() > deadline {
            return Err(format!(
                "job {id}: unfinished after {DEADLINE:?}: {tasks:?}"
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// The jobs' logs (which grade.sbatch and merge.sbatch write under
/// `target/`), for a failure's message.
fn logs(jobs: &Submitted) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(repo().join("target")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let ours = [&jobs.grade, &jobs.merge]
            .iter()
            .any(|id| name.contains(&format!("-{id}_")) || name.contains(&format!("-{id}.")));
        if name.starts_with("slurm-") && ours {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            all += &format!("--- {name}\n{log}");
        }
    }
    all
}

/// Waits for the shares, then the merge. On any failure, cancels both
/// jobs and gives the failure with the jobs' logs.
fn finish(jobs: &Submitted) -> Result<(), String> {
    let deadline = Instant::now() + DEADLINE;
    let done = wait_for(&jobs.grade, deadline).and_then(|()| wait_for(&jobs.merge, deadline));
    done.map_err(|err| {
        let _ = Command::new("scancel")
            .args([&jobs.grade, &jobs.merge])
            .status();
        format!("{err}\n{}", logs(jobs))
    })
}

/// A test's turn at Slurm: the class of four in a fresh scratch folder
/// named `name` (the folder and the class), while the guard is held; None,
/// after the note, when there is no Slurm here.
struct Turn {
    _one: MutexGuard<'static, ()>,
    dir: PathBuf,
    subs: PathBuf,
}

fn take_turn(name: &str) -> Option<Turn> {
    let one = SLURM.lock().unwrap_or_else(|e| e.into_inner());
    if !slurm_answers() {
        return None;
    }
    let dir = scratch("slurm", name);
    let subs = class(&dir);
    Some(Turn {
        _one: one,
        dir,
        subs,
    })
}

#[test]
fn a_slurm_job_array_and_merge_grade_the_class_as_one_machine_does() {
    // The guard inside `turn` keeps other tests off Slurm until the end.
    let Some(turn) = take_turn("class") else {
        return;
    };
    let (dir, subs) = (&turn.dir, &turn.subs);
    let whole = dir.join("whole");
    // Relative paths, as the jobs get them: scores.csv names them.
    let out = batch(&from_repo(subs), &from_repo(&whole), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let merged = dir.join("class");
    let started = Instant::now();
    let jobs = submit(subs, &merged, "1-3", 3);
    if let Err(err) = finish(&jobs) {
        panic!("the Slurm grading failed: {err}");
    }
    note(&format!(
        "3 shares on Slurm and the merge: {:.1} s wall, queue included",
        started.elapsed().as_secs_f64()
    ));
    // The shares are where grade.sbatch puts them.
    for i in 1..=3 {
        let share = dir.join(format!("class-shares/{i}/share.json"));
        assert!(share.is_file(), "no {}", share.display());
    }
    assert_class_graded_alike(&merged, &whole);
}

#[test]
fn a_failed_share_fails_the_slurm_grading_and_cancels_the_merge() {
    // The guard inside `turn` keeps other tests off Slurm until the end.
    let Some(turn) = take_turn("failed") else {
        return;
    };
    let (dir, subs) = (&turn.dir, &turn.subs);
    let merged = dir.join("class");
    // Task 4 of a class in 3 shares: grade-batch refuses --partition 4/3.
    let jobs = submit(subs, &merged, "4", 3);
    let err = finish(&jobs).expect_err("a share that cannot be graded passed");
    note(&format!(
        "as it should, a failed share failed the grading: {}",
        err.lines().next().unwrap_or("")
    ));
    assert!(
        err.contains(&format!("job {}: task 4 FAILED", jobs.grade)),
        "{err}"
    );
    assert!(err.contains("1 <= I <= N"), "{err}");
    let merge = tasks(&jobs.merge).unwrap_or_default();
    assert!(
        !merge.is_empty() && merge.iter().all(|t| t.state == "CANCELLED"),
        "merge job {}: {merge:?}",
        jobs.merge
    );
    assert!(!merged.join("scores.csv").exists());
}
