//! The simulated network: ends, servers, connections, and the delivery
//! rules of the Go lab's `labrpc`.
//!
//! A request is sent by [`ClientEnd::call`](crate::ClientEnd::call), and its
//! whole journey (delay, drop, handler, reply drop, reordering delay) runs on
//! the caller's thread, which is blocked for the call anyway; the handler
//! runs on a thread of its own. Every rule below is
//! one the Go lab's network applies, with the same numbers.
//!
//! This module must never hold its lock across a sleep or a handler, and
//! never wait without also watching for [`Network::cleanup`]: after cleanup
//! every call fails at once and every thread the network started ends.

use crate::chan::{self, RecvTimeoutError};
use crate::rand;
use crate::service::Server;
use crate::sync::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How often a caller waiting for a handler checks that its server is
/// still there and its end still enabled.
pub const DEAD_CHECK_PERIOD: Duration = Duration::from_millis(100);

/// With duplicates on, one delivered request in this many is delivered
/// again ([`Network::set_duplicates`]).
pub const DUPLICATE_ONE_IN: u64 = 4;

/// With duplicates on, a copy arrives up to this long after its request.
pub const DUPLICATE_DELAY: Duration = Duration::from_millis(1000);

/// An in-process network of named client ends and named servers.
///
/// Cloning gives another handle to the same network.
#[derive(Clone)]
pub struct Network(pub(crate) Arc<NetState>);

pub(crate) struct NetState {
    tables: Mutex<Tables>,
    /// Dropped by [`Network::cleanup`]; every timed wait of the network
    /// watches `stopped`, which answers at once after that.
    stop: Mutex<Option<chan::Sender<()>>>,
    stopped: chan::Receiver<()>,
    count: AtomicUsize,
    bytes: AtomicU64,
    /// The next request's number in the event log: per network, so that
    /// a test numbers its RPCs alike whether it runs alone or after others.
    next_rpc_id: AtomicU64,
}

struct Tables {
    reliable: bool,
    long_delays: bool,
    long_reordering: bool,
    duplicates: bool,
    /// Every end by name, and whether it is enabled.
    enabled: HashMap<String, bool>,
    /// The server name each end is connected to.
    connections: HashMap<String, Option<String>>,
    /// Servers by name; `None` once deleted.
    servers: HashMap<String, Option<Server>>,
}

impl Tables {
    /// True if `server_name` still names `server` (the same object, not
    /// just the same name): it was neither deleted nor replaced.
    fn serves(&self, server_name: &str, server: &Server) -> bool {
        matches!(self.servers.get(server_name), Some(Some(s)) if Server::same(s, server))
    }
}

/// What a request saw of the network when it started (Go samples these
/// once per request).
pub(crate) struct Route {
    server: Option<(String, Server)>,
    reliable: bool,
    long_reordering: bool,
    duplicates: bool,
}

impl Default for Network {
    fn default() -> Self {
        Network::new()
    }
}

impl Network {
    /// A reliable network with no ends and no servers.
    pub fn new() -> Network {
        let (stop, stopped) = chan::bounded(0);
        Network(Arc::new(NetState {
            tables: Mutex::new(Tables {
                reliable: true,
                long_delays: false,
                long_reordering: false,
                duplicates: false,
                enabled: HashMap::new(),
                connections: HashMap::new(),
                servers: HashMap::new(),
            }),
            stop: Mutex::new(Some(stop)),
            stopped,
            count: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            next_rpc_id: AtomicU64::new(1),
        }))
    }

    /// Unreliable (`false`): requests and replies are delayed a little and
    /// each dropped with probability 1/10.
    pub fn set_reliable(&self, yes: bool) {
        self.0.tables.lock().reliable = yes;
    }

    /// Requests to a disabled end or a missing server fail after up to 7 s
    /// instead of up to 100 ms.
    pub fn set_long_delays(&self, yes: bool) {
        self.0.tables.lock().long_delays = yes;
    }

    /// Two replies in three are held back 200 ms to 2.2 s.
    pub fn set_long_reordering(&self, yes: bool) {
        self.0.tables.lock().long_reordering = yes;
    }

    /// Ours, not Go's: one delivered request in [`DUPLICATE_ONE_IN`] is
    /// delivered to its server again, up to [`DUPLICATE_DELAY`] later, and
    /// the copy's reply is thrown away. Raft must stay safe through
    /// duplicated and reordered messages (the paper's §2 lists "packet
    /// loss, duplication, and reordering"); Go's network never duplicates
    /// one.
    pub fn set_duplicates(&self, yes: bool) {
        self.0.tables.lock().duplicates = yes;
    }

    /// A new client end called `name`, disabled and unconnected.
    ///
    /// # Panics
    /// If an end with that name exists already.
    pub fn make_end(&self, name: impl Into<String>) -> crate::ClientEnd {
        let name = name.into();
        let mut tables = self.0.tables.lock();
        if tables.enabled.contains_key(&name) {
            panic!("MakeEnd: {name} already exists");
        }
        tables.enabled.insert(name.clone(), false);
        tables.connections.insert(name.clone(), None);
        crate::ClientEnd::new(name, self.clone())
    }

    /// Makes `server` reachable as `name`, replacing any server of that name
    /// (calls in progress to the old one then fail).
    pub fn add_server(&self, name: impl ToString, server: Server) {
        self.0
            .tables
            .lock()
            .servers
            .insert(name.to_string(), Some(server));
    }

    /// Removes the server called `name`: calls in progress to it fail
    /// within [`DEAD_CHECK_PERIOD`], new ones fail as if disconnected.
    pub fn delete_server(&self, name: impl ToString) {
        self.0.tables.lock().servers.insert(name.to_string(), None);
    }

    /// Connects the end `end` to the server called `server`.
    pub fn connect(&self, end: &str, server: impl ToString) {
        self.0
            .tables
            .lock()
            .connections
            .insert(end.to_string(), Some(server.to_string()));
    }

    /// Enables or disables the end `end`.
    pub fn enable(&self, end: &str, enabled: bool) {
        self.0
            .tables
            .lock()
            .enabled
            .insert(end.to_string(), enabled);
    }

    /// Requests that reached the server called `server` (Go's `GetCount`).
    ///
    /// # Panics
    /// If there is no such server (never added, deleted, or the network
    /// was cleaned up).
    pub fn count(&self, server: impl ToString) -> usize {
        let server = server.to_string();
        match self.0.tables.lock().servers.get(&server) {
            Some(Some(s)) => s.count(),
            _ => panic!("labrpc::Network::count(): no server {server}"),
        }
    }

    /// Requests sent on the network, whatever became of them.
    pub fn total_count(&self) -> usize {
        self.0.count.load(Ordering::SeqCst)
    }

    /// Bytes of every request sent, plus bytes of every reply delivered.
    pub fn total_bytes(&self) -> u64 {
        self.0.bytes.load(Ordering::SeqCst)
    }

    /// Shuts the network down: every call in progress and every later call
    /// fails at once, and every thread the network started ends (handlers
    /// that are running end when they return). Servers are dropped, which
    /// breaks the cycle between a Raft and the ends it holds. Idempotent.
    pub fn cleanup(&self) {
        self.0.stop.lock().take();
        self.0.tables.lock().servers.clear();
    }

    /// True once [`Network::cleanup`] has run.
    pub fn is_cleaned_up(&self) -> bool {
        self.0.stop.lock().is_none()
    }
}

impl NetState {
    /// Puts one encoded request from `end` on the network: counts it and
    /// fixes its route, on the calling thread, and returns it to be
    /// carried by [`NetState::carry`]. `None` if the network was cleaned
    /// up (nothing is counted then).
    pub(crate) fn send(&self, end: &str, bytes: usize) -> Option<(u64, Route)> {
        if self.stop.lock().is_none() {
            return None;
        }
        let route = self.count_and_route(end, bytes);
        Some((self.next_rpc_id.fetch_add(1, Ordering::Relaxed), route))
    }

    /// Carries a request [`NetState::send`] put on the network and returns
    /// the encoded reply, or `None` where Go's `Call` returns false.
    pub(crate) fn carry(
        self: &Arc<Self>,
        (id, route): (u64, Route),
        end: &str,
        svc_meth: &str,
        args: Vec<u8>,
    ) -> Option<Vec<u8>> {
        crate::event!(
            None,
            "rpc_send",
            id = id,
            end = end,
            server = route.server.as_ref().map(|(name, _)| name.as_str()),
            method = svc_meth,
            bytes = args.len()
        );
        let reply = self.travel(id, end, svc_meth, args, route);
        match &reply {
            Ok(bytes) => crate::event!(None, "rpc_reply", id = id, bytes = bytes.len()),
            Err(reason) => crate::event!(None, "rpc_fail", id = id, reason = *reason),
        }
        reply.ok()
    }

    /// The journey of one request after it was counted: the reply, or why
    /// the call fails.
    fn travel(
        self: &Arc<Self>,
        id: u64,
        end: &str,
        svc_meth: &str,
        args: Vec<u8>,
        route: Route,
    ) -> Result<Vec<u8>, &'static str> {
        let Some((server_name, server)) = route.server else {
            // Disabled, unconnected or no server: never delivered; fail
            // after a delay that depends on long delays at this moment.
            let max = if self.tables.lock().long_delays {
                7000
            } else {
                100
            };
            self.pause(rand::millis(0..max));
            return Err("unreachable");
        };

        if !route.reliable {
            // A short delay, then the request is lost one time in ten.
            if !self.pause(rand::millis(0..27)) {
                return Err("cleanup");
            }
            if rand::chance(100, 1000) {
                return Err("request lost");
            }
        }

        if route.duplicates && rand::chance(1, DUPLICATE_ONE_IN) {
            self.deliver_copy_later(id, &server_name, &server, svc_meth, &args);
        }
        let reply = self.run_handler(end, &server_name, &server, svc_meth, args)?;

        if !route.reliable && rand::chance(100, 1000) {
            return Err("reply lost");
        }
        if route.long_reordering && rand::chance(600, 900) {
            // Held back 200 ms plus a draw that favours short delays.
            let extra = rand::below(0..1 + rand::below(0..2000));
            crate::event!(None, "rpc_delay", id = id, ms = 200 + extra);
            if !self.pause(Duration::from_millis(200 + extra)) {
                return Err("cleanup");
            }
        }
        self.bytes.fetch_add(reply.len() as u64, Ordering::SeqCst);
        Ok(reply)
    }

    /// Counts a request of `bytes` bytes from `end` (before anything can
    /// fail, as Go's dispatcher does) and samples what it sees now. Both
    /// happen under the tables' lock, so once [`Network::total_count`]
    /// shows a request, its route is fixed: a test can wait for the count
    /// instead of sleeping before it changes the network.
    fn count_and_route(&self, end: &str, bytes: usize) -> Route {
        let tables = self.tables.lock();
        self.count.fetch_add(1, Ordering::SeqCst);
        self.bytes.fetch_add(bytes as u64, Ordering::SeqCst);
        let enabled = tables.enabled.get(end).copied().unwrap_or(false);
        let server = match tables.connections.get(end) {
            Some(Some(name)) if enabled => match tables.servers.get(name) {
                Some(Some(server)) => Some((name.clone(), server.clone())),
                _ => None,
            },
            _ => None,
        };
        Route {
            server,
            reliable: tables.reliable,
            long_reordering: tables.long_reordering,
            duplicates: tables.duplicates,
        }
    }

    /// Delivers a copy of request `id` to `server` up to
    /// [`DUPLICATE_DELAY`] from now, on a thread of its own, if `server`
    /// is still the one named `server_name` then (a crashed server gets no
    /// copy; a disabled end does not stop one already in the network, as
    /// it does not stop a request). The copy's reply is thrown away.
    fn deliver_copy_later(
        self: &Arc<Self>,
        id: u64,
        server_name: &str,
        server: &Server,
        svc_meth: &str,
        args: &[u8],
    ) {
        let delay = rand::millis(0..DUPLICATE_DELAY.as_millis() as u64 + 1);
        crate::event!(
            None,
            "rpc_duplicate",
            id = id,
            ms = delay.as_millis() as u64
        );
        let net = self.clone();
        let (server_name, server) = (server_name.to_string(), server.clone());
        let (svc_meth, args) = (svc_meth.to_string(), args.to_vec());
        crate::thread::spawn("labrpc-duplicate", move || {
            if !net.pause(delay) {
                return;
            }
            if net.tables.lock().serves(&server_name, &server) {
                let _ = server.dispatch(&svc_meth, &args);
            }
        });
    }

    /// Runs the handler on its own thread and waits for it, giving up when
    /// the server is deleted or replaced, the end disabled, or the network
    /// cleaned up. A reply is returned only if the server is still alive
    /// after the handler returned, so that a killed server never
    /// acknowledges anything.
    fn run_handler(
        &self,
        end: &str,
        server_name: &str,
        server: &Server,
        svc_meth: &str,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, &'static str> {
        let (done, result) = chan::bounded(1);
        let handler_server = server.clone();
        let svc_meth_owned = svc_meth.to_string();
        crate::thread::spawn("labrpc-handler", move || {
            let reply = handler_server.dispatch(&svc_meth_owned, &args);
            let _ = done.send(reply);
        });
        let reply = loop {
            match result.recv_timeout(DEAD_CHECK_PERIOD) {
                Ok(reply) => break Ok(reply),
                // The handler panicked; its owner has the message.
                Err(RecvTimeoutError::Disconnected) => break Err("handler panicked"),
                Err(RecvTimeoutError::Timeout) => {
                    if self.stop.lock().is_none() {
                        break Err("cleanup");
                    }
                    if self.server_dead(end, server_name, server) {
                        break Err("server dead");
                    }
                }
            }
        };
        if self.server_dead(end, server_name, server) {
            return Err("server dead");
        }
        reply
    }

    /// True when `end` is disabled or `server_name` no longer names
    /// `server` (the same object, not just the same name).
    fn server_dead(&self, end: &str, server_name: &str, server: &Server) -> bool {
        let tables = self.tables.lock();
        let enabled = tables.enabled.get(end).copied().unwrap_or(false);
        !enabled || !tables.serves(server_name, server)
    }

    /// Waits for `d`; false if the network was cleaned up meanwhile.
    fn pause(&self, d: Duration) -> bool {
        matches!(self.stopped.recv_timeout(d), Err(RecvTimeoutError::Timeout))
    }
}
