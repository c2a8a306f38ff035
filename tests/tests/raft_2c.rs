//! Lab 2C, against the `raft` crate. Run with `make test-2c` or
//! `cargo test --release -p tests --test raft_2c`. Not part of
//! `cargo test --workspace` (`test = false`): its real-time tests take
//! minutes.

fn main() {
    tests::runner::main("raft_2c", &tests::lab2c_tests::<raft::Raft>());
}
