//! Attack: end the test process with status 0 from `Raft::make`.

pub fn run(_me: usize) {
    std::process::exit(0); // FORBIDDEN
}
