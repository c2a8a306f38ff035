//! The state of one Raft peer (Figure 2, "State"), its role, and the
//! transitions between roles.
//!
//! Everything here runs with the peer's lock held: it must never send an
//! RPC, send on the apply channel, or sleep.

use crate::calls_out::CallsOut;
use crate::log::Log;
use crate::persister::Persister;
use labrpc::time::{Duration, Instant, now};
use labrpc::{event, rand};

/// Election timeouts are drawn from this range (§5.2: randomized, so that
/// split votes are rare). Well above the paper's 150-300 ms because the
/// tester allows at most ten heartbeats a second.
pub const ELECTION_TIMEOUT_MS: std::ops::Range<u64> = 300..600;

/// How often a leader sends heartbeats: at most ten a second.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(150);

/// A leader that has had no answer from a majority for this long steps
/// down (check quorum, Raft thesis §6.2): cut off from the majority, it
/// can commit nothing, and a service asking it to start a command would
/// wait for nothing. Several election timeouts, so that late replies on an
/// unreliable network do not depose a leader that still has its majority.
pub const QUORUM_TIMEOUT: Duration = Duration::from_millis(1200);

/// A leader that has had no answer from a majority for this long turns
/// commands away (`start` answers "not the leader"), although it still
/// leads until QUORUM_TIMEOUT. Cut off from the majority, it is most
/// likely deposed already (the others elect a new leader after 300-600 ms
/// without hearing from it), and a command it took could never commit:
/// the service would wait for nothing and then ask again (the tester's
/// `one` waits 2 s). The leader's own answer to "am I still the leader?"
/// in the spirit of the Raft thesis's leases (§6.4), used only to refuse
/// work, never to accept any. Two heartbeats, so that a leader in touch
/// with its majority keeps it through a lost message or two; and the
/// silence counts only once the leader has sent two rounds of heartbeats
/// since a majority last answered, so that a leader whose own threads
/// were held up (a loaded machine: TestFailNoAgree2B failed 8 of 600 runs
/// 16 at once, "leader rejected Start()") does not take its own stall for
/// its followers' silence.
pub const START_LEASE: Duration = Duration::from_millis(300);

/// What a peer currently is (§5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Responds to leaders and candidates.
    Follower,
    /// Asking for votes; counts the votes granted so far (its own included).
    Candidate { votes: usize },
    /// Replicates its log and sends heartbeats.
    Leader,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate { .. } => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// A snapshot from the leader (§7, InstallSnapshot) that the applier has
/// yet to hand to the service.
pub struct PendingSnapshot {
    /// The snapshot's bytes, as the leader's service made them.
    pub data: Vec<u8>,
    /// Term of the last entry the snapshot covers.
    pub term: u64,
    /// Index of the last entry the snapshot covers.
    pub index: u64,
}

/// Figure 2's state, plus the role and the timers.
pub struct State {
    /// This peer's index in `peers`.
    pub me: usize,
    /// Number of peers, this one included.
    pub peer_count: usize,

    // Persistent state on all servers (saved before answering RPCs).
    /// Latest term this server has seen.
    pub current_term: u64,
    /// Candidate that received this peer's vote in the current term.
    pub voted_for: Option<usize>,
    /// The log; index 0 is a sentinel.
    pub log: Log,

    // Volatile state on all servers.
    /// Index of the highest log entry known to be committed.
    pub commit_index: u64,
    /// Index of the highest log entry applied to the state machine.
    pub last_applied: u64,
    /// A snapshot installed from the leader, not yet applied: the applier
    /// sends it before any command after it (§7).
    pub pending_snapshot: Option<PendingSnapshot>,

    // Volatile state on leaders (reinitialized after election).
    /// For each server, index of the next log entry to send to it.
    pub next_index: Vec<u64>,
    /// For each server, index of the highest entry known replicated on it.
    pub match_index: Vec<u64>,
    /// For each server, the calls now out to it; see `replication`.
    pub calls_out: Vec<CallsOut>,
    /// The id the next call to a follower gets. It only grows, across
    /// leaderships too, so that no answer is taken for another call's.
    pub next_call_id: u64,
    /// For each server, when it last answered this leader's AppendEntries.
    pub heard_from: Vec<Instant>,

    /// Follower, candidate or leader.
    pub role: Role,
    /// When a follower or candidate starts the next election.
    pub election_deadline: Instant,
    /// When a leader sends its next round of heartbeats.
    pub heartbeat_due: Instant,
    /// When this leader sent its last two rounds of heartbeats, the older
    /// first (None before it sent them).
    pub heartbeat_rounds: [Option<Instant>; 2],
}

impl State {
    /// A fresh follower in term 0 with an empty log.
    pub fn new(me: usize, peer_count: usize) -> State {
        State {
            me,
            peer_count,
            current_term: 0,
            voted_for: None,
            log: Log::default(),
            commit_index: 0,
            last_applied: 0,
            pending_snapshot: None,
            next_index: vec![1; peer_count],
            match_index: vec![0; peer_count],
            calls_out: vec![CallsOut::default(); peer_count],
            next_call_id: 0,
            heard_from: vec![now(); peer_count],
            role: Role::Follower,
            election_deadline: now() + rand::millis(ELECTION_TIMEOUT_MS),
            heartbeat_due: now(),
            heartbeat_rounds: [None; 2],
        }
    }

    /// True if this peer is the leader.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// Votes needed to win, and entries' replicas needed to commit: a
    /// majority of all peers.
    pub fn majority(&self) -> usize {
        self.peer_count / 2 + 1
    }

    /// Draws a new randomized election timeout from now (§5.2).
    pub fn reset_election_timer(&mut self, reason: &str) {
        self.election_deadline = now() + rand::millis(ELECTION_TIMEOUT_MS);
        event!(Some(self.me), "timer_reset", reason = reason);
    }

    /// "If RPC request or response contains term T > currentTerm: set
    /// currentTerm = T, convert to follower" (§5.1). Returns true if the
    /// term changed (the caller persists).
    pub fn observe_term(&mut self, term: u64) -> bool {
        if term <= self.current_term {
            return false;
        }
        self.current_term = term;
        self.voted_for = None;
        event!(Some(self.me), "term", term = term);
        self.set_role(Role::Follower);
        true
    }

    /// Converts to follower in the current term (a candidate that hears
    /// from the leader of its term, §5.2).
    pub fn become_follower(&mut self) {
        self.set_role(Role::Follower);
    }

    /// "On conversion to candidate, start election: increment currentTerm,
    /// vote for self, reset election timer" (§5.2).
    pub fn become_candidate(&mut self) {
        self.current_term += 1;
        self.voted_for = Some(self.me);
        event!(Some(self.me), "term", term = self.current_term);
        self.set_role(Role::Candidate { votes: 1 });
        self.reset_election_timer("election started");
    }

    /// A fresh id for a call about to leave.
    pub fn new_call_id(&mut self) -> u64 {
        self.next_call_id += 1;
        self.next_call_id
    }

    /// A candidate with a majority becomes leader: next_index starts just
    /// past its last entry, match_index at 0 (Figure 2), and heartbeats go
    /// out at once to assert leadership (§5.2), whatever calls of an
    /// earlier leadership are still out.
    pub fn become_leader(&mut self) {
        let next = self.log.last_index() + 1;
        self.next_index = vec![next; self.peer_count];
        self.match_index = vec![0; self.peer_count];
        self.calls_out = vec![CallsOut::default(); self.peer_count];
        self.heard_from = vec![now(); self.peer_count];
        self.match_index[self.me] = self.log.last_index();
        self.heartbeat_due = now();
        self.heartbeat_rounds = [None; 2];
        self.set_role(Role::Leader);
    }

    /// Notes that this leader sent a round of heartbeats at `at`.
    pub fn note_heartbeat_round(&mut self, at: Instant) {
        self.heartbeat_rounds = [self.heartbeat_rounds[1], Some(at)];
    }

    /// True if a majority (this leader included) answered within
    /// QUORUM_TIMEOUT of `now`.
    pub fn has_quorum(&self, now: Instant) -> bool {
        now - self.majority_heard_at(now) < QUORUM_TIMEOUT
    }

    /// True if this peer leads and has not lost touch with its majority:
    /// a majority (itself included) answered within START_LEASE of `now`,
    /// or this leader has not yet sent two rounds of heartbeats since a
    /// majority last answered. Only then does `start` take a command. The
    /// second half keeps a leader whose own threads were held up (a loaded
    /// machine) from turning commands away: silence counts only after the
    /// leader has asked twice.
    pub fn may_take_commands(&self, now: Instant) -> bool {
        if !self.is_leader() {
            return false;
        }
        let heard_at = self.majority_heard_at(now);
        now - heard_at < START_LEASE || !self.asked_twice_since(heard_at)
    }

    /// When a majority (this leader, counted at `now`, included) had last
    /// answered: the latest moment by which that many had.
    fn majority_heard_at(&self, now: Instant) -> Instant {
        let mut heard: Vec<Instant> = (0..self.peer_count)
            .map(|p| {
                if p == self.me {
                    now
                } else {
                    self.heard_from[p]
                }
            })
            .collect();
        heard.sort_unstable_by(|a, b| b.cmp(a));
        heard[self.majority() - 1]
    }

    /// True if this leader sent both of its last two rounds of heartbeats
    /// at or after `at`.
    fn asked_twice_since(&self, at: Instant) -> bool {
        self.heartbeat_rounds[0].is_some_and(|older| older >= at)
    }

    fn set_role(&mut self, role: Role) {
        let changed = role.name() != self.role.name();
        if self.role == Role::Leader && role == Role::Follower {
            // A deposed leader's election timer has not run while it led:
            // start it now, or it would stand for election at once and
            // depose the leader it just learned of.
            self.reset_election_timer("stepped down");
        }
        self.role = role;
        if changed {
            event!(
                Some(self.me),
                "role",
                role = role.name(),
                term = self.current_term
            );
        }
    }

    /// Saves current_term, voted_for and log, keeping the snapshot.
    pub fn persist(&self, persister: &Persister) {
        self.persist_with_snapshot(persister, persister.read_snapshot());
    }

    /// Saves current_term, voted_for and log together with `snapshot`, in
    /// one step: a crash between the two would leave a log whose sentinel
    /// points past the snapshot it stands for (§7).
    pub fn persist_with_snapshot(&self, persister: &Persister, snapshot: Vec<u8>) {
        let bytes = labcodec::encode(&(self.current_term, self.voted_for, &self.log));
        persister.save(bytes, snapshot);
    }

    /// Restores what [`State::persist`] saved; empty bytes mean a fresh
    /// start. The service restores the snapshot itself, so everything it
    /// covers counts as committed and applied (§7).
    ///
    /// # Panics
    /// If the bytes are not a saved state (the persister was corrupted).
    pub fn restore(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let (term, voted_for, log): (u64, Option<usize>, Log) = labcodec::decode(bytes)
            .unwrap_or_else(|err| panic!("raft {}: cannot read persisted state: {err}", self.me));
        self.current_term = term;
        self.voted_for = voted_for;
        self.log = log;
        self.commit_index = self.log.snapshot_index();
        self.last_applied = self.log.snapshot_index();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_takes_commands_only_while_a_majority_answered_lately() {
        let mut state = State::new(0, 3);
        assert!(!state.may_take_commands(now()), "a follower");
        state.become_leader();
        let start = state.heard_from[0];
        assert!(state.may_take_commands(start), "a new leader");
        let late = start + START_LEASE + Duration::from_millis(1);
        assert!(
            state.may_take_commands(late),
            "silent, but it sent no heartbeats: held up itself"
        );
        state.note_heartbeat_round(start + HEARTBEAT_INTERVAL);
        assert!(state.may_take_commands(late), "asked once");
        state.note_heartbeat_round(start + HEARTBEAT_INTERVAL * 2);
        assert!(
            !state.may_take_commands(late),
            "asked twice, nobody answered"
        );
        assert!(state.has_quorum(late), "it still leads, though");
        state.heard_from[2] = start + Duration::from_millis(200);
        assert!(state.may_take_commands(late));
    }

    #[test]
    fn a_leader_keeps_its_quorum_only_while_a_majority_answers() {
        let mut state = State::new(0, 5);
        state.become_leader();
        let start = state.heard_from[0];
        assert!(
            state.has_quorum(start),
            "a new leader starts with its quorum"
        );
        let late = start + QUORUM_TIMEOUT + Duration::from_millis(1);
        assert!(!state.has_quorum(late), "nobody answered");
        // Two followers answered: with the leader, three of five.
        state.heard_from[1] = start + Duration::from_millis(500);
        assert!(!state.has_quorum(late));
        state.heard_from[3] = start + Duration::from_millis(500);
        assert!(state.has_quorum(late));
    }
}
