//! The config harness (a port of the Go lab's `config.go`) and the Raft lab
//! tests, with the runner that gives every test a verdict.
//!
//! - `config`: builds the peers and the network, crashes, restarts,
//!   connects and disconnects peers.
//! - `checks`: what the tests assert (one leader, terms, agreement).
//! - `command`: the commands the tests submit (Go ints and strings) and
//!   the values peers apply.
//! - `applier`: checks every command each peer applies.
//! - `failure`: failing a test and recording where it was.
//! - `monitor`: our extra tests' monitors, sampling every peer's state
//!   every few milliseconds.
//! - `runner` and `report`: the command line, Go's output, verdicts and the
//!   result record.
//! - `lab2a`, `lab2b`, `lab2c`, `lab2d`: the Go lab's tests of each part, generic
//!   over [`Peer`].
//! - `lab2a_extra`, `lab2c_extra`: our extra tests (not Go's), run with the
//!   monitors: a separate set, never part of the Go-compatible score.
//!
//! The harness reaches the Raft only through [`Peer`] (the student API) and
//! time, threads and randomness only through labrpc's layer.

pub mod applier;
pub mod checks;
pub mod command;
pub mod config;
pub mod failure;
pub mod lab2a;
pub mod lab2a_extra;
pub mod lab2b;
pub mod lab2c;
pub mod lab2c_extra;
pub mod lab2d;
pub mod limit;
pub mod monitor;
pub mod peer;
pub mod report;
pub mod runner;
pub mod watchdog;

pub use config::{Config, Peers};
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

/// The 2B tests for a given Raft, in Go's order.
pub fn lab2b_tests<R: Peer>() -> Vec<LabTest> {
    vec![
        LabTest {
            name: "basic_agree_2b",
            body: lab2b::basic_agree::<R>,
        },
        LabTest {
            name: "rpc_bytes_2b",
            body: lab2b::rpc_bytes::<R>,
        },
        LabTest {
            name: "follower_failure_2b",
            body: lab2b::follower_failure::<R>,
        },
        LabTest {
            name: "leader_failure_2b",
            body: lab2b::leader_failure::<R>,
        },
        LabTest {
            name: "fail_agree_2b",
            body: lab2b::fail_agree::<R>,
        },
        LabTest {
            name: "fail_no_agree_2b",
            body: lab2b::fail_no_agree::<R>,
        },
        LabTest {
            name: "concurrent_starts_2b",
            body: lab2b::concurrent_starts::<R>,
        },
        LabTest {
            name: "rejoin_2b",
            body: lab2b::rejoin::<R>,
        },
        LabTest {
            name: "backup_2b",
            body: lab2b::backup::<R>,
        },
        LabTest {
            name: "count_2b",
            body: lab2b::count::<R>,
        },
    ]
}

/// The 2C tests for a given Raft, in Go's order.
pub fn lab2c_tests<R: Peer>() -> Vec<LabTest> {
    vec![
        LabTest {
            name: "persist1_2c",
            body: lab2c::persist1::<R>,
        },
        LabTest {
            name: "persist2_2c",
            body: lab2c::persist2::<R>,
        },
        LabTest {
            name: "persist3_2c",
            body: lab2c::persist3::<R>,
        },
        LabTest {
            name: "figure8_2c",
            body: lab2c::figure8::<R>,
        },
        LabTest {
            name: "unreliable_agree_2c",
            body: lab2c::unreliable_agree::<R>,
        },
        LabTest {
            name: "figure8_unreliable_2c",
            body: lab2c::figure8_unreliable::<R>,
        },
        LabTest {
            name: "reliable_churn_2c",
            body: lab2c::reliable_churn::<R>,
        },
        LabTest {
            name: "unreliable_churn_2c",
            body: lab2c::unreliable_churn::<R>,
        },
    ]
}

/// The 2D tests for a given Raft, in Go's order.
pub fn lab2d_tests<R: Peer>() -> Vec<LabTest> {
    vec![
        LabTest {
            name: "snapshot_basic_2d",
            body: lab2d::snapshot_basic::<R>,
        },
        LabTest {
            name: "snapshot_install_2d",
            body: lab2d::snapshot_install::<R>,
        },
        LabTest {
            name: "snapshot_install_unreliable_2d",
            body: lab2d::snapshot_install_unreliable::<R>,
        },
        LabTest {
            name: "snapshot_install_crash_2d",
            body: lab2d::snapshot_install_crash::<R>,
        },
        LabTest {
            name: "snapshot_install_uncrash_2d",
            body: lab2d::snapshot_install_uncrash::<R>,
        },
        LabTest {
            name: "snapshot_all_crash_2d",
            body: lab2d::snapshot_all_crash::<R>,
        },
        LabTest {
            name: "snapshot_init_2d",
            body: lab2d::snapshot_init::<R>,
        },
    ]
}

/// The whole of lab 2 (2A, 2B, 2C, 2D: 28 tests), in Go's order.
pub fn lab2_tests<R: Peer>() -> Vec<LabTest> {
    let mut all = lab2a_tests::<R>();
    all.extend(lab2b_tests::<R>());
    all.extend(lab2c_tests::<R>());
    all.extend(lab2d_tests::<R>());
    all
}
