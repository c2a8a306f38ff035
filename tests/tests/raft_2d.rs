//! Lab 2D (snapshots), against the `raft` crate. Run with `make test-2d`
//! or `cargo test --release -p tests --test raft_2d`. Not part of
//! `cargo test --workspace` (`test = false`): its real-time tests take
//! minutes.

fn main() {
    tests::runner::main("raft_2d", &tests::lab2d_tests::<raft::Raft>());
}
