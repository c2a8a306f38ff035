//! Rafts broken in their snapshots, for proving the 2D applier's checks:
//! the reference Raft, with what it hands the service (or what it does
//! with the service's snapshots) spoiled in one way a 2D check must catch.
//!
//! Test-only. The apply channel goes through a forwarding thread of the
//! wrapper, which ends when the reference drops its end after `kill`; it
//! forwards nothing once `kill` has begun.

use labrpc::chan::{self, Sender};
use labrpc::sync::Arc;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::{ClientEnd, Service, thread};
use raft::{ApplyMsg, Persister};
use tests::Peer;

/// How the wrapper is broken.
pub type Kind = u8;
/// Ignores the service's snapshots: the log never shrinks, and the
/// persisted state outgrows Go's MAXLOGSIZE.
pub const NEVER_COMPACTS: Kind = 0;
/// Hands the service each snapshot from the leader with an index one past
/// the one the snapshot holds (an off-by-one in the snapshot's index).
pub const SNAPSHOT_INDEX_OFF_BY_ONE: Kind = 1;
/// After each snapshot from the leader, applies once more the command
/// applied just before it: a stale command, out of order.
pub const STALE_COMMAND_AFTER_SNAPSHOT: Kind = 2;

pub struct BrokenSnapshots<const KIND: Kind> {
    raft: raft::Raft,
    dead: Arc<AtomicBool>,
}

/// Forwards what the reference applies to the service, spoiled as `KIND`
/// says, until the reference drops its end or the peer is killed.
fn forward<const KIND: Kind>(
    from: chan::Receiver<ApplyMsg>,
    to: Sender<ApplyMsg>,
    dead: &AtomicBool,
) {
    let mut last_command: Option<ApplyMsg> = None;
    for mut msg in from.iter() {
        let mut then = None;
        if msg.snapshot_valid {
            if KIND == SNAPSHOT_INDEX_OFF_BY_ONE {
                msg.snapshot_index += 1;
            }
            if KIND == STALE_COMMAND_AFTER_SNAPSHOT {
                then = last_command.take();
            }
        } else if msg.command_valid {
            last_command = Some(msg.clone());
        }
        for msg in std::iter::once(msg).chain(then) {
            if dead.load(Ordering::SeqCst) || to.send(msg).is_err() {
                return;
            }
        }
    }
}

impl<const KIND: Kind> Peer for BrokenSnapshots<KIND> {
    fn make(p: Vec<ClientEnd>, me: usize, s: Persister, apply_ch: Sender<ApplyMsg>) -> Self {
        let dead = Arc::new(AtomicBool::new(false));
        let (tx, rx) = chan::bounded(0);
        let flag = dead.clone();
        thread::spawn(format!("broken-{me}-forwarder"), move || {
            forward::<KIND>(rx, apply_ch, &flag)
        });
        BrokenSnapshots {
            raft: raft::Raft::make(p, me, s, tx),
            dead,
        }
    }
    fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.raft.kill();
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        if KIND != NEVER_COMPACTS {
            self.raft.snapshot(index, snapshot);
        }
    }
    pass_through!(raft; get_state, start, service);
}
