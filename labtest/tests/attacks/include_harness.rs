//! Attack: compile the harness's own sources into the Raft, to learn where
//! the verdict goes.

const REPORT: &str = include_str!("../../tests/src/report.rs"); // FORBIDDEN

pub fn run(_me: usize) {
    println!("attack: the harness's report.rs has {} bytes", REPORT.len());
}
