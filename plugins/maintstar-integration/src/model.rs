//! Plain-Rust forms of the `integration` world's types and of the
//! capabilities the plugin uses, so that the sync logic runs and is tested
//! natively as well as inside the component.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// A routed service request, as the `integration` world passes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoutedRequest {
    /// Public service request id, such as `HAV-2026-000123`.
    pub id: String,
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    pub address: Option<String>,
    /// Latitude and longitude in WGS 84 decimal degrees.
    pub location: Option<(f64, f64)>,
    /// Answers to the service definition's attributes: code and values.
    pub answers: Vec<(String, Vec<String>)>,
    /// Department code that routing chose.
    pub department: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    pub queue: Option<String>,
    /// RFC 3339 with offset.
    pub requested_at: String,
    /// The install's configuration.
    pub config: BTreeMap<String, String>,
}

/// The kind of a back-end record. Maintstar records are work orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    WorkOrder,
}

/// A work order that a sync created or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncedRecord {
    pub kind: RecordKind,
    /// Maintstar's work order id, such as `WO-000001`.
    pub remote_id: String,
    pub remote_status: Option<String>,
    /// Whether this call created the work order.
    pub created: bool,
}

/// The reason a sync failed, as the world's `sync-error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncFailure {
    /// A transient failure, which the platform retries later.
    Retry(String),
    /// A permanent failure, after which the platform stops retrying.
    Rejected(String),
}

/// HTTP methods the plugin uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// An outbound HTTP request.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// A response with its status and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The reason the host returned no response, as the `http` interface's `http-error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The host is not on the install's allow-list.
    Denied(String),
    InvalidUrl(String),
    Timeout,
    Failed(String),
}

/// Log levels of the `log` interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// The platform capabilities the sync uses: `http`, `secrets` and `log`.
pub trait Capabilities {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError>;
    fn secret(&self, name: &str) -> Option<String>;
    fn log(&self, level: LogLevel, message: &str);
}
