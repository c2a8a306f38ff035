//! Our extra 2A tests (not Go's), monitored: heartbeat rate, a stable
//! leader, elections per failure, multiple elections.
//! `cargo test --release -p tests --test raft_2a_extra`.

fn main() {
    tests::runner::main("raft_2a_extra", &tests::lab2a_extra::tests::<raft::Raft>());
}
