//! The RPC arguments and replies of Figure 2, as they cross the network
//! (encoded with labcodec). Plain data: no behaviour lives here.

use crate::log::LogEntry;
use serde::{Deserialize, Serialize};

/// RequestVote RPC arguments: invoked by candidates to gather votes (§5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteArgs {
    /// Candidate's term.
    pub term: u64,
    /// Candidate requesting the vote.
    pub candidate_id: usize,
    /// Index of the candidate's last log entry (§5.4).
    pub last_log_index: u64,
    /// Term of the candidate's last log entry (§5.4).
    pub last_log_term: u64,
}

/// RequestVote RPC reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteReply {
    /// The voter's current term, for the candidate to update itself.
    pub term: u64,
    /// True means the candidate received the vote.
    pub vote_granted: bool,
}

/// AppendEntries RPC arguments: invoked by the leader to replicate log
/// entries (§5.3); also used as heartbeat (§5.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesArgs {
    /// Leader's term.
    pub term: u64,
    /// So followers know who leads.
    pub leader_id: usize,
    /// Index of the log entry immediately preceding the new ones.
    pub prev_log_index: u64,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: u64,
    /// Entries to store (empty for a heartbeat).
    pub entries: Vec<LogEntry>,
    /// Leader's `commit_index`.
    pub leader_commit: u64,
}

/// AppendEntries RPC reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesReply {
    /// The follower's current term, for the leader to update itself.
    pub term: u64,
    /// True if the follower held an entry matching `prev_log_index` and
    /// `prev_log_term`.
    pub success: bool,
    /// On a failed consistency check, where the leader should look next
    /// (the lab guide's fast backup; see `backup`).
    pub conflict: Option<Conflict>,
}

/// Why a follower's log did not match at `prev_log_index`, so that the
/// leader skips back a whole term per round trip instead of one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The term of the follower's entry at `prev_log_index`, or None if
    /// its log is too short to hold one.
    pub term: Option<u64>,
    /// The first index the follower holds with that term, or (log too
    /// short) one past its last entry.
    pub index: u64,
}

/// InstallSnapshot RPC arguments (Figure 13): invoked by the leader to send
/// a follower the snapshot of what it has discarded from its log (§7).
/// The whole snapshot goes in one call, so Figure 13's `offset` and `done`
/// are always 0 and true and are left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotArgs {
    /// Leader's term.
    pub term: u64,
    /// So followers know who leads.
    pub leader_id: usize,
    /// The snapshot replaces all entries up through and including this
    /// index.
    pub last_included_index: u64,
    /// Term of `last_included_index`.
    pub last_included_term: u64,
    /// The snapshot's bytes.
    pub data: Vec<u8>,
}

/// InstallSnapshot RPC reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotReply {
    /// The follower's current term, for the leader to update itself.
    pub term: u64,
}
