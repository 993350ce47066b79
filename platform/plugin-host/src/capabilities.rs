//! The capabilities a plugin may import, as the host's callers provide them:
//! [`CapabilityProvider`] does the real work (store, vault, HTTP client), and
//! [`CallContext`] carries it into a call with the install's grants and limits.
//! The host enforces the grants and caps itself, in `capability_host.rs`, so a
//! provider never receives a call that the install does not allow.

use std::sync::Arc;
use std::time::Duration;

use civic311_domain::plugin::Grants;

use crate::config::CallLimits;
use crate::error::PluginError;

/// Lines a plugin may log in one call; the host drops the rest and counts them.
pub const MAX_LOG_LINES: u32 = 50;

/// Bytes of one log line; the host cuts longer lines at a character boundary.
pub const MAX_LOG_LINE_BYTES: usize = 1_000;

/// Bytes of a key-value store key.
pub const MAX_KV_KEY_BYTES: usize = 256;

/// Bytes of a key-value store value.
pub const MAX_KV_VALUE_BYTES: usize = 64 << 10;

/// Bytes of an HTTP response body that the host passes to a plugin.
pub const MAX_HTTP_RESPONSE_BYTES: usize = 1 << 20;

/// Severity of a plugin's log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// Returns the stable name used in storage and APIs, such as `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// An outbound HTTP request whose host the allow-list already accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// Upper-case method name, such as `GET`.
    pub method: String,
    /// Absolute `http` or `https` URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// A complete HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The reason a provider returned no HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpFailure {
    /// The provider rejected the request, such as one to a loopback,
    /// private or link-local address. The message names the address or
    /// host and what the operator can change.
    Denied(String),
    /// No response arrived within the timeout the host passed.
    Timeout,
    /// The connection failed or the response was unusable. The message gives the cause.
    Failed(String),
}

/// The services behind the capability imports of one install. The host
/// calls it on the plugin's blocking thread, only for granted capabilities
/// and only with keys, values and URLs that passed the host's checks.
pub trait CapabilityProvider: Send + Sync {
    /// Records one log line, already cut to [`MAX_LOG_LINE_BYTES`].
    fn log(&self, level: LogLevel, message: &str);

    /// Returns the value stored under `key` for this install, or none. An
    /// error message means the store is unavailable.
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;

    /// Stores `value` under `key` for this install.
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), String>;

    /// Removes `key`; removing a missing key succeeds.
    fn kv_delete(&self, key: &str) -> Result<(), String>;

    /// Returns the decrypted secret `name` of this install, or none.
    fn secret(&self, name: &str) -> Option<String>;

    /// Sends `request` and waits at most `timeout` for the whole response.
    fn http_send(&self, request: HttpRequest, timeout: Duration) -> Result<HttpResponse, HttpFailure>;
}

/// A provider that denies everything: no store, no secrets, no network.
/// For tests, dry runs and [`crate::PluginHost::route`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCapabilities;

impl CapabilityProvider for NoCapabilities {
    fn log(&self, _level: LogLevel, _message: &str) {}

    fn kv_get(&self, _key: &str) -> Result<Option<Vec<u8>>, String> {
        Err("no key-value store is attached to this call".to_string())
    }

    fn kv_set(&self, _key: &str, _value: &[u8]) -> Result<(), String> {
        Err("no key-value store is attached to this call".to_string())
    }

    fn kv_delete(&self, _key: &str) -> Result<(), String> {
        Err("no key-value store is attached to this call".to_string())
    }

    fn secret(&self, _name: &str) -> Option<String> {
        None
    }

    fn http_send(&self, _request: HttpRequest, _timeout: Duration) -> Result<HttpResponse, HttpFailure> {
        Err(HttpFailure::Failed("outbound HTTP is not available to this call".to_string()))
    }
}

/// Everything one call runs with: its limits, the install's grants and the
/// provider behind the granted capabilities.
#[derive(Clone)]
pub struct CallContext {
    pub limits: CallLimits,
    pub grants: Grants,
    pub capabilities: Arc<dyn CapabilityProvider>,
}

impl CallContext {
    /// Returns a context with `limits`, nothing granted and [`NoCapabilities`].
    pub fn without_capabilities(limits: CallLimits) -> CallContext {
        CallContext {
            limits,
            grants: Grants::default(),
            capabilities: Arc::new(NoCapabilities),
        }
    }
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CallContext")
            .field("limits", &self.limits)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

/// The outcome of one call with what it cost.
#[derive(Debug)]
pub struct CallReport<T> {
    pub result: Result<T, PluginError>,
    /// Time from taking a sandbox slot to the end of the call. It is zero
    /// when the call failed before it started, such as on the wrong hook.
    pub duration: Duration,
    /// Fuel units the call burned.
    pub fuel_used: u64,
    /// Log lines the host dropped because the call wrote more than [`MAX_LOG_LINES`].
    pub dropped_log_lines: u32,
}

impl<T> CallReport<T> {
    /// Returns a report of a call that failed before it started.
    pub(crate) fn failed(error: PluginError) -> CallReport<T> {
        CallReport {
            result: Err(error),
            duration: Duration::ZERO,
            fuel_used: 0,
            dropped_log_lines: 0,
        }
    }
}

/// Returns whether `host` matches an allow-list entry: the same name,
/// compared case-insensitively, or for `*.suffix` any name that ends with
/// `.suffix`. A wildcard does not match the bare suffix.
pub fn host_allowed(allow_list: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allow_list.iter().any(|entry| {
        let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
        match entry.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => host == entry,
        }
    })
}

/// Cuts `message` to at most `max_bytes` on a character boundary.
pub(crate) fn truncate_to(message: &str, max_bytes: usize) -> &str {
    if message.len() <= max_bytes {
        return message;
    }
    let mut end = max_bytes;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|entry| entry.to_string()).collect()
    }

    #[test]
    fn host_allowed_matches_exact_name_any_case() {
        let allow = list(&["API.ViewPermit.example"]);
        assert!(host_allowed(&allow, "api.viewpermit.example"));
        assert!(!host_allowed(&allow, "evil.viewpermit.example"));
        assert!(!host_allowed(&allow, "api.viewpermit.example.evil"));
    }

    #[test]
    fn host_allowed_matches_wildcard_subdomains() {
        let allow = list(&["*.maintstar.example"]);
        assert!(host_allowed(&allow, "haverhill.maintstar.example"));
        assert!(host_allowed(&allow, "a.b.maintstar.example"));
        assert!(!host_allowed(&allow, "maintstar.example"));
        assert!(!host_allowed(&allow, "evilmaintstar.example"));
    }

    #[test]
    fn host_allowed_denies_with_empty_list() {
        assert!(!host_allowed(&[], "127.0.0.1"));
    }

    #[test]
    fn truncate_to_keeps_char_boundary() {
        assert_eq!(truncate_to("héllo", 2), "h");
        assert_eq!(truncate_to("hello", 10), "hello");
    }
}
