//! `make bench-labrpc`: throughput of the simulated network on a reliable
//! network, the figures the README reports.
//!
//! Prints, for 100,000 sequential calls from one client and for 100,000
//! calls from 100 concurrent clients: wall time, RPCs per second, bytes per
//! RPC, CPU time (user + system, from /proc), the peak number of OS
//! threads in the process, and context switches per RPC (voluntary and
//! forced, summed over the process's threads, from /proc). Each case starts
//! after the previous one's idle threads have retired, so both pay for the
//! OS threads they start.
//!
//! It prints the machine's load average beside the figures: on a shared
//! 2-core machine the figures mean little without it.

use labrpc::sync::Arc;
use labrpc::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use labrpc::time::{self, Duration};
use labrpc::{ClientEnd, Network, Server, Service, chan, thread};
use std::collections::HashMap;

const CALLS: usize = 100_000;

fn main() {
    println!("labrpc benchmark: reliable network, Handler2-style calls (i64 -> String)");
    println!("load average before: {}", load_average());
    println!(
        "{:<28} {:>9} {:>10} {:>10} {:>9} {:>8} {:>11}",
        "case", "wall s", "RPCs/s", "bytes/RPC", "CPU s", "threads", "switches/RPC"
    );
    measure("100,000 sequential", 1);
    // Let the first case's idle threads retire.
    time::sleep(labrpc_idle_lifetime());
    measure("100,000 from 100 clients", 100);
    println!("load average after: {}", load_average());
}

/// A little more than the pool's idle lifetime (2 s).
fn labrpc_idle_lifetime() -> Duration {
    Duration::from_millis(2500)
}

fn measure(label: &str, clients: usize) {
    let net = Network::new();
    let mut svc = Service::new("JunkServer");
    svc.register("Handler2", |arg: i64| format!("handler2-{arg}"));
    let srv = Server::new();
    srv.add_service(svc);
    net.add_server("server", srv);
    let ends: Vec<ClientEnd> = (0..clients)
        .map(|c| {
            let name = format!("end-{c}");
            let e = net.make_end(name.as_str());
            net.connect(&name, "server");
            net.enable(&name, true);
            e
        })
        .collect();

    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicUsize::new(os_threads()));
    let sampler = {
        let (sampling, peak) = (sampling.clone(), peak.clone());
        thread::spawn("thread-sampler", move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(os_threads(), Ordering::Relaxed);
                time::sleep(Duration::from_millis(2));
            }
        })
    };

    let switches0 = context_switches();
    let cpu0 = cpu_seconds();
    let t0 = time::now();
    let (tx, rx) = chan::unbounded();
    for e in ends {
        let tx = tx.clone();
        thread::spawn("client", move || {
            for i in 0..(CALLS / clients) as i64 {
                let reply: Option<String> = e.call("JunkServer.Handler2", &i);
                assert!(reply.is_some(), "a call failed on a reliable network");
            }
            tx.send(()).unwrap();
        });
    }
    for _ in 0..clients {
        rx.recv().unwrap();
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let switches = switches_since(&switches0);
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let calls = net.total_count();
    println!(
        "{:<28} {:>9.2} {:>10.0} {:>10.1} {:>9.2} {:>8} {:>11.1}",
        label,
        wall,
        calls as f64 / wall,
        net.total_bytes() as f64 / calls as f64,
        cpu,
        peak.load(Ordering::Relaxed),
        switches as f64 / calls as f64
    );
    net.cleanup();
}

/// The process's OS thread count, from /proc (0 where there is none).
fn os_threads() -> usize {
    proc_status_field("Threads:").unwrap_or(0)
}

fn proc_status_field(field: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().parse().ok()
}

/// Context switches (voluntary + forced) of each live thread, by thread id.
fn context_switches() -> HashMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return HashMap::new();
    };
    tasks
        .flatten()
        .map(|task| {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            let count = |field: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let switches = count("voluntary_ctxt_switches:") + count("nonvoluntary_ctxt_switches:");
            (task.file_name().to_string_lossy().into_owned(), switches)
        })
        .collect()
}

/// Context switches since `before`, over the threads alive now (a thread
/// that ended meanwhile is not counted).
fn switches_since(before: &HashMap<String, u64>) -> u64 {
    context_switches()
        .iter()
        .map(|(tid, &n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum()
}

/// The 1, 5 and 15 minute load averages, from /proc.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// User + system CPU seconds of this process so far, from /proc/self/stat
/// (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the name: state is field 0, utime 11, stime 12.
    (ticks(11) + ticks(12)) / 100.0
}
