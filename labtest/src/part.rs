//! The parts of lab 2 a grade covers (`--part 2a,2b`): each part's tests,
//! with their Go names, the binary that runs them and their points.
//!
//! Points follow Go's lab, which grades per test: each of Go's 28 tests of
//! 2A-2D is worth the same 5 points (2A 15, 2B 50, 2C 40, 2D 35). Our extra
//! tests (parts 2A and 2C) have no Go name and are reported apart unless
//! asked for.
//! This module only describes the tests; it never runs one.

use std::fmt;

/// A part of lab 2, in Go's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Part {
    #[serde(rename = "2A")]
    A,
    #[serde(rename = "2B")]
    B,
    #[serde(rename = "2C")]
    C,
    #[serde(rename = "2D")]
    D,
}

/// Every part that exists, in Go's order.
pub const ALL: [Part; 4] = [Part::A, Part::B, Part::C, Part::D];

impl Part {
    /// How Go names it: `2A`.
    pub fn label(self) -> &'static str {
        match self {
            Part::A => "2A",
            Part::B => "2B",
            Part::C => "2C",
            Part::D => "2D",
        }
    }

    /// The test binary that runs its tests.
    pub fn target(self) -> &'static str {
        match self {
            Part::A => "raft_2a",
            Part::B => "raft_2b",
            Part::C => "raft_2c",
            Part::D => "raft_2d",
        }
    }

    /// The binary of its extra tests (ours, not Go's), if it has any.
    pub fn extra_target(self) -> Option<&'static str> {
        match self {
            Part::A => Some("raft_2a_extra"),
            Part::C => Some("raft_2c_extra"),
            Part::B | Part::D => None,
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One graded test.
#[derive(Clone, Copy, Debug)]
pub struct Graded {
    /// Its name in our binary (`--exact` takes it).
    pub name: &'static str,
    /// Go's name for it; an extra test has none and keeps ours.
    pub go_name: &'static str,
    pub part: Part,
    pub points: f64,
    /// One of our extra tests (reported apart unless counted).
    pub extra: bool,
}

const fn go(name: &'static str, go_name: &'static str, part: Part) -> Graded {
    Graded {
        name,
        go_name,
        part,
        points: 5.0,
        extra: false,
    }
}

const fn extra(name: &'static str, part: Part) -> Graded {
    Graded {
        name,
        go_name: name,
        part,
        points: 5.0,
        extra: true,
    }
}

/// Every graded test, in Go's order, the extra set last.
pub const TESTS: [Graded; 34] = [
    go("initial_election_2a", "TestInitialElection2A", Part::A),
    go("re_election_2a", "TestReElection2A", Part::A),
    go("many_elections_2a", "TestManyElections2A", Part::A),
    go("basic_agree_2b", "TestBasicAgree2B", Part::B),
    go("rpc_bytes_2b", "TestRPCBytes2B", Part::B),
    go("follower_failure_2b", "TestFollowerFailure2B", Part::B),
    go("leader_failure_2b", "TestLeaderFailure2B", Part::B),
    go("fail_agree_2b", "TestFailAgree2B", Part::B),
    go("fail_no_agree_2b", "TestFailNoAgree2B", Part::B),
    go("concurrent_starts_2b", "TestConcurrentStarts2B", Part::B),
    go("rejoin_2b", "TestRejoin2B", Part::B),
    go("backup_2b", "TestBackup2B", Part::B),
    go("count_2b", "TestCount2B", Part::B),
    go("persist1_2c", "TestPersist12C", Part::C),
    go("persist2_2c", "TestPersist22C", Part::C),
    go("persist3_2c", "TestPersist32C", Part::C),
    go("figure8_2c", "TestFigure82C", Part::C),
    go("unreliable_agree_2c", "TestUnreliableAgree2C", Part::C),
    go("figure8_unreliable_2c", "TestFigure8Unreliable2C", Part::C),
    go("reliable_churn_2c", "TestReliableChurn2C", Part::C),
    go("unreliable_churn_2c", "TestUnreliableChurn2C", Part::C),
    go("snapshot_basic_2d", "TestSnapshotBasic2D", Part::D),
    go("snapshot_install_2d", "TestSnapshotInstall2D", Part::D),
    go(
        "snapshot_install_unreliable_2d",
        "TestSnapshotInstallUnreliable2D",
        Part::D,
    ),
    go(
        "snapshot_install_crash_2d",
        "TestSnapshotInstallCrash2D",
        Part::D,
    ),
    go(
        "snapshot_install_uncrash_2d",
        "TestSnapshotInstallUnCrash2D",
        Part::D,
    ),
    go("snapshot_all_crash_2d", "TestSnapshotAllCrash2D", Part::D),
    go("snapshot_init_2d", "TestSnapshotInit2D", Part::D),
    extra("heartbeat_rate_2a_extra", Part::A),
    extra("stable_leader_2a_extra", Part::A),
    extra("elections_per_failure_2a_extra", Part::A),
    extra("many_elections_2a_extra", Part::A),
    extra("vote_survives_crash_2c_extra", Part::C),
    extra("late_copies_lose_nothing_2c_extra", Part::C),
];

/// The tests of `parts` (the extra ones only with `extra`), in Go's order.
pub fn tests_of(parts: &[Part], extra: bool) -> impl Iterator<Item = &'static Graded> {
    let parts = parts.to_vec();
    TESTS
        .iter()
        .filter(move |t| parts.contains(&t.part) && (extra || !t.extra))
}

/// Whether any of `parts` has extra tests.
pub fn has_extra(parts: &[Part]) -> bool {
    parts.iter().any(|p| p.extra_target().is_some())
}

/// Parses one `--part` value: `2a`, `2b`, `2c`, `2d` (any case) or `all`.
pub fn parse(value: &str) -> Result<Vec<Part>, String> {
    let found = match value.trim().to_ascii_lowercase().as_str() {
        "all" => return Ok(ALL.to_vec()),
        "2a" => Part::A,
        "2b" => Part::B,
        "2c" => Part::C,
        "2d" => Part::D,
        _ => {
            return Err(format!(
                "no part {value:?}; the parts are {}, or all",
                ALL.map(|p| p.label().to_ascii_lowercase()).join(", ")
            ));
        }
    };
    Ok(vec![found])
}

/// The parts named by every `--part` value (each `all` or one part; a comma
/// list was split already), sorted and without repeats; none named: all.
pub fn selected(values: &[Vec<Part>]) -> Vec<Part> {
    let mut parts: Vec<Part> = values.iter().flatten().copied().collect();
    if parts.is_empty() {
        parts = ALL.to_vec();
    }
    parts.sort();
    parts.dedup();
    parts
}

/// `2A+2B` for the parts `parts`.
pub fn joined(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| p.label())
        .collect::<Vec<_>>()
        .join("+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_has_its_go_tests_in_go_order() {
        let count = |part| TESTS.iter().filter(|t| t.part == part && !t.extra).count();
        assert_eq!(
            (
                count(Part::A),
                count(Part::B),
                count(Part::C),
                count(Part::D)
            ),
            (3, 10, 8, 7)
        );
        let names: Vec<&str> = tests_of(&[Part::B], true).map(|t| t.go_name).collect();
        assert_eq!(names.first(), Some(&"TestBasicAgree2B"));
        assert_eq!(names.last(), Some(&"TestCount2B"));
        // Every Go name ends with its part, as Go's do.
        for t in TESTS.iter().filter(|t| !t.extra) {
            assert!(t.go_name.starts_with("Test"), "{}", t.go_name);
            assert!(t.go_name.ends_with(t.part.label()), "{}", t.go_name);
            assert!(t.name.ends_with(&t.part.label().to_ascii_lowercase()));
        }
        // The extra sets are 2A's and 2C's, only with `extra`, each test
        // named for its part and run by its part's extra binary.
        assert!(tests_of(&[Part::B, Part::D], true).all(|t| !t.extra));
        assert_eq!(tests_of(&[Part::A], true).filter(|t| t.extra).count(), 4);
        assert_eq!(tests_of(&[Part::C], true).filter(|t| t.extra).count(), 2);
        assert_eq!(tests_of(&[Part::A], false).count(), 3);
        assert_eq!(tests_of(&[Part::C], false).count(), 8);
        for t in TESTS.iter().filter(|t| t.extra) {
            let suffix = format!("_{}_extra", t.part.label().to_ascii_lowercase());
            assert!(t.name.ends_with(&suffix), "{}", t.name);
            assert!(t.part.extra_target().is_some(), "{}", t.name);
        }
    }

    #[test]
    fn part_values_parse_and_a_bad_one_lists_the_parts() {
        assert_eq!(parse("2B"), Ok(vec![Part::B]));
        assert_eq!(parse("all"), Ok(ALL.to_vec()));
        let err = parse("2e").unwrap_err();
        assert_eq!(err, "no part \"2e\"; the parts are 2a, 2b, 2c, 2d, or all");
        assert_eq!(selected(&[]), ALL.to_vec());
        assert_eq!(
            selected(&[vec![Part::C], vec![Part::A], vec![Part::C]]),
            [Part::A, Part::C]
        );
        assert_eq!(joined(&[Part::A, Part::C]), "2A+2C");
    }
}
