//! Which clock a lab test runs on (`LAB_TIME`): real time, the default and
//! Go-faithful, or virtual time, where the same seed gives the same run
//! event for event and the machine's load plays no part.
//!
//! This module only names and parses the mode and says what it implies
//! for a run's environment and replay line; it never starts a run.

use serde::{Deserialize, Serialize};

/// The clock of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TimeMode {
    /// The OS clock and OS scheduling: a seed replays the random draws,
    /// not the interleaving of threads.
    #[default]
    Real,
    /// One thread at a time on a virtual clock: a seed replays the run.
    Virtual,
}

impl TimeMode {
    /// `LAB_TIME` as the test binaries read it: unset or empty is real
    /// time; anything but `real` or `virtual` is refused.
    pub fn from_lab_time(value: Option<&str>) -> Result<TimeMode, String> {
        match value {
            None | Some("") | Some("real") => Ok(TimeMode::Real),
            Some("virtual") => Ok(TimeMode::Virtual),
            Some(other) => Err(format!("LAB_TIME={other}: must be real or virtual")),
        }
    }

    /// `real` or `virtual`: the value of `LAB_TIME`.
    pub fn name(self) -> &'static str {
        match self {
            TimeMode::Real => "real",
            TimeMode::Virtual => "virtual",
        }
    }

    /// `real time` or `virtual time`, for people.
    pub fn label(self) -> &'static str {
        match self {
            TimeMode::Real => "real time",
            TimeMode::Virtual => "virtual time",
        }
    }

    /// What a replay line sets besides `LAB_SEED`: `LAB_TIME=virtual ` in
    /// virtual time, nothing in real time (the binaries' default).
    pub fn replay_env(self) -> &'static str {
        match self {
            TimeMode::Real => "",
            TimeMode::Virtual => "LAB_TIME=virtual ",
        }
    }

    /// Whether the machine's load can fail a run: only in real time, where
    /// a thread that wakes late can cost a correct Raft an election.
    pub fn load_can_fail_runs(self) -> bool {
        self == TimeMode::Real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_time_is_real_virtual_or_refused() {
        assert_eq!(TimeMode::from_lab_time(None), Ok(TimeMode::Real));
        assert_eq!(TimeMode::from_lab_time(Some("")), Ok(TimeMode::Real));
        assert_eq!(TimeMode::from_lab_time(Some("real")), Ok(TimeMode::Real));
        assert_eq!(
            TimeMode::from_lab_time(Some("virtual")),
            Ok(TimeMode::Virtual)
        );
        for bad in ["Virtual", "1", "fake", " virtual"] {
            assert_eq!(
                TimeMode::from_lab_time(Some(bad)),
                Err(format!("LAB_TIME={bad}: must be real or virtual"))
            );
        }
    }

    #[test]
    fn only_virtual_time_appears_in_replay_lines() {
        assert_eq!(TimeMode::Real.replay_env(), "");
        assert_eq!(TimeMode::Virtual.replay_env(), "LAB_TIME=virtual ");
        assert_eq!(
            serde_json::to_string(&TimeMode::Virtual).unwrap(),
            "\"virtual\""
        );
    }
}
