//! `grade-batch --partition I/N`: one machine's share of a class.
//!
//! The submissions of a folder, sorted as `grade-batch` sorts them, are
//! dealt out round-robin, as cargo-nextest's `--partition count:I/N` deals
//! out tests: share I holds positions I-1, I-1+N, I-1+2N... Each
//! submission keeps what it would get on one machine: its seed (drawn from
//! the one master seed by its position, so `--seed` is required) and its
//! report folder's name (`raft`, `raft-2`... by the order of the whole
//! class, see [`folder_ordinals`]). `labtest merge` then joins the shares.
//!
//! This module only decides who grades what; it never grades or writes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Share `index` (from 1) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub index: usize,
    pub count: usize,
}

impl Partition {
    /// `I/N` with 1 <= I <= N.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let bad = || format!("--partition must be I/N with 1 <= I <= N, such as 2/3; not {text:?}");
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }

    /// True if this share grades the submission at `position` (from 0)
    /// of the sorted class.
    pub fn holds(self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// For each submission name of the sorted class, how many submissions
/// before it share its name (0 for the first): the folder `NAME` for 0,
/// `NAME-2` for 1... whichever share grades it.
pub fn folder_ordinals(names: &[String]) -> Vec<usize> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| names[..i].iter().filter(|n| *n == name).count())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_deal_every_position_out_once() {
        let shares: Vec<Partition> = (1..=3)
            .map(|i| Partition::parse(&format!("{i}/3")).unwrap())
            .collect();
        for position in 0..10 {
            let holders = shares.iter().filter(|p| p.holds(position)).count();
            assert_eq!(holders, 1, "position {position}");
        }
        assert!(shares[0].holds(0) && shares[0].holds(3) && shares[2].holds(5));
    }

    #[test]
    fn bad_partitions_are_refused() {
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "", "-1/2"] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Partition::parse(" 2/3 ").unwrap(),
            Partition { index: 2, count: 3 }
        );
    }

    #[test]
    fn folders_follow_the_whole_class_order() {
        let names: Vec<String> = ["raft", "alice", "raft", "raft"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(folder_ordinals(&names), vec![0, 0, 1, 2]);
    }
}
