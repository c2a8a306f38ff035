//! A tiny driver for trying the views by hand (the real CLI is `labtest`):
//!
//! ```sh
//! cargo run -p labview --example labview -- sample three|seven|big|passing > run.jsonl
//! cargo run -p labview --example labview -- log run.jsonl [--plain] [--no-color] [--width N] [--peer P] [--kind K] [--term T] [--test NAME]
//! cargo run -p labview --example labview -- timeline run.jsonl run.html [--test NAME]
//! ```

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use labview::sample::{SampleConfig, sample_log};
use labview::{LogOptions, TestSelection, TimelineOptions};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut log = LogOptions::default();
    let mut timeline = TimelineOptions::default();
    let mut rest = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--plain" => log.plain = true,
            "--no-color" => log.no_color = true,
            "--verbose" => log.verbose = true,
            "--width" => log.width = value().parse().unwrap_or(120),
            "--peer" => log.filter.peers.push(value().parse().unwrap_or(0)),
            "--kind" => log.filter.kinds.push(value()),
            "--term" => log.filter.term = value().parse().ok(),
            "--from" => log.filter.from_ms = value().parse().ok(),
            "--to" => log.filter.to_ms = value().parse().ok(),
            "--test" => {
                let name = value();
                log.test = TestSelection::Named(name.clone());
                timeline.test = TestSelection::Named(name);
            }
            _ => rest.push(a.clone()),
        }
    }
    match rest
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["sample", which] => {
            let cfg = match *which {
                "three" => SampleConfig::three_peers(),
                "seven" => SampleConfig::seven_peers(),
                "big" => SampleConfig::seven_peers_big(),
                _ => SampleConfig::passing(),
            };
            print!("{}", sample_log(&cfg));
        }
        ["log", file] => {
            let parsed = labview::read_log(Path::new(file)).expect("read the log");
            for w in &parsed.warnings {
                eprintln!("warning: {file}: {w}");
            }
            print!("{}", labview::render_log(&parsed.events, &log));
        }
        ["timeline", file, out] => {
            match labview::write_timeline(Path::new(file), Path::new(out), &timeline) {
                Ok(warnings) => {
                    for w in &warnings {
                        eprintln!("warning: {file}: {w}");
                    }
                    eprintln!("wrote {out}");
                }
                Err(e) => eprintln!("error: {e}"),
            }
        }
        _ => eprintln!("usage: see the top of examples/labview.rs"),
    }
}
