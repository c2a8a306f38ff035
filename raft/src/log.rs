//! The replicated log of Figure 2, compacted by snapshots (§7): the entries
//! after the last snapshot, behind a sentinel entry that stands for
//! everything the snapshot covers. The sentinel holds the snapshot's last
//! included index and term (index 0, term 0 before any snapshot), so the
//! first entry after it always has a previous entry to match, and
//! `last_index` is never empty-log special.
//!
//! This module only stores and compares entries; it must never decide what
//! is committed or applied (that is the Raft's job). Every index in and out
//! of it is a log index, never a position in its vector.

use serde::{Deserialize, Serialize};

/// One log entry: a command and the term in which a leader received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The term of the leader that created the entry.
    pub term: u64,
    /// The command, as bytes encoded by the service.
    pub command: Vec<u8>,
}

/// The log: `entries[0]` is the sentinel at log index `sentinel_index`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    /// Log index of `entries[0]`: the last index the snapshot covers.
    sentinel_index: u64,
    entries: Vec<LogEntry>,
}

impl Default for Log {
    fn default() -> Self {
        Log::after_snapshot(0, 0)
    }
}

impl Log {
    /// An empty log after a snapshot whose last entry is `index` of `term`.
    fn after_snapshot(index: u64, term: u64) -> Log {
        Log {
            sentinel_index: index,
            entries: vec![LogEntry {
                term,
                command: Vec::new(),
            }],
        }
    }

    /// The last index the snapshot covers (0 before any snapshot).
    pub fn snapshot_index(&self) -> u64 {
        self.sentinel_index
    }

    /// The term of the snapshot's last entry (0 before any snapshot).
    pub fn snapshot_term(&self) -> u64 {
        self.entries[0].term
    }

    /// Position in `entries` of log index `index`, if the log holds it
    /// (the sentinel's included).
    fn position(&self, index: u64) -> Option<usize> {
        let position = usize::try_from(index.checked_sub(self.sentinel_index)?).ok()?;
        (position < self.entries.len()).then_some(position)
    }

    /// Index of the last entry (the sentinel's when no entry follows it).
    pub fn last_index(&self) -> u64 {
        self.sentinel_index + self.entries.len() as u64 - 1
    }

    /// Term of the last entry (the sentinel's when no entry follows it).
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// Term of the entry at `index`, if the log has one (the sentinel
    /// answers for the snapshot's last index; earlier indices have none).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        self.position(index).map(|p| self.entries[p].term)
    }

    /// The entry at `index`, if the log has one after the snapshot.
    pub fn get(&self, index: u64) -> Option<&LogEntry> {
        (index > self.sentinel_index)
            .then(|| self.position(index))
            .flatten()
            .map(|p| &self.entries[p])
    }

    /// Appends `entry`; returns its index.
    pub fn push(&mut self, entry: LogEntry) -> u64 {
        self.entries.push(entry);
        self.last_index()
    }

    /// Copies of the entries from `index` to the end; `index` must be
    /// past the snapshot (what it covers has no entries left to copy).
    pub fn entries_from(&self, index: u64) -> Vec<LogEntry> {
        if index <= self.sentinel_index {
            return Vec::new();
        }
        self.position(index)
            .map_or_else(Vec::new, |p| self.entries[p..].to_vec())
    }

    /// Merges `entries` that a leader sent to follow `prev_index` (at or
    /// past the snapshot):
    /// "If an existing entry conflicts with a new one (same index but
    /// different terms), delete the existing entry and all that follow it"
    /// and "Append any new entries not already in the log" (Figure 2,
    /// AppendEntries receiver rules 3 and 4). Returns true if the log
    /// changed. Entries already present are kept, so a delayed, shorter
    /// AppendEntries never truncates a longer matching log.
    pub fn merge(&mut self, prev_index: u64, entries: &[LogEntry]) -> bool {
        debug_assert!(prev_index >= self.sentinel_index);
        let mut changed = false;
        for (offset, entry) in entries.iter().enumerate() {
            let index = (prev_index - self.sentinel_index) as usize + 1 + offset;
            match self.entries.get(index) {
                Some(existing) if existing.term == entry.term => continue,
                Some(_) => self.entries.truncate(index),
                None => {}
            }
            self.entries.push(entry.clone());
            changed = true;
        }
        changed
    }

    /// Discards the entries up to and including `index`, which the
    /// service's snapshot now covers (§7): the entry at `index` becomes the
    /// sentinel. Nothing changes if `index` is not after the snapshot or
    /// not in the log; returns true if the log changed.
    pub fn compact_to(&mut self, index: u64) -> bool {
        if index <= self.sentinel_index {
            return false;
        }
        let Some(position) = self.position(index) else {
            return false;
        };
        self.entries.drain(..position);
        self.entries[0].command = Vec::new();
        self.sentinel_index = index;
        true
    }

    /// Figure 13, InstallSnapshot receiver rules 6 and 7: "If existing log
    /// entry has same index and term as snapshot's last included entry,
    /// retain log entries following it"; otherwise "discard the entire
    /// log". Either way the snapshot's last entry becomes the sentinel.
    pub fn install_snapshot(&mut self, last_included_index: u64, last_included_term: u64) {
        if self.term_at(last_included_index) == Some(last_included_term) {
            self.compact_to(last_included_index);
        } else {
            *self = Log::after_snapshot(last_included_index, last_included_term);
        }
    }

    /// The first index holding an entry of `term`, if any (the sentinel
    /// counts for the snapshot's term). Terms never decrease along a log
    /// (a leader appends in its own term, after entries of earlier terms),
    /// so a binary search finds it.
    pub fn first_index_of_term(&self, term: u64) -> Option<u64> {
        let first = self.entries.partition_point(|e| e.term < term);
        self.entries
            .get(first)
            .is_some_and(|e| e.term == term)
            .then_some(self.sentinel_index + first as u64)
    }

    /// The last index holding an entry of `term`, if any (see
    /// [`Log::first_index_of_term`]).
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let past = self.entries.partition_point(|e| e.term <= term);
        let last = past.checked_sub(1)?;
        (self.entries[last].term == term).then_some(self.sentinel_index + last as u64)
    }

    /// A log holding one entry per term in `terms` (command: the term's
    /// low byte), for tests.
    #[cfg(test)]
    pub fn of_terms(terms: &[u64]) -> Log {
        let mut log = Log::default();
        for &term in terms {
            log.push(LogEntry {
                term,
                command: vec![term as u8],
            });
        }
        log
    }

    /// §5.4.1: a candidate's log is at least as up-to-date as this one if
    /// its last term is higher, or equal with a last index at least as high.
    pub fn is_up_to_date(&self, last_log_index: u64, last_log_term: u64) -> bool {
        (last_log_term, last_log_index) >= (self.last_term(), self.last_index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: u64, byte: u8) -> LogEntry {
        LogEntry {
            term,
            command: vec![byte],
        }
    }

    #[test]
    fn sentinel_makes_an_empty_log_index_zero() {
        let log = Log::default();
        assert_eq!((log.last_index(), log.last_term()), (0, 0));
        assert_eq!(log.term_at(0), Some(0));
        assert_eq!(log.term_at(1), None);
    }

    #[test]
    fn merge_truncates_conflicts_and_keeps_matches() {
        let mut log = Log::default();
        assert!(log.merge(0, &[entry(1, 1), entry(1, 2), entry(2, 3)]));
        // A stale, shorter copy changes nothing.
        assert!(!log.merge(0, &[entry(1, 1)]));
        assert_eq!(log.last_index(), 3);
        // A conflict at index 2 drops 2..=3 and appends.
        assert!(log.merge(1, &[entry(3, 9)]));
        assert_eq!(log.last_index(), 2);
        assert_eq!(log.get(2), Some(&entry(3, 9)));
        assert_eq!(log.entries_from(2), vec![entry(3, 9)]);
        assert!(log.entries_from(5).is_empty());
    }

    #[test]
    fn finds_the_first_and_last_index_of_a_term() {
        let mut log = Log::default();
        log.merge(0, &[entry(1, 1), entry(1, 2), entry(3, 3), entry(3, 4)]);
        assert_eq!(log.first_index_of_term(1), Some(1));
        assert_eq!(log.last_index_of_term(1), Some(2));
        assert_eq!(log.first_index_of_term(3), Some(3));
        assert_eq!(log.last_index_of_term(3), Some(4));
        assert_eq!(log.first_index_of_term(2), None);
        assert_eq!(log.last_index_of_term(2), None);
        assert_eq!(log.last_index_of_term(4), None);
        assert_eq!(log.first_index_of_term(0), Some(0));
    }

    /// A log of `terms` compacted to `index`.
    fn compacted(terms: &[u64], index: u64) -> Log {
        let mut log = Log::of_terms(terms);
        assert!(log.compact_to(index));
        log
    }

    #[test]
    fn compaction_keeps_every_index_and_term_after_the_snapshot() {
        let log = compacted(&[1, 1, 2, 2, 3], 3);
        assert_eq!((log.snapshot_index(), log.snapshot_term()), (3, 2));
        assert_eq!((log.last_index(), log.last_term()), (5, 3));
        // The sentinel answers for index 3; nothing before it is left.
        assert_eq!(log.term_at(3), Some(2));
        assert_eq!((log.term_at(2), log.term_at(6)), (None, None));
        assert_eq!(log.get(3), None, "the sentinel is no entry to apply");
        assert_eq!(log.get(4), Some(&entry(2, 2)));
        assert_eq!(log.entries_from(4), vec![entry(2, 2), entry(3, 3)]);
        assert!(log.entries_from(3).is_empty() && log.entries_from(2).is_empty());
        assert_eq!(log.first_index_of_term(2), Some(3));
        assert_eq!(log.last_index_of_term(3), Some(5));
        assert_eq!(log.first_index_of_term(1), None);
    }

    #[test]
    fn compaction_ignores_indices_it_cannot_cut_at() {
        let mut log = compacted(&[1, 1, 2], 2);
        assert!(!log.compact_to(2), "the snapshot's own index");
        assert!(!log.compact_to(1), "an index the snapshot covers");
        assert!(!log.compact_to(4), "an index past the log");
        assert!(log.compact_to(3));
        assert_eq!((log.snapshot_index(), log.last_index()), (3, 3));
        assert!(log.get(3).is_none() && log.entries_from(4).is_empty());
    }

    #[test]
    fn merge_and_push_count_from_the_sentinel() {
        let mut log = compacted(&[1, 1, 1], 2);
        assert_eq!(log.push(entry(2, 9)), 4);
        // A conflict at index 4 replaces it; index 3 matches and stays.
        assert!(log.merge(2, &[entry(1, 3), entry(3, 4)]));
        assert_eq!(log.get(4), Some(&entry(3, 4)));
        assert_eq!((log.last_index(), log.term_at(3)), (4, Some(1)));
        assert!(!log.merge(3, &[entry(3, 4)]));
    }

    #[test]
    fn install_keeps_a_matching_suffix_and_drops_a_conflicting_log() {
        // Rule 6: the entry at 3 has the snapshot's term; 4 and 5 stay.
        let mut log = Log::of_terms(&[1, 1, 2, 2, 2]);
        log.install_snapshot(3, 2);
        assert_eq!((log.snapshot_index(), log.last_index()), (3, 5));
        // Rule 7: a different term at 5: the whole log goes.
        log.install_snapshot(5, 4);
        assert_eq!((log.snapshot_index(), log.snapshot_term()), (5, 4));
        assert_eq!(log.last_index(), 5);
        // Past the end of the log: nothing kept either.
        log.install_snapshot(9, 4);
        assert_eq!((log.last_index(), log.last_term()), (9, 4));
        assert_eq!(log.term_at(5), None);
    }

    #[test]
    fn up_to_date_compares_last_term_then_index() {
        let mut log = Log::default();
        log.merge(0, &[entry(1, 1), entry(2, 2)]);
        assert!(log.is_up_to_date(2, 2));
        assert!(log.is_up_to_date(1, 3));
        assert!(!log.is_up_to_date(5, 1));
        assert!(!log.is_up_to_date(1, 2));
    }
}
