//! Extra 2A tests that catch real bugs the Go lab's 2A tests let through:
//! a leader that heartbeats too often, a leader or term that changes
//! with no failure at all (Go's 2A only prints a warning for that), and
//! two leaders of one term that are never connected at once (Go's checks
//! count leaders only among the connected peers of one moment).
//! Every one runs the monitors (`monitor.rs`): two leaders in a term, a
//! leader stepping down within its term, an election with a connected
//! leader in place fail it whenever they happen, not only at a check.
//!
//! These are ours, not Go's: they are a separate set (`raft_2a_extra`),
//! never part of the Go-compatible score unless a grader asks for them.

use crate::config::Config;
use crate::failure::{fatal, step};
use crate::lab2a::RAFT_ELECTION_TIMEOUT;
use crate::peer::Peer;
use crate::runner::LabTest;
use labrpc::rand;
use labrpc::time::Duration;

/// A config of `servers` peers on a reliable network whose monitors run
/// from the start, its test begun under `title`.
pub(crate) fn monitored<R: Peer>(servers: usize, title: &str) -> Config<R> {
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.start_monitors();
    cfg.begin(title);
    cfg
}

/// The most heartbeats a leader may send each follower per second.
pub const MAX_HEARTBEATS_PER_SECOND: usize = 10;

/// A quiet cluster for this long is measured.
const QUIET: Duration = Duration::from_secs(3);

/// Heartbeats at most ten a second: with a stable leader and no failures,
/// the RPCs of 3 quiet seconds must not exceed ten per follower per second
/// (plus one election's worth of slack).
pub fn heartbeat_rate<R: Peer>() {
    let servers = 3;
    let mut cfg = monitored::<R>(servers, "Test (2A-extra): at most ten heartbeats a second");
    cfg.check_one_leader();
    let before = cfg.rpc_total();
    step("counting RPCs of a quiet cluster");
    cfg.sleep(QUIET);
    let sent = cfg.rpc_total() - before;
    let followers = servers - 1;
    let allowed = followers * MAX_HEARTBEATS_PER_SECOND * QUIET.as_secs() as usize + 2 * followers;
    if sent > allowed {
        fatal(format!(
            "{sent} RPCs in {} s of quiet with {followers} followers; at most {allowed} allowed (ten heartbeats a second)",
            QUIET.as_secs()
        ));
    }
    cfg.end();
}

/// With no failure, the leader and the term must not change: a follower
/// that hears heartbeats never starts an election, and a leader never
/// deposes itself. The monitors watch the quiet seconds (a stall of the
/// machine excuses an election, see `monitor.rs`); at the end there must
/// still be exactly one leader, and the peers must agree on the term.
pub fn stable_leader<R: Peer>() {
    let servers = 3;
    let mut cfg = monitored::<R>(
        servers,
        "Test (2A-extra): leader and term stable without failures",
    );
    let leader = cfg.check_one_leader();
    step(format!(
        "leader {leader} elected: watching {} s of quiet",
        QUIET.as_secs()
    ));
    cfg.sleep(QUIET);
    cfg.check_one_leader();
    cfg.check_terms();
    cfg.end();
}

/// How long the monitors watch after each failure is repaired (past
/// their settling time, so that the timing rules apply for a second).
const WATCH_AFTER_FAILURE: Duration = Duration::from_secs(3);

/// Elections per injected failure on a reliable network: the leader is cut
/// off and comes back, then a follower; the monitors count the elections
/// (printed under the Passed line and kept in the result record) and fail
/// an election started while a connected leader is in place.
pub fn elections_per_failure<R: Peer>() {
    let servers = 3;
    let mut cfg = monitored::<R>(servers, "Test (2A-extra): elections per failure, monitored");
    let leader1 = cfg.check_one_leader();

    step(format!("failure 1: leader {leader1} cut off"));
    cfg.disconnect(leader1);
    cfg.check_one_leader();
    step("watching the new leader's term");
    cfg.sleep(WATCH_AFTER_FAILURE);
    cfg.connect(leader1);
    step(format!("leader {leader1} back: watching"));
    cfg.sleep(WATCH_AFTER_FAILURE);
    let leader2 = cfg.check_one_leader();

    let follower = (leader2 + 1) % servers;
    step(format!("failure 2: follower {follower} cut off"));
    cfg.disconnect(follower);
    cfg.sleep(RAFT_ELECTION_TIMEOUT);
    cfg.connect(follower);
    step(format!("follower {follower} back: watching"));
    cfg.sleep(WATCH_AFTER_FAILURE);
    cfg.check_one_leader();
    cfg.end();
}

/// Go's multiple elections (seven peers, three cut off at random in each
/// of nine rounds), monitored. So many elections with peers coming back
/// a term behind give a Raft that votes twice in one term (§5.2) a second
/// leader of a term whose first leader is cut off by then: Go's check
/// counts leaders only among the peers connected at one moment and
/// misses it; the monitor remembers each term's leader for the whole test.
pub fn many_elections_monitored<R: Peer>() {
    let servers = 7;
    let mut cfg = monitored::<R>(servers, "Test (2A-extra): multiple elections, monitored");
    cfg.check_one_leader();
    let rounds = 9;
    for round in 1..=rounds {
        let cut: Vec<usize> = (0..3)
            .map(|_| rand::below(0..servers as u64) as usize)
            .collect();
        step(format!("round {round} of {rounds}: disconnecting {cut:?}"));
        for &i in &cut {
            cfg.disconnect(i);
        }
        cfg.check_one_leader();
        for &i in &cut {
            cfg.connect(i);
        }
    }
    cfg.check_one_leader();
    cfg.end();
}

/// The extra 2A tests for a given Raft.
pub fn tests<R: Peer>() -> Vec<LabTest> {
    vec![
        LabTest {
            name: "heartbeat_rate_2a_extra",
            body: heartbeat_rate::<R>,
        },
        LabTest {
            name: "stable_leader_2a_extra",
            body: stable_leader::<R>,
        },
        LabTest {
            name: "elections_per_failure_2a_extra",
            body: elections_per_failure::<R>,
        },
        LabTest {
            name: "many_elections_2a_extra",
            body: many_elections_monitored::<R>,
        },
    ]
}
