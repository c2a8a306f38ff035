//! Extra 2C tests that catch real persistence bugs the Go lab's 2C tests
//! let through. Like the extra 2A tests (`lab2a_extra`), every one runs
//! the monitors (`monitor.rs`), and they are a separate set
//! (`raft_2c_extra`), never part of the Go-compatible score unless a
//! grader asks for them.
//!
//! Go's crashes fall at random moments, so a crash rarely lands between a
//! vote and a second candidate's request for the same term: a Raft that
//! forgets `voted_for` in a crash passed 1,400 virtual runs of Go's 2C
//! tests. [`vote_survives_crash`] builds that moment on purpose.
//!
//! Go's network never delivers a request twice, so a follower that cuts
//! its log on every AppendEntries, even one whose entries it already has,
//! passed 900 virtual runs of Go's unreliable tests.
//! [`late_copies_lose_nothing`] sends late copies of requests, as a real
//! network may (the paper, §2: "duplication, and reordering"), just
//! before the leader goes.

use crate::command::Command::Int;
use crate::command::rand_int;
use crate::config::Config;
use crate::failure::{fatal, step};
use crate::lab2a_extra::monitored;
use crate::peer::Peer;
use crate::runner::LabTest;
use labrpc::time::{self, Duration};

/// Rounds of [`vote_survives_crash`].
pub const ROUNDS: usize = 8;

/// How long a round waits for a new leader after the voter's crash.
const ELECTION_WAIT: Duration = Duration::from_secs(5);

/// How often the test looks for that leader: the voter must crash again
/// soon after it voted, before the slower candidate asks it.
const POLL: Duration = Duration::from_millis(2);

/// After the voter's second crash: time for the slower candidate to time
/// out and ask it (election timeouts are at most a second in the lab).
const SECOND_CANDIDATE_WAIT: Duration = Duration::from_secs(1);

/// A vote survives a crash (Figure 2: `votedFor` is persistent state, so
/// that a restarted peer cannot vote twice in one term, §5.2).
///
/// Each round makes a split election whose only voter crashes between two
/// candidates' requests of one term:
/// 1. The leader (the voter) is found; the link between the two others is
///    cut, so that each can win only through the voter.
/// 2. The voter crashes and restarts at once: nobody leads, and the two
///    others time out into the same new term.
/// 3. As soon as one of them leads that term (it has the voter's vote),
///    the voter crashes and restarts again, before the slower candidate's
///    request reaches it.
/// 4. A voter that forgot its vote grants the slower candidate the same
///    term: two leaders of one term, which the monitors' election safety
///    fails (and Go's `check_one_leader` once the link heals). A correct
///    voter refuses, and the slower candidate wins a later term.
pub fn vote_survives_crash<R: Peer>() {
    let servers = 3;
    let mut cfg = monitored::<R>(servers, "Test (2C-extra): a vote survives a crash");
    for round in 1..=ROUNDS {
        let voter = cfg.check_one_leader();
        let (a, b) = ((voter + 1) % servers, (voter + 2) % servers);
        let (term, _) = cfg.raft(voter).map_or((0, false), |rf| rf.get_state());
        step(format!(
            "round {round} of {ROUNDS}: link {a}-{b} cut, voter {voter} (leader of term {term}) restarted"
        ));
        cfg.cut_link(a, b);
        restart(&cfg, voter);
        if let Some((winner, won)) = new_leader(&cfg, voter, [a, b], term) {
            restart(&cfg, voter);
            step(format!(
                "round {round} of {ROUNDS}: server {winner} leads term {won}; voter {voter} restarted again, waiting for the other candidate"
            ));
            cfg.sleep(SECOND_CANDIDATE_WAIT);
        }
        cfg.heal_link(a, b);
    }
    cfg.check_one_leader();
    cfg.end();
}

/// Crashes peer `i` and starts it again at once on what it persisted.
fn restart<R: Peer>(cfg: &Config<R>, i: usize) {
    cfg.start1(i);
    cfg.connect(i);
}

/// Waits up to [`ELECTION_WAIT`] for a leader of a term above `term`:
/// Some if it is one of `candidates`, None if the voter won that term
/// itself (a round that tests nothing, but no failure).
fn new_leader<R: Peer>(
    cfg: &Config<R>,
    voter: usize,
    candidates: [usize; 2],
    term: u64,
) -> Option<(usize, u64)> {
    let deadline = time::now() + ELECTION_WAIT;
    while time::now() < deadline {
        for i in [voter, candidates[0], candidates[1]] {
            if let Some((t, true)) = cfg.raft(i).map(|rf| rf.get_state())
                && t > term
            {
                return (i != voter).then_some((i, t));
            }
        }
        cfg.sleep(POLL);
    }
    fatal(format!(
        "no leader of a term above {term} within {} s of the voter's restart",
        ELECTION_WAIT.as_secs()
    ))
}

/// Rounds of [`late_copies_lose_nothing`].
pub const COPY_ROUNDS: usize = 10;

/// Entries committed in each round while copies are on.
const BURST: usize = 3;

/// Late copies of AppendEntries lose no committed entry (§5.3: a follower
/// deletes entries only where they conflict with the leader's; an
/// AppendEntries whose entries it already has changes nothing, however
/// late it comes).
///
/// Each round, with the network sending late copies of requests:
/// 1. one follower is cut off; the leader and the other follower commit a
///    few entries, so each of them needed that follower;
/// 2. the leader is cut off and the first follower comes back: late
///    copies of the old leader's AppendEntries, shorter than what the
///    follower has, still reach it;
/// 3. the two elect a leader and commit an entry. A follower that cut its
///    log for such a copy has lost committed entries: whichever of the two
///    wins then commits other commands at their indices (an apply error),
///    or cannot go on.
pub fn late_copies_lose_nothing<R: Peer>() {
    let servers = 3;
    let mut cfg = monitored::<R>(
        servers,
        "Test (2C-extra): late copies of AppendEntries lose no entry",
    );
    cfg.one(Int(rand_int()), servers, true);
    for round in 1..=COPY_ROUNDS {
        let leader = cfg.check_one_leader();
        let (follower, other) = ((leader + 1) % servers, (leader + 2) % servers);
        step(format!(
            "round {round} of {COPY_ROUNDS}: copies on, follower {other} cut off, leader {leader} and follower {follower} commit {BURST} entries"
        ));
        cfg.set_duplicates(true);
        cfg.disconnect(other);
        for _ in 0..BURST {
            cfg.one(Int(rand_int()), servers - 1, true);
        }
        step(format!(
            "round {round} of {COPY_ROUNDS}: leader {leader} cut off, {other} back; copies still arriving at {follower}"
        ));
        cfg.disconnect(leader);
        cfg.connect(other);
        cfg.one(Int(rand_int()), servers - 1, true);
        cfg.set_duplicates(false);
        cfg.connect(leader);
        cfg.one(Int(rand_int()), servers, true);
    }
    cfg.end();
}

/// The extra 2C tests for a given Raft.
pub fn tests<R: Peer>() -> Vec<LabTest> {
    vec![
        LabTest {
            name: "vote_survives_crash_2c_extra",
            body: vote_survives_crash::<R>,
        },
        LabTest {
            name: "late_copies_lose_nothing_2c_extra",
            body: late_copies_lose_nothing::<R>,
        },
    ]
}
