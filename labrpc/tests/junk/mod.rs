//! The Go lab's `JunkServer` fixture, shared by the labrpc tests.

use labrpc::sync::{Arc, Mutex};
use labrpc::time::{self, Duration};
use labrpc::{ClientEnd, Network, Server, Service};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct JunkArgs {
    pub x: i64,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct JunkReply {
    pub x: String,
}

/// What the junk server's handlers have seen.
#[derive(Default)]
pub struct JunkServer {
    pub log1: Mutex<Vec<String>>,
    pub log2: Mutex<Vec<i64>>,
}

impl JunkServer {
    /// The `JunkServer` service with Handler1..Handler7 as in Go's tests.
    pub fn service(self: &Arc<Self>) -> Service {
        let mut svc = Service::new("JunkServer");
        let js = self.clone();
        svc.register("Handler1", move |arg: String| -> i64 {
            js.log1.lock().push(arg.clone());
            arg.parse().unwrap_or(0)
        });
        let js = self.clone();
        svc.register("Handler2", move |arg: i64| -> String {
            js.log2.lock().push(arg);
            format!("handler2-{arg}")
        });
        let js = self.clone();
        svc.register("Handler3", move |arg: i64| -> i64 {
            let _held = js.log2.lock();
            time::sleep(Duration::from_secs(20));
            -arg
        });
        svc.register("Handler4", |_: JunkArgs| JunkReply {
            x: "pointer".into(),
        });
        svc.register("Handler5", |_: JunkArgs| JunkReply {
            x: "no pointer".into(),
        });
        svc.register("Handler6", |arg: String| -> i64 { arg.len() as i64 });
        svc.register("Handler7", |arg: i64| -> String {
            "y".repeat(arg as usize)
        });
        svc
    }
}

/// Adds a junk server called `name` to `net`.
pub fn serve_junk(net: &Network, name: impl ToString) -> Arc<JunkServer> {
    let js = Arc::new(JunkServer::default());
    let srv = Server::new();
    srv.add_service(js.service());
    net.add_server(name, srv);
    js
}

/// A new enabled end called `end`, connected to the server `server`.
pub fn end_to(net: &Network, end: &str, server: impl ToString) -> ClientEnd {
    let e = net.make_end(end);
    net.connect(end, server);
    net.enable(end, true);
    e
}
