//! What the harness needs of a Raft: the student API as a trait, so that
//! the harness's own tests can run the lab tests against deliberately
//! broken Rafts. The lab test binaries use [`raft::Raft`].
//!
//! This trait must mirror the student API exactly and add nothing to it.

use labrpc::chan::Sender;
use labrpc::{ClientEnd, Service};
use raft::{ApplyMsg, Persister};

/// A Raft peer as the harness drives it.
pub trait Peer: Send + Sync + 'static {
    /// `Raft::make`.
    fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_ch: Sender<ApplyMsg>,
    ) -> Self;
    /// `(current_term, is_leader)`.
    fn get_state(&self) -> (u64, bool);
    /// `(index, term, is_leader)`.
    fn start(&self, command: Vec<u8>) -> (u64, u64, bool);
    /// Stops the peer.
    fn kill(&self);
    /// The service snapshotted up to `index`.
    fn snapshot(&self, index: u64, snapshot: Vec<u8>);
    /// The `"Raft"` service.
    fn service(&self) -> Service;
}

impl Peer for raft::Raft {
    fn make(
        peers: Vec<ClientEnd>,
        me: usize,
        persister: Persister,
        apply_ch: Sender<ApplyMsg>,
    ) -> Self {
        raft::Raft::make(peers, me, persister, apply_ch)
    }
    fn get_state(&self) -> (u64, bool) {
        raft::Raft::get_state(self)
    }
    fn start(&self, command: Vec<u8>) -> (u64, u64, bool) {
        raft::Raft::start(self, command)
    }
    fn kill(&self) {
        raft::Raft::kill(self)
    }
    fn snapshot(&self, index: u64, snapshot: Vec<u8>) {
        raft::Raft::snapshot(self, index, snapshot)
    }
    fn service(&self) -> Service {
        raft::Raft::service(self)
    }
}
