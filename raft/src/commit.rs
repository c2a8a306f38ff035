//! The leader's commit rule (Figure 2, "Rules for Servers", Leaders; §5.3,
//! §5.4.2): an entry is committed once a majority stores it, but a leader
//! counts replicas only for entries of its own term (Figure 8: an entry of
//! an earlier term on a majority can still be overwritten).
//!
//! A pure function of the log and match_index: it must never touch the
//! lock, the network or the clock.

use crate::log::Log;

/// The new commit index, if the leader may raise it: "If there exists an
/// N such that N > commitIndex, a majority of matchIndex\[i\] >= N, and
/// log\[N\].term == currentTerm: set commitIndex = N". `match_index` has one
/// entry per peer, the leader's own (its last index) included.
pub fn leader_commit_index(
    log: &Log,
    match_index: &[u64],
    current_term: u64,
    commit_index: u64,
) -> Option<u64> {
    let mut matched = match_index.to_vec();
    matched.sort_unstable_by(|a, b| b.cmp(a));
    // The highest index that a majority of the peers store.
    let on_majority = matched[match_index.len() / 2];
    // Terms never decrease along the log, so if that entry is of an
    // earlier term, so is every entry before it (§5.4.2).
    (on_majority > commit_index && log.term_at(on_majority) == Some(current_term))
        .then_some(on_majority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_what_a_majority_stores() {
        let log = Log::of_terms(&[1, 1, 1]);
        assert_eq!(leader_commit_index(&log, &[3, 2, 0], 1, 0), Some(2));
        assert_eq!(leader_commit_index(&log, &[3, 3, 3], 1, 0), Some(3));
        // Five peers: three of them needed.
        assert_eq!(leader_commit_index(&log, &[3, 3, 0, 0, 0], 1, 0), None);
        assert_eq!(leader_commit_index(&log, &[3, 3, 1, 0, 0], 1, 0), Some(1));
        // Never backwards, never the same.
        assert_eq!(leader_commit_index(&log, &[3, 2, 0], 1, 2), None);
        assert_eq!(leader_commit_index(&log, &[3, 2, 0], 1, 3), None);
    }

    #[test]
    fn figure_8_an_earlier_terms_entry_on_a_majority_is_not_committed() {
        // Figure 8 (c): S1 leads in term 4 with index 2 (term 2) on S1, S2
        // and S3 of five, and its own index 3 (term 4) on itself only.
        let log = Log::of_terms(&[1, 2, 4]);
        assert_eq!(leader_commit_index(&log, &[3, 2, 2, 1, 1], 4, 1), None);
        // (e): once index 3, of term 4, is on a majority, both commit.
        assert_eq!(leader_commit_index(&log, &[3, 3, 3, 1, 1], 4, 1), Some(3));
    }
}
