//! Compares the two engines for the lab's virtual time on the same
//! workload: `labrpc`'s baton among OS threads against awslabs' `shuttle`
//! with a virtual clock on top. Prints one table; see
//! `docs/engine-comparison.md` for the method and the reading.
//!
//! Usage: `engines [--seeds N] [--rounds N]` (defaults 50 and 100000; the
//! spawn-and-join benchmark starts `rounds / 10` threads).
//! This program must never run two measured runs at once.

mod baton;
mod clock;
mod coroutines;
mod engine;
#[cfg(test)]
mod engine_tests;
mod measure;
mod micro;
mod report;
mod trace;
mod workload;

use std::process::ExitCode;

/// What the command line asks for.
struct Args {
    seeds: u64,
    rounds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seeds: 50,
        rounds: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let target = match flag.as_str() {
            "--seeds" => &mut args.seeds,
            "--rounds" => &mut args.rounds,
            other => return Err(format!("unknown argument {other:?}")),
        };
        let value = it.next().ok_or(format!("{flag} needs a number"))?;
        *target = value
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or(format!("{flag} {value:?}: must be a positive number"))?;
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("engines: {e}\nusage: engines [--seeds N] [--rounds N]");
            return ExitCode::from(2);
        }
    };
    if std::env::var_os("LAB_SEED").is_none() {
        // SAFETY: no other thread exists yet. labrpc's draws derive from
        // LAB_SEED; fixing it makes the printed figures the same from one
        // process to the next.
        unsafe { std::env::set_var("LAB_SEED", "1") };
    }
    if std::env::var_os("LAB_ENGINE").is_none() {
        // SAFETY: as above. The "baton" rows are labrpc's threads engine
        // unless LAB_ENGINE=fibers asks for labrpc's fibers instead.
        unsafe { std::env::set_var("LAB_ENGINE", "threads") };
    }
    println!(
        "labrpc's engine in the baton rows: {:?} (LAB_ENGINE)",
        labrpc::sched::Engine::from_env()
    );
    report::print(&report::measure(args.seeds, args.rounds));
    ExitCode::SUCCESS
}
