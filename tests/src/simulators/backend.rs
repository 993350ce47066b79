//! Parts shared by the back-end simulators (Maintstar, ViewPermit): the
//! failures a test schedules and the responses that inject them, the log of
//! requests received, and the loopback server that runs an axum router until
//! the simulator is dropped. [`Backend`] is the test-facing API over these.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::Response;
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

/// Closes the connection without a response when `fault` is
/// [`Fault::LoseResponse`]. A handler calls it after the operation ran.
pub fn lose_response_on(fault: &Option<Fault>) {
    if fault == &Some(Fault::LoseResponse) {
        drop_connection();
    }
}

/// A vendor's error responses to the faults that respond before the operation runs.
pub struct FaultResponses {
    /// Builds an error response in the vendor's body format from a status, an error code and a message.
    pub error: fn(StatusCode, &str, &str) -> Response,
    /// Error code of [`Fault::InternalError`].
    pub internal_error_code: &'static str,
    /// Error code of [`Fault::Unavailable`] and [`Fault::Hang`].
    pub unavailable_code: &'static str,
    /// Message of [`Fault::Unavailable`].
    pub maintenance_message: &'static str,
    /// Message of [`Fault::RateLimited`].
    pub rate_limited_message: &'static str,
    /// Error code of [`Fault::Invalid`].
    pub validation_code: &'static str,
}

impl FaultResponses {
    /// Returns the response of `fault` when it responds before the operation
    /// runs. [`Fault::Hang`] waits first. [`Fault::LoseResponse`] and no
    /// fault return `None`, so the operation runs.
    pub async fn before_operation(&self, fault: &Option<Fault>) -> Option<Response> {
        let response = match fault.as_ref()? {
            Fault::InternalError => (self.error)(StatusCode::INTERNAL_SERVER_ERROR, self.internal_error_code, "An unexpected error occurred."),
            Fault::Unavailable => self.retry_later(StatusCode::SERVICE_UNAVAILABLE, self.unavailable_code, self.maintenance_message),
            Fault::RateLimited => self.retry_later(StatusCode::TOO_MANY_REQUESTS, "rate_limited", self.rate_limited_message),
            Fault::Hang(duration) => {
                tokio::time::sleep(*duration).await;
                self.retry_later(StatusCode::SERVICE_UNAVAILABLE, self.unavailable_code, "The request timed out upstream.")
            }
            Fault::Invalid(message) => (self.error)(StatusCode::BAD_REQUEST, self.validation_code, message),
            Fault::LoseResponse => return None,
        };
        Some(response)
    }

    /// Builds an error response with `Retry-After: 1`.
    pub fn retry_later(&self, status: StatusCode, code: &str, message: &str) -> Response {
        let mut response = (self.error)(status, code, message);
        response.headers_mut().insert(header::RETRY_AFTER, "1".parse().expect("a valid header value"));
        response
    }
}

/// A record that a back end stores, such as a work order or an inspection request.
pub trait BackendRecord: Clone {
    /// Returns the back end's id, such as `WO-000001`.
    fn id(&self) -> &str;

    /// Returns the caller's reference, which is Civic311's service request id.
    fn reference(&self) -> &str;

    /// Replaces the status text, as the back end's staff would.
    fn set_status(&mut self, status: &str);
}

/// A simulator's stored records, oldest first, with unique references.
pub struct RecordStore<R> {
    records: Vec<R>,
}

impl<R> Default for RecordStore<R> {
    fn default() -> RecordStore<R> {
        RecordStore { records: Vec::new() }
    }
}

impl<R: BackendRecord> RecordStore<R> {
    /// Returns every record, oldest first.
    pub fn all(&self) -> Vec<R> {
        self.records.clone()
    }

    /// Returns the records whose reference is `reference`.
    pub fn with_reference(&self, reference: &str) -> Vec<R> {
        self.records.iter().filter(|record| record.reference() == reference).cloned().collect()
    }

    /// Returns the record `id`, if there is one.
    pub fn get(&self, id: &str) -> Option<R> {
        self.records.iter().find(|record| record.id() == id).cloned()
    }

    /// Sets the status of record `id`. Panics when there is no such record,
    /// naming it as `kind`, such as `work order`.
    pub fn set_status(&mut self, id: &str, status: &str, kind: &str) {
        let record = self
            .records
            .iter_mut()
            .find(|record| record.id() == id)
            .unwrap_or_else(|| panic!("the simulator has no {kind} {id}"));
        record.set_status(status);
    }

    /// Stores the record that `build` makes from the next sequence number,
    /// starting at 1. Returns the existing record's id as the error when
    /// `reference` is taken.
    pub fn insert(&mut self, reference: &str, build: impl FnOnce(usize) -> R) -> Result<R, String> {
        if let Some(existing) = self.records.iter().find(|record| record.reference() == reference) {
            return Err(existing.id().to_string());
        }

        let record = build(self.records.len() + 1);
        self.records.push(record.clone());
        Ok(record)
    }
}

/// The state that every back-end simulator shares with its handlers: the
/// scheduled faults and the log of requests received.
pub struct BackendState<Op> {
    pub faults: FaultSchedule<Op>,
    requests: Mutex<Vec<ReceivedRequest>>,
}

impl<Op: Copy + PartialEq> Default for BackendState<Op> {
    fn default() -> BackendState<Op> {
        BackendState { faults: FaultSchedule::default(), requests: Mutex::new(Vec::new()) }
    }
}

impl<Op: Copy + PartialEq> BackendState<Op> {
    /// Takes the fault scheduled for one request of `operation`. Returns
    /// the fault's response as the error when it responds before the
    /// operation runs, else the fault for the handler to apply after it.
    pub async fn take_fault(&self, operation: Op, responses: &FaultResponses) -> Result<Option<Fault>, Response> {
        let fault = self.faults.take(operation);
        match responses.before_operation(&fault).await {
            Some(response) => Err(response),
            None => Ok(fault),
        }
    }

    /// Appends a request to the log, before authentication.
    pub fn log_request(&self, method: &Method, uri: &Uri) {
        self.requests().push(ReceivedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
        });
    }

    fn requests(&self) -> MutexGuard<'_, Vec<ReceivedRequest>> {
        self.requests.lock().expect("request log lock")
    }
}

/// A running back-end simulator: its loopback server and the state its
/// handlers share. Each simulator dereferences to its `Backend`, so tests
/// call these methods on the simulator.
pub struct Backend<Op> {
    server: LoopbackServer,
    state: Arc<BackendState<Op>>,
}

impl<Op: Copy + PartialEq> Backend<Op> {
    /// Serves `router`, whose handlers share `state`, on a loopback port.
    pub async fn start(router: Router, state: Arc<BackendState<Op>>) -> Backend<Op> {
        Backend { server: LoopbackServer::start(router).await, state }
    }

    /// Base URL such as `http://127.0.0.1:41234`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.server.base_url
    }

    /// Returns the host and port, such as `127.0.0.1:41234`, for an HTTP allow-list.
    pub fn host(&self) -> &str {
        self.server.base_url.trim_start_matches("http://")
    }

    /// Injects `fault` into the next `count` requests of any operation.
    pub fn fail_next(&self, count: u32, fault: Fault) {
        self.state.faults.schedule(None, count, fault);
    }

    /// Injects `fault` into the next `count` requests of `operation`.
    pub fn fail_next_on(&self, operation: Op, count: u32, fault: Fault) {
        self.state.faults.schedule(Some(operation), count, fault);
    }

    /// Removes every fault not yet injected.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Returns every request received, in arrival order, including rejected ones.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.state.requests().clone()
    }

    /// Returns how many requests the simulator received.
    pub fn requests_received(&self) -> usize {
        self.state.requests().len()
    }
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
