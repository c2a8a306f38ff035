//! An in-process simulated network with the semantics of the Go lab's
//! `labrpc` (MIT 6.5840, 2023), and the layer through which the network,
//! the harness and the Raft reach time, threads, locks, channels and
//! randomness.
//!
//! # The network
//! A [`Network`] joins named [`ClientEnd`]s to named [`Server`]s. A server
//! holds [`Service`]s, a service holds typed handlers by method name, and
//! [`ClientEnd::call`] sends encoded arguments (see `labcodec`) and waits
//! for the encoded reply. The network can lose requests and replies, delay
//! them, reorder replies, cut ends off and replace servers, exactly as the
//! Go lab's network does, with the same numbers:
//!
//! | situation | what happens |
//! |---|---|
//! | end enabled, server present, unreliable | 0-26 ms delay, then the request is lost with probability 1/10 |
//! | handler running | the caller checks every 100 ms that the end is enabled and the server the same object; if not, the call fails |
//! | handler returned | one more check: a deleted or replaced server never delivers a reply |
//! | unreliable | the reply is lost with probability 1/10 |
//! | long reordering | with probability 2/3 the reply waits 200 ms + uniform(0..=uniform(0..2000)) ms |
//! | duplicates (ours, [`Network::set_duplicates`]; off unless a test asks) | one delivered request in 4 is delivered again 0-1000 ms later; the copy's reply is thrown away |
//! | end disabled or no server | the call fails after 0-6999 ms (long delays) or 0-99 ms |
//! | after [`Network::cleanup`] | every call fails at once; every network thread ends |
//!
//! Counters: [`Network::total_count`] and the request half of
//! [`Network::total_bytes`] grow when a request is sent, whatever becomes of
//! it; reply bytes are added when a reply is delivered; a server's
//! [`Network::count`] grows when a request reaches its dispatch, even if the
//! reply is then thrown away.
//!
//! # Go names and ours
//! | Go (`labrpc.go`) | Rust |
//! |---|---|
//! | `MakeNetwork()` | [`Network::new`] |
//! | `net.Reliable(b)` | [`Network::set_reliable`] |
//! | `net.LongDelays(b)` | [`Network::set_long_delays`] |
//! | `net.LongReordering(b)` | [`Network::set_long_reordering`] |
//! | `net.MakeEnd(name)` | [`Network::make_end`] |
//! | `net.AddServer(name, srv)` | [`Network::add_server`] |
//! | `net.DeleteServer(name)` | [`Network::delete_server`] |
//! | `net.Connect(end, server)` | [`Network::connect`] |
//! | `net.Enable(end, b)` | [`Network::enable`] |
//! | `net.GetCount(server)` | [`Network::count`] |
//! | `net.GetTotalCount()` | [`Network::total_count`] |
//! | `net.GetTotalBytes()` | [`Network::total_bytes`] |
//! | `net.Cleanup()` | [`Network::cleanup`] |
//! | `MakeServer()` / `srv.AddService(svc)` / `srv.GetCount()` | [`Server::new`] / [`Server::add_service`] / [`Server::count`] |
//! | `MakeService(rcvr)` | [`Service::new`] + [`Service::register`] per method |
//! | `end.Call("Svc.Meth", &args, &reply) bool` | [`ClientEnd::call`]`::<Args, Reply>("Svc.Meth", &args) -> Option<Reply>` |
//!
//! # The layer
//! [`time`], [`thread`], [`sync`], [`chan`] and [`rand`] are the only doors
//! to clocks, sleeping, threads, locks, channels and random draws for the
//! network, the harness and the Raft. Today they wrap std, parking_lot,
//! crossbeam-channel and rand, seeded from `LAB_SEED`; a deterministic
//! virtual-time scheduler will later slot in behind them without changing
//! any caller. `clippy.toml` forbids the raw APIs everywhere else.
//!
//! | Go | the layer |
//! |---|---|
//! | `time.Sleep`, `time.Now` | [`time::sleep`], [`time::now`] |
//! | `go f()` | [`thread::spawn`] (named) |
//! | `sync.Mutex`, `sync.RWMutex`, `sync.Cond` | [`sync::Mutex`], [`sync::RwLock`], [`sync::Condvar`] |
//! | `make(chan T)`, `make(chan T, n)` | [`chan::bounded`]`(0)`, [`chan::bounded`]`(n)` ([`chan::unbounded`] too) |
//! | `select { case ...; case <-time.After(d): }` | [`chan::Select`] with [`chan::Select::select_timeout`] |
//! | `rand.Intn` | [`rand::below`], [`rand::millis`] |
//!
//! This crate must never let a caller wait forever on the network itself
//! (only on a handler that never returns, as in Go), never hold its lock
//! across a sleep or a handler, and never swallow a panic.

mod affinity;
pub mod chan;
mod end;
pub mod event;
mod fiber;
pub mod foreign;
mod network;
pub mod rand;
pub mod sched;
mod service;
pub mod sync;
pub mod thread;
pub mod time;
mod workers;

pub use end::{ClientEnd, Sent};
pub use network::{DEAD_CHECK_PERIOD, DUPLICATE_DELAY, DUPLICATE_ONE_IN, Network};
pub use service::{Server, Service};
