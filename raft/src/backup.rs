//! The lab guide's fast backup (the optimization at the end of §5.3): a
//! follower that fails the consistency check says which term conflicts and
//! where that term starts in its log, and the leader moves `next_index`
//! back past the whole term at once instead of one entry per round trip.
//!
//! Pure functions of a log: they must never touch the lock, the network or
//! the clock.

use crate::log::Log;
use crate::rpc::Conflict;

/// What a follower whose log does not match at `prev_log_index` tells the
/// leader: the term of its entry there and the first index of that term,
/// or, if its log is too short, just one past its last entry.
pub fn conflict_at(log: &Log, prev_log_index: u64) -> Conflict {
    match log.term_at(prev_log_index) {
        None => Conflict {
            term: None,
            index: log.last_index() + 1,
        },
        Some(term) => Conflict {
            term: Some(term),
            index: log.first_index_of_term(term).unwrap_or(prev_log_index),
        },
    }
}

/// Where a leader that sent `prev_log_index` resumes after `conflict`: one
/// past its own last entry of the conflicting term if it has that term
/// (the follower's entries of it up to there may match), else the first
/// index the follower holds of that term (or its log's end). Always at
/// least 1 and at most `prev_log_index`, so every failed check moves
/// `next_index` back.
pub fn next_index_after(log: &Log, prev_log_index: u64, conflict: Conflict) -> u64 {
    let next = match conflict.term.and_then(|term| log.last_index_of_term(term)) {
        Some(last) => last + 1,
        None => conflict.index,
    };
    next.clamp(1, prev_log_index.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the leader sends after `conflict`, for a leader whose log has
    /// `leader` terms and a follower whose log has `follower` terms, from
    /// next_index past the leader's log: counts the failed round trips
    /// until the check passes.
    fn round_trips(leader: &[u64], follower: &[u64]) -> usize {
        let (leader, follower) = (Log::of_terms(leader), Log::of_terms(follower));
        let mut next = leader.last_index() + 1;
        let mut trips = 0;
        loop {
            let prev = next - 1;
            if follower.term_at(prev) == leader.term_at(prev) {
                return trips;
            }
            trips += 1;
            next = next_index_after(&leader, prev, conflict_at(&follower, prev));
        }
    }

    #[test]
    fn a_short_follower_points_past_its_end() {
        let follower = Log::of_terms(&[1, 1]);
        assert_eq!(
            conflict_at(&follower, 5),
            Conflict {
                term: None,
                index: 3
            }
        );
        let leader = Log::of_terms(&[1, 1, 2, 2, 2, 2]);
        assert_eq!(next_index_after(&leader, 5, conflict_at(&follower, 5)), 3);
    }

    #[test]
    fn a_conflicting_term_is_skipped_whole() {
        // The follower holds term 2 at 3..=6; the leader never had term 2.
        let follower = Log::of_terms(&[1, 1, 2, 2, 2, 2]);
        let conflict = conflict_at(&follower, 6);
        assert_eq!(
            conflict,
            Conflict {
                term: Some(2),
                index: 3
            }
        );
        let leader = Log::of_terms(&[1, 1, 3, 3, 3, 3, 3]);
        assert_eq!(next_index_after(&leader, 6, conflict), 3);
    }

    #[test]
    fn a_term_the_leader_also_has_resumes_after_its_last_entry() {
        // Both hold term 2 from index 3; the leader's term 2 ends at 4.
        let follower = Log::of_terms(&[1, 1, 2, 2, 2, 2]);
        let leader = Log::of_terms(&[1, 1, 2, 2, 4, 4, 4]);
        assert_eq!(next_index_after(&leader, 6, conflict_at(&follower, 6)), 5);
        // From past the leader's end: one trip for the short log, one for
        // term 2.
        assert_eq!(round_trips(&[1, 1, 2, 2, 4, 4, 4], &[1, 1, 2, 2, 2, 2]), 2);
    }

    #[test]
    fn backup_takes_a_round_trip_per_term_not_per_entry() {
        // TestBackup2B's shape: 50 entries the leader never had.
        let mut follower = vec![1];
        follower.extend([2; 50]);
        let mut leader = vec![1];
        leader.extend([3; 50]);
        assert_eq!(round_trips(&leader, &follower), 1);
        // A shorter log with three stale terms: one round trip for the
        // length, then one per term.
        let mut follower = vec![1];
        follower.extend([2; 20]);
        follower.extend([4; 20]);
        follower.extend([6; 20]);
        let mut leader = vec![1];
        leader.extend([7; 70]);
        assert_eq!(round_trips(&leader, &follower), 4);
        // The logs already match: no round trip.
        assert_eq!(round_trips(&[1, 2, 3], &[1, 2, 3]), 0);
    }

    #[test]
    fn next_index_always_moves_back_and_stays_above_the_sentinel() {
        let leader = Log::of_terms(&[5, 5, 5]);
        let past_end = Conflict {
            term: None,
            index: 10,
        };
        assert_eq!(next_index_after(&leader, 3, past_end), 3);
        let at_zero = Conflict {
            term: Some(9),
            index: 0,
        };
        assert_eq!(next_index_after(&leader, 3, at_zero), 1);
    }
}
