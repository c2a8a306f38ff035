//! The lab 2A tests (leader election), step for step as in the Go lab's
//! `test_test.go`: the same sleeps, random choices and messages.
//!
//! Generic over [`Peer`] so that the harness's own tests can run them
//! against broken Rafts; the `raft_2a` binary runs them on `raft::Raft`.

use crate::config::Config;
use crate::failure::{fatal, step};
use crate::peer::Peer;
use labrpc::rand;
use labrpc::time::Duration;

/// The tester's election timeout: a new leader is expected within a few
/// of these after a failure.
pub const RAFT_ELECTION_TIMEOUT: Duration = Duration::from_millis(1000);

/// Go's TestInitialElection2A.
pub fn initial_election<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2A): initial election");

    // Is a leader elected?
    cfg.check_one_leader();

    // Sleep a bit to avoid racing with followers learning of the election,
    // then check that all peers agree on the term.
    cfg.sleep(Duration::from_millis(50));
    let term1 = cfg.check_terms().unwrap_or(0);
    if term1 < 1 {
        fatal(format!("term is {term1}, but should be at least 1"));
    }

    // Does the leader and term stay the same if there is no network failure?
    step("sleeping 2 election timeouts");
    cfg.sleep(2 * RAFT_ELECTION_TIMEOUT);
    let term2 = cfg.check_terms().unwrap_or(0);
    if term1 != term2 {
        print!("warning: term changed even though there were no failures");
    }

    // There should still be a leader.
    cfg.check_one_leader();
    cfg.end();
}

/// Go's TestReElection2A.
pub fn re_election<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2A): election after network failure");

    let leader1 = cfg.check_one_leader();

    // If the leader disconnects, a new one should be elected.
    cfg.disconnect(leader1);
    cfg.check_one_leader();

    // If the old leader rejoins, that shouldn't disturb the new leader;
    // and the old leader should switch to follower.
    cfg.connect(leader1);
    let leader2 = cfg.check_one_leader();

    // If there's no quorum, no new leader should be elected.
    cfg.disconnect(leader2);
    cfg.disconnect((leader2 + 1) % servers);
    step("sleeping 2 election timeouts without a quorum");
    cfg.sleep(2 * RAFT_ELECTION_TIMEOUT);

    // Check that the one connected server does not think it is the leader.
    cfg.check_no_leader();

    // If a quorum arises, it should elect a leader.
    cfg.connect((leader2 + 1) % servers);
    cfg.check_one_leader();

    // Re-join of the last node shouldn't prevent a leader from existing.
    cfg.connect(leader2);
    cfg.check_one_leader();
    cfg.end();
}

/// Go's TestManyElections2A.
pub fn many_elections<R: Peer>() {
    let servers = 7;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2A): multiple elections");

    cfg.check_one_leader();

    let iters = 10;
    for round in 1..iters {
        // Disconnect three nodes (repeats allowed).
        let i1 = rand::below(0..servers as u64) as usize;
        let i2 = rand::below(0..servers as u64) as usize;
        let i3 = rand::below(0..servers as u64) as usize;
        step(format!(
            "round {round} of {}: disconnecting {i1}, {i2}, {i3}",
            iters - 1
        ));
        cfg.disconnect(i1);
        cfg.disconnect(i2);
        cfg.disconnect(i3);

        // Either the current leader should still be alive, or the
        // remaining four should elect a new one.
        cfg.check_one_leader();

        cfg.connect(i1);
        cfg.connect(i2);
        cfg.connect(i3);
    }

    cfg.check_one_leader();
    cfg.end();
}
