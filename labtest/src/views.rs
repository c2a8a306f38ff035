//! `labtest log` and `labtest timeline`: the event log of a run
//! (`LAB_LOG`) as per-peer terminal columns or as an HTML timeline, through
//! the `labview` crate. These commands only read logs.

use clap::Args;
use labview::{Filter, LogOptions, TestSelection, TimelineOptions};
use std::io::IsTerminal;
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

#[derive(Args)]
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
    /// Tab-separated lines for scripts (default when not on a terminal).
    #[arg(long)]
    plain: bool,
    /// Also show delivered replies and end creations.
    #[arg(short, long)]
    verbose: bool,
}

#[derive(Args)]
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

pub fn log(args: LogArgs) -> ExitCode {
    let parsed = match labview::read_log(&args.file) {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("error: cannot read {}: {err}", args.file.display());
            return ExitCode::from(2);
        }
    };
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    let on_terminal = std::io::stdout().is_terminal();
    let opts = LogOptions {
        test: args.selection.which(),
        filter: Filter {
            peers: args.peer,
            kinds: args.kind,
            from_ms: args.from,
            to_ms: args.to,
            term: args.term,
        },
        width: args.width.unwrap_or_else(terminal_width),
        no_color: args.no_color || !on_terminal,
        plain: args.plain,
        verbose: args.verbose,
    };
    print!("{}", labview::render_log(&parsed.events, &opts));
    ExitCode::SUCCESS
}

pub fn timeline(args: TimelineArgs) -> ExitCode {
    let opts = TimelineOptions {
        test: args.selection.which(),
        ..TimelineOptions::default()
    };
    match write_timeline(&args.file, &args.output, &opts) {
        Ok(()) => {
            println!("wrote {}", args.output.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

/// Writes the timeline of `events` to `output`.
pub fn write_timeline(events: &Path, output: &Path, opts: &TimelineOptions) -> Result<(), String> {
    let warnings = labview::write_timeline(events, output, opts)
        .map_err(|e| format!("cannot make a timeline of {}: {e}", events.display()))?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
