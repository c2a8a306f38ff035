//! The two back ends keep the same virtual-time contract: sleepers wake
//! at their deadlines in order, a timed receive times out at its deadline
//! or returns what was sent with the sender's time, and the shuttle clock
//! reports a deadlock instead of hanging. The determinism check of the
//! report is proved to trip on a changed schedule.

use crate::baton::{self, Baton};
use crate::coroutines::{self, Coroutines};
use crate::engine::Engine;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Three sleepers started in the order 300, 100, 200 ms: the order and
/// the virtual times at which they woke.
fn sleepers<E: Engine>() -> Vec<(u64, Duration)> {
    let woke = std::sync::Arc::new(E::mutex(Vec::new()));
    let handles: Vec<_> = [300, 100, 200]
        .into_iter()
        .map(|n| {
            let woke = woke.clone();
            E::spawn("sleeper", move || {
                E::sleep(ms(n));
                E::with_lock(&woke, |w| w.push((n, E::now())));
            })
        })
        .collect();
    for h in handles {
        E::join(h);
    }
    E::with_lock(&woke, std::mem::take)
}

/// A receive that times out at 50 ms, then one that gets a message sent
/// at 70 ms: what each returned and when.
fn timed_receives<E: Engine>() -> Vec<(Option<u32>, Duration)> {
    let (tx, rx) = E::channel::<u32>();
    let sender = E::spawn("sender", move || {
        E::sleep(ms(70));
        E::send(&tx, 7);
    });
    let first = E::recv_timeout(&rx, Some(ms(50)));
    let t1 = E::now();
    let second = E::recv_timeout(&rx, Some(ms(1000)));
    let t2 = E::now();
    E::join(sender);
    vec![(first, t1), (second, t2)]
}

fn expected_sleepers() -> Vec<(u64, Duration)> {
    vec![(100, ms(100)), (200, ms(200)), (300, ms(300))]
}

fn expected_receives() -> Vec<(Option<u32>, Duration)> {
    vec![(None, ms(50)), (Some(7), ms(70))]
}

#[test]
fn baton_sleepers_wake_in_deadline_order_at_their_deadlines() {
    let (woke, _) = baton::in_run(1, sleepers::<Baton>);
    assert_eq!(woke, expected_sleepers());
}

#[test]
fn shuttle_sleepers_wake_in_deadline_order_at_their_deadlines() {
    for seed in 1..=20 {
        let (woke, _) = coroutines::run_seeds(&[seed], sleepers::<Coroutines>);
        assert_eq!(woke, vec![expected_sleepers()], "seed {seed}");
    }
}

#[test]
fn baton_timed_receive_times_out_then_gets_the_message_when_sent() {
    let (got, _) = baton::in_run(2, timed_receives::<Baton>);
    assert_eq!(got, expected_receives());
}

#[test]
fn shuttle_timed_receive_times_out_then_gets_the_message_when_sent() {
    for seed in 1..=20 {
        let (got, _) = coroutines::run_seeds(&[seed], timed_receives::<Coroutines>);
        assert_eq!(got, vec![expected_receives()], "seed {seed}");
    }
}

#[test]
#[should_panic(expected = "deadlock")]
fn shuttle_clock_reports_a_deadlock_instead_of_hanging() {
    coroutines::run_seeds(&[3], || {
        let (_tx, rx) = Coroutines::channel::<u32>();
        Coroutines::recv_timeout(&rx, None)
    });
}
