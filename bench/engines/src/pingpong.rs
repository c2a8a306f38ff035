//! The cost of one switch: two threads pass a number back and forth over
//! two channels, so that every message is a hand-off from one thread to
//! the other. This module must never block except through [`Engine`].

use crate::engine::Engine;

/// `rounds` round trips (2 × `rounds` hand-offs); returns the last value,
/// which must be `rounds`.
pub fn run<E: Engine>(rounds: u64) -> u64 {
    let (ping_tx, ping_rx) = E::channel::<u64>();
    let (pong_tx, pong_rx) = E::channel::<u64>();
    let pong = E::spawn("pong", move || {
        for _ in 0..rounds {
            let n = E::recv_timeout(&ping_rx, None).expect("ping hung up");
            E::send(&pong_tx, n + 1);
        }
    });
    let mut n = 0;
    for _ in 0..rounds {
        E::send(&ping_tx, n);
        n = E::recv_timeout(&pong_rx, None).expect("pong hung up");
    }
    E::join(pong);
    n
}
