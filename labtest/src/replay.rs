//! `labtest replay`: runs one run again from its seed and test name (a
//! failed run that `stress` kept, or `--test` and `--seed`), with the same
//! clock, binary and limit, prints its output, writes its event log and
//! HTML timeline, and says whether the replay matched the recorded run by
//! comparing the two event logs.
//!
//! In virtual time a replay must match event for event, timestamps
//! included. Real time replays only the random draws, so the replay says
//! so before it runs, and compares the logs without their timestamps.
//!
//! Exit status: 0 matched (or, with no recorded log, the test passed); 1
//! differs (or the test failed); 2 bad input or a build failure; 130/143
//! stopped by a signal. This command never changes a kept run's files.

use crate::discover::{self, Source};
use crate::kept_run::{self, KeptRun};
use crate::log_diff::{self, Strictness};
use crate::run::{
    self, RunFiles, Verdict, classify, failure_text, harness_limit, read_record, test_command,
};
use crate::schedule;
use crate::time_mode::TimeMode;
use clap::Args;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ReplayArgs {
    /// A kept failed run of `labtest stress`: its `<test>-<seed>.run.json`,
    /// or the folder that holds it (target/labtest/TIMESTAMP).
    run: Option<PathBuf>,
    /// The test to run (its full name), with --seed; with a kept folder,
    /// which of its runs (part of the name).
    #[arg(long)]
    test: Option<String>,
    /// The run's seed (LAB_SEED).
    #[arg(long)]
    seed: Option<u64>,
    /// The clock (LAB_TIME): default the kept run's, else LAB_TIME, else
    /// real.
    #[arg(long, value_enum)]
    time: Option<TimeMode>,
    /// A recorded event log to compare with (default: the kept run's).
    #[arg(long)]
    events: Option<PathBuf>,
    /// Where the replay's event log and timeline go (default: beside the
    /// kept run, else target/labtest/replay).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The package that holds the lab tests (with --test).
    #[arg(long, default_value = "tests")]
    package: String,
    /// Use this prebuilt test binary instead of building.
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Seconds before the replay is killed with its process group
    /// (default: 5 s past the harness's limit).
    #[arg(long, value_parser = crate::parse_timeout)]
    timeout: Option<Duration>,
}

/// What the recorded run left to compare with.
#[derive(Default)]
struct Recorded {
    events: Option<PathBuf>,
    verdict: Option<Verdict>,
    failure: Option<String>,
}

/// One replay, fully decided before anything runs.
struct Replay {
    test: String,
    seed: u64,
    time: TimeMode,
    /// The virtual-time scheduler (`LAB_SCHED`), if any.
    sched: Option<String>,
    /// How to find the binary (as the recorded session did).
    source: Source,
    /// The harness's limit.
    limit: Duration,
    timeout: Duration,
    recorded: Recorded,
    /// The replay's event log; its timeline and record go beside it.
    events: PathBuf,
}

impl Replay {
    /// The replay's other files, named like its event log
    /// (`<name>.events.jsonl` gives `<name>.<ext>`).
    fn beside(&self, ext: &str) -> PathBuf {
        let name = self
            .events
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let stem = [".events.jsonl", ".jsonl"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        self.events.with_file_name(format!("{stem}.{ext}"))
    }
}

/// Bad input: the message, exit 2.
fn bad_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub fn replay(args: ReplayArgs) -> ExitCode {
    let plan = match plan(&args) {
        Ok(plan) => plan,
        Err(err) => return bad_input(err),
    };
    println!(
        "replaying {} with seed {} in {}",
        plan.test,
        plan.seed,
        plan.time.label()
    );
    if plan.time == TimeMode::Real {
        println!(
            "note: real time does not replay a run event for event: the seed replays the random draws, not the interleaving of threads or the clock; the event logs are compared anyway, without their timestamps"
        );
    }
    let exe = match find_binary(&plan) {
        Ok(exe) => exe,
        Err(err) => return bad_input(err),
    };
    println!(
        "running: LAB_SEED={} LAB_TIME={}{} LAB_LOG={} {} {} --exact",
        plan.seed,
        plan.time.name(),
        plan.sched
            .as_deref()
            .map(|s| format!(" LAB_SCHED={s}"))
            .unwrap_or_default(),
        plan.events.display(),
        exe.display(),
        plan.test
    );
    schedule::catch_ctrl_c();
    let verdict = match run_once(&plan, &exe) {
        Ok(verdict) => verdict,
        Err(err) => return bad_input(err),
    };
    if let Some(signal) = schedule::caught() {
        println!("replay interrupted by {}", signal.name());
        return ExitCode::from(signal.exit_status());
    }
    judge(&plan, verdict)
}

/// Decides the replay from the arguments: a kept run, or --test and
/// --seed. Err for bad input.
fn plan(args: &ReplayArgs) -> Result<Replay, String> {
    let env_time = || TimeMode::from_lab_time(std::env::var("LAB_TIME").ok().as_deref());
    let mut plan = match &args.run {
        Some(path) => from_kept(args, path)?,
        None => {
            let (Some(test), Some(seed)) = (&args.test, args.seed) else {
                return Err(
                    "name a kept run (labtest replay target/labtest/<timestamp>) or a test and seed (--test NAME --seed N)"
                        .into(),
                );
            };
            let limit = harness_limit(
                args.timeout.unwrap_or(Duration::from_secs(150)),
                run::parse_test_limit(std::env::var("LAB_TEST_LIMIT").ok().as_deref())?,
            );
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| crate::labtest_dir().join("replay"));
            Replay {
                test: test.clone(),
                seed,
                time: args.time.map_or_else(env_time, Ok)?,
                sched: std::env::var("LAB_SCHED").ok().filter(|s| !s.is_empty()),
                source: Source {
                    package: args.package.clone(),
                    extra: true,
                    ..Source::default()
                },
                limit,
                timeout: Duration::ZERO,
                recorded: Recorded::default(),
                events: out.join(format!("{test}-{seed}.events.jsonl")),
            }
        }
    };
    if let Some(bin) = &args.bin {
        if !bin.is_file() {
            return Err(format!("no such test binary: {}", bin.display()));
        }
        plan.source.bin = Some(bin.clone());
    }
    if let Some(events) = &args.events {
        if !events.is_file() {
            return Err(format!("no such event log: {}", events.display()));
        }
        plan.recorded.events = Some(events.clone());
    }
    plan.timeout = args.timeout.unwrap_or(plan.limit + Duration::from_secs(5));
    Ok(plan)
}

/// The replay of the kept run `path` names (a run file or a folder).
fn from_kept(args: &ReplayArgs, path: &Path) -> Result<Replay, String> {
    let file = kept_run::find(path, args.test.as_deref(), args.seed)?;
    let kept = KeptRun::read(&file)?;
    if let Some(time) = args.time.filter(|t| *t != kept.time) {
        return Err(format!(
            "the kept run ran in {}; --time {} would not replay it",
            kept.time.label(),
            time.name()
        ));
    }
    println!(
        "kept run: {} ({}{})",
        file.display(),
        kept.verdict.label(),
        kept.failure
            .as_deref()
            .map(|f| format!(": {}", f.lines().next().unwrap_or("")))
            .unwrap_or_default()
    );
    let base = format!("{}-{}", kept.test, kept.seed);
    let dir = match &args.out {
        Some(out) => out.clone(),
        None => file.parent().unwrap_or(Path::new(".")).to_path_buf(),
    };
    Ok(Replay {
        events: dir.join(format!("{base}.replay.events.jsonl")),
        source: Source {
            targets: vec![kept.target.clone()],
            extra: true,
            ..kept.source.clone()
        },
        limit: Duration::try_from_secs_f64(kept.test_limit_seconds)
            .map_err(|e| format!("{}: a bad test limit: {e}", file.display()))?,
        timeout: Duration::ZERO,
        recorded: Recorded {
            events: kept.events.clone().filter(|e| e.is_file()),
            verdict: Some(kept.verdict),
            failure: kept.failure.clone(),
        },
        test: kept.test,
        seed: kept.seed,
        time: kept.time,
        sched: kept.sched,
    })
}

/// The binary that holds the test, found (and built) as `stress` finds it;
/// Err names a build failure or a test that does not exist.
fn find_binary(plan: &Replay) -> Result<PathBuf, String> {
    let cases = discover::discover(&plan.source)?;
    match cases.iter().find(|c| c.name == plan.test) {
        Some(case) => Ok(case.exe.clone()),
        None => Err(format!(
            "no test named {:?}; the tests are:\n{}",
            plan.test,
            crate::list_cases(&cases)
        )),
    }
}

/// Runs the replay, its output on ours; the verdict and its failure text.
fn run_once(plan: &Replay, exe: &Path) -> Result<(Verdict, Option<String>), String> {
    let dir = plan.events.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let record = plan.beside("result.jsonl");
    for stale in [&plan.events, &record] {
        let _ = fs::remove_file(stale);
    }
    let files = RunFiles {
        record: &record,
        events: Some(&plan.events),
    };
    let clock = (plan.time, plan.sched.as_deref());
    let mut child = test_command(exe, &plan.test, plan.seed, clock, files, plan.limit)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let started = Instant::now();
    let ending = run::wait_to_end(&mut child, plan.timeout)
        .map_err(|err| format!("cannot wait for the replay: {err}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let parsed = read_record(&record, &plan.test, plan.time);
    let _ = fs::remove_file(&record);
    let verdict = classify(ending, &parsed);
    Ok((
        verdict,
        failure_text(verdict, ending, seconds, &plan.test, &parsed),
    ))
}

/// Says what the replay gave and whether it matched; the exit status.
fn judge(plan: &Replay, (verdict, failure): (Verdict, Option<String>)) -> ExitCode {
    let first_line = |f: &Option<String>| {
        f.as_deref()
            .map(|f| format!(": {}", f.lines().next().unwrap_or("")))
            .unwrap_or_default()
    };
    println!();
    println!("replay: {}{}", verdict.label(), first_line(&failure));
    if let Some(recorded) = plan.recorded.verdict {
        println!(
            "recorded: {}{}",
            recorded.label(),
            first_line(&plan.recorded.failure)
        );
    }
    if plan.events.is_file() {
        println!("event log: {}", plan.events.display());
        let html = plan.beside("html");
        if let Some(html) = run::write_timeline(&plan.events, &html, &plan.test, plan.seed) {
            println!("timeline: {}", html.display());
        }
    } else {
        println!("the replay wrote no event log");
    }
    let Some(recorded) = &plan.recorded.events else {
        println!("no recorded event log to compare with");
        return match verdict {
            Verdict::Passed => ExitCode::SUCCESS,
            _ => ExitCode::from(1),
        };
    };
    let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
    let strictness = match plan.time {
        TimeMode::Virtual => Strictness::Exact,
        TimeMode::Real => Strictness::IgnoringTime,
    };
    let comparison = log_diff::compare(&read(recorded), &read(&plan.events), strictness);
    println!("recorded event log: {}", recorded.display());
    println!("{}", comparison.describe());
    match comparison {
        log_diff::Comparison::Identical { .. } => ExitCode::SUCCESS,
        log_diff::Comparison::Differs { .. } => ExitCode::from(1),
    }
}
