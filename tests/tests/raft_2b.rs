//! Lab 2B, against the `raft` crate. Run with `make test-2b` or
//! `cargo test --release -p tests --test raft_2b`. Not part of
//! `cargo test --workspace` (`test = false`): its real-time tests take
//! minutes.

fn main() {
    tests::runner::main("raft_2b", &tests::lab2b_tests::<raft::Raft>());
}
