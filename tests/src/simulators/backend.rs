//! Parts shared by the back-end simulators (Maintstar, ViewPermit): the
//! failures a test schedules, the log of requests received, and the loopback
//! server that runs an axum router until the simulator is dropped.

use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;

/// A failure that a simulator injects instead of, or after, an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Responds 500 without running the operation.
    InternalError,
    /// Responds 503 with `Retry-After: 1` without running the operation.
    Unavailable,
    /// Responds 429 with `Retry-After: 1` without running the operation.
    RateLimited,
    /// Waits this long, then responds 503 without running the operation, so
    /// that a client with a shorter timeout gives up first.
    Hang(Duration),
    /// Responds 400 with this validation message in the vendor's error format,
    /// without running the operation.
    Invalid(String),
    /// Runs the operation and keeps what it stored, then closes the
    /// connection without sending any response.
    LoseResponse,
}

struct ScheduledFault<Op> {
    /// The operation the fault applies to; `None` applies to every operation.
    operation: Option<Op>,
    fault: Fault,
    remaining: u32,
}

/// Faults waiting for the next matching requests, first scheduled first.
pub struct FaultSchedule<Op> {
    entries: Mutex<Vec<ScheduledFault<Op>>>,
}

impl<Op: Copy + PartialEq> Default for FaultSchedule<Op> {
    fn default() -> FaultSchedule<Op> {
        FaultSchedule { entries: Mutex::new(Vec::new()) }
    }
}

impl<Op: Copy + PartialEq> FaultSchedule<Op> {
    /// Schedules `fault` for the next `count` requests of `operation`, or of
    /// any operation when `operation` is `None`.
    pub fn schedule(&self, operation: Option<Op>, count: u32, fault: Fault) {
        if count == 0 {
            return;
        }
        let mut entries = self.entries.lock().expect("fault schedule lock");
        entries.push(ScheduledFault { operation, fault, remaining: count });
    }

    /// Takes the fault that applies to one request of `operation`, if any.
    pub fn take(&self, operation: Op) -> Option<Fault> {
        let mut entries = self.entries.lock().expect("fault schedule lock");
        let index = entries
            .iter()
            .position(|entry| entry.operation.is_none_or(|scheduled| scheduled == operation))?;

        let entry = &mut entries[index];
        let fault = entry.fault.clone();
        entry.remaining -= 1;
        if entry.remaining == 0 {
            entries.remove(index);
        }
        Some(fault)
    }

    /// Removes every scheduled fault.
    pub fn clear(&self) {
        self.entries.lock().expect("fault schedule lock").clear();
    }
}

/// One request as a simulator received it, before authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: Option<String>,
}

/// Closes the connection of the request being handled without a response.
///
/// axum's `serve` runs each connection in its own task, so unwinding out of
/// the handler ends that task and drops its socket, and the client sees the
/// connection close before any response. `resume_unwind` skips the panic
/// hook, so nothing is printed.
pub fn drop_connection() -> ! {
    std::panic::resume_unwind(Box::new("simulated lost response"))
}

/// Waits for `duration`, for [`Fault::Hang`].
pub async fn hang(duration: Duration) {
    tokio::time::sleep(duration).await;
}

/// An axum router served on a loopback port until [`LoopbackServer`] is dropped.
pub struct LoopbackServer {
    /// Base URL such as `http://127.0.0.1:41234`, without a trailing slash.
    pub base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl LoopbackServer {
    /// Binds 127.0.0.1 on a free port and serves `router` on the current
    /// tokio runtime.
    pub async fn start(router: Router) -> LoopbackServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the simulator");
        let address = listener.local_addr().expect("simulator listener address");
        let (shutdown, stopped) = oneshot::channel::<()>();

        tokio::spawn(async move {
            let server = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                eprintln!("simulator on {address} stopped with an error: {error}");
            }
        });

        LoopbackServer { base_url: format!("http://{address}"), shutdown: Some(shutdown) }
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
