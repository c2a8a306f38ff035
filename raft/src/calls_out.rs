//! The calls (AppendEntries or InstallSnapshot) a leader has out to one
//! follower: when each left and how far into the log it reaches (§5.3).
//! `replication` decides from this record whether another call may leave
//! now; this module only keeps the record and never sends anything.

use labrpc::time::Instant;

/// One call out to a follower.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Call {
    /// Tells this call's answer from the others' (`State::new_call_id`).
    id: u64,
    /// When it left.
    sent: Instant,
    /// The last log index it carries (for a snapshot, the snapshot's).
    through: u64,
}

/// The calls a leader has out to one follower, oldest first.
#[derive(Clone, Debug, Default)]
pub struct CallsOut {
    calls: Vec<Call>,
}

impl CallsOut {
    /// Notes a call that has just left.
    pub fn record(&mut self, id: u64, sent: Instant, through: u64) {
        self.calls.push(Call { id, sent, through });
    }

    /// The call `id` was answered (or failed): it is out no more. Nothing
    /// if it was abandoned before.
    pub fn answered(&mut self, id: u64) {
        self.calls.retain(|call| call.id != id);
    }

    /// Forgets every call out: they have been out too long to wait for.
    /// Their answers still count when they come; they just no longer hold
    /// back new calls.
    pub fn abandon(&mut self) {
        self.calls.clear();
    }

    /// When the oldest call out left, or None if none is out.
    pub fn oldest_sent(&self) -> Option<Instant> {
        self.calls.first().map(|call| call.sent)
    }

    /// The furthest log index a call out carries, or None if none is out.
    pub fn reach(&self) -> Option<u64> {
        self.calls.iter().map(|call| call.through).max()
    }

    /// How many calls are out.
    pub fn len(&self) -> usize {
        self.calls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labrpc::time::{Duration, now};

    #[test]
    fn an_answer_removes_only_its_own_call() {
        let start = now();
        let mut out = CallsOut::default();
        out.record(1, start, 3);
        out.record(2, start + Duration::from_millis(5), 5);
        assert_eq!((out.len(), out.reach()), (2, Some(5)));
        out.answered(2);
        assert_eq!((out.len(), out.reach()), (1, Some(3)));
        assert_eq!(out.oldest_sent(), Some(start));
        out.answered(2);
        assert_eq!(out.len(), 1, "a second answer to one call removed another");
        out.answered(1);
        assert_eq!((out.len(), out.reach(), out.oldest_sent()), (0, None, None));
    }

    #[test]
    fn abandoned_calls_hold_nothing_back() {
        let mut out = CallsOut::default();
        out.record(7, now(), 2);
        out.abandon();
        assert_eq!((out.len(), out.oldest_sent()), (0, None));
        out.answered(7);
        assert_eq!(out.len(), 0);
    }
}
