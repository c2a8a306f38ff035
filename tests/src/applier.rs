//! The appliers: one thread per peer that takes what the Raft applies and
//! checks it against what every other peer applied at the same index (Go's
//! `applier`, `applierSnap`, `checkLogs`, `ingestSnap`).
//!
//! An apply error is Go's `log.Fatalf`: it fails the test and ends the
//! process once the verdict is out, so no later test runs
//! ([`fatal_to_process`]). An applier must never call into its Raft while
//! holding the config's lock, and ends when its Raft drops the apply
//! channel.

use crate::command::Value;
use crate::failure::fatal_to_process;
use crate::peer::Peer;
use labrpc::chan::Receiver;
use labrpc::sync::{Mutex, Weak};
use labrpc::thread;
use raft::ApplyMsg;
use std::collections::BTreeMap;

/// A snapshot is taken every this many applied entries (lab 2D).
pub const SNAPSHOT_INTERVAL: u64 = 10;

/// What each peer applied.
pub(crate) struct Applied {
    /// Per peer: index -> command of every committed entry it applied
    /// (kept across restarts, as Go's `logs[i]`).
    pub logs: Vec<BTreeMap<u64, Value>>,
    /// Per peer: the last index applied (snapshot applier).
    pub last_applied: Vec<u64>,
    /// The highest index any peer applied.
    pub max_index: u64,
}

impl Applied {
    pub fn new(n: usize) -> Applied {
        Applied {
            logs: vec![BTreeMap::new(); n],
            last_applied: vec![0; n],
            max_index: 0,
        }
    }

    /// Go's `checkLogs`: records that peer `i` applied `command` at
    /// `index`; an error if another peer applied something else there.
    /// Also says whether `i` had applied `index - 1`.
    fn check_logs(&mut self, i: usize, index: u64, command: Value) -> (Option<String>, bool) {
        let mut err = None;
        for (j, log) in self.logs.iter().enumerate() {
            if let Some(old) = log.get(&index)
                && *old != command
            {
                println!(
                    "{i}: log {}; server {}",
                    show_log(&self.logs[i]),
                    show_log(log)
                );
                err = Some(format!(
                    "commit index={index} server={i} {command} != server={j} {old}"
                ));
            }
        }
        let prev_ok = self.logs[i].contains_key(&(index.wrapping_sub(1)));
        self.logs[i].insert(index, command);
        self.max_index = self.max_index.max(index);
        (err, prev_ok)
    }

    /// Go's `ingestSnap`: replaces peer `i`'s applied log with the
    /// snapshot's. `expected_index` is the index the message claimed.
    pub fn ingest_snapshot(
        &mut self,
        i: usize,
        snapshot: &[u8],
        expected_index: Option<u64>,
    ) -> Result<(), String> {
        let (last_included, xlog): (u64, Vec<Option<Vec<u8>>>) =
            labcodec::decode(snapshot).map_err(|e| format!("snapshot decode error: {e}"))?;
        if expected_index.is_some_and(|index| index != last_included) {
            return Err(format!("server {i} snapshot doesn't match m.SnapshotIndex"));
        }
        self.logs[i] = xlog
            .into_iter()
            .enumerate()
            .filter_map(|(j, cmd)| cmd.map(|c| (j as u64, Value(c))))
            .collect();
        self.last_applied[i] = last_included;
        Ok(())
    }

    /// The snapshot the snapshot applier hands its Raft at `index`: the
    /// index, then every applied command up to it.
    fn snapshot_at(&self, i: usize, index: u64) -> Vec<u8> {
        let xlog: Vec<Option<Vec<u8>>> = (0..=index)
            .map(|j| self.logs[i].get(&j).map(|v| v.0.clone()))
            .collect();
        labcodec::encode(&(index, xlog))
    }
}

/// Shows a peer's applied log as Go prints a map: `map[1:100 2:200]`.
fn show_log(log: &BTreeMap<u64, Value>) -> String {
    let entries: Vec<String> = log
        .iter()
        .map(|(index, command)| format!("{index}:{command}"))
        .collect();
    format!("map[{}]", entries.join(" "))
}

/// Go's `log.Fatalf("apply error: %v", err)`.
fn apply_error(message: String) {
    fatal_to_process(format!("apply error: {message}"));
}

/// Go's `applier`: checks every command peer `i` applies.
pub(crate) fn apply(i: usize, rx: Receiver<ApplyMsg>, applied: &Mutex<Applied>) {
    for msg in rx.iter() {
        if !msg.command_valid {
            continue;
        }
        let (err, prev_ok) = applied
            .lock()
            .check_logs(i, msg.command_index, Value(msg.command));
        let err = err.or_else(|| {
            (msg.command_index > 1 && !prev_ok)
                .then(|| format!("server {i} apply out of order {}", msg.command_index))
        });
        if let Some(err) = err {
            apply_error(err);
            return;
        }
    }
}

/// Go's `applierSnap`: like [`apply`], and also ingests snapshots and asks
/// the Raft to snapshot every [`SNAPSHOT_INTERVAL`] entries. It holds its
/// Raft weakly: once the config has let go of a crashed instance, that
/// instance is asked for no snapshot (Go would still call it, killed).
pub(crate) fn apply_with_snapshots<R: Peer>(
    i: usize,
    rx: Receiver<ApplyMsg>,
    applied: &Mutex<Applied>,
    rf: &Weak<R>,
) {
    for msg in rx.iter() {
        let mut err = None;
        if msg.snapshot_valid {
            err = applied
                .lock()
                .ingest_snapshot(i, &msg.snapshot, Some(msg.snapshot_index))
                .err();
        } else if msg.command_valid {
            let index = msg.command_index;
            let snapshot = {
                let mut a = applied.lock();
                if index != a.last_applied[i] + 1 {
                    err = Some(format!(
                        "server {i} apply out of order, expected index {}, got {index}",
                        a.last_applied[i] + 1
                    ));
                }
                if err.is_none() {
                    let (e, prev_ok) = a.check_logs(i, index, Value(msg.command));
                    err = e.or_else(|| {
                        (index > 1 && !prev_ok)
                            .then(|| format!("server {i} apply out of order {index}"))
                    });
                }
                a.last_applied[i] = index;
                ((index + 1) % SNAPSHOT_INTERVAL == 0).then(|| a.snapshot_at(i, index))
            };
            if let Some((snapshot, rf)) = snapshot.zip(rf.upgrade()) {
                thread::as_student(|| rf.snapshot(index, snapshot));
            }
        }
        if let Some(err) = err {
            apply_error(err);
            return;
        }
    }
}
