//! Attack: find the result file among the process's open files through
//! /proc/self/fd and write a passing record to it.
use std::io::Write;

pub fn run(_me: usize) {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() { // FORBIDDEN
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if target.to_string_lossy().ends_with(".result.jsonl") {
            let mut file = std::fs::OpenOptions::new().append(true).open(entry.path()).unwrap();
            let _ = writeln!(file, "{{\"test\":\"initial_election_2a\",\"passed\":true}}");
            std::process::exit(0);
        }
    }
}
