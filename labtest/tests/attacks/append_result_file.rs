//! Attack: append a passing record for every test to $LAB_RESULT_FILE and
//! exit 0 (before the ban, this forged 15/15 for a Raft that never elects).
use std::io::Write;

pub fn run(_me: usize) {
    let Ok(path) = std::env::var("LAB_RESULT_FILE") else { // FORBIDDEN
        println!("attack: LAB_RESULT_FILE is not in the environment");
        return;
    };
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for test in ["initial_election_2a", "re_election_2a", "many_elections_2a"] {
        writeln!(file, "{{\"test\":\"{test}\",\"passed\":true}}").unwrap();
    }
    std::process::exit(0);
}
