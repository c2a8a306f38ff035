//! Log replication and heartbeats (§5.3, §5.2): the leader's
//! AppendEntries calls, the AppendEntries handler, and what the leader does
//! with the answers.
//!
//! A leader sends a follower what it lacks as soon as there is something
//! to send (a new command in `start`, a reply that leaves entries missing,
//! a commit to announce), and at least every heartbeat. Each call is put
//! on the network under the peer's lock, then waited for on a thread of
//! its own: the lock is never held across the wait.
//!
//! Calls to one follower are held back while one is out (`calls_out`),
//! with two exceptions:
//! - New entries that no call out carries leave at once, in a call of
//!   their own, to a follower that answered within the last
//!   [`APPEND_CALL_PATIENCE`], up to [`MAX_CALLS_OUT`] calls out: a command
//!   started while the last one is still on its way commits a round trip
//!   sooner (the Go lab's unreliable agreement test starts five at once).
//!   A silent follower gets no such extra calls.
//! - Calls out longer than their patience ([`APPEND_CALL_PATIENCE`], less
//!   for a follower that lacks entries, [`CATCH_UP_PATIENCE`]) hold nothing
//!   back any more: a call to an unreachable peer can take 7 s to fail,
//!   and a new one every heartbeat would only pile up threads and RPCs.
//!
//! Calls to the other followers never wait for this one. Entries and a
//! commit index that wait go with the next call, which leaves when an
//! answer comes back, or when the patience runs out if the follower still
//! lacks entries (the ticker wakes for it, [`retry_due`]): a follower that
//! was cut off or restarted catches up within a patience of coming back,
//! not at the heartbeat after a patience.

use crate::backup;
use crate::commit::leader_commit_index;
use crate::log::LogEntry;
use crate::peer::Core;
use crate::rpc::{AppendEntriesArgs, AppendEntriesReply};
use crate::state::{HEARTBEAT_INTERVAL, Role, State};
use labrpc::sync::Arc;
use labrpc::time::{Duration, Instant, now};
use labrpc::{Sent, thread};

/// How long an unanswered AppendEntries to a follower that lacks nothing
/// holds back the next one. Long enough that an unreachable follower costs
/// one RPC every other heartbeat instead of one per heartbeat; short
/// enough that a follower whose reply is merely late (long reordering
/// holds replies 200-2200 ms) hears from the leader within its shortest
/// election timeout (300 ms): at 300 ms, Figure 8 (unreliable) failed 9 of
/// 30 virtual-time seeds from elections alone; at 200 ms, none of 60.
pub const APPEND_CALL_PATIENCE: Duration = Duration::from_millis(200);

/// The shortest an unanswered call to a follower that lacks entries holds
/// back the next one; when the patience runs out, the ticker sends again
/// at once ([`retry_due`]). This is how long a follower that comes back
/// after a disconnect or a crash can wait before the leader brings it up
/// to date: the calls sent while it was away are unreachable ones, which
/// fail only after up to 7 s (long delays). The patience grows with the
/// time the follower has not answered (half of it, at most
/// [`APPEND_CALL_PATIENCE`]): a follower back within moments catches up at
/// once, and one gone for long costs no more RPCs than one that lacks
/// nothing.
pub const CATCH_UP_PATIENCE: Duration = Duration::from_millis(50);

/// The most calls a leader has out to one follower at once (see the module
/// doc): as many as the commands the Go lab's tests start at once.
pub const MAX_CALLS_OUT: usize = 5;

impl Core {
    /// Sends one round of AppendEntries to every other peer and schedules
    /// the next round (§5.2). Called with the lock held, by a leader.
    pub fn send_heartbeats(self: &Arc<Self>, state: &mut State) {
        let now = now();
        state.heartbeat_due = now + HEARTBEAT_INTERVAL;
        state.note_heartbeat_round(now);
        self.replicate_to_all(state);
    }

    /// Sends again to every follower that lacks entries and whose call
    /// has been out for a whole patience (`retry_due`). Called by the
    /// ticker, with the lock held, by a leader.
    pub fn retry_lagging(self: &Arc<Self>, state: &mut State) {
        for peer in 0..self.peers.len() {
            if lacks_entries(state, peer) {
                self.replicate_to(state, peer);
            }
        }
    }

    /// Sends every other peer what it lacks now (new entries, or the
    /// commit index), except those with a call still out. Called with the
    /// lock held, by a leader.
    pub fn replicate_to_all(self: &Arc<Self>, state: &mut State) {
        for peer in (0..self.peers.len()).filter(|&p| p != self.me) {
            self.replicate_to(state, peer);
        }
    }

    /// Puts an AppendEntries for `peer` on the network and waits for its
    /// answer on a thread of its own; nothing if the peer is dead, not the
    /// leader, or calls out to `peer` hold this one back (see the module
    /// doc). The checks and the send happen under the lock `kill` takes to
    /// set its flag, so a request either left before `kill` began or never
    /// leaves. A follower that needs entries the leader has discarded gets
    /// its snapshot instead (§7, `snapshot`).
    pub(crate) fn replicate_to(self: &Arc<Self>, state: &mut State, peer: usize) {
        if self.killed() || !state.is_leader() {
            return;
        }
        let now = now();
        if !may_call(state, peer, now) {
            return;
        }
        if state.next_index[peer] <= state.log.snapshot_index() {
            self.send_snapshot_to(state, peer, now);
            return;
        }
        let args = append_entries_for(state, peer);
        let id = state.new_call_id();
        let through = args.prev_log_index + args.entries.len() as u64;
        state.calls_out[peer].record(id, now, through);
        let call = self.peers[peer].send("Raft.AppendEntries", &args);
        let core = self.clone();
        thread::spawn(format!("raft-{}-append-{peer}", self.me), move || {
            core.await_append_reply(peer, id, &args, call);
        });
    }

    /// Waits for the answer to the call `id`, then handles it. A call
    /// that failed while the follower still lacks entries is sent again at
    /// once: a lost request or reply must not cost a heartbeat.
    fn await_append_reply(
        self: &Arc<Self>,
        peer: usize,
        id: u64,
        args: &AppendEntriesArgs,
        call: Sent,
    ) {
        let reply = call.wait::<AppendEntriesReply>();
        let mut state = self.lock();
        state.calls_out[peer].answered(id);
        if self.killed() || state.role != Role::Leader || state.current_term != args.term {
            // An answer to an older leadership, or to a dead peer; only a
            // newer term in it still counts (§5.1).
            if let Some(reply) = reply
                && !self.killed()
                && state.observe_term(reply.term)
            {
                state.persist(&self.persister);
            }
            return;
        }
        match reply {
            Some(reply) => {
                state.heard_from[peer] = now();
                self.handle_append_reply(&mut state, peer, args, reply);
            }
            None if lacks_news(&state, peer, args) => self.replicate_to(&mut state, peer),
            None => {}
        }
    }

    /// Updates next_index/match_index from a follower's answer (§5.3) and
    /// sends again at once if the follower still lacks entries. Called by
    /// the leader of `args.term`, with the lock held.
    fn handle_append_reply(
        self: &Arc<Self>,
        state: &mut State,
        peer: usize,
        args: &AppendEntriesArgs,
        reply: AppendEntriesReply,
    ) {
        // §5.1: a newer term in a response makes this peer a follower.
        if state.observe_term(reply.term) {
            state.persist(&self.persister);
            return;
        }
        if reply.success {
            // "If successful: update nextIndex and matchIndex for
            // follower", from what this call sent (the log may have grown
            // since), never backwards: replies can arrive out of order.
            let matched = args.prev_log_index + args.entries.len() as u64;
            if matched > state.match_index[peer] {
                state.match_index[peer] = matched;
                self.advance_commit_index(state);
            }
            state.next_index[peer] = state.next_index[peer].max(matched + 1);
        } else if let Some(conflict) = reply.conflict
            && state.next_index[peer] == args.prev_log_index + 1
        {
            // "If AppendEntries fails because of log inconsistency:
            // decrement nextIndex and retry" (§5.3), a whole term at a
            // time (the fast backup, `backup`). Only for the answer to the
            // latest attempt, so that a late answer moves nothing.
            state.next_index[peer] =
                backup::next_index_after(&state.log, args.prev_log_index, conflict);
        }
        if state.is_leader() && lacks_news(state, peer, args) {
            self.replicate_to(state, peer);
        }
    }

    /// Raises commit_index by the leader's rule (`commit`) and, when it
    /// moves, wakes the applier and tells the followers at once.
    pub(crate) fn advance_commit_index(self: &Arc<Self>, state: &mut State) {
        let Some(commit) = leader_commit_index(
            &state.log,
            &state.match_index,
            state.current_term,
            state.commit_index,
        ) else {
            return;
        };
        state.commit_index = commit;
        self.applier_wakeup.notify_all();
        self.replicate_to_all(state);
    }

    /// The AppendEntries handler (Figure 2, "Receiver implementation").
    pub fn append_entries(&self, args: AppendEntriesArgs) -> AppendEntriesReply {
        let mut state = self.lock();
        // §5.1: a newer term makes this peer a follower of that term.
        let term_changed = state.observe_term(args.term);
        let (reply, log_changed) = receive_entries(&mut state, &args);
        if reply.success && state.commit_index > state.last_applied {
            self.applier_wakeup.notify_all();
        }
        // Persist before answering: the leader counts this reply as a
        // replica (§5.3, Figure 2's persistent state).
        if term_changed || log_changed {
            state.persist(&self.persister);
        }
        reply
    }
}

/// The receiver's rules of AppendEntries, on a follower already in
/// `args.term` or newer: its reply, and whether its log changed.
fn receive_entries(state: &mut State, args: &AppendEntriesArgs) -> (AppendEntriesReply, bool) {
    let refuse = |state: &State, conflict| AppendEntriesReply {
        term: state.current_term,
        success: false,
        conflict,
    };
    // Rule 1: reply false if term < currentTerm.
    if args.term < state.current_term {
        return (refuse(state, None), false);
    }
    // The leader of this term speaks: candidates step down (§5.2), and the
    // election timer starts over.
    if state.role != Role::Follower {
        state.become_follower();
    }
    state.reset_election_timer("heartbeat");
    let (prev_log_index, prev_log_term, entries) = after_snapshot(state, args);
    // Rule 2: reply false if the log has no entry at prevLogIndex whose
    // term matches prevLogTerm, saying where it conflicts (fast backup).
    if state.log.term_at(prev_log_index) != Some(prev_log_term) {
        let conflict = backup::conflict_at(&state.log, prev_log_index);
        return (refuse(state, Some(conflict)), false);
    }
    // Rules 3 and 4: drop conflicting entries, append new ones; entries
    // that already match stay (a stale, shorter AppendEntries must never
    // cut off entries a later one appended, §5.3).
    let changed = state.log.merge(prev_log_index, entries);
    // Rule 5: "If leaderCommit > commitIndex, set commitIndex =
    // min(leaderCommit, index of last new entry)".
    let last_new = args.prev_log_index + args.entries.len() as u64;
    state.commit_index = state.commit_index.max(args.leader_commit.min(last_new));
    let reply = AppendEntriesReply {
        term: state.current_term,
        success: true,
        conflict: None,
    };
    (reply, changed)
}

/// The part of `args` after this peer's snapshot: its previous entry and
/// the entries that follow. Entries the snapshot covers are committed, so
/// they match the leader's (Log Matching, §5.3) and are skipped; the
/// snapshot's last entry then stands as the previous one (§7).
fn after_snapshot<'a>(state: &State, args: &'a AppendEntriesArgs) -> (u64, u64, &'a [LogEntry]) {
    let snapshot_index = state.log.snapshot_index();
    if args.prev_log_index >= snapshot_index {
        return (args.prev_log_index, args.prev_log_term, &args.entries);
    }
    let covered = ((snapshot_index - args.prev_log_index) as usize).min(args.entries.len());
    (
        snapshot_index,
        state.log.snapshot_term(),
        &args.entries[covered..],
    )
}

/// Whether a call to `peer` may leave now (the module doc): none is out,
/// those out have been out longer than their patience (they are then
/// abandoned), or it carries new entries to a follower that answers.
fn may_call(state: &mut State, peer: usize, now: Instant) -> bool {
    let Some(oldest) = state.calls_out[peer].oldest_sent() else {
        return true;
    };
    if now - oldest >= patience(state, peer, oldest) {
        state.calls_out[peer].abandon();
        return true;
    }
    may_add_call(state, peer, now)
}

/// Whether one more call may join those out to `peer`: it would carry
/// entries that no call out carries, to a follower that answered within
/// the last [`APPEND_CALL_PATIENCE`], and fewer than [`MAX_CALLS_OUT`] are
/// out. Snapshots never go this way: one out at a time is enough.
fn may_add_call(state: &State, peer: usize, now: Instant) -> bool {
    let out = &state.calls_out[peer];
    let carries_new_entries = out.reach().is_some_and(|r| r < state.log.last_index())
        && state.next_index[peer] > state.log.snapshot_index();
    let answers = now.saturating_duration_since(state.heard_from[peer]) < APPEND_CALL_PATIENCE;
    carries_new_entries && answers && out.len() < MAX_CALLS_OUT
}

/// When the leader should next send again to a follower that lacks
/// entries and whose call has been out for its whole patience: the
/// earliest such moment over all followers, or None if no follower is
/// waiting on an unanswered call for entries.
pub(crate) fn retry_due(state: &State) -> Option<Instant> {
    (0..state.peer_count)
        .filter(|&peer| lacks_entries(state, peer))
        .filter_map(|peer| {
            let sent = state.calls_out[peer].oldest_sent()?;
            Some(sent + patience(state, peer, sent))
        })
        .min()
}

/// How long a call to `peer` sent at `sent` holds back the next one.
fn patience(state: &State, peer: usize, sent: Instant) -> Duration {
    if !lacks_entries(state, peer) {
        return APPEND_CALL_PATIENCE;
    }
    let silent = sent.saturating_duration_since(state.heard_from[peer]);
    (silent / 2).clamp(CATCH_UP_PATIENCE, APPEND_CALL_PATIENCE)
}

/// True if `peer` (not this leader) is not known to hold the leader's
/// whole log.
fn lacks_entries(state: &State, peer: usize) -> bool {
    peer != state.me && state.match_index[peer] < state.log.last_index()
}

/// True if `peer`, last sent `args`, still lacks entries or has not been
/// told the commit index: the leader sends again without waiting for a
/// heartbeat.
fn lacks_news(state: &State, peer: usize, args: &AppendEntriesArgs) -> bool {
    state.next_index[peer] <= state.log.last_index() || args.leader_commit < state.commit_index
}

/// The AppendEntries a leader sends `peer` now: everything from
/// `next_index[peer]` on, after the entry just before it.
fn append_entries_for(state: &State, peer: usize) -> AppendEntriesArgs {
    let next =
        state.next_index[peer].clamp(state.log.snapshot_index() + 1, state.log.last_index() + 1);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::Conflict;

    fn entries(terms: &[u64]) -> Vec<LogEntry> {
        terms
            .iter()
            .map(|&term| LogEntry {
                term,
                command: vec![term as u8],
            })
            .collect()
    }

    fn append(term: u64, prev: (u64, u64), terms: &[u64], commit: u64) -> AppendEntriesArgs {
        AppendEntriesArgs {
            term,
            leader_id: 0,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries: entries(terms),
            leader_commit: commit,
        }
    }

    /// A leader of three holding entries of `terms`, every follower
    /// matched up to `matched`, a call out to follower 1 sent `silent`
    /// after it last answered.
    fn leader_with_call_out(terms: &[u64], matched: u64, silent: Duration) -> (State, Instant) {
        let mut state = State::new(0, 3);
        state.log.merge(0, &entries(terms));
        state.become_leader();
        state.match_index[1] = matched;
        state.match_index[2] = state.log.last_index();
        let sent = state.heard_from[1] + silent;
        let (id, through) = (state.new_call_id(), state.log.last_index());
        state.calls_out[1].record(id, sent, through);
        (state, sent)
    }

    #[test]
    fn a_follower_that_lacks_entries_is_retried_sooner_the_more_recently_it_answered() {
        let (state, sent) = leader_with_call_out(&[1, 1], 1, Duration::ZERO);
        assert_eq!(retry_due(&state), Some(sent + CATCH_UP_PATIENCE));
        let (state, sent) = leader_with_call_out(&[1, 1], 1, Duration::from_millis(300));
        assert_eq!(retry_due(&state), Some(sent + Duration::from_millis(150)));
        let (state, sent) = leader_with_call_out(&[1, 1], 1, Duration::from_secs(5));
        assert_eq!(retry_due(&state), Some(sent + APPEND_CALL_PATIENCE));
    }

    #[test]
    fn no_retry_is_due_for_followers_that_lack_nothing_or_have_no_call_out() {
        let (state, _) = leader_with_call_out(&[1, 1], 2, Duration::ZERO);
        assert_eq!(retry_due(&state), None, "follower 1 holds the whole log");
        let (mut state, _) = leader_with_call_out(&[1, 1], 1, Duration::ZERO);
        state.calls_out[1].abandon();
        assert_eq!(retry_due(&state), None, "no call out to follower 1");
    }

    /// Appends one entry of the leader's term, as `start` does.
    fn start_command(state: &mut State) {
        let term = state.current_term;
        state.log.push(LogEntry {
            term,
            command: vec![9],
        });
    }

    #[test]
    fn a_command_started_while_a_call_is_out_leaves_at_once() {
        let (mut state, sent) = leader_with_call_out(&[1, 1], 1, Duration::ZERO);
        let soon = sent + Duration::from_millis(10);
        assert!(
            !may_call(&mut state, 1, soon),
            "the call out carries the whole log"
        );
        start_command(&mut state);
        assert!(may_call(&mut state, 1, soon));
        assert_eq!(state.calls_out[1].len(), 1, "a young call was abandoned");
    }

    #[test]
    fn a_silent_follower_gets_no_extra_call() {
        let (mut state, sent) = leader_with_call_out(&[1, 1], 1, Duration::from_millis(300));
        start_command(&mut state);
        assert!(!may_call(&mut state, 1, sent + Duration::from_millis(10)));
    }

    #[test]
    fn calls_out_are_capped() {
        let (mut state, sent) = leader_with_call_out(&[1, 1], 1, Duration::ZERO);
        for _ in 1..MAX_CALLS_OUT {
            start_command(&mut state);
            let (id, through) = (state.new_call_id(), state.log.last_index());
            state.calls_out[1].record(id, sent, through);
        }
        start_command(&mut state);
        assert!(!may_call(&mut state, 1, sent + Duration::from_millis(10)));
    }

    #[test]
    fn calls_out_past_their_patience_hold_nothing_back() {
        let (mut state, sent) = leader_with_call_out(&[1, 1], 2, Duration::ZERO);
        assert!(!may_call(&mut state, 1, sent + Duration::from_millis(199)));
        assert!(may_call(&mut state, 1, sent + APPEND_CALL_PATIENCE));
        assert_eq!(state.calls_out[1].len(), 0, "the old call still counts");
    }

    /// A follower in `term` holding entries of `terms`.
    fn follower(term: u64, terms: &[u64]) -> State {
        let mut state = State::new(1, 3);
        state.current_term = term;
        state.log.merge(0, &entries(terms));
        state
    }

    #[test]
    fn matching_entries_are_never_truncated() {
        let mut state = follower(2, &[1, 1, 2, 2]);
        // A delayed AppendEntries carrying only entries 1..=2.
        let (reply, changed) = receive_entries(&mut state, &append(2, (0, 0), &[1, 1], 0));
        assert!(reply.success);
        assert!(!changed, "a matching prefix changed the log");
        assert_eq!(state.log.last_index(), 4);
    }

    #[test]
    fn a_conflict_drops_the_entry_and_all_that_follow() {
        let mut state = follower(3, &[1, 1, 2, 2]);
        let (reply, changed) = receive_entries(&mut state, &append(3, (2, 1), &[3], 0));
        assert!(reply.success && changed);
        assert_eq!(state.log.last_index(), 3);
        assert_eq!(state.log.term_at(3), Some(3));
    }

    #[test]
    fn a_failed_check_says_where_the_conflict_is() {
        let mut state = follower(3, &[1, 2, 2]);
        let (reply, changed) = receive_entries(&mut state, &append(3, (3, 3), &[3], 0));
        assert!(!reply.success && !changed);
        let conflict = Conflict {
            term: Some(2),
            index: 2,
        };
        assert_eq!(reply.conflict, Some(conflict));
        let (reply, _) = receive_entries(&mut state, &append(3, (7, 3), &[], 0));
        let short = Conflict {
            term: None,
            index: 4,
        };
        assert_eq!(reply.conflict, Some(short));
    }

    #[test]
    fn a_stale_leader_is_refused_and_changes_nothing() {
        let mut state = follower(5, &[1]);
        let (reply, changed) = receive_entries(&mut state, &append(4, (1, 1), &[4], 1));
        assert_eq!((reply.term, reply.success, changed), (5, false, false));
        assert_eq!((state.log.last_index(), state.commit_index), (1, 0));
    }

    #[test]
    fn commit_follows_the_leader_up_to_the_last_new_entry() {
        let mut state = follower(2, &[1, 1, 2, 2, 2]);
        // The leader has committed 5, but this call only vouches for 1..=2.
        receive_entries(&mut state, &append(2, (1, 1), &[1], 5));
        assert_eq!(state.commit_index, 2);
        // Never backwards.
        receive_entries(&mut state, &append(2, (0, 0), &[], 1));
        assert_eq!(state.commit_index, 2);
        receive_entries(&mut state, &append(2, (5, 2), &[], 5));
        assert_eq!(state.commit_index, 5);
    }
}
