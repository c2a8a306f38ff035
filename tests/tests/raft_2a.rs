//! Lab 2A: leader election, against the `raft` crate. Run with
//! `make test-2a` or `cargo test --release -p tests --test raft_2a`.

fn main() {
    tests::runner::main("raft_2a", &tests::lab2a_tests::<raft::Raft>());
}
