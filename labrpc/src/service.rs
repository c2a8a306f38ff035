//! Servers and services: how a request finds its handler.
//!
//! A [`Server`] holds [`Service`]s by name; a service holds typed handlers
//! by method name. A request names `"Service.Method"` (split at the last
//! dot, as Go does). An unknown service or method is a bug in the caller:
//! it panics with what was asked for and what exists, which fails the test
//! that owns the network (Go's lab stops the whole process).

use crate::sync::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

type Handler = Box<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// A named set of RPC handlers, such as `"Raft"` with `RequestVote` and
/// `AppendEntries`.
pub struct Service {
    name: String,
    methods: BTreeMap<String, Handler>,
}

impl Service {
    /// A service called `name` with no methods yet.
    pub fn new(name: impl Into<String>) -> Service {
        Service {
            name: name.into(),
            methods: BTreeMap::new(),
        }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Registers `handler` as `method`: it receives the decoded arguments
    /// and returns the reply, which is encoded back to the caller.
    pub fn register<A, R, F>(&mut self, method: impl Into<String>, handler: F) -> &mut Self
    where
        A: DeserializeOwned,
        R: Serialize,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let method = method.into();
        let full = format!("{}.{}", self.name, method);
        self.methods.insert(
            method,
            Box::new(move |bytes| match labcodec::decode::<A>(bytes) {
                Ok(args) => labcodec::encode(&handler(args)),
                Err(err) => panic!("labrpc: {full}: bad arguments: {err}"),
            }),
        );
        self
    }

    fn dispatch(&self, method: &str, svc_meth: &str, args: &[u8]) -> Vec<u8> {
        match self.methods.get(method) {
            Some(handler) => handler(args),
            None => panic!(
                "labrpc::Service::dispatch(): unknown method {method} in {svc_meth}; expecting one of {:?}",
                self.methods.keys().collect::<Vec<_>>()
            ),
        }
    }
}

/// A collection of services reachable under one server name, with a count
/// of the requests that reached it.
#[derive(Clone, Default)]
pub struct Server(Arc<ServerState>);

#[derive(Default)]
struct ServerState {
    services: Mutex<BTreeMap<String, Arc<Service>>>,
    count: AtomicUsize,
}

impl Server {
    /// A server with no services.
    pub fn new() -> Server {
        Server::default()
    }

    /// Adds (or replaces) a service, keyed by its name.
    pub fn add_service(&self, service: Service) {
        self.0
            .services
            .lock()
            .insert(service.name.clone(), Arc::new(service));
    }

    /// Requests that reached this server's dispatch (Go's `GetCount`).
    pub fn count(&self) -> usize {
        self.0.count.load(Ordering::SeqCst)
    }

    /// True when `a` and `b` are the same server object.
    pub(crate) fn same(a: &Server, b: &Server) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// Counts the request, finds its service and runs the handler.
    pub(crate) fn dispatch(&self, svc_meth: &str, args: &[u8]) -> Vec<u8> {
        let (service_name, method) = svc_meth.rsplit_once('.').unwrap_or(("", svc_meth));
        let service = {
            let services = self.0.services.lock();
            self.0.count.fetch_add(1, Ordering::SeqCst);
            match services.get(service_name) {
                Some(service) => service.clone(),
                None => panic!(
                    "labrpc::Server::dispatch(): unknown service {service_name} in {svc_meth}; expecting one of {:?}",
                    services.keys().collect::<Vec<_>>()
                ),
            }
        };
        service.dispatch(method, svc_meth, args)
    }
}
