//! Runs both engines on the workload and the ping-pong, and prints the
//! table. This module must never run two measured runs at once: each
//! figure is one run's cost in a process doing nothing else.

use crate::baton::{self, Baton};
use crate::coroutines::{self, Coroutines};
use crate::engine::Engine;
use crate::measure::{Cost, cost_of};
use crate::workload::{self, Outcome};
use crate::{micro, trace::fnv_step};
use std::collections::BTreeSet;
use std::time::Duration;

/// One workload run on one engine.
struct Run {
    seed: u64,
    outcome: Outcome,
    /// The engine's scheduling decisions.
    picks: u64,
    /// Hand-offs to another thread: OS voluntary context switches for the
    /// baton, changes of task for shuttle.
    switches: u64,
    /// The engine's own hash of its decisions, where it has one.
    engine_hash: Option<u64>,
    cost: Cost,
}

/// One engine's micro-benchmark.
pub struct Micro {
    name: &'static str,
    /// Messages or threads: what the cost is divided by.
    units: u64,
    /// Hand-offs the engine counted (see `print`).
    switches: u64,
    cost: Cost,
}

/// Everything the table shows.
pub struct Figures {
    seeds: u64,
    baton: Vec<Run>,
    shuttle: Vec<Run>,
    ping_pongs: Vec<Micro>,
    spawns: Vec<Micro>,
}

/// Each seed of 1..=`seeds` twice on each engine (all seeds, then all
/// again), and a ping-pong of `rounds` round trips on each.
pub fn measure(seeds: u64, rounds: u64) -> Figures {
    let order: Vec<u64> = (1..=seeds).chain(1..=seeds).collect();
    eprintln!("engines: {} workload runs on the baton...", order.len());
    let baton = order.iter().map(|&seed| baton_run(seed)).collect();
    eprintln!("engines: {} workload runs on shuttle...", order.len());
    let shuttle = shuttle_runs(&order);
    eprintln!("engines: ping-pongs of {rounds} round trips...");
    let ping_pongs = vec![
        baton_micro(rounds, Bench::PingPong),
        shuttle_micro(rounds, Bench::PingPong),
        real_micro(rounds, Bench::PingPong),
    ];
    let threads = rounds / 10;
    eprintln!("engines: {threads} threads started and joined...");
    let spawns = vec![
        baton_micro(threads, Bench::SpawnJoin),
        shuttle_micro(threads, Bench::SpawnJoin),
        real_micro(threads, Bench::SpawnJoin),
    ];
    Figures {
        seeds,
        baton,
        shuttle,
        ping_pongs,
        spawns,
    }
}

fn baton_run(seed: u64) -> Run {
    labrpc::rand::restart_stream(&format!("engines-{seed}"));
    let ((outcome, count), cost) = cost_of(|| baton::in_run(seed, workload::run::<Baton>));
    Run {
        seed,
        outcome,
        picks: count.picks,
        switches: cost.voluntary_switches,
        engine_hash: None,
        cost,
    }
}

fn shuttle_runs(seeds: &[u64]) -> Vec<Run> {
    let (outcomes, bounds) = coroutines::run_seeds(seeds, workload::run::<Coroutines>);
    assert_eq!(
        outcomes.len(),
        seeds.len(),
        "a shuttle execution did not finish"
    );
    outcomes
        .into_iter()
        .zip(seeds)
        .zip(bounds.windows(2))
        .map(|((outcome, &seed), pair)| {
            let decisions = pair[1].ended.clone().unwrap_or_default();
            Run {
                seed,
                outcome,
                picks: decisions.picks,
                switches: decisions.switches,
                engine_hash: Some(decisions.hash),
                cost: pair[0].at.until(&pair[1].at),
            }
        })
        .collect()
}

/// Which micro-benchmark.
#[derive(Clone, Copy)]
enum Bench {
    PingPong,
    SpawnJoin,
}

impl Bench {
    /// Runs it with `n` round trips or threads on `E`, and checks its result.
    fn run<E: Engine>(self, n: u64) {
        match self {
            Bench::PingPong => {
                assert_eq!(micro::ping_pong::<E>(n), n, "the ping-pong lost a message")
            }
            Bench::SpawnJoin => assert_eq!(
                micro::spawn_join::<E>(n),
                n * (n - 1) / 2,
                "a thread's result was lost"
            ),
        }
    }

    /// What its cost is divided by: messages (two per round trip), or threads.
    fn units(self, n: u64) -> u64 {
        match self {
            Bench::PingPong => 2 * n,
            Bench::SpawnJoin => n,
        }
    }
}

fn baton_micro(n: u64, bench: Bench) -> Micro {
    let ((_, count), cost) = cost_of(|| baton::in_run(0, || bench.run::<Baton>(n)));
    Micro {
        name: "baton (labrpc, virtual)",
        units: bench.units(n),
        switches: count.picks,
        cost,
    }
}

/// The size and kind of the shuttle micro-benchmark: `run_seeds` takes a
/// fn pointer, which cannot capture them.
#[allow(clippy::disallowed_types)] // set before the execution, read inside it
static MICRO: std::sync::Mutex<Option<(u64, Bench)>> = std::sync::Mutex::new(None);

fn shuttle_micro(n: u64, bench: Bench) -> Micro {
    *MICRO.lock().unwrap_or_else(|p| p.into_inner()) = Some((n, bench));
    let ((_, bounds), cost) = cost_of(|| {
        coroutines::run_seeds(&[0], || {
            let (n, bench) = MICRO
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .expect("set above");
            bench.run::<Coroutines>(n)
        })
    });
    let decisions = bounds.last().and_then(|b| b.ended.as_ref());
    Micro {
        name: "shuttle + clock",
        units: bench.units(n),
        switches: decisions.map_or(0, |d| d.switches),
        cost,
    }
}

fn real_micro(n: u64, bench: Bench) -> Micro {
    let ((), cost) = cost_of(|| baton::real_time(|| bench.run::<Baton>(n)));
    Micro {
        name: "OS threads, real time (labrpc outside a run)",
        units: bench.units(n),
        switches: cost.voluntary_switches,
        cost,
    }
}

fn mean(runs: &[Run], f: impl Fn(&Run) -> f64) -> f64 {
    runs.iter().map(f).sum::<f64>() / runs.len() as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A run's schedule: the workload's trace, and the engine's own hash of
/// its decisions where it has one.
fn schedule_key(r: &Run) -> u64 {
    let h = fnv_step(r.outcome.schedule_hash, r.outcome.points);
    r.engine_hash.map_or(h, |e| fnv_step(h, e))
}

/// One hash of every seed's schedule, in seed order: equal in two
/// processes when each seed replayed its run.
fn digest(runs: &[Run], seeds: u64) -> u64 {
    runs[..seeds as usize]
        .iter()
        .fold(0, |h, r| fnv_step(h, schedule_key(r)))
}

/// Whether each seed's two runs took the same schedule, and how many
/// different schedules the seeds gave.
fn determinism(runs: &[Run], seeds: u64) -> (usize, usize, usize) {
    let (first, second) = runs.split_at(seeds as usize);
    let key = schedule_key;
    let same = first
        .iter()
        .zip(second)
        .filter(|(a, b)| a.seed == b.seed && key(a) == key(b))
        .count();
    let distinct: BTreeSet<u64> = first.iter().map(key).collect();
    (same, first.len(), distinct.len())
}

fn print_workload(name: &str, runs: &[Run], seeds: u64) {
    let wall: Vec<f64> = runs.iter().map(|r| ms(r.cost.wall)).collect();
    let cpu: Vec<f64> = runs.iter().map(|r| ms(r.cost.cpu)).collect();
    let span = |v: &[f64]| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(0.0, f64::max);
        format!("{lo:.1}-{hi:.1}")
    };
    let picks = mean(runs, |r| r.picks as f64);
    let cpu_mean = mean(runs, |r| ms(r.cost.cpu));
    let (same, of, distinct) = determinism(runs, seeds);
    println!(
        "| {name} | {} | {:.0} | {:.0} | {:.0} | {:.2} ({}) | {:.2} ({}) | {:.2} | {same}/{of} same, {distinct} distinct, digest {:016x} |",
        runs.len(),
        mean(runs, |r| r.outcome.points as f64),
        picks,
        mean(runs, |r| r.switches as f64),
        mean(runs, |r| ms(r.cost.wall)),
        span(&wall),
        cpu_mean,
        span(&cpu),
        cpu_mean * 1e3 / picks,
        digest(runs, seeds),
    );
}

fn print_shape(name: &str, runs: &[Run]) {
    let failed: u64 = runs.iter().map(|r| r.outcome.failed_checks).sum();
    println!(
        "| {name} | {:.0} | {:.0} | {:.1} | {:.2} | {failed} |",
        mean(runs, |r| r.outcome.threads as f64),
        mean(runs, |r| r.outcome.rpcs as f64),
        mean(runs, |r| r.outcome.elections as f64),
        mean(runs, |r| r.outcome.end.as_secs_f64()),
    );
}

/// Prints the tables (Markdown).
pub fn print(f: &Figures) {
    println!(
        "workload: one 2A-shaped run (3 peers, 5 s virtual), seeds 1..={} each run twice\n",
        f.seeds
    );
    println!(
        "| engine | runs | workload points/run | engine picks/run | hand-offs/run | wall ms/run (min-max) | CPU ms/run (min-max) | CPU us/pick | same seed, same schedule |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    print_workload("baton (labrpc::sched)", &f.baton, f.seeds);
    print_workload("shuttle + clock", &f.shuttle, f.seeds);
    println!(
        "\n| engine | threads/run | RPCs/run | elections/run | virtual s/run | failed leader checks (all runs) |"
    );
    println!("|---|---|---|---|---|---|");
    print_shape("baton (labrpc::sched)", &f.baton);
    print_shape("shuttle + clock", &f.shuttle);
    println!(
        "\nhand-offs: OS voluntary context switches of the process for the baton; picks of another task for shuttle\n"
    );
    let counted =
        "hand-offs counted (baton: picks; shuttle: task changes; real time: voluntary switches)";
    print_micro("ping-pong", "message", counted, &f.ping_pongs);
    println!();
    print_micro("threads started and joined", "thread", counted, &f.spawns);
}

fn print_micro(title: &str, unit: &str, counted: &str, rows: &[Micro]) {
    println!(
        "| {title} | {unit}s | {counted} | wall ms | CPU ms | wall ns/{unit} | CPU ns/{unit} |"
    );
    println!("|---|---|---|---|---|---|---|");
    for m in rows {
        let per = |d: Duration| d.as_nanos() as f64 / m.units as f64;
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.0} | {:.0} |",
            m.name,
            m.units,
            m.switches,
            ms(m.cost.wall),
            ms(m.cost.cpu),
            per(m.cost.wall),
            per(m.cost.cpu),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, schedule_hash: u64) -> Run {
        Run {
            seed,
            outcome: Outcome {
                points: 10,
                schedule_hash,
                ..Outcome::default()
            },
            picks: 10,
            switches: 5,
            engine_hash: Some(1),
            cost: Cost::default(),
        }
    }

    #[test]
    fn determinism_counts_a_changed_schedule_as_not_the_same() {
        let same = [run(1, 11), run(2, 22), run(1, 11), run(2, 22)];
        assert_eq!(determinism(&same, 2), (2, 2, 2));
        let changed = [run(1, 11), run(2, 22), run(1, 11), run(2, 23)];
        assert_eq!(determinism(&changed, 2), (1, 2, 2));
        let one_schedule = [run(1, 11), run(2, 11), run(1, 11), run(2, 11)];
        assert_eq!(determinism(&one_schedule, 2), (2, 2, 1));
    }
}
