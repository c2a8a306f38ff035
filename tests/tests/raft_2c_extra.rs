//! Our extra 2C tests (not Go's), monitored: a vote survives a crash.
//! `cargo test --release -p tests --test raft_2c_extra`.

fn main() {
    tests::runner::main("raft_2c_extra", &tests::lab2c_extra::tests::<raft::Raft>());
}
