//! The config harness (a port of the Go lab's `config.go`) and the Raft lab
//! tests, with the runner that gives every test a verdict.
//!
//! - `config`: builds the peers and the network, crashes, restarts,
//!   connects and disconnects peers.
//! - `checks`: what the tests assert (one leader, terms, agreement).
//! - `applier`: checks every command each peer applies.
//! - `failure`: failing a test and recording where it was.
//! - `monitor`: our extra tests' monitors, sampling every peer's state
//!   every few milliseconds.
//! - `runner` and `report`: the command line, Go's output, verdicts and the
//!   result record.
//! - `lab2a`: the 2A tests, generic over [`Peer`].
//!
//! The harness reaches the Raft only through [`Peer`] (the student API) and
//! time, threads and randomness only through labrpc's layer.

pub mod applier;
pub mod checks;
pub mod config;
pub mod failure;
pub mod lab2a;
pub mod lab2a_extra;
pub mod monitor;
pub mod peer;
pub mod report;
pub mod runner;

pub use config::Config;
pub use peer::Peer;
pub use runner::LabTest;

/// The 2A tests for a given Raft, in Go's order.
pub fn lab2a_tests<R: Peer>() -> Vec<LabTest> {
    vec![
        LabTest {
            name: "initial_election_2a",
            body: lab2a::initial_election::<R>,
        },
        LabTest {
            name: "re_election_2a",
            body: lab2a::re_election::<R>,
        },
        LabTest {
            name: "many_elections_2a",
            body: lab2a::many_elections::<R>,
        },
    ]
}
