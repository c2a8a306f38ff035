//! Joining the network's RPC events into calls between peers.
//!
//! For: pairing each `rpc_send` with its `rpc_reply` / `rpc_fail` /
//! `rpc_delay` (and the network's late copies, `rpc_duplicate`) by `id`, and naming the sender and the receiver peer through
//! the `end_created {end, from, to}` events (falling back to the send's
//! `server` name, which is the receiver's index as text).
//!
//! Must never: invent a peer it cannot find (an RPC whose ends are unknown
//! keeps `None`), or treat an RPC without an outcome as failed.

use crate::event::Event;
use std::collections::HashMap;

/// How an RPC ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcOutcome {
    /// The reply reached the caller.
    Replied,
    /// The call failed, with the network's reason (`unreachable`,
    /// `request lost`, `reply lost`, `server dead`, `cleanup`, ...).
    Failed(String),
    /// The log ends before the RPC does.
    Pending,
}

/// One RPC, from its `rpc_send` to its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Rpc {
    /// The network's id of the call.
    pub id: u64,
    /// The index of the `rpc_send` event.
    pub send_index: usize,
    /// The index of the `rpc_reply` / `rpc_fail` event.
    pub end_index: Option<usize>,
    /// When it was sent (ms).
    pub t_send: f64,
    /// When it replied or failed (ms).
    pub t_end: Option<f64>,
    /// The calling peer.
    pub from: Option<usize>,
    /// The called peer.
    pub to: Option<usize>,
    /// The client end's name.
    pub end: String,
    /// `Raft.AppendEntries` and the like.
    pub method: String,
    /// Request size in bytes.
    pub bytes: Option<u64>,
    /// Reply size in bytes.
    pub reply_bytes: Option<u64>,
    /// How it ended.
    pub outcome: RpcOutcome,
    /// Extra delay of the reply (ms) under long reordering.
    pub delay_ms: Option<f64>,
}

impl Rpc {
    /// The method without its service: `AppendEntries`.
    pub fn short_method(&self) -> &str {
        self.method.rsplit('.').next().unwrap_or(&self.method)
    }

    /// True when the call failed.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, RpcOutcome::Failed(_))
    }

    /// The failure reason, if it failed.
    pub fn reason(&self) -> Option<&str> {
        match &self.outcome {
            RpcOutcome::Failed(r) => Some(r),
            _ => None,
        }
    }
}

/// The RPCs of a slice of events.
#[derive(Clone, Debug, Default)]
pub struct Rpcs {
    /// In order of sending.
    pub list: Vec<Rpc>,
    by_event: HashMap<usize, usize>,
}

impl Rpcs {
    /// Joins the RPC events of `events` (one test, or a whole file).
    pub fn build(events: &[Event]) -> Rpcs {
        let mut ends: HashMap<String, (Option<usize>, Option<usize>)> = HashMap::new();
        let mut open: HashMap<u64, usize> = HashMap::new();
        let mut rpcs = Rpcs::default();
        for (i, e) in events.iter().enumerate() {
            match e.kind.as_str() {
                "end_created" => {
                    if let Some(end) = e.str("end") {
                        let from = e.u64("from").map(|p| p as usize).or(e.peer);
                        let to = e.u64("to").map(|p| p as usize);
                        ends.insert(end.to_string(), (from, to));
                    }
                }
                "rpc_send" => {
                    let Some(id) = e.u64("id") else { continue };
                    let end = e.str("end").unwrap_or("").to_string();
                    let (end_from, end_to) = ends.get(&end).copied().unwrap_or((None, None));
                    let from = e
                        .peer
                        .or_else(|| e.u64("from").map(|p| p as usize))
                        .or(end_from);
                    let to = e
                        .u64("to")
                        .map(|p| p as usize)
                        .or(end_to)
                        .or_else(|| e.str("server").and_then(|s| s.parse().ok()));
                    open.insert(id, rpcs.list.len());
                    rpcs.by_event.insert(i, rpcs.list.len());
                    rpcs.list.push(Rpc {
                        id,
                        send_index: i,
                        end_index: None,
                        t_send: e.t,
                        t_end: None,
                        from,
                        to,
                        end,
                        method: e.str("method").unwrap_or("?").to_string(),
                        bytes: e.u64("bytes"),
                        reply_bytes: None,
                        outcome: RpcOutcome::Pending,
                        delay_ms: None,
                    });
                }
                "rpc_reply" | "rpc_fail" | "rpc_delay" | "rpc_duplicate" => {
                    let Some(&k) = e.u64("id").and_then(|id| open.get(&id)) else {
                        continue;
                    };
                    rpcs.by_event.insert(i, k);
                    let rpc = &mut rpcs.list[k];
                    match e.kind.as_str() {
                        "rpc_delay" => rpc.delay_ms = e.f64("ms"),
                        // A late copy (the network's duplicates): the call
                        // itself goes on.
                        "rpc_duplicate" => {}
                        "rpc_reply" => {
                            rpc.reply_bytes = e.u64("bytes");
                            rpc.outcome = RpcOutcome::Replied;
                            rpc.t_end = Some(e.t);
                            rpc.end_index = Some(i);
                        }
                        _ => {
                            let reason = e.str("reason").unwrap_or("failed");
                            rpc.outcome = RpcOutcome::Failed(reason.to_string());
                            rpc.t_end = Some(e.t);
                            rpc.end_index = Some(i);
                        }
                    }
                }
                "test_begin" => {
                    // A new test makes new ends; ids keep counting.
                    ends.clear();
                }
                _ => {}
            }
        }
        rpcs
    }

    /// The RPC an event belongs to, if it is an `rpc_*` event.
    pub fn of_event(&self, index: usize) -> Option<&Rpc> {
        self.by_event.get(&index).map(|&k| &self.list[k])
    }

    /// The (sender, receiver) of the event at `index`: an RPC event's
    /// peers, else `(event.peer, None)`.
    pub fn peers_of(&self, index: usize, event: &Event) -> (Option<usize>, Option<usize>) {
        match self.of_event(index) {
            Some(rpc) => (rpc.from, rpc.to),
            None => (event.peer, None),
        }
    }
}
