//! `labtest`: the lab's tools. `labtest stress` runs each lab test many
//! times in parallel and reports the rare failures.
//!
//! Exit codes: 0 every run passed, 1 some run failed or timed out, 2 bad
//! usage or a build failure.

// The lab's time/thread layer (labrpc) governs the network, the harness
// and the Raft; this tool manages OS processes and uses std directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod batch;
mod catalog;
mod discover;
mod grade;
mod grade_cli;
mod handout;
mod progress;
mod report;
mod report_dir;
mod retry;
mod run;
mod schedule;
mod signals;
mod stats;
mod step;
mod views;
mod workspace;

use clap::{Args, Parser, Subcommand};
use discover::Source;
use schedule::{Parallel, Plan};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// with its own seed.
    Stress(StressArgs),
    /// Show an event log (LAB_LOG) with one column per peer.
    Log(views::LogArgs),
    /// Write an event log as a self-contained HTML timeline.
    Timeline(views::TimelineArgs),
    /// Write the student handout: the harness and a raft skeleton.
    Handout(grade_cli::HandoutArgs),
    /// Grade one submission (a raft crate folder or archive) against the
    /// pristine harness.
    Grade(grade_cli::GradeArgs),
    /// Grade every submission in a folder; CSV and summary.
    GradeBatch(grade_cli::BatchArgs),
    /// Grade the reference and every bug of grading/bugs; print the table.
    GradeCatalog(grade_cli::CatalogArgs),
}

#[derive(Args)]
struct StressArgs {
    /// Run the tests whose names contain any of these (case-insensitive);
    /// all tests if none.
    filters: Vec<String>,
    /// Runs of each test.
    #[arg(short = 'n', long = "runs", default_value_t = 20)]
    runs: usize,
    /// Runs at once: a number, or `auto` to follow the machine's load.
    #[arg(short = 'p', long = "parallel", default_value = "8", value_parser = parse_parallel)]
    parallel: Parallel,
    /// Seconds before a run is killed (with its process group) as a timeout.
    #[arg(long, default_value_t = 150)]
    timeout: u64,
    /// Master seed: the same one gives every run the same seed again.
    #[arg(long)]
    seed: Option<u64>,
    /// Where failed runs' logs go (default target/labtest/<timestamp>).
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
    /// Keep going until interrupted (Ctrl-C).
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

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Stress(args) => stress(args),
        Command::Log(args) => views::log(args),
        Command::Timeline(args) => views::timeline(args),
        Command::Handout(args) => grade_cli::handout(args),
        Command::Grade(args) => grade_cli::grade(args),
        Command::GradeBatch(args) => grade_cli::grade_batch(args),
        Command::GradeCatalog(args) => grade_cli::grade_catalog(args),
    }
}

fn stress(args: StressArgs) -> ExitCode {
    let source = Source {
        package: args.package.clone(),
        targets: args.targets.clone(),
        extra: args.extra,
        bin: args.bin.clone(),
        workspace: None,
        target_dir: None,
    };
    let all = match discover::discover(&source) {
        Ok(all) => all,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let cases = discover::select(&all, &args.filters);
    if cases.is_empty() {
        eprintln!("error: no test matches {:?}", args.filters);
        eprintln!("the tests are:");
        for c in &all {
            eprintln!("    {} ({})", c.name, c.target);
        }
        return ExitCode::from(2);
    }
    let master_seed = args.seed.unwrap_or_else(random_seed);
    let out = args.out.clone().unwrap_or_else(default_out);
    if let Err(err) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create {}: {err}", out.display());
        return ExitCode::from(2);
    }
    let parallel = match args.parallel {
        Parallel::Auto { .. } => Parallel::Auto {
            target_ms: args.auto_target,
        },
        p => p,
    };
    println!(
        "stress: {} test(s) x {} runs, P={}, timeout {} s, master seed {master_seed} (--seed {master_seed} repeats it)",
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
        args.timeout
    );
    println!("failed runs are kept in {}", out.display());
    let plan = Plan {
        runs_per_test: args.runs,
        looping: args.looping,
        parallel,
        timeout: Duration::from_secs(args.timeout),
        until_fail: args.until_fail,
        master_seed,
        out: out.clone(),
        cases,
    };
    schedule::catch_ctrl_c();
    let mut progress = progress::Progress::new(
        (!args.looping).then_some(args.runs * plan.cases.len()),
        args.quiet,
    );
    let outcome = match schedule::run(&plan, &mut progress) {
        Ok(outcome) => outcome,
        Err(err) => {
            progress.done();
            eprintln!("error: cannot start a run: {err}");
            return ExitCode::from(2);
        }
    };
    progress.done();
    summarize(&args, &outcome, master_seed)
}

fn summarize(args: &StressArgs, outcome: &schedule::Outcome, master_seed: u64) -> ExitCode {
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
        "\n{} passed, {} failed{} in {:.1} s ({:.0} runs per hour){}",
        runs - failed,
        failed,
        if suspect > 0 {
            format!(" ({suspect} suspect: overloaded machine)")
        } else {
            String::new()
        },
        outcome.wall.as_secs_f64(),
        if hours > 0.0 {
            runs as f64 / hours
        } else {
            0.0
        },
        if outcome.interrupted {
            "; interrupted"
        } else {
            ""
        }
    );
    let worst = outcome
        .results
        .iter()
        .filter_map(|r| r.worst_oversleep_ms)
        .fold(0.0f64, f64::max);
    println!(
        "CPU {:.3} s per run; at most {} threads and {:.0} MiB in all runs at once; worst oversleep {worst:.0} ms",
        outcome.cpu.as_secs_f64() / runs.max(1) as f64,
        outcome.peak.threads,
        outcome.peak.rss_kib as f64 / 1024.0
    );
    if let Some(path) = &args.json {
        let json = report::JsonReport {
            master_seed,
            wall_seconds: outcome.wall.as_secs_f64(),
            interrupted: outcome.interrupted,
            tests: &summaries,
            runs: &outcome.results,
        };
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        if let Err(err) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {err}", path.display());
        }
    }
    if let Some(path) = &args.junit
        && let Err(err) = std::fs::write(path, report::junit(&outcome.results, outcome.wall))
    {
        eprintln!("error: cannot write {}: {err}", path.display());
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
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
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    PathBuf::from(target).join("labtest").join(timestamp(secs))
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
