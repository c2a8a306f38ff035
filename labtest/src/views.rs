//! `labtest log` and `labtest timeline`: the event log of a run
//! (`LAB_LOG`) as per-peer terminal columns or as an HTML timeline, through
//! the `labview` crate. These commands only read logs (and write the one
//! HTML file asked for).
//!
//! Exit status: 0 shown, 1 nothing to show (an empty log, filters that
//! match nothing: the message says which and what the log holds), 2 bad
//! input (a missing file, a damaged line, named by file and line, or a
//! `--test` the log does not hold). A reader that stops early (`| head`)
//! is not an error.

use clap::Args;
use labview::{
    Filter, LogOptions, ParsedLog, TestRun, TestSelection, TimelineOptions, drawn_note,
    explain_no_match,
};
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which test of a log file, and which of its events.
#[derive(Args)]
pub struct Selection {
    /// The test to show (name or part of it; default: the last failed
    /// test, else the last).
    #[arg(long)]
    test: Option<String>,
}

impl Selection {
    fn which(&self) -> TestSelection {
        self.test
            .clone()
            .map_or(TestSelection::default(), TestSelection::Named)
    }
}

const EXIT_STATUS: &str = "Exit status: 0 shown; 1 nothing to show (an empty log, filters that \
match nothing: the message says which and what the log holds); 2 bad input (a missing file, a \
damaged line, a --test the log does not hold).";

#[derive(Args)]
#[command(after_help = EXIT_STATUS)]
pub struct LogArgs {
    /// The event log (JSON lines).
    file: PathBuf,
    #[command(flatten)]
    selection: Selection,
    /// Only these peers' columns (repeat or comma-separate).
    #[arg(long, value_delimiter = ',')]
    peer: Vec<usize>,
    /// Only these kinds (`rpc` for every RPC event, `vote*` for a prefix).
    #[arg(long, value_delimiter = ',')]
    kind: Vec<String>,
    /// From this time (ms since the test began).
    #[arg(long)]
    from: Option<f64>,
    /// Until this time (ms).
    #[arg(long)]
    to: Option<f64>,
    /// Only events of this term.
    #[arg(long)]
    term: Option<u64>,
    /// Columns of the terminal (default: its width, else 120).
    #[arg(long)]
    width: Option<usize>,
    /// No colors.
    #[arg(long)]
    no_color: bool,
    /// Tab-separated lines for scripts (the default when the output is not
    /// a terminal).
    #[arg(long, conflicts_with = "columns")]
    plain: bool,
    /// One column per peer even when the output is not a terminal (e.g.
    /// `| less`), without colors.
    #[arg(long)]
    columns: bool,
    /// Also show delivered replies and end creations.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
#[command(after_help = EXIT_STATUS)]
pub struct TimelineArgs {
    /// The event log (JSON lines).
    file: PathBuf,
    /// The HTML file to write.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    selection: Selection,
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(120)
}

/// Why a view showed nothing, as its exit status: 1 when there is nothing
/// to show (an empty log, filters that match nothing), 2 for bad input (a
/// missing file, a damaged line, a test that is not in the log).
enum Stop {
    Nothing(String),
    BadInput(String),
}

impl Stop {
    fn report(self) -> ExitCode {
        match self {
            Stop::Nothing(message) => {
                eprintln!("labtest: {message}");
                ExitCode::from(1)
            }
            Stop::BadInput(message) => {
                eprintln!("error: {message}");
                ExitCode::from(2)
            }
        }
    }
}

/// The tests of the log at `file`, which must exist and hold only event
/// lines (an unfinished last line, from a killed run, is only warned about),
/// and the index of the one `selection` picks.
fn read_tests(
    file: &Path,
    selection: &Selection,
) -> Result<(ParsedLog, Vec<TestRun>, usize), Stop> {
    let parsed = labview::read_log(file)
        .map_err(|err| Stop::BadInput(format!("cannot read {}: {err}", file.display())))?;
    if let Some(bad) = parsed.first_damaged_line() {
        let more = parsed.warnings.iter().filter(|w| !w.unfinished).count() - 1;
        let more = if more > 0 {
            format!(" (and {more} more bad lines)")
        } else {
            String::new()
        };
        return Err(Stop::BadInput(format!(
            "{}:{}: {}{more}; is it an event log (LAB_LOG)?",
            file.display(),
            bad.line,
            bad.message
        )));
    }
    for w in &parsed.warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    let runs = labview::split_tests(&parsed.events);
    if runs.is_empty() {
        return Err(Stop::Nothing(format!(
            "{} holds no events: was LAB_LOG set for the run (LAB_LOG={} make test-2a)?",
            file.display(),
            file.display()
        )));
    }
    let shown = labview::select_index(&runs, &selection.which())
        .map_err(|e| Stop::BadInput(format!("{}: {e}", file.display())))?;
    Ok((parsed, runs, shown))
}

/// Writes `text` to stdout. A reader that went away (`| head`) ends the
/// output quietly: that is success, not an error.
fn print_quietly(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot write the output: {err}");
            ExitCode::from(1)
        }
    }
}

pub fn log(args: LogArgs) -> ExitCode {
    let (_, runs, shown) = match read_tests(&args.file, &args.selection) {
        Ok(found) => found,
        Err(stop) => return stop.report(),
    };
    eprintln!("{}: {}", args.file.display(), drawn_note(&runs, shown));
    let run = &runs[shown];
    let filter = Filter {
        peers: args.peer,
        kinds: args.kind,
        from_ms: args.from,
        to_ms: args.to,
        term: args.term,
    };
    if let Err(message) = labview::check_peers(&filter, &run.events) {
        return Stop::Nothing(message).report();
    }
    if filter
        .keep(&run.events, &labview::Rpcs::build(&run.events))
        .is_empty()
    {
        return Stop::Nothing(explain_no_match(&filter, &run.events)).report();
    }
    let on_terminal = std::io::stdout().is_terminal();
    let opts = LogOptions {
        test: args.selection.which(),
        filter,
        width: args.width.unwrap_or_else(terminal_width),
        no_color: args.no_color || !on_terminal,
        plain: args.plain || (!on_terminal && !args.columns),
        verbose: args.verbose,
    };
    print_quietly(&labview::render_run(run, &opts))
}

pub fn timeline(args: TimelineArgs) -> ExitCode {
    let (parsed, runs, shown) = match read_tests(&args.file, &args.selection) {
        Ok(found) => found,
        Err(stop) => return stop.report(),
    };
    let opts = TimelineOptions {
        test: TestSelection::Index(shown),
        warnings: parsed.warnings.clone(),
        ..TimelineOptions::default()
    };
    let html = labview::render_timeline(&parsed.events, &opts);
    if let Err(err) = std::fs::write(&args.output, html) {
        return Stop::BadInput(format!("cannot write {}: {err}", args.output.display())).report();
    }
    let written = std::path::absolute(&args.output).unwrap_or(args.output.clone());
    println!("wrote {}", written.display());
    println!("{}", drawn_note(&runs, shown));
    if runs.len() > 1 {
        println!("(the page's test menu shows the others too)");
    }
    ExitCode::SUCCESS
}
