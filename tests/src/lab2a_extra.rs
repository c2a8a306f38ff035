//! Extra 2A tests that catch real bugs the Go lab's 2A tests let through:
//! a leader that heartbeats too often, and a leader or term that changes
//! with no failure at all (Go's 2A only prints a warning for that).
//!
//! These are ours, not Go's: they are a separate set (`raft_2a_extra`),
//! never part of the Go-compatible score unless a grader asks for them.

use crate::config::Config;
use crate::failure::{fatal, step};
use crate::peer::Peer;
use crate::runner::LabTest;
use labrpc::time::Duration;

/// The most heartbeats a leader may send each follower per second.
pub const MAX_HEARTBEATS_PER_SECOND: usize = 10;

/// A quiet cluster for this long is measured.
const QUIET: Duration = Duration::from_secs(3);

/// Heartbeats at most ten a second: with a stable leader and no failures,
/// the RPCs of 3 quiet seconds must not exceed ten per follower per second
/// (plus one election's worth of slack).
pub fn heartbeat_rate<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2A-extra): at most ten heartbeats a second");
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
/// deposes itself.
pub fn stable_leader<R: Peer>() {
    let servers = 3;
    let mut cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (2A-extra): leader and term stable without failures");
    let leader = cfg.check_one_leader();
    cfg.sleep(Duration::from_millis(50));
    let term = cfg.check_terms().unwrap_or(0);
    let samples = 30;
    for k in 1..=samples {
        step(format!(
            "sample {k} of {samples}: leader {leader} in term {term} must stay"
        ));
        cfg.sleep(QUIET / samples);
        for i in 0..servers {
            let Some(rf) = cfg.raft(i) else { continue };
            let (t, is_leader) = rf.get_state();
            if t != term {
                fatal(format!(
                    "server {i} moved from term {term} to term {t} with no failure"
                ));
            }
            if is_leader != (i == leader) {
                fatal(format!(
                    "leadership changed from {leader} with no failure (server {i} says leader={is_leader})"
                ));
            }
        }
    }
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
    ]
}
