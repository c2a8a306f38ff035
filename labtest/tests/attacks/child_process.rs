//! Attack: a child process (which inherits the environment) appends a
//! passing record to the result file.

pub fn run(_me: usize) {
    let _ = std::process::Command::new("sh") // FORBIDDEN
        .arg("-c")
        .arg("echo '{\"test\":\"initial_election_2a\",\"passed\":true}' >> \"$LAB_RESULT_FILE\"")
        .status();
}
