//! Monitors: a thread that samples every live peer's `get_state` for the
//! whole test, and fails it on what Go's 2A checks, which sample only at
//! their own moments, cannot see:
//!
//! - two leaders in one term (election safety, §5.2);
//! - a leader that stops leading within its own term while connected to a
//!   majority, with no failure injected (a Raft leader steps down only on
//!   a higher term, §5.1; a check-quorum leader cut off from the majority
//!   may step down, and that stays legal);
//! - an election started while a connected leader is in place, with no
//!   failure injected (§5.2: heartbeats keep followers from starting one).
//!
//! It also counts elections (terms in which a leader was seen), reported
//! with the failures the test injected.
//!
//! How often it samples depends on the clock the test runs on
//! ([`Sampling`]). In real time: every [`PERIOD`] (5 ms), so a state that
//! lasts less than that can slip between two rounds. In virtual time: at
//! every advance of the virtual clock (and at least every [`PERIOD`] of
//! it), which costs no wall time. A state that lasts over an advance of
//! the clock is then always sampled. One that begins at one advance and
//! ends at the next is missed only if the round falls before its start in
//! the first instant and after its end in the second (the monitor's place
//! among the threads of one instant is drawn from the seed like any
//! thread's). A state that lasts no virtual time at all (begun and ended
//! within one instant) is not sampled.
//!
//! It only looks: it calls nothing on a Raft but `get_state`, and never
//! holds the config's lock while doing so. It must never fail a correct
//! Raft: the two timing rules hold only on a reliable network with no link
//! cut, only once the connections have not changed for [`SETTLE`], and
//! never within
//! [`STALL_EXCUSE`] of a stall (a thread of the process woke
//! [`STALL`] or more late: the monitor's own sleep, or any sleep the time
//! layer measured), because a stalled process can make a correct Raft
//! miss heartbeats. In virtual time no thread ever wakes late, so no
//! stall is ever noted and nothing is excused. Election safety depends on
//! no timing at all.

use crate::config::Shared;
use crate::peer::Peer;
use labrpc::sync::atomic::{AtomicBool, Ordering};
use labrpc::sync::{Arc, Mutex};
use labrpc::thread::{self, JoinHandle, Owner};
use labrpc::time::{self, Duration, Instant};
use serde::Serialize;
use std::collections::BTreeMap;

/// How often every live peer is sampled in real time; in virtual time,
/// the longest the clock may move between two rounds.
pub const PERIOD: Duration = Duration::from_millis(5);

/// When the monitor samples, chosen by the clock the test runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Real time: a round every [`PERIOD`] of the OS clock.
    #[default]
    EveryPeriod,
    /// Virtual time: a round at every advance of the virtual clock (at
    /// most [`PERIOD`] apart).
    EveryClockAdvance,
}

impl Sampling {
    /// The sampling of the calling thread's clock.
    pub fn current() -> Sampling {
        if labrpc::sched::active() {
            Sampling::EveryClockAdvance
        } else {
            Sampling::EveryPeriod
        }
    }

    /// Waits until the next round is due.
    fn wait(self) {
        match self {
            Sampling::EveryPeriod => time::sleep(PERIOD),
            Sampling::EveryClockAdvance => labrpc::sched::sleep_until_clock_moves(PERIOD),
        }
    }

    /// Whether a late wake-up can mean a stall of the process: only on the
    /// OS clock (a virtual-time thread never wakes late).
    fn can_stall(self) -> bool {
        self == Sampling::EveryPeriod
    }

    /// How the figures line says it.
    fn words(self) -> String {
        match self {
            Sampling::EveryPeriod => format!("every {} ms", PERIOD.as_millis()),
            Sampling::EveryClockAdvance => "at every clock advance".to_string(),
        }
    }
}

/// After a connect, disconnect, crash or restart, the timing rules wait
/// this long: a reconnected peer may start an election before the leader
/// reaches it, and a check-quorum leader may step down a little after its
/// majority came back.
pub const SETTLE: Duration = Duration::from_secs(2);

/// A thread that wakes this late means the process stalled.
pub const STALL: Duration = Duration::from_millis(50);

/// How long after a stall the timing rules excuse what they see: a stall
/// can cost a heartbeat, and a follower times out up to an election
/// timeout later.
pub const STALL_EXCUSE: Duration = Duration::from_secs(2);

/// What breaks a timing rule is judged this much later: a leader seen as
/// a follower of its own term must still be in that term (so that a Raft
/// whose `get_state` reads role and term apart is not failed for a step to
/// a higher term sampled half done), and a stall that caused it has had
/// time to be reported by the thread that overslept.
pub const CONFIRM: Duration = Duration::from_millis(300);

/// What the monitor saw during one test.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Rounds of sampling.
    pub samples: u64,
    /// When the rounds were taken.
    pub sampling: Sampling,
    /// Terms in which a leader was seen: elections won.
    pub leaders_elected: usize,
    /// The highest term any peer was seen in.
    pub highest_term: u64,
    /// Disconnects and crashes the test injected.
    pub failures_injected: usize,
    /// Elections or step-downs the timing rules excused for a stall.
    pub excused_by_stall: usize,
    /// CPU the monitor's thread used, in ms (None where unmeasurable).
    pub cpu_ms: Option<f64>,
}

impl Figures {
    /// The line a passing test prints under its Passed line.
    pub fn line(&self) -> String {
        let per_failure = if self.failures_injected == 0 {
            String::new()
        } else {
            let after_first = self.leaders_elected.saturating_sub(1);
            format!(
                " ({:.1} per failure after the first)",
                after_first as f64 / self.failures_injected as f64
            )
        };
        let cpu = self
            .cpu_ms
            .map(|ms| format!(", {ms:.0} ms CPU"))
            .unwrap_or_default();
        format!(
            "  ... monitors: {} elections won{per_failure}, highest term {}, {} failures injected, {} excused by a stall; {} samples {}{cpu}",
            self.leaders_elected,
            self.highest_term,
            self.failures_injected,
            self.excused_by_stall,
            self.samples,
            self.sampling.words()
        )
    }
}

/// The figures of the last monitor that stopped, for the result record.
static LAST_FIGURES: Mutex<Option<Figures>> = Mutex::new(None);

/// Takes the figures the last monitor left.
pub fn take_figures() -> Option<Figures> {
    LAST_FIGURES.lock().take()
}

/// One round of samples, with the harness's view of the connections
/// (read after the samples, so that a change during them counts).
#[derive(Clone, Debug, Default)]
pub struct View {
    /// `(term, is_leader)` of each peer, None if crashed.
    pub states: Vec<Option<(u64, bool)>>,
    /// Which start of each peer answered (a restart is a new peer).
    pub instances: Vec<u64>,
    pub connected: Vec<bool>,
    /// Some link between two peers is cut (`Config::cut_link`): who hears
    /// whom is no longer "connected or not", so the timing rules are off.
    pub links_cut: bool,
    /// Since the monitor started: the last connect, disconnect, crash or
    /// restart (None: none since the peers started).
    pub last_change: Option<Duration>,
    /// No drops, delays or duplicates: Go's reliable network, copies off.
    pub reliable: bool,
    pub failures: usize,
}

impl View {
    /// The newest term among connected peers: a leader of an older one is
    /// stale (cut off earlier), not the leader in place.
    fn newest_connected_term(&self) -> Option<u64> {
        let connected = self.states.iter().zip(&self.connected);
        connected
            .filter_map(|(s, &c)| s.filter(|_| c))
            .map(|(t, _)| t)
            .max()
    }

    fn majority_connected(&self) -> bool {
        let n = self.connected.len();
        self.connected.iter().filter(|&&c| c).count() > n / 2
    }
}

/// A broken timing rule, judged only once [`CONFIRM`] has passed with no
/// stall seen from [`STALL_EXCUSE`] before it until then: a stalled
/// thread may learn of its own lateness (and report it) only after the
/// Raft it belongs to has already missed a heartbeat.
#[derive(Clone, Debug)]
struct Suspect {
    at: Duration,
    /// For a step-down: the term the leader left; dropped if the peer
    /// moves to another term before it is judged.
    term: Option<u64>,
    /// For an election: the leader in place, its term, the new term.
    election: Option<(usize, u64, u64)>,
    message: String,
}

/// The rules, fed one [`View`] at a time; no threads, no clock.
#[derive(Default)]
pub struct Watch {
    /// The leader seen in each term, and when first.
    leaders: BTreeMap<u64, (usize, Duration)>,
    previous: Option<View>,
    /// Per peer, what it is suspected of.
    suspects: Vec<Option<Suspect>>,
    last_stall: Option<Duration>,
    figures: Figures,
}

impl Watch {
    /// A stall happened at `at` (see the module doc).
    pub fn note_stall(&mut self, at: Duration) {
        self.last_stall = Some(at);
    }

    /// What was seen so far.
    pub fn figures(&self) -> Figures {
        self.figures.clone()
    }

    /// Checks one round of samples taken at `at`; Err names the rule
    /// broken, the peers, the terms and the time.
    pub fn observe(&mut self, at: Duration, view: View) -> Result<(), String> {
        self.figures.samples += 1;
        self.figures.failures_injected = view.failures;
        self.suspects.resize(view.states.len(), None);
        self.check_election_safety(at, &view)?;
        if let Some(previous) = self.previous.take() {
            self.check_transitions(at, &previous, &view);
        }
        self.previous = Some(view);
        self.judge_suspects(at)
    }

    /// §5.2: at most one leader per term, whatever the connections.
    fn check_election_safety(&mut self, at: Duration, view: &View) -> Result<(), String> {
        for (i, state) in view.states.iter().enumerate() {
            let Some((term, leader)) = *state else {
                continue;
            };
            self.figures.highest_term = self.figures.highest_term.max(term);
            if !leader {
                continue;
            }
            let (first, since) = *self.leaders.entry(term).or_insert((i, at));
            if first != i {
                return Err(format!(
                    "election safety (§5.2): servers {first} and {i} both led term {term} (server {first} seen leading at {}, server {i} at {})",
                    ms(since),
                    ms(at)
                ));
            }
        }
        self.figures.leaders_elected = self.leaders.len();
        Ok(())
    }

    /// The two timing rules, from the previous round to this one: what
    /// breaks them becomes a suspect.
    fn check_transitions(&mut self, at: Duration, before: &View, now: &View) {
        let applies = rules_apply(at, before, now);
        for i in 0..now.states.len() {
            let same_peer = before.instances.get(i) == now.instances.get(i);
            let (Some((t0, led)), Some((t1, leads)), true) =
                (before.states[i], now.states[i], same_peer)
            else {
                self.suspects[i] = None;
                continue;
            };
            if self.suspects[i]
                .as_ref()
                .is_some_and(|s| s.term.is_some_and(|term| term != t1))
            {
                self.suspects[i] = None; // half a step to a higher term
            }
            if !applies || self.suspects[i].is_some() {
                continue;
            }
            let current = before.newest_connected_term() == Some(t0);
            let connected = before.connected[i] && now.connected[i];
            if t1 > t0 {
                self.suspects[i] = self.election_in_place(at, i, (t0, t1), before, now);
            } else if led && !leads && t1 == t0 && current && connected {
                self.suspects[i] = Some(Suspect {
                    at,
                    term: Some(t0),
                    election: None,
                    message: format!(
                        "leader {i} stopped leading within its own term {t0} at {}, connected to a majority, {} (§5.1: a leader steps down only on a higher term)",
                        ms(at),
                        quiet_since(at, now)
                    ),
                });
            }
        }
        self.merge_elections_of_one_round(at, now);
    }

    /// Several peers seen moving to a new term in one round (a candidate
    /// and the voters it reached, in some order the samples cannot tell):
    /// one suspect that names them all, not a guess at who began.
    fn merge_elections_of_one_round(&mut self, at: Duration, now: &View) {
        let moved: Vec<usize> = (0..self.suspects.len())
            .filter(|&i| {
                self.suspects[i]
                    .as_ref()
                    .is_some_and(|s| s.at == at && s.election.is_some())
            })
            .collect();
        let [first, _, ..] = moved[..] else {
            return;
        };
        let Some((leader, t0, t1)) = self.suspects[first].as_ref().and_then(|s| s.election) else {
            return;
        };
        for &i in &moved[1..] {
            self.suspects[i] = None;
        }
        let names = moved.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        if let Some(suspect) = self.suspects[first].as_mut() {
            suspect.message = format!(
                "an election for term {t1} began at {} (servers {} left term {t0} between two samples) while server {leader} led term {t0}, connected, {} (§5.2: heartbeats keep elections away)",
                ms(at),
                names.join(" and "),
                quiet_since(at, now)
            );
        }
    }

    /// Peer `i` moved from term `t0` to `t1`: an election. A suspect if a
    /// connected leader of the newest term `t0` was in place (it may be
    /// `i` itself).
    fn election_in_place(
        &self,
        at: Duration,
        i: usize,
        (t0, t1): (u64, u64),
        before: &View,
        now: &View,
    ) -> Option<Suspect> {
        let &(leader, _) = self.leaders.get(&t0)?;
        let in_place = before.states[leader] == Some((t0, true))
            && before.newest_connected_term() == Some(t0)
            && before.connected[leader]
            && now.connected[leader]
            && before.connected[i]
            && now.connected[i];
        if !in_place {
            return None;
        }
        let message = if leader == i {
            format!(
                "leader {i} of term {t0} started an election for term {t1} at {} while leading, connected, {} (§5.2: a leader's heartbeats keep elections away)",
                ms(at),
                quiet_since(at, now)
            )
        } else {
            format!(
                "server {i} started an election for term {t1} at {} while server {leader} led term {t0}, both connected, {} (§5.2: a follower that hears heartbeats starts no election)",
                ms(at),
                quiet_since(at, now)
            )
        };
        Some(Suspect {
            at,
            term: None,
            election: Some((leader, t0, t1)),
            message,
        })
    }

    /// Judges every suspect whose [`CONFIRM`] has passed: excused if the
    /// process stalled around it, else the test fails.
    fn judge_suspects(&mut self, at: Duration) -> Result<(), String> {
        for slot in &mut self.suspects {
            let Some(suspect) = slot.take_if(|s| at.saturating_sub(s.at) >= CONFIRM) else {
                continue;
            };
            let from = suspect.at.saturating_sub(STALL_EXCUSE);
            if self.last_stall.is_some_and(|stall| stall >= from) {
                self.figures.excused_by_stall += 1;
            } else {
                return Err(suspect.message);
            }
        }
        Ok(())
    }
}

/// Whether the timing rules apply from `before` to `now`: a reliable
/// network with no link cut, connections unchanged for [`SETTLE`], a
/// majority connected.
fn rules_apply(at: Duration, before: &View, now: &View) -> bool {
    let since_change = now.last_change.map(|c| at.saturating_sub(c));
    before.reliable
        && now.reliable
        && !before.links_cut
        && !now.links_cut
        && since_change.is_none_or(|d| d >= SETTLE)
        && before.failures == now.failures
        && before.connected == now.connected
        && now.majority_connected()
}

/// How long the connections have been as they are, in words.
fn quiet_since(at: Duration, view: &View) -> String {
    match view.last_change {
        None => "with no failure injected".to_string(),
        Some(c) => format!("with no failure for {}", ms(at.saturating_sub(c))),
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// A running monitor; [`Monitor::stop`] ends it.
pub struct Monitor {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Figures>,
}

impl Monitor {
    /// Starts sampling the peers of `shared` on a thread of the calling
    /// test. A broken rule fails the test through its owner.
    pub(crate) fn start<R: Peer>(shared: Arc<Mutex<Shared<R>>>) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = thread::spawn("monitor", move || watch(&shared, &stopped));
        Monitor { stop, handle }
    }

    /// Stops sampling and keeps the figures for the result record. Waits
    /// for the thread at most a second (a `get_state` that never returns
    /// leaves it behind, and the runner names it).
    pub fn stop(self) -> Option<Figures> {
        self.stop.store(true, Ordering::SeqCst);
        let deadline = time::now() + Duration::from_secs(1);
        while !self.handle.is_finished() && time::now() < deadline {
            time::sleep(PERIOD);
        }
        if !self.handle.is_finished() {
            return None;
        }
        let figures = self.handle.join().ok()?;
        *LAST_FIGURES.lock() = Some(figures.clone());
        Some(figures)
    }
}

/// The monitor's loop: sample, check, until stopped or a rule breaks.
fn watch<R: Peer>(shared: &Mutex<Shared<R>>, stop: &AtomicBool) -> Figures {
    let cpu0 = thread_cpu();
    let t0 = time::now();
    // It only polls: its timed waits must not hide a deadlock of the run.
    labrpc::sched::set_watcher(true);
    let sampling = Sampling::current();
    let mut watch = Watch::default();
    watch.figures.sampling = sampling;
    let stalls = time::OversleepWatch::start();
    while !stop.load(Ordering::SeqCst) {
        let round = time::now();
        sampling.wait();
        let view = sample(shared, t0);
        // After the samples: a thread that overslept says so before it
        // acts, so a stall behind what the samples show is known by now.
        // The round's own lateness counts too (the monitor itself, or a
        // get_state held up).
        let late = round.elapsed().saturating_sub(PERIOD);
        if sampling.can_stall() && (late >= STALL || stalls.take() >= STALL) {
            watch.note_stall(t0.elapsed());
        }
        if let Err(broken) = watch.observe(t0.elapsed(), view) {
            labrpc::event!(None, "check", name = "monitor", ok = false);
            Owner::current().fail(format!("monitor: {broken}"));
            break;
        }
    }
    let mut figures = watch.figures();
    figures.cpu_ms = cpu0.zip(thread_cpu()).map(|(a, b)| (b - a) * 1000.0);
    figures
}

/// Samples every live peer, then reads the connections.
fn sample<R: Peer>(shared: &Mutex<Shared<R>>, t0: Instant) -> View {
    let rafts: Vec<Option<Arc<R>>> = shared.lock().rafts.clone();
    let states = rafts
        .iter()
        .map(|rf| rf.as_ref().map(|rf| rf.get_state()))
        .collect();
    let shared = shared.lock();
    View {
        states,
        instances: shared.instances.clone(),
        connected: shared.connected.clone(),
        links_cut: !shared.cut_links.is_empty(),
        last_change: shared.last_change.map(|c| c.saturating_duration_since(t0)),
        reliable: shared.reliable && !shared.duplicates,
        failures: shared.failures,
    }
}

/// CPU seconds the calling OS thread has used (Linux), None elsewhere.
fn thread_cpu() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(10);

    /// Rounds past [`CONFIRM`].
    const PAST_CONFIRM: usize = 70;

    fn view(states: &[(u64, bool)]) -> View {
        View {
            states: states.iter().map(|&s| Some(s)).collect(),
            instances: vec![1; states.len()],
            connected: vec![true; states.len()],
            links_cut: false,
            last_change: None,
            reliable: true,
            failures: 0,
        }
    }

    /// `first`, then `then` long enough to be judged.
    fn rounds(first: &View, then: &View) -> Vec<View> {
        let mut all = vec![first.clone()];
        all.extend(vec![then.clone(); PAST_CONFIRM]);
        all
    }

    /// Feeds `rounds` 5 ms apart from `start`; the first error.
    fn run(watch: &mut Watch, start: Duration, rounds: &[View]) -> Result<(), String> {
        for (k, v) in rounds.iter().enumerate() {
            watch.observe(start + PERIOD * k as u32, v.clone())?;
        }
        Ok(())
    }

    #[test]
    fn two_leaders_in_one_term_fail_at_once_even_while_disconnected() {
        let mut w = Watch::default();
        let mut second = view(&[(1, false), (1, true), (2, false)]);
        second.connected = vec![true, false, true];
        second.reliable = false;
        let first = view(&[(1, true), (1, false), (1, false)]);
        let err = run(&mut w, Duration::ZERO, &[first, second]).unwrap_err();
        assert!(err.contains("servers 0 and 1 both led term 1"), "{err}");
        // Leaders of different terms are fine (server 0 is cut off, so
        // the election of term 2 is legal too).
        let mut w = Watch::default();
        let mut cut_off = view(&[(1, true), (2, true), (2, false)]);
        cut_off.connected[0] = false;
        let first = view(&[(1, true), (1, false), (1, false)]);
        run(&mut w, Duration::ZERO, &rounds(&first, &cut_off)).unwrap();
        assert_eq!(w.figures().leaders_elected, 2);
    }

    #[test]
    fn a_leader_stepping_down_in_its_term_fails_once_confirmed() {
        let leading = view(&[(3, true), (3, false), (3, false)]);
        let down = view(&[(3, false), (3, false), (3, false)]);
        run(&mut Watch::default(), S, &[leading.clone(), down.clone()]).unwrap();
        let err = run(&mut Watch::default(), S, &rounds(&leading, &down)).unwrap_err();
        assert!(
            err.contains("leader 0 stopped leading within its own term 3"),
            "{err}"
        );
        // Half a step to a higher term, sampled in between: legal.
        let up = view(&[(4, false), (4, false), (4, false)]);
        let mut half = vec![leading, down];
        half.extend(vec![up; PAST_CONFIRM]);
        run(&mut Watch::default(), S, &half).unwrap();
    }

    #[test]
    fn a_step_down_is_legal_when_cut_off_or_just_after_a_failure_or_a_stall() {
        let leading = view(&[(3, true), (3, false), (3, false)]);
        let mut cut_off = view(&[(3, false), (3, false), (3, false)]);
        cut_off.connected[0] = false;
        cut_off.last_change = Some(S - SETTLE);
        run(&mut Watch::default(), S, &rounds(&leading, &cut_off)).unwrap();
        // Connected to a majority, but the connections changed 1 s ago.
        let mut recent = view(&[(3, false), (3, false), (3, false)]);
        let mut leading_recent = leading.clone();
        leading_recent.last_change = Some(S - SETTLE / 2);
        recent.last_change = Some(S - SETTLE / 2);
        run(&mut Watch::default(), S, &rounds(&leading_recent, &recent)).unwrap();
        // A stall just before, or reported just after.
        let down = view(&[(3, false), (3, false), (3, false)]);
        for stall in [S - Duration::from_millis(100), S + CONFIRM / 2] {
            let mut w = Watch::default();
            let mut all = rounds(&leading, &down);
            let split = (stall.saturating_sub(S).as_millis() / 5) as usize;
            let later = all.split_off(split.max(1));
            run(&mut w, S, &all).unwrap();
            w.note_stall(stall);
            run(&mut w, S + PERIOD * all.len() as u32, &later).unwrap();
            assert_eq!(w.figures().excused_by_stall, 1);
        }
    }

    #[test]
    fn an_election_while_a_connected_leader_is_in_place_fails() {
        let stable = view(&[(2, true), (2, false), (2, false)]);
        let election = view(&[(2, true), (2, false), (3, false)]);
        let err = run(&mut Watch::default(), S, &rounds(&stable, &election)).unwrap_err();
        assert!(
            err.contains("server 2 started an election for term 3")
                && err.contains("server 0 led term 2"),
            "{err}"
        );
        // The leader itself starting one (its own election timer ran).
        let itself = view(&[(3, false), (2, false), (2, false)]);
        let err = run(&mut Watch::default(), S, &rounds(&stable, &itself)).unwrap_err();
        assert!(
            err.contains("leader 0 of term 2 started an election"),
            "{err}"
        );
        // Two peers seen moving in one round: both named, no guess.
        let both = view(&[(3, false), (2, false), (3, false)]);
        let err = run(&mut Watch::default(), S, &rounds(&stable, &both)).unwrap_err();
        assert!(
            err.contains("an election for term 3 began")
                && err.contains("servers 0 and 2 left term 2")
                && err.contains("server 0 led term 2"),
            "{err}"
        );
        // Legal: no leader seen in that term, a disconnected leader, a
        // peer that just reconnected, a stall.
        let leaderless = view(&[(2, false), (2, false), (2, false)]);
        run(&mut Watch::default(), S, &rounds(&leaderless, &election)).unwrap();
        let mut away = stable.clone();
        away.connected[0] = false;
        let mut away_after = election.clone();
        away_after.connected[0] = false;
        run(&mut Watch::default(), S, &rounds(&away, &away_after)).unwrap();
        let mut back = election.clone();
        back.last_change = Some(S);
        run(&mut Watch::default(), S, &rounds(&stable, &back)).unwrap();
        let mut w = Watch::default();
        w.note_stall(S - Duration::from_millis(500));
        run(&mut w, S, &rounds(&stable, &election)).unwrap();
        assert_eq!(w.figures().excused_by_stall, 1);
        // A stale leader, back long ago but slow to hear of the newer
        // term, is not the leader in place.
        let mut w = Watch::default();
        let newer = view(&[(2, true), (1, false), (1, false)]);
        let stale = view(&[(2, true), (3, true), (3, false)]);
        let caught_up = view(&[(3, false), (3, true), (3, false)]);
        let mut cut_off = newer.clone();
        cut_off.connected[0] = false;
        run(&mut w, S, &[newer, cut_off]).unwrap();
        run(&mut w, S * 2, &rounds(&stale, &caught_up)).unwrap();
    }

    #[test]
    fn an_unreliable_network_or_a_restart_lifts_the_timing_rules() {
        let mut stable = view(&[(2, true), (2, false), (2, false)]);
        let mut election = view(&[(2, true), (2, false), (3, false)]);
        stable.reliable = false;
        election.reliable = false;
        run(&mut Watch::default(), S, &rounds(&stable, &election)).unwrap();
        stable.reliable = true;
        election.reliable = true;
        election.instances[2] = 2;
        run(&mut Watch::default(), S, &rounds(&stable, &election)).unwrap();
    }

    #[test]
    fn a_cut_link_lifts_the_timing_rules_but_not_election_safety() {
        let mut stable = view(&[(2, true), (2, false), (2, false)]);
        let mut election = view(&[(2, true), (2, false), (3, false)]);
        let judged = rounds(&stable, &election);
        assert!(run(&mut Watch::default(), S, &judged).is_err());
        stable.links_cut = true;
        election.links_cut = true;
        run(&mut Watch::default(), S, &rounds(&stable, &election)).unwrap();
        let mut two_leaders = view(&[(2, true), (2, true), (2, false)]);
        two_leaders.links_cut = true;
        let err = run(&mut Watch::default(), S, &[stable, two_leaders]).unwrap_err();
        assert!(err.contains("servers 0 and 1 both led term 2"), "{err}");
    }

    #[test]
    fn the_figures_line_says_what_was_counted() {
        let f = Figures {
            samples: 600,
            sampling: Sampling::EveryPeriod,
            leaders_elected: 3,
            highest_term: 4,
            failures_injected: 2,
            excused_by_stall: 0,
            cpu_ms: Some(12.3),
        };
        assert_eq!(
            f.line(),
            "  ... monitors: 3 elections won (1.0 per failure after the first), highest term 4, 2 failures injected, 0 excused by a stall; 600 samples every 5 ms, 12 ms CPU"
        );
        let virtual_time = Figures {
            sampling: Sampling::EveryClockAdvance,
            cpu_ms: None,
            ..f
        };
        assert_eq!(
            virtual_time.line(),
            "  ... monitors: 3 elections won (1.0 per failure after the first), highest term 4, 2 failures injected, 0 excused by a stall; 600 samples at every clock advance"
        );
    }
}
