//! Client ends: one caller's handle to one server, through the network.

use crate::network::Network;
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
        let request = labcodec::encode(args);
        let reply = self.net.0.deliver(&self.name, svc_meth, request)?;
        match labcodec::decode(&reply) {
            Ok(reply) => Some(reply),
            Err(err) => panic!("ClientEnd::call({svc_meth}): decode reply: {err}"),
        }
    }
}

impl std::fmt::Debug for ClientEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientEnd({:?})", self.name)
    }
}
