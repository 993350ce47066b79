//! The host side of the capability imports: each call checks the install's
//! grant and the platform's caps, then hands the work to the call's
//! [`CapabilityProvider`]. Denied calls return the WIT error or none, except
//! `log`, which traps, because a plugin cannot observe a dropped line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use civic311_domain::plugin::{Capability, Grants};

use crate::bindings::{http, kv, log, secrets};
use crate::capabilities::{
    CapabilityProvider, HttpFailure, HttpRequest, LogLevel, MAX_HTTP_RESPONSE_BYTES, MAX_KV_KEY_BYTES,
    MAX_KV_VALUE_BYTES, MAX_LOG_LINE_BYTES, MAX_LOG_LINES, host_allowed, truncate_to,
};
use crate::sandbox::CallState;

/// Capability state of one call.
pub(crate) struct CapabilityState {
    plugin: Arc<str>,
    grants: Grants,
    provider: Arc<dyn CapabilityProvider>,
    /// When the call's wall time runs out; outbound HTTP gets the rest.
    deadline: Instant,
    log_lines: u32,
    pub(crate) dropped_log_lines: u32,
}

impl CapabilityState {
    pub(crate) fn new(
        plugin: Arc<str>,
        grants: Grants,
        provider: Arc<dyn CapabilityProvider>,
        wall_time: Duration,
    ) -> CapabilityState {
        CapabilityState {
            plugin,
            grants,
            provider,
            deadline: Instant::now() + wall_time,
            log_lines: 0,
            dropped_log_lines: 0,
        }
    }

    fn allows(&self, capability: Capability) -> bool {
        self.grants.allows(capability)
    }

    fn not_granted_message(&self, capability: Capability) -> String {
        format!("the {capability} capability is not granted to this install of {}", self.plugin)
    }
}

impl log::Host for CallState {
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let state = &mut self.capabilities;
        if !state.allows(Capability::Logs) {
            return Err(wasmtime::format_err!("{}", state.not_granted_message(Capability::Logs)));
        }

        if state.log_lines >= MAX_LOG_LINES {
            state.dropped_log_lines = state.dropped_log_lines.saturating_add(1);
            return Ok(());
        }
        state.log_lines += 1;

        let level = match level {
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        state.provider.log(level, truncate_to(&message, MAX_LOG_LINE_BYTES));
        Ok(())
    }
}

impl kv::Host for CallState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, kv::KvError>> {
        let state = &self.capabilities;
        if let Err(error) = check_kv(state, &key, None) {
            return Ok(Err(error));
        }
        Ok(state.provider.kv_get(&key).map_err(kv::KvError::Unavailable))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), kv::KvError>> {
        let state = &self.capabilities;
        if let Err(error) = check_kv(state, &key, Some(&value)) {
            return Ok(Err(error));
        }
        Ok(state.provider.kv_set(&key, &value).map_err(kv::KvError::Unavailable))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), kv::KvError>> {
        let state = &self.capabilities;
        if let Err(error) = check_kv(state, &key, None) {
            return Ok(Err(error));
        }
        Ok(state.provider.kv_delete(&key).map_err(kv::KvError::Unavailable))
    }
}

/// Checks the grant and the key and value sizes of a key-value call.
fn check_kv(state: &CapabilityState, key: &str, value: Option<&[u8]>) -> Result<(), kv::KvError> {
    if !state.allows(Capability::Kv) {
        return Err(kv::KvError::Unavailable(state.not_granted_message(Capability::Kv)));
    }
    if key.len() > MAX_KV_KEY_BYTES {
        return Err(kv::KvError::TooLarge(format!(
            "the key is {} bytes, more than the limit of {MAX_KV_KEY_BYTES} bytes",
            key.len()
        )));
    }
    if let Some(value) = value
        && value.len() > MAX_KV_VALUE_BYTES
    {
        return Err(kv::KvError::TooLarge(format!(
            "the value is {} bytes, more than the limit of {MAX_KV_VALUE_BYTES} bytes",
            value.len()
        )));
    }
    Ok(())
}

impl secrets::Host for CallState {
    fn get(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        let state = &self.capabilities;
        if !state.allows(Capability::Secrets) {
            return Ok(None);
        }
        Ok(state.provider.secret(&name))
    }
}

impl http::Host for CallState {
    fn send(&mut self, request: http::Request) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        let state = &self.capabilities;
        if let Err(error) = check_url(state, &request.url) {
            return Ok(Err(error));
        }

        let timeout = http_timeout(state.deadline.saturating_duration_since(Instant::now()));
        if timeout.is_zero() {
            return Ok(Err(http::HttpError::Timeout));
        }

        let outgoing = HttpRequest {
            method: method_name(request.method).to_string(),
            url: request.url,
            headers: request.headers.into_iter().map(|header| (header.name, header.value)).collect(),
            body: request.body,
        };
        let response = match state.provider.http_send(outgoing, timeout) {
            Ok(response) => response,
            Err(HttpFailure::Denied(message)) => return Ok(Err(http::HttpError::Denied(message))),
            Err(HttpFailure::Timeout) => return Ok(Err(http::HttpError::Timeout)),
            Err(HttpFailure::Failed(message)) => return Ok(Err(http::HttpError::Failed(message))),
        };

        if response.body.len() > MAX_HTTP_RESPONSE_BYTES {
            return Ok(Err(http::HttpError::Failed(format!(
                "the response body is {} bytes, more than the limit of {MAX_HTTP_RESPONSE_BYTES} bytes",
                response.body.len()
            ))));
        }
        Ok(Ok(http::Response {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|(name, value)| http::Header { name, value })
                .collect(),
            body: response.body,
        }))
    }
}

/// Checks the grant, the URL's syntax and scheme, and its host against the allow-list.
fn check_url(state: &CapabilityState, url: &str) -> Result<(), http::HttpError> {
    let parsed = url::Url::parse(url).map_err(|error| http::HttpError::InvalidUrl(format!("{url}: {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(http::HttpError::InvalidUrl(format!(
            "{url}: the scheme {} is not allowed; use http or https",
            parsed.scheme()
        )));
    }

    let Some(host) = parsed.host_str() else {
        return Err(http::HttpError::InvalidUrl(format!("{url}: the URL has no host")));
    };
    if !state.allows(Capability::Http) || !host_allowed(&state.grants.http_hosts, host) {
        return Err(http::HttpError::Denied(host.to_string()));
    }
    Ok(())
}

fn method_name(method: http::Method) -> &'static str {
    match method {
        http::Method::Get => "GET",
        http::Method::Post => "POST",
        http::Method::Put => "PUT",
        http::Method::Patch => "PATCH",
        http::Method::Delete => "DELETE",
    }
}

/// Returns the timeout of one outbound request: the call's remaining wall
/// time less a margin of a fifth of it, at most 200 ms. Without the margin
/// a hanging back end would use up the whole call, and the plugin could not
/// return its own retryable error before the deadline stopped it.
fn http_timeout(remaining: Duration) -> Duration {
    let margin = (remaining / 5).min(Duration::from_millis(200));
    remaining.saturating_sub(margin)
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    #[test]
    fn http_timeout_keeps_a_margin() {
        assert_eq!(http_timeout(Duration::from_secs(10)), Duration::from_millis(9_800));
        assert_eq!(http_timeout(Duration::from_millis(500)), Duration::from_millis(400));
        assert_eq!(http_timeout(Duration::ZERO), Duration::ZERO);
    }
}
