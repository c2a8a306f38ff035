//! Log replication and heartbeats (§5.3, §5.2): the leader's
//! AppendEntries calls, the AppendEntries handler, and the commit rule.
//!
//! Each AppendEntries call runs on a thread of its own; the peer's lock is
//! never held across one. Heartbeats are AppendEntries calls carrying
//! whatever entries the follower still lacks (often none).
//!
//! At most one call per follower is out at a time, unless it has been out
//! longer than [`APPEND_CALL_PATIENCE`]: a call to an unreachable peer can
//! take 7 s to fail, and a new one every heartbeat would only pile up
//! threads and RPCs. Calls to the other followers never wait for it.

use crate::peer::Core;
use crate::rpc::{AppendEntriesArgs, AppendEntriesReply};
use crate::state::{HEARTBEAT_INTERVAL, Role, State};
use labrpc::sync::{Arc, MutexGuard};
use labrpc::time::{Duration, Instant, now};
use labrpc::{Sent, thread};

/// How long an unanswered AppendEntries to a follower holds back the next
/// one. Long enough that an unreachable follower costs a few RPCs a second
/// instead of one per heartbeat; short enough that a follower whose reply
/// is merely late, or that was just reconnected, hears from the leader
/// again well before its election timeout runs out twice.
pub const APPEND_CALL_PATIENCE: Duration = Duration::from_millis(300);

impl Core {
    /// Sends one round of AppendEntries to every other peer and schedules
    /// the next round. Called with the lock held, by a leader.
    pub fn send_heartbeats(self: &Arc<Self>, state: &mut MutexGuard<'_, State>) {
        state.heartbeat_due = now() + HEARTBEAT_INTERVAL;
        for peer in (0..self.peers.len()).filter(|&p| p != self.me) {
            let args = append_entries_for(state, peer);
            let core = self.clone();
            thread::spawn(format!("raft-{}-append-{peer}", self.me), move || {
                core.call_append_entries(peer, args);
            });
        }
    }

    /// Sends `peer` what it lacks at once, on a thread of its own, without
    /// waiting for the next heartbeat.
    fn resend_append_entries(self: &Arc<Self>, state: &State, peer: usize) {
        let args = append_entries_for(state, peer);
        let core = self.clone();
        thread::spawn(format!("raft-{}-append-{peer}", self.me), move || {
            core.call_append_entries(peer, args);
        });
    }

    /// One AppendEntries call to `peer` and the handling of its answer, on
    /// the calling thread (never with the lock held across the call).
    /// Skipped if the peer is dead, no longer the leader of `args.term`, or
    /// an earlier call to `peer` is still out (see the module doc).
    fn call_append_entries(self: &Arc<Self>, peer: usize, args: AppendEntriesArgs) {
        let Some((sent, call)) = self.claim_append_call(peer, &args) else {
            return;
        };
        let reply = call.wait();
        let mut state = self.lock();
        if state.append_in_flight[peer] == Some(sent) {
            state.append_in_flight[peer] = None;
        }
        if let Some(reply) = reply {
            self.handle_append_reply(&mut state, peer, &args, reply);
        }
    }

    /// Marks a call to `peer` as out and puts it on the network, returning
    /// when it was sent and the call to wait on, or None if it must not be
    /// sent now. The checks and the send happen under the lock `kill` takes
    /// to set its flag, so a request either left before `kill` began or
    /// never leaves.
    fn claim_append_call(&self, peer: usize, args: &AppendEntriesArgs) -> Option<(Instant, Sent)> {
        let mut state = self.lock();
        if self.killed() || !state.is_leader() || state.current_term != args.term {
            return None;
        }
        let now = now();
        if let Some(sent) = state.append_in_flight[peer]
            && now - sent < APPEND_CALL_PATIENCE
        {
            return None;
        }
        state.append_in_flight[peer] = Some(now);
        Some((now, self.peers[peer].send("Raft.AppendEntries", args)))
    }

    /// Updates next_index/match_index from a follower's answer (§5.3).
    /// A dead peer ignores answers.
    fn handle_append_reply(
        self: &Arc<Self>,
        state: &mut MutexGuard<'_, State>,
        peer: usize,
        args: &AppendEntriesArgs,
        reply: AppendEntriesReply,
    ) {
        if self.killed() {
            return;
        }
        // §5.1: a newer term in a response makes this peer a follower.
        if state.observe_term(reply.term) {
            state.persist(&self.persister);
            return;
        }
        if state.role != Role::Leader || state.current_term != args.term {
            return; // an answer to an older leadership
        }
        if reply.success {
            // "If successful: update nextIndex and matchIndex for follower"
            // (never backwards: replies can arrive out of order).
            let matched = args.prev_log_index + args.entries.len() as u64;
            if matched > state.match_index[peer] {
                state.match_index[peer] = matched;
                state.next_index[peer] = matched + 1;
                self.advance_commit_index(state);
            }
        } else if state.next_index[peer] == args.prev_log_index + 1 && args.prev_log_index >= 1 {
            // "If AppendEntries fails because of log inconsistency:
            // decrement nextIndex and retry" (§5.3). Only for the answer to
            // the latest attempt, so that late answers decrement once; the
            // retries stop at the sentinel, which always matches.
            state.next_index[peer] = args.prev_log_index;
            self.resend_append_entries(state, peer);
        }
    }

    /// "If there exists an N such that N > commitIndex, a majority of
    /// matchIndex[i] >= N, and log[N].term == currentTerm: set
    /// commitIndex = N" (§5.3, §5.4).
    fn advance_commit_index(&self, state: &mut State) {
        let last = state.log.last_index();
        for n in (state.commit_index + 1..=last).rev() {
            if state.log.term_at(n) != Some(state.current_term) {
                break; // earlier entries have older terms still
            }
            let replicas = state.match_index.iter().filter(|&&m| m >= n).count();
            if replicas >= state.majority() {
                state.commit_index = n;
                self.applier_wakeup.notify_all();
                break;
            }
        }
    }

    /// The AppendEntries handler (Figure 2, "Receiver implementation").
    pub fn append_entries(&self, args: AppendEntriesArgs) -> AppendEntriesReply {
        let mut state = self.lock();
        // §5.1: a newer term makes this peer a follower of that term.
        let mut changed = state.observe_term(args.term);
        // Rule 1: reply false if term < currentTerm.
        if args.term < state.current_term {
            return AppendEntriesReply {
                term: state.current_term,
                success: false,
            };
        }
        // The leader of this term speaks: candidates step down (§5.2),
        // and the election timer starts over.
        if state.role != Role::Follower {
            state.become_follower();
        }
        state.reset_election_timer("heartbeat");
        // Rule 2: reply false if the log has no entry at prevLogIndex
        // whose term matches prevLogTerm.
        let success = state.log.term_at(args.prev_log_index) == Some(args.prev_log_term);
        if success {
            // Rules 3 and 4: drop conflicting entries, append new ones.
            changed |= state.log.merge(args.prev_log_index, &args.entries);
            // Rule 5: commitIndex = min(leaderCommit, index of last new
            // entry).
            let last_new = args.prev_log_index + args.entries.len() as u64;
            let commit = args.leader_commit.min(last_new);
            if commit > state.commit_index {
                state.commit_index = commit;
                self.applier_wakeup.notify_all();
            }
        }
        if changed {
            state.persist(&self.persister);
        }
        AppendEntriesReply {
            term: state.current_term,
            success,
        }
    }
}

/// The AppendEntries a leader sends `peer` now: everything from
/// next_index[peer] on, after the entry just before it.
fn append_entries_for(state: &State, peer: usize) -> AppendEntriesArgs {
    let next = state.next_index[peer].clamp(1, state.log.last_index() + 1);
    let prev_log_index = next - 1;
    AppendEntriesArgs {
        term: state.current_term,
        leader_id: state.me,
        prev_log_index,
        prev_log_term: state.log.term_at(prev_log_index).unwrap_or(0),
        entries: state.log.entries_from(next),
        leader_commit: state.commit_index,
    }
}
