//! The student-facing Raft API, and the reference Raft.
//!
//! STUB: the signatures below are the contract; the reference
//! implementation is being written.

mod persister;

pub use persister::Persister;

use labrpc::ClientEnd;
use labrpc::chan::Sender;

/// What a Raft sends on its apply channel (Go's `ApplyMsg`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyMsg {
    pub command_valid: bool,
    pub command: Vec<u8>,
    pub command_index: u64,
    pub snapshot_valid: bool,
    pub snapshot: Vec<u8>,
    pub snapshot_term: u64,
    pub snapshot_index: u64,
}

/// One Raft peer.
pub struct Raft {}

impl Raft {
    /// Creates a Raft peer; returns at once.
    pub fn make(
        _peers: Vec<ClientEnd>,
        _me: usize,
        _persister: Persister,
        _apply_ch: Sender<ApplyMsg>,
    ) -> Raft {
        Raft {}
    }

    /// (current term, whether this peer believes it is the leader).
    pub fn get_state(&self) -> (u64, bool) {
        (0, false)
    }

    /// Starts agreement on `command`: (index, term, is_leader).
    pub fn start(&self, _command: Vec<u8>) -> (u64, u64, bool) {
        (0, 0, false)
    }

    /// Stops this peer.
    pub fn kill(&self) {}

    /// The service has a snapshot up to and including `index`.
    pub fn snapshot(&self, _index: u64, _snapshot: Vec<u8>) {}

    /// The labrpc service `"Raft"` with `RequestVote` and `AppendEntries`.
    pub fn service(&self) -> labrpc::Service {
        labrpc::Service::new("Raft")
    }
}
