//! Wall clock, CPU time and OS context switches of the whole process,
//! sampled around a run.
//!
//! This module reads the OS clock on purpose: it measures the engines from
//! outside. It must never be called from inside a workload.

#![allow(clippy::disallowed_methods)] // std::time::Instant::now: the bench's own wall clock

use std::time::{Duration, Instant};

/// The process's clocks at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    wall: Instant,
    cpu: Duration,
    voluntary_switches: u64,
}

/// What passed between two samples.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cost {
    pub wall: Duration,
    pub cpu: Duration,
    /// OS context switches the process's threads gave up the CPU for.
    pub voluntary_switches: u64,
}

impl Sample {
    /// The clocks now: wall, user + system CPU of every thread of the
    /// process (ended threads included), voluntary context switches.
    pub fn now() -> Sample {
        // SAFETY: an all-zero rusage is valid plain data.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: RUSAGE_SELF with a valid pointer to an rusage.
        let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0;
        assert!(ok, "getrusage failed");
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Sample {
            wall: Instant::now(),
            cpu: time(usage.ru_utime) + time(usage.ru_stime),
            voluntary_switches: usage.ru_nvcsw as u64,
        }
    }

    /// The cost from `self` to `later`.
    pub fn until(&self, later: &Sample) -> Cost {
        Cost {
            wall: later.wall - self.wall,
            cpu: later.cpu.saturating_sub(self.cpu),
            voluntary_switches: later.voluntary_switches - self.voluntary_switches,
        }
    }
}

/// Measures `f`.
pub fn cost_of<R>(f: impl FnOnce() -> R) -> (R, Cost) {
    let before = Sample::now();
    let result = f();
    (result, before.until(&Sample::now()))
}
