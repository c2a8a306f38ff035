//! `forgets-vote`: the reference Raft, restarted on persisted state with
//! its vote erased, as if `voted_for` were never saved (the catalog's
//! `forgets-to-persist-vote`). A restarted peer can then vote twice in
//! one term (§5.2), which `vote_survives_crash_2c_extra` must catch.
//!
//! It reads the reference's own persisted layout, `(current_term,
//! voted_for, log)` encoded by labcodec (postcard): a varint term, then an
//! option tag (0 or 1 and a varint). It must never change anything else.

use labrpc::chan::Sender;
use labrpc::{ClientEnd, Service};
use raft::{ApplyMsg, Persister};
use tests::Peer;

/// The reference Raft whose restarts forget the vote.
pub struct ForgetsVote(raft::Raft);

impl Peer for ForgetsVote {
    fn make(p: Vec<ClientEnd>, me: usize, s: Persister, a: Sender<ApplyMsg>) -> Self {
        let state = s.read_raft_state();
        if !state.is_empty() {
            s.save(without_vote(&state), s.read_snapshot());
        }
        ForgetsVote(raft::Raft::make(p, me, s, a))
    }
    pass_through!(0; get_state, start, kill, snapshot, service);
}

/// The reference's persisted state with `voted_for` set to None.
fn without_vote(state: &[u8]) -> Vec<u8> {
    let (term, rest) = varint(state);
    let rest = match rest.split_first() {
        Some((1, vote)) => varint(vote).1,
        Some((0, after)) => after,
        _ => panic!("forgets-vote: not the reference's persisted state"),
    };
    let mut bytes = labcodec::encode(&(term, None::<usize>));
    bytes.extend_from_slice(rest);
    bytes
}

/// A postcard varint at the start of `bytes`, and what follows it.
fn varint(bytes: &[u8]) -> (u64, &[u8]) {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return (value, &bytes[i + 1..]);
        }
    }
    panic!("forgets-vote: a varint runs off the end of the persisted state")
}
