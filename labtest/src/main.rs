//! `labtest`: the lab's tools. `labtest stress` runs each lab test many
//! times in parallel and reports the rare failures.
//!
//! Exit codes of `stress`: 0 every run passed, 1 some run failed or timed
//! out, 2 bad usage (found before anything is built or run) or a build
//! failure, 130/143 stopped by SIGINT/SIGTERM. A session that was stopped
//! never exits 0.

// The lab's time/thread layer (labrpc) governs the network, the harness
// and the Raft; this tool manages OS processes and uses std directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod batch;
mod catalog;
mod content_version;
mod discover;
mod file_tree;
mod grade;
mod grade_cli;
mod handout;
mod integrity;
mod kept_run;
mod log_diff;
mod merge;
mod part;
mod partition;
mod progress;
mod replay;
mod report;
mod report_dir;
mod retry;
mod run;
mod schedule;
mod seed_batch;
mod stats;
mod step;
mod time_mode;
mod views;
mod workspace;

use clap::{Args, Parser, Subcommand};
use discover::{NoMatch, Source};
use run::{EventLogs, UserEnv};
use schedule::{Parallel, Plan};
use seed_batch::Batching;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use time_mode::TimeMode;

#[derive(Parser)]
#[command(
    name = "labtest",
    version,
    about = "Tools for the Raft lab: stress the tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every matching test N times, P at once, each in a fresh process
    /// with its own seed (in virtual time, a batch of seeds per process:
    /// see --batch).
    ///
    /// Exit status: 0 every run passed; 1 a run failed or timed out; 2 bad
    /// usage (found before anything is built or run), a build failure, or
    /// a report that could not be written; 130 or 143 stopped by Ctrl-C or
    /// SIGTERM (every run's process group killed first).
    Stress(StressArgs),
    /// Show an event log (LAB_LOG) with one column per peer.
    Log(views::LogArgs),
    /// Write an event log as a self-contained HTML timeline.
    Timeline(views::TimelineArgs),
    /// Write the student handout: the harness and a raft skeleton.
    Handout(grade_cli::HandoutArgs),
    /// Check the raft crate of this workspace as the grader does before
    /// it builds a submission: the course's ban (clippy) and the scanner.
    ///
    /// Exit status: 0 nothing forbidden; 1 a forbidden use (each named
    /// with its file and line); 2 the check could not run.
    Check(grade_cli::CheckArgs),
    /// Grade one submission (a raft crate folder or archive) against the
    /// pristine harness.
    Grade(grade_cli::GradeArgs),
    /// Grade every submission in a folder; CSV and summary.
    GradeBatch(grade_cli::BatchArgs),
    /// Grade the reference and every bug of grading/bugs; print the table.
    GradeCatalog(grade_cli::CatalogArgs),
    /// Join the shares of `grade-batch --partition I/N` into one
    /// scores.csv, the report folders side by side and the summary.
    ///
    /// Exit status: 0 merged; 2 shares that do not make one whole class
    /// (missing, given twice, unfinished, or from different grades).
    Merge(grade_cli::MergeArgs),
    /// Run one failed run again from its seed and test (a kept run of
    /// `stress`, or --test and --seed), and say whether its event log
    /// matches the recorded one.
    ///
    /// Exit status: 0 the replay matched the recorded run (with nothing
    /// recorded to compare: the test passed); 1 it differs (or the test
    /// failed); 2 bad input (no such run, folder or test, a seed that is
    /// not a number) or a build failure; 130/143 stopped by a signal.
    Replay(replay::ReplayArgs),
}

#[derive(Args)]
struct StressArgs {
    /// Run the tests whose names contain any of these (case-insensitive);
    /// all tests if none.
    filters: Vec<String>,
    /// Runs of each test (at least 1).
    #[arg(short = 'n', long = "runs", default_value_t = 20, value_parser = parse_runs)]
    runs: usize,
    /// Runs at once: a number, or `auto` to follow the machine's load.
    #[arg(short = 'p', long = "parallel", default_value = "8", value_parser = parse_parallel)]
    parallel: Parallel,
    /// Seconds before a run is killed (with its process group) as a
    /// timeout (more than 0).
    #[arg(long, default_value = "150", value_parser = parse_timeout)]
    timeout: Duration,
    /// Master seed: the same one gives every run the same seed again.
    #[arg(long)]
    seed: Option<u64>,
    /// The clock of every run (sets LAB_TIME; default: LAB_TIME, else
    /// real). In virtual time a seed replays the whole run and the
    /// machine's load plays no part.
    #[arg(long, value_enum)]
    time: Option<TimeMode>,
    /// Where failed runs' logs go (default target/labtest/TIMESTAMP).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write a JSON summary of every run here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Stop at the first failure.
    #[arg(long)]
    until_fail: bool,
    /// Keep going until interrupted (Ctrl-C or SIGTERM).
    #[arg(long = "loop")]
    looping: bool,
    /// A failed run whose worst oversleep passed this many milliseconds is
    /// flagged as suspect. Heartbeats are 150 ms apart and election timeouts
    /// 300-600 ms: a thread waking 100 ms late can cost a correct Raft an
    /// election, so such a failure says more about the machine than the
    /// Raft.
    #[arg(long, default_value_t = 100.0)]
    suspect_oversleep: f64,
    /// With `-p auto`: the worst oversleep (ms) the runs may show before the
    /// parallelism comes down.
    #[arg(long, default_value_t = 20.0)]
    auto_target: f64,
    /// The package that holds the lab tests.
    #[arg(long, default_value = "tests")]
    package: String,
    /// Only these test targets (default: every raft_* target but the extras).
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Include the extra (non-Go) test targets.
    #[arg(long)]
    extra: bool,
    /// Use this prebuilt test binary instead of building.
    #[arg(long)]
    bin: Option<PathBuf>,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
    /// Virtual time only: seeds of one test run one after another in one
    /// process (default: as many as keep every slot busy, at most 32; 1: a
    /// fresh process per run). Each seed runs exactly as it does alone, and
    /// any seed that does not pass runs again alone, for its verdict and
    /// files.
    #[arg(long, value_parser = parse_runs)]
    batch: Option<usize>,
}

fn parse_parallel(text: &str) -> Result<Parallel, String> {
    if text == "auto" {
        return Ok(Parallel::Auto { target_ms: 20.0 });
    }
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(p) => Ok(Parallel::Fixed(p)),
        Err(_) => Err(format!("expected a number or `auto`, got {text:?}")),
    }
}

fn parse_runs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("expected a whole number, got {text:?}")),
    }
}

pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    run::positive_seconds(text)
        .ok_or_else(|| format!("expected a positive number of seconds, got {text:?}"))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Stress(args) => stress(args),
        Command::Log(args) => views::log(args),
        Command::Timeline(args) => views::timeline(args),
        Command::Handout(args) => grade_cli::handout(args),
        Command::Check(args) => grade_cli::check(args),
        Command::Grade(args) => grade_cli::grade(args),
        Command::GradeBatch(args) => grade_cli::grade_batch(args),
        Command::Merge(args) => grade_cli::merge(args),
        Command::GradeCatalog(args) => grade_cli::grade_catalog(args),
        Command::Replay(args) => replay::replay(args),
    }
}

fn stress(args: StressArgs) -> ExitCode {
    // Bad usage is found before anything is built, run or created.
    let source = source_of(&args);
    let found = check_before_start(&args).and_then(|env| Ok((env, find_cases(&args, &source)?)));
    let (env, cases) = match found {
        Ok(found) => found,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let master_seed = args.seed.unwrap_or_else(random_seed);
    let out = args.out.clone().unwrap_or_else(default_out);
    let parallel = match args.parallel {
        Parallel::Auto { .. } => Parallel::Auto {
            target_ms: args.auto_target,
        },
        p => p,
    };
    println!(
        "stress: {} test(s) x {} runs, P={}, timeout {} s, {}, master seed {master_seed} (--seed {master_seed} repeats it)",
        cases.len(),
        if args.looping {
            "∞".to_string()
        } else {
            args.runs.to_string()
        },
        match parallel {
            Parallel::Fixed(p) => p.to_string(),
            Parallel::Auto { .. } => "auto".to_string(),
        },
        args.timeout.as_secs_f64(),
        env.time.label()
    );
    println!("failed runs will be kept in {}", out.display());
    if let Some(limit) = env.test_limit {
        println!(
            "LAB_TEST_LIMIT: each test fails by itself after {} s",
            run::harness_limit(args.timeout, Some(limit)).as_secs_f64()
        );
    }
    if let EventLogs::EveryRun { .. } = &env.event_logs {
        println!(
            "LAB_LOG: each run writes its own event log, like {}",
            env.event_logs
                .path(
                    Path::new(""),
                    0,
                    &cases[0].name,
                    schedule::run_seed(master_seed, 0)
                )
                .display()
        );
    }
    let plan = Plan {
        runs_per_test: args.runs,
        looping: args.looping,
        parallel,
        timeout: args.timeout,
        until_fail: args.until_fail,
        master_seed,
        out: out.clone(),
        cases,
        source,
        batching: batching(&args, &env),
    };
    schedule::catch_ctrl_c();
    let mut progress = progress::Progress::new(
        (!args.looping).then_some(args.runs * plan.cases.len()),
        args.quiet,
    );
    let outcome = match schedule::run_in(&plan, &env, &mut progress) {
        Ok(outcome) => outcome,
        Err(err) => {
            progress.done();
            eprintln!("error: cannot start a run: {err}");
            return ExitCode::from(2);
        }
    };
    progress.done();
    summarize(&args, &outcome, master_seed, env.time)
}

fn summarize(
    args: &StressArgs,
    outcome: &schedule::Outcome,
    master_seed: u64,
    time: TimeMode,
) -> ExitCode {
    let summaries = report::summarize(&outcome.results, args.suspect_oversleep);
    let exe = args.bin.as_deref();
    let failures = report::failures(&outcome.results, args.suspect_oversleep, exe, &args.package);
    if !failures.is_empty() {
        println!("\n{failures}");
    }
    println!();
    print!("{}", report::table(&summaries));
    let failed: usize = summaries.iter().map(|s| s.failures).sum();
    let suspect: usize = summaries.iter().map(|s| s.suspect).sum();
    let runs: usize = summaries.iter().map(|s| s.runs).sum();
    let hours = outcome.wall.as_secs_f64() / 3600.0;
    println!(
        "\n{} passed, {} failed{} in {:.1} s ({:.0} runs per hour, {}){}",
        runs - failed,
        failed,
        if suspect > 0 {
            format!(" ({suspect} suspect: overloaded machine)")
        } else if failed > 0 && !time.load_can_fail_runs() {
            format!(" ({}: not the machine's load)", time.label())
        } else {
            String::new()
        },
        outcome.wall.as_secs_f64(),
        if hours > 0.0 {
            runs as f64 / hours
        } else {
            0.0
        },
        time.label(),
        match outcome.signal {
            Some(signal) => format!("; interrupted by {}", signal.name()),
            None => String::new(),
        }
    );
    let worst = outcome
        .results
        .iter()
        .filter_map(|r| r.worst_oversleep_ms)
        .fold(0.0f64, f64::max);
    println!(
        "CPU {:.3} s per run; at most {} threads and {:.0} MiB in all runs at once; {}",
        outcome.cpu.as_secs_f64() / runs.max(1) as f64,
        outcome.peak.threads,
        outcome.peak.rss_kib as f64 / 1024.0,
        if time.load_can_fail_runs() {
            format!("worst oversleep {worst:.0} ms")
        } else {
            format!("no oversleep in {}", time.label())
        }
    );
    let written = write_reports(args, outcome, &summaries, master_seed, time);
    // A signal caught after the schedule ended stops the session too.
    match outcome.signal.or_else(schedule::caught) {
        Some(signal) => {
            let stopped = outcome
                .results
                .iter()
                .filter(|r| r.verdict == run::Verdict::Interrupted)
                .count();
            println!(
                "interrupted by {}: the figures above cover the {runs} runs that finished; {stopped} stopped unfinished",
                signal.name()
            );
            ExitCode::from(signal.exit_status())
        }
        None if failed > 0 => ExitCode::from(1),
        // A report asked for and not written is no success.
        None if !written => ExitCode::from(2),
        None => ExitCode::SUCCESS,
    }
}

/// Writes the `--json` and `--junit` reports asked for; false if one could
/// not be written (said on stderr).
fn write_reports(
    args: &StressArgs,
    outcome: &schedule::Outcome,
    summaries: &[report::TestSummary],
    master_seed: u64,
    time: TimeMode,
) -> bool {
    let mut written = true;
    if let Some(path) = &args.json {
        let json = report::JsonReport {
            master_seed,
            time,
            wall_seconds: outcome.wall.as_secs_f64(),
            interrupted: outcome.interrupted,
            signal: outcome.signal.map(schedule::Signal::name),
            tests: summaries,
            runs: &outcome.results,
        };
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string());
        written &= write_report(path, text);
    }
    if let Some(path) = &args.junit {
        written &= write_report(path, Ok(report::junit(&outcome.results, outcome.wall)));
    }
    written
}

/// Writes one report; false (said on stderr) if it could not be made or
/// written.
fn write_report(path: &Path, text: Result<String, String>) -> bool {
    match text.and_then(|t| std::fs::write(path, t).map_err(|e| e.to_string())) {
        Ok(()) => true,
        Err(err) => {
            eprintln!("error: cannot write {}: {err}", path.display());
            false
        }
    }
}

/// What can be checked before anything is built or run: the user's
/// environment (`LAB_TEST_LIMIT`, `LAB_LOG`, `LAB_TIME` unless `--time`
/// overrides it) and every file the session will write. Err says what is
/// wrong.
fn check_before_start(args: &StressArgs) -> Result<UserEnv, String> {
    let mut env = UserEnv::from_env()?;
    if let Some(time) = args.time {
        env.time = time;
    }
    if args.batch.is_some_and(|n| n > 1) {
        if env.time != TimeMode::Virtual {
            return Err("--batch runs several seeds in one process, which only virtual time replays exactly: add --time virtual (or leave --batch out)".into());
        }
        if env.event_logs != EventLogs::FailedRuns {
            return Err(
                "--batch cannot give every run its own event log (LAB_LOG): leave one of them out"
                    .into(),
            );
        }
    }
    for path in args.json.iter().chain(&args.junit) {
        check_writable(path)?;
    }
    if let EventLogs::EveryRun { .. } = &env.event_logs {
        let sample = env.event_logs.path(Path::new(""), 0, "labtest-check", 0);
        check_writable(&sample).map_err(|e| format!("LAB_LOG: {e}"))?;
    }
    Ok(env)
}

/// How many seeds one process runs: several only in virtual time, where a
/// seed replays its run exactly, and where no run writes its own event log.
fn batching(args: &StressArgs, env: &UserEnv) -> Batching {
    let can = env.time == TimeMode::Virtual && env.event_logs == EventLogs::FailedRuns;
    match args.batch {
        _ if !can => Batching::Off,
        None => Batching::Auto,
        Some(1) => Batching::Off,
        Some(n) => Batching::Fixed(n),
    }
}

/// Err unless `path` can be written: an existing file is opened for
/// writing (and left as it is), a new one is created and removed.
fn check_writable(path: &Path) -> Result<(), String> {
    let opened = if path.exists() {
        std::fs::OpenOptions::new().write(true).open(path).map(drop)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|_| std::fs::remove_file(path))
    };
    opened.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Where the session's tests come from.
fn source_of(args: &StressArgs) -> Source {
    Source {
        package: args.package.clone(),
        targets: args.targets.clone(),
        // List the extra tests too, to say so when a filter names only
        // them; they run only with --extra.
        extra: true,
        bin: args.bin.clone(),
        workspace: None,
        target_dir: None,
    }
}

/// Builds and lists the tests, and picks the ones to run; Err explains
/// an empty choice (listing the tests) or a build failure.
fn find_cases(args: &StressArgs, source: &Source) -> Result<Vec<discover::TestCase>, String> {
    let all = discover::discover(source)?;
    // Targets and binaries the user named count as asked for.
    let extra = args.extra || !args.targets.is_empty() || args.bin.is_some();
    discover::choose(&all, &args.filters, extra).map_err(|no_match| match no_match {
        NoMatch::OnlyExtra(extras) => format!(
            "{:?} matches only extra tests; these are extra tests: add --extra\n{}",
            args.filters,
            list_cases(&extras)
        ),
        NoMatch::Nothing => format!(
            "no test matches {:?}\nthe tests are:\n{}",
            args.filters,
            list_cases(&all)
        ),
    })
}

/// One test a line, with its target.
pub fn list_cases(cases: &[discover::TestCase]) -> String {
    cases
        .iter()
        .map(|c| format!("    {} ({})", c.name, c.target))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A seed from the OS.
fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut bytes);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (u64::from_le_bytes(bytes) ^ nanos) >> 2
}

/// `target/labtest/<YYYYMMDD-HHMMSS>` (UTC).
fn default_out() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    labtest_dir().join(timestamp(secs))
}

/// `target/labtest` under the cargo target dir (`CARGO_TARGET_DIR`).
pub fn labtest_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    PathBuf::from(target).join("labtest")
}

/// A UTC timestamp `YYYYMMDD-HHMMSS` of `secs` since the epoch.
fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(timestamp(0), "19700101-000000");
        assert_eq!(timestamp(1_795_587_200 + 3661), "20261125-071421");
        assert_eq!(timestamp(951_782_400), "20000229-000000");
    }

    #[test]
    fn parallel_takes_numbers_or_auto() {
        assert_eq!(parse_parallel("8"), Ok(Parallel::Fixed(8)));
        assert!(matches!(parse_parallel("auto"), Ok(Parallel::Auto { .. })));
        assert!(parse_parallel("0").is_err());
        assert!(parse_parallel("x").is_err());
    }
}
