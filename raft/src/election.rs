//! Leader election (§5.2, §5.4.1): starting an election, the RequestVote
//! handler, and counting the votes.
//!
//! RequestVote calls run each on a thread of their own: a call to an
//! unreachable peer can take seconds to fail, and the peer's lock is never
//! held across one.

use crate::peer::Core;
use crate::rpc::{RequestVoteArgs, RequestVoteReply};
use crate::state::{Role, State};
use labrpc::sync::{Arc, MutexGuard};
use labrpc::time::{self, Duration};
use labrpc::{Sent, event, thread};

/// How many times one RequestVote may go to one peer in one term.
const VOTE_REQUESTS: usize = 3;

/// A failed call that comes back sooner than this was lost on the way
/// (the network drops a request after at most 27 ms, an answer right after
/// the handler), not sent to a peer it cannot reach.
const LOST_ON_THE_WAY: Duration = Duration::from_millis(100);

impl Core {
    /// Becomes a candidate in a new term and asks every other peer for its
    /// vote (§5.2). Called with the lock held; sends nothing under it.
    pub fn start_election(self: &Arc<Self>, state: &mut MutexGuard<'_, State>) {
        state.become_candidate();
        state.persist(&self.persister);
        let args = RequestVoteArgs {
            term: state.current_term,
            candidate_id: self.me,
            last_log_index: state.log.last_index(),
            last_log_term: state.log.last_term(),
        };
        event!(Some(self.me), "vote_request", term = args.term);
        for peer in (0..self.peers.len()).filter(|&p| p != self.me) {
            let core = self.clone();
            let args = args.clone();
            thread::spawn(format!("raft-{}-vote-{peer}", self.me), move || {
                core.call_request_vote(peer, &args);
            });
        }
    }

    /// One RequestVote call to `peer` and the counting of its answer, on
    /// the calling thread. Skipped if the peer was killed or is no longer
    /// the candidate of `args.term`: this thread may start well after the
    /// election did, and once `kill` has returned no RPC may leave.
    ///
    /// A call that fails fast was lost on the way (an unreachable peer
    /// fails after a long, random delay), so it goes out again, up to
    /// [`VOTE_REQUESTS`] times in all. Without this, one lost request or
    /// answer between the only two live peers costs the whole term: both
    /// stand, neither wins, and each waits another election timeout
    /// (§5.2, split votes).
    fn call_request_vote(self: &Arc<Self>, peer: usize, args: &RequestVoteArgs) {
        for _ in 0..VOTE_REQUESTS {
            let Some(sent) = self.send_if_candidate_of(peer, args) else {
                return;
            };
            let sent_at = time::now();
            if let Some(reply) = sent.wait() {
                self.handle_vote_reply(args, reply);
                return;
            }
            if sent_at.elapsed() >= LOST_ON_THE_WAY {
                return;
            }
        }
    }

    /// Puts the RequestVote on the network if this peer is alive and still
    /// a candidate in `args.term`. The check and the send happen under the
    /// lock `kill` takes to set its flag, so a request either left before
    /// `kill` began or never leaves.
    fn send_if_candidate_of(&self, peer: usize, args: &RequestVoteArgs) -> Option<Sent> {
        let state = self.lock();
        let candidate =
            state.current_term == args.term && matches!(state.role, Role::Candidate { .. });
        (!self.killed() && candidate).then(|| self.peers[peer].send("Raft.RequestVote", args))
    }

    /// Counts a vote. A reply from an older election, or arriving after
    /// this peer stopped being that election's candidate or died, counts
    /// for nothing.
    fn handle_vote_reply(self: &Arc<Self>, args: &RequestVoteArgs, reply: RequestVoteReply) {
        let mut state = self.lock();
        if self.killed() {
            return;
        }
        // §5.1: a newer term in a response makes this peer a follower.
        if state.observe_term(reply.term) {
            state.persist(&self.persister);
            return;
        }
        if state.current_term != args.term || !reply.vote_granted {
            return;
        }
        if let Role::Candidate { votes } = state.role {
            let votes = votes + 1;
            state.role = Role::Candidate { votes };
            // §5.2: votes from a majority of the servers make a leader.
            if votes >= state.majority() {
                state.become_leader();
                self.send_heartbeats(&mut state);
            }
        }
    }

    /// The RequestVote handler (Figure 2, "Receiver implementation").
    pub fn request_vote(&self, args: RequestVoteArgs) -> RequestVoteReply {
        let mut state = self.lock();
        // §5.1: a newer term makes this peer a follower of that term.
        let mut changed = state.observe_term(args.term);
        let granted = match self.vote_refusal(&state, &args) {
            None => {
                state.voted_for = Some(args.candidate_id);
                changed = true;
                // §5.2: granting a vote resets the election timer.
                state.reset_election_timer("granted vote");
                event!(
                    Some(self.me),
                    "vote_granted",
                    candidate = args.candidate_id,
                    term = args.term
                );
                true
            }
            Some(reason) => {
                event!(
                    Some(self.me),
                    "vote_denied",
                    candidate = args.candidate_id,
                    term = args.term,
                    reason = reason
                );
                false
            }
        };
        if changed {
            state.persist(&self.persister);
        }
        RequestVoteReply {
            term: state.current_term,
            vote_granted: granted,
        }
    }

    /// Why this peer may not vote for the candidate, or None if it may.
    fn vote_refusal(&self, state: &State, args: &RequestVoteArgs) -> Option<&'static str> {
        // Rule 1: reply false if term < currentTerm.
        if args.term < state.current_term {
            return Some("stale term");
        }
        // Rule 2: one vote per term (§5.2)...
        if state.voted_for.is_some_and(|v| v != args.candidate_id) {
            return Some("already voted");
        }
        // ...and only for a candidate whose log is at least as up-to-date
        // as this peer's (§5.4.1).
        if !state
            .log
            .is_up_to_date(args.last_log_index, args.last_log_term)
        {
            return Some("log not up to date");
        }
        None
    }
}
