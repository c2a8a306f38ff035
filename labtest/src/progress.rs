//! Progress of a long stress session: a live bar on a terminal (runs
//! done/total, failures, runs per minute, ETA, parallelism), plain lines
//! every ten seconds otherwise (CI logs), and one line per failed run as
//! it happens. Progress output must never change what is run.

use crate::run::RunResult;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often a plain progress line is printed when not on a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_plain: Instant,
    failures: usize,
    quiet: bool,
}

impl Progress {
    /// A bar on a terminal, plain lines elsewhere; nothing if `quiet`.
    pub fn new(total: Option<usize>, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = match total {
                Some(t) => ProgressBar::new(t as u64),
                None => ProgressBar::no_length(),
            };
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            last_plain: Instant::now(),
            failures: 0,
            quiet,
        }
    }

    /// A run ended: failed runs are announced at once.
    pub fn finished(&mut self, result: &RunResult) {
        if result.verdict.is_failure() {
            self.failures += 1;
            let line = format!(
                "{} {} seed {}: {}{}",
                result.verdict.label().to_uppercase(),
                result.test,
                result.seed,
                result
                    .failure
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or(""),
                result
                    .log
                    .as_ref()
                    .map(|p| format!(" ({})", p.display()))
                    .unwrap_or_default()
            );
            match &self.bar {
                Some(bar) => bar.println(line),
                None if !self.quiet => eprintln!("{line}"),
                None => {}
            }
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Called often: refreshes the bar, or prints a plain line now and then.
    pub fn tick(&mut self, done: usize, total: Option<usize>, running: usize, limit: usize) {
        let minutes = self.started.elapsed().as_secs_f64() / 60.0;
        let rate = if minutes > 0.0 {
            done as f64 / minutes
        } else {
            0.0
        };
        let msg = format!(
            "{} failed  {rate:.0} runs/min  {running} running (P={limit})",
            self.failures
        );
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
        } else if !self.quiet && self.last_plain.elapsed() >= PLAIN_EVERY {
            self.last_plain = Instant::now();
            let of = total.map(|t| format!("/{t}")).unwrap_or_default();
            let eta = match total {
                Some(t) if rate > 0.0 => {
                    format!("  ETA {:.0} s", t.saturating_sub(done) as f64 / rate * 60.0)
                }
                _ => String::new(),
            };
            eprintln!(
                "[{:>5.0}s] {done}{of} runs  {msg}{eta}",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Prints a line about the session itself.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar before the summary.
    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
