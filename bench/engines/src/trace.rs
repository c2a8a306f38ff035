//! The workload's own record of its scheduling points: how many it went
//! through, and a hash of which thread resumed from which operation at
//! which virtual time, in order.
//!
//! Both engines run one thread at a time, so the order of the records is
//! the order in which threads got the CPU back from a blocking point: two
//! runs with the same hash took the same schedule. This module must never
//! block or be a scheduling point itself (plain atomics, no lock).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One FNV-1a 64 step over the eight bytes of `word`.
pub fn fnv_step(hash: u64, word: u64) -> u64 {
    let start = if hash == 0 {
        0xCBF2_9CE4_8422_2325
    } else {
        hash
    };
    word.to_le_bytes().iter().fold(start, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// What kind of blocking point a thread came back from.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Spawn = 1,
    Join,
    Sleep,
    Lock,
    Send,
    Recv,
}

/// The running count and hash of a run's scheduling points.
#[derive(Default)]
pub struct Trace {
    count: AtomicU64,
    hash: AtomicU64,
}

impl Trace {
    /// Records that thread `who` came back from `op` at virtual time `at`.
    pub fn note(&self, who: u64, op: Op, at: Duration) {
        // One thread runs at a time: a load then a store cannot race.
        let mut h = self.hash.load(Ordering::Relaxed);
        h = fnv_step(h, who);
        h = fnv_step(h, op as u64);
        h = fnv_step(h, at.as_micros() as u64);
        self.hash.store(h, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// (points, hash) so far.
    pub fn summary(&self) -> (u64, u64) {
        (
            self.count.load(Ordering::Relaxed),
            self.hash.load(Ordering::Relaxed),
        )
    }
}
