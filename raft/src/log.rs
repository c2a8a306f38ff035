//! The replicated log of Figure 2: entries indexed from 1, with a sentinel
//! entry at index 0 (term 0) so that the first real entry has a previous
//! entry to match, and `last_index` is never empty-log special.
//!
//! This module only stores and compares entries; it must never decide what
//! is committed or applied (that is the Raft's job).

use serde::{Deserialize, Serialize};

/// One log entry: a command and the term in which a leader received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The term of the leader that created the entry.
    pub term: u64,
    /// The command, as bytes encoded by the service.
    pub command: Vec<u8>,
}

/// The log, sentinel at index 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    entries: Vec<LogEntry>,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            entries: vec![LogEntry {
                term: 0,
                command: Vec::new(),
            }],
        }
    }
}

impl Log {
    /// Index of the last entry (0 when only the sentinel is there).
    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64 - 1
    }

    /// Term of the last entry (0 when only the sentinel is there).
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// Term of the entry at `index`, if the log has one.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        self.entries.get(index as usize).map(|e| e.term)
    }

    /// The entry at `index`, if the log has one.
    pub fn get(&self, index: u64) -> Option<&LogEntry> {
        self.entries.get(index as usize)
    }

    /// Appends `entry`; returns its index.
    pub fn push(&mut self, entry: LogEntry) -> u64 {
        self.entries.push(entry);
        self.last_index()
    }

    /// Copies of the entries from `index` to the end.
    pub fn entries_from(&self, index: u64) -> Vec<LogEntry> {
        self.entries
            .get(index as usize..)
            .map_or_else(Vec::new, <[LogEntry]>::to_vec)
    }

    /// Merges `entries` that a leader sent to follow `prev_index`:
    /// "If an existing entry conflicts with a new one (same index but
    /// different terms), delete the existing entry and all that follow it"
    /// and "Append any new entries not already in the log" (Figure 2,
    /// AppendEntries receiver rules 3 and 4). Returns true if the log
    /// changed. Entries already present are kept, so a delayed, shorter
    /// AppendEntries never truncates a longer matching log.
    pub fn merge(&mut self, prev_index: u64, entries: &[LogEntry]) -> bool {
        let mut changed = false;
        for (offset, entry) in entries.iter().enumerate() {
            let index = prev_index as usize + 1 + offset;
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

    /// The first index holding an entry of `term`, if any. Terms never
    /// decrease along a log (a leader appends in its own term, after
    /// entries of earlier terms), so a binary search finds it.
    pub fn first_index_of_term(&self, term: u64) -> Option<u64> {
        let first = self.entries.partition_point(|e| e.term < term);
        self.entries
            .get(first)
            .is_some_and(|e| e.term == term)
            .then_some(first as u64)
    }

    /// The last index holding an entry of `term`, if any (see
    /// [`Log::first_index_of_term`]).
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let past = self.entries.partition_point(|e| e.term <= term);
        let last = past.checked_sub(1)?;
        (self.entries[last].term == term).then_some(last as u64)
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
