//! Client ends: one caller's handle to one server, through the network.

use crate::network::{Network, Route};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A named end from which RPCs are sent to whatever server the network
/// connects it to. Cheap to clone; safe to share between threads.
#[derive(Clone)]
pub struct ClientEnd {
    name: Arc<str>,
    net: Network,
}

impl ClientEnd {
    pub(crate) fn new(name: String, net: Network) -> ClientEnd {
        ClientEnd {
            name: name.into(),
            net,
        }
    }

    /// The end's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `args` to the method `svc_meth` (`"Service.Method"`) of the
    /// server this end is connected to, and waits for the reply.
    ///
    /// Returns `None` where Go's `Call` returns false: the request or the
    /// reply was lost, the end is disabled, the server is gone, or the
    /// network was cleaned up. Like Go's, the call has no timeout of its
    /// own: a handler that never returns on a live server blocks it.
    ///
    /// # Panics
    /// If the reply does not decode as `R` (the caller and the handler
    /// disagree on the reply type).
    pub fn call<A, R>(&self, svc_meth: &str, args: &A) -> Option<R>
    where
        A: Serialize,
        R: DeserializeOwned,
    {
        self.send(svc_meth, args).wait()
    }

    /// The first half of [`ClientEnd::call`]: puts the request on the
    /// network (the network counts it and fixes its route) on the calling
    /// thread, without waiting for anything, and returns the call to
    /// [`Sent::wait`] on. A caller that must not send once some flag of its
    /// own is set (a killed peer) can check the flag and send under one
    /// lock, then wait without it.
    pub fn send<A: Serialize>(&self, svc_meth: &str, args: &A) -> Sent {
        let request = labcodec::encode(args);
        Sent {
            ticket: self.net.0.send(&self.name, request.len()),
            end: self.clone(),
            svc_meth: svc_meth.to_string(),
            request,
        }
    }
}

/// A request already counted by the network, whose reply is still to come
/// (see [`ClientEnd::send`]).
#[must_use = "a sent call does nothing more until it is waited on"]
pub struct Sent {
    ticket: Option<(u64, Route)>,
    end: ClientEnd,
    svc_meth: String,
    request: Vec<u8>,
}

impl Sent {
    /// Carries the request and waits for the reply: the second half of
    /// [`ClientEnd::call`], with the same `None` and panics.
    pub fn wait<R: DeserializeOwned>(self) -> Option<R> {
        let reply =
            self.end
                .net
                .0
                .carry(self.ticket?, &self.end.name, &self.svc_meth, self.request)?;
        match labcodec::decode(&reply) {
            Ok(reply) => Some(reply),
            Err(err) => panic!("ClientEnd::call({}): decode reply: {err}", self.svc_meth),
        }
    }
}

impl std::fmt::Debug for ClientEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientEnd({:?})", self.name)
    }
}
