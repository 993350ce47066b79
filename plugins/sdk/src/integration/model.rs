//! Plain-Rust forms of the `integration` world's types and of the
//! capabilities an integration uses, so that its sync logic runs and is
//! tested natively as well as inside the component.

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
    /// Values submitted for the service definition's attributes: code and values.
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

/// The kind of a back-end record, as the world's `record-kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    WorkOrder,
    Inspection,
    Other,
}

/// A back-end record that a sync created or found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncedRecord {
    pub kind: RecordKind,
    /// The back end's id of the record, such as `WO-000001`.
    pub remote_id: String,
    pub remote_status: Option<String>,
    /// Whether this call created the record.
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

/// HTTP methods an integration uses.
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

/// The platform capabilities a sync may use: `http`, `secrets`, `log` and `kv`.
///
/// A key-value error is the payload of the `kv` interface's `kv-error`.
/// The component imports only the interfaces whose methods the plugin calls.
pub trait Capabilities {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError>;
    fn secret(&self, name: &str) -> Option<String>;
    fn log(&self, level: LogLevel, message: &str);
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), String>;
    fn kv_delete(&self, key: &str) -> Result<(), String>;
}
