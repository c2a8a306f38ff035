//! Log compaction (§7, Figure 13): the service's snapshots, which let the
//! peer discard the log they cover, and the InstallSnapshot RPC, by which a
//! leader brings up a follower that lacks entries the leader has already
//! discarded.
//!
//! The snapshot is always saved in the same `persister.save` as the state
//! whose log it cuts, so a restart never finds a log that starts after a
//! snapshot it does not have. A snapshot from the leader reaches the
//! service through the applier (`apply`), in order with the commands:
//! this module never sends on the apply channel, and never holds the lock
//! across a call.

use crate::peer::Core;
use crate::rpc::{InstallSnapshotArgs, InstallSnapshotReply};
use crate::state::{PendingSnapshot, Role, State};
use labrpc::sync::Arc;
use labrpc::time::{Instant, now};
use labrpc::{Sent, event, thread};

impl Core {
    /// The service has a snapshot of everything up to and including
    /// `index`: the log drops those entries, and the snapshot is saved with
    /// the state (§7). A snapshot at or before the log's current one (a
    /// leader's snapshot may have overtaken it) or of entries not yet
    /// applied changes nothing, and so does one sent to a killed peer.
    pub fn snapshot(&self, index: u64, data: Vec<u8>) {
        let mut state = self.lock();
        if self.killed() || index > state.last_applied || !state.log.compact_to(index) {
            return;
        }
        state.persist_with_snapshot(&self.persister, data);
        event!(Some(self.me), "snapshot", index = index);
    }

    /// The InstallSnapshot handler (Figure 13, "Receiver implementation").
    /// Figure 13's chunks (`offset`, `done`) are not used: the snapshot
    /// comes whole, so rules 2-5 reduce to taking `args.data`.
    pub fn install_snapshot(&self, args: InstallSnapshotArgs) -> InstallSnapshotReply {
        let mut state = self.lock();
        // §5.1: a newer term makes this peer a follower of that term.
        let term_changed = state.observe_term(args.term);
        let installed = receive_snapshot(&mut state, &args);
        if installed {
            state.persist_with_snapshot(&self.persister, args.data.clone());
            state.pending_snapshot = Some(PendingSnapshot {
                data: args.data,
                term: args.last_included_term,
                index: args.last_included_index,
            });
            self.applier_wakeup.notify_all();
            event!(
                Some(self.me),
                "snapshot_installed",
                index = args.last_included_index
            );
        } else if term_changed {
            state.persist(&self.persister);
        }
        InstallSnapshotReply {
            term: state.current_term,
        }
    }

    /// Puts an InstallSnapshot for `peer` on the network, the leader's
    /// snapshot as saved with its state, and waits for the answer on a
    /// thread of its own. Called by `replicate_to`, with the lock held,
    /// once it has decided that a call to `peer` may leave now and that
    /// `peer` needs entries the log no longer holds.
    pub(crate) fn send_snapshot_to(self: &Arc<Self>, state: &mut State, peer: usize, now: Instant) {
        let args = InstallSnapshotArgs {
            term: state.current_term,
            leader_id: self.me,
            last_included_index: state.log.snapshot_index(),
            last_included_term: state.log.snapshot_term(),
            data: self.persister.read_snapshot(),
        };
        let id = state.new_call_id();
        state.calls_out[peer].record(id, now, args.last_included_index);
        let call = self.peers[peer].send("Raft.InstallSnapshot", &args);
        let core = self.clone();
        thread::spawn(format!("raft-{}-snapshot-{peer}", self.me), move || {
            core.await_snapshot_reply(peer, id, &args, call);
        });
    }

    /// Waits for the answer to the InstallSnapshot call `id`: the
    /// follower now holds everything up to the snapshot's last index, so
    /// replication goes on from just after it; a lost call is sent again.
    fn await_snapshot_reply(
        self: &Arc<Self>,
        peer: usize,
        id: u64,
        args: &InstallSnapshotArgs,
        call: Sent,
    ) {
        let reply = call.wait::<InstallSnapshotReply>();
        let mut state = self.lock();
        state.calls_out[peer].answered(id);
        let reply_term = reply.as_ref().map_or(0, |r| r.term);
        if !self.killed() && state.observe_term(reply_term) {
            // §5.1: a newer term in a response makes this peer a follower.
            state.persist(&self.persister);
            return;
        }
        if self.killed() || state.role != Role::Leader || state.current_term != args.term {
            return;
        }
        if reply.is_some() {
            state.heard_from[peer] = now();
            let installed = args.last_included_index;
            if installed > state.match_index[peer] {
                state.match_index[peer] = installed;
                self.advance_commit_index(&mut state);
            }
            state.next_index[peer] = state.next_index[peer].max(installed + 1);
        }
        // What follows the snapshot, and the commit index, go at once; a
        // lost call is sent again.
        self.replicate_to(&mut state, peer);
    }
}

/// The receiver's rules of InstallSnapshot on a peer already in
/// `args.term` or newer: true if it took the snapshot (its log and
/// commit index changed; the caller saves and applies it).
fn receive_snapshot(state: &mut State, args: &InstallSnapshotArgs) -> bool {
    // Rule 1: reply immediately if term < currentTerm.
    if args.term < state.current_term {
        return false;
    }
    // The leader of this term speaks: candidates step down (§5.2), and the
    // election timer starts over.
    if state.role != Role::Follower {
        state.become_follower();
    }
    state.reset_election_timer("snapshot");
    // A snapshot of no more than this peer has committed brings nothing
    // new (a late or repeated call): taking it would move the log and the
    // applied state backwards.
    if args.last_included_index <= state.commit_index {
        return false;
    }
    // Rules 6 and 7: keep the entries after the snapshot if the log agrees
    // with its last entry, else discard the whole log.
    state
        .log
        .install_snapshot(args.last_included_index, args.last_included_term);
    // Everything the snapshot covers is committed; rule 8 (reset the state
    // machine from the snapshot) is the applier's, in order.
    state.commit_index = args.last_included_index;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogEntry;

    fn follower(term: u64, terms: &[u64], commit: u64) -> State {
        let mut state = State::new(1, 3);
        state.current_term = term;
        for &t in terms {
            state.log.push(LogEntry {
                term: t,
                command: vec![t as u8],
            });
        }
        state.commit_index = commit;
        state
    }

    fn install(term: u64, index: u64, last_term: u64) -> InstallSnapshotArgs {
        InstallSnapshotArgs {
            term,
            leader_id: 0,
            last_included_index: index,
            last_included_term: last_term,
            data: vec![7],
        }
    }

    #[test]
    fn a_newer_snapshot_keeps_the_matching_suffix_and_commits_its_index() {
        let mut state = follower(2, &[1, 1, 2, 2, 2], 1);
        assert!(receive_snapshot(&mut state, &install(2, 3, 2)));
        assert_eq!(state.commit_index, 3);
        assert_eq!((state.log.snapshot_index(), state.log.last_index()), (3, 5));
    }

    #[test]
    fn a_conflicting_log_goes_whole() {
        let mut state = follower(3, &[1, 1, 2, 2, 2], 1);
        assert!(receive_snapshot(&mut state, &install(3, 4, 3)));
        assert_eq!((state.log.snapshot_index(), state.log.last_index()), (4, 4));
        assert_eq!(state.log.last_term(), 3);
    }

    #[test]
    fn stale_terms_and_old_snapshots_change_nothing() {
        let mut state = follower(5, &[1, 1, 2], 2);
        assert!(
            !receive_snapshot(&mut state, &install(4, 3, 2)),
            "stale term"
        );
        assert!(!receive_snapshot(&mut state, &install(5, 2, 1)), "old");
        assert_eq!((state.log.snapshot_index(), state.commit_index), (0, 2));
        assert_eq!(state.log.last_index(), 3);
    }
}
