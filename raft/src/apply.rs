//! The applier: sends committed entries to the service, in log order, on
//! the apply channel (Figure 2: "If commitIndex > lastApplied: increment
//! lastApplied, apply log\[lastApplied\] to state machine").
//!
//! The apply channel is a rendezvous: a send waits until the service takes
//! the message. The applier never holds the peer's lock while sending, and
//! stops sending once the peer is killed. A snapshot from the leader goes
//! out on the same channel, in its place among the commands (§7).

use crate::ApplyMsg;
use crate::peer::Core;
use labrpc::time::Duration;

/// How long the applier waits for news before looking again (a safety
/// net: commits and `kill` wake it at once).
const APPLIER_WAKEUP: Duration = Duration::from_secs(1);

/// How long one send on the apply channel waits before the applier looks
/// at `dead` again.
const SEND_PATIENCE: Duration = Duration::from_millis(50);

impl Core {
    /// Runs until the peer is killed.
    pub fn run_applier(&self) {
        while !self.killed() {
            let batch = self.take_committed();
            for msg in batch {
                if !self.deliver(msg) {
                    return;
                }
            }
        }
    }

    /// Waits until something is committed but not applied, marks it
    /// applied and returns it (empty if woken for nothing). A snapshot
    /// installed from the leader goes first, alone: it covers every
    /// committed entry before it, and the commands after it follow in the
    /// next batch, so the service never sees a command the snapshot covers
    /// after it (§7). Commands of an earlier batch still being delivered
    /// are all before it: it was installed past the commit index.
    fn take_committed(&self) -> Vec<ApplyMsg> {
        let mut state = self.lock();
        if state.last_applied >= state.commit_index && !self.killed() {
            self.applier_wakeup.wait_for(&mut state, APPLIER_WAKEUP);
        }
        if let Some(snapshot) = state.pending_snapshot.take() {
            state.last_applied = state.last_applied.max(snapshot.index);
            return vec![ApplyMsg {
                snapshot_valid: true,
                snapshot: snapshot.data,
                snapshot_term: snapshot.term,
                snapshot_index: snapshot.index,
                ..ApplyMsg::default()
            }];
        }
        let mut batch = Vec::new();
        while state.last_applied < state.commit_index && !self.killed() {
            state.last_applied += 1;
            let index = state.last_applied;
            let command = state
                .log
                .get(index)
                .map(|e| e.command.clone())
                .unwrap_or_default();
            batch.push(ApplyMsg {
                command_valid: true,
                command,
                command_index: index,
                ..ApplyMsg::default()
            });
        }
        batch
    }

    /// Hands `msg` to the service; false if the peer was killed first or
    /// nobody will ever receive it. Each attempt holds the apply gate, so
    /// `kill` can wait for it to end (see `Core::kill`).
    fn deliver(&self, mut msg: ApplyMsg) -> bool {
        loop {
            let _gate = self.apply_gate.lock();
            if self.killed() {
                return false;
            }
            match self.apply_ch.send_timeout(msg, SEND_PATIENCE) {
                Ok(()) => return true,
                Err(labrpc::chan::SendTimeoutError::Timeout(back)) => msg = back,
                Err(labrpc::chan::SendTimeoutError::Disconnected(_)) => return false,
            }
        }
    }
}
