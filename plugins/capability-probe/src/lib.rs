//! A test router of world `router-with-capabilities` that exercises one
//! platform capability per call, chosen by the routing setting `probe`
//! (see [`Probe`]), and reports what happened in the decision's `reason`.
//! It never reports a secret's value, only its length. It is never bundled
//! into the production binary.

#![cfg_attr(target_arch = "wasm32", no_std)]
extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};

/// Key under which [`Probe::KvCounter`] stores its counter.
pub const COUNTER_KEY: &str = "counter";

/// Lines that [`Probe::LogFlood`] writes, more than the host keeps per call.
pub const FLOOD_LINES: usize = 60;

/// Bytes of each line that [`Probe::LogFlood`] writes, more than the host keeps per line.
pub const FLOOD_LINE_BYTES: usize = 1_500;

/// The capability call that the `probe` setting selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Uses no capability and routes to the default department.
    None,
    /// Writes one `info` line, `probe log line`.
    Log,
    /// Writes [`FLOOD_LINES`] lines of [`FLOOD_LINE_BYTES`] bytes each.
    LogFlood,
    /// Reads the number under [`COUNTER_KEY`], adds one, stores it and
    /// reports `counter=N`.
    KvCounter,
    /// Sets a 257-byte key and a value of 64 KiB plus one byte, and reports
    /// the store's result for each.
    KvOversize,
    /// Reads the named secret and reports only its length.
    SecretLength(String),
    /// Sends a GET to the URL and reports the status and body length, or the error.
    HttpGet(String),
}

impl Probe {
    /// Parses the `probe` setting, such as `kv-counter` or `http-get:http://127.0.0.1:8080/`.
    pub fn parse(text: &str) -> Result<Probe, String> {
        if let Some(name) = text.strip_prefix("secret-length:") {
            return Ok(Probe::SecretLength(name.to_string()));
        }
        if let Some(url) = text.strip_prefix("http-get:") {
            return Ok(Probe::HttpGet(url.to_string()));
        }

        match text {
            "none" => Ok(Probe::None),
            "log" => Ok(Probe::Log),
            "log-flood" => Ok(Probe::LogFlood),
            "kv-counter" => Ok(Probe::KvCounter),
            "kv-oversize" => Ok(Probe::KvOversize),
            other => Err(format!(
                "invalid probe '{other}': expected one of none, log, log-flood, kv-counter, \
                 kv-oversize, secret-length:<name>, http-get:<url>"
            )),
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use alloc::format;
    use alloc::string::{String, ToString};
    use alloc::vec;

    use civic311_plugin_sdk::capabilities::{http, kv, log, secrets};
    use civic311_plugin_sdk::{Decision, Guest, Priority, RouteError, ServiceRequest, setting};

    use crate::{COUNTER_KEY, FLOOD_LINE_BYTES, FLOOD_LINES, Probe};

    civic311_plugin_sdk::no_std_runtime!();

    struct CapabilityProbe;

    impl Guest for CapabilityProbe {
        fn route(request: ServiceRequest) -> Result<Decision, RouteError> {
            let probe = Probe::parse(setting(&request, "probe").unwrap_or("none")).map_err(RouteError::InvalidInput)?;

            let reason = match probe {
                Probe::None => "probe none".to_string(),
                Probe::Log => {
                    log::write(log::Level::Info, "probe log line");
                    "logged one line".to_string()
                }
                Probe::LogFlood => flood_log(),
                Probe::KvCounter => count_in_kv(),
                Probe::KvOversize => set_oversize(),
                Probe::SecretLength(name) => match secrets::get(&name) {
                    Some(secret) => format!("secret {name} has {} bytes", secret.len()),
                    None => format!("secret {name} is missing"),
                },
                Probe::HttpGet(url) => get_url(url),
            };

            Ok(Decision {
                department: request.default_department,
                priority: Priority::Normal,
                queue: None,
                assignee: None,
                sla_override: None,
                reason: Some(reason),
            })
        }
    }

    fn flood_log() -> String {
        let line = "x".repeat(FLOOD_LINE_BYTES);
        for _ in 0..FLOOD_LINES {
            log::write(log::Level::Debug, &line);
        }
        format!("wrote {FLOOD_LINES} lines")
    }

    fn count_in_kv() -> String {
        let previous = match kv::get(COUNTER_KEY) {
            Ok(Some(bytes)) => core::str::from_utf8(&bytes).ok().and_then(|text| text.parse::<u64>().ok()).unwrap_or(0),
            Ok(None) => 0,
            Err(error) => return format!("kv get failed: {}", describe_kv_error(error)),
        };

        let next = previous + 1;
        match kv::set(COUNTER_KEY, next.to_string().as_bytes()) {
            Ok(()) => format!("counter={next}"),
            Err(error) => format!("kv set failed: {}", describe_kv_error(error)),
        }
    }

    fn set_oversize() -> String {
        let long_key = "k".repeat(257);
        let large_value = vec![0u8; (64 << 10) + 1];

        let key_result = kv::set(&long_key, b"value");
        let value_result = kv::set("large", &large_value);
        format!(
            "key: {}; value: {}",
            describe_kv_result(key_result),
            describe_kv_result(value_result)
        )
    }

    fn describe_kv_result(result: Result<(), kv::KvError>) -> String {
        match result {
            Ok(()) => "stored".to_string(),
            Err(error) => describe_kv_error(error),
        }
    }

    fn describe_kv_error(error: kv::KvError) -> String {
        match error {
            kv::KvError::TooLarge(message) => format!("too-large({message})"),
            kv::KvError::Unavailable(message) => format!("unavailable({message})"),
        }
    }

    fn get_url(url: String) -> String {
        let request = http::Request {
            method: http::Method::Get,
            url,
            headers: vec![],
            body: None,
        };
        match http::send(&request) {
            Ok(response) => format!("http status {}, {} bytes", response.status, response.body.len()),
            Err(http::HttpError::Denied(host)) => format!("http denied({host})"),
            Err(http::HttpError::InvalidUrl(message)) => format!("http invalid-url({message})"),
            Err(http::HttpError::Timeout) => "http timeout".to_string(),
            Err(http::HttpError::Failed(message)) => format!("http failed({message})"),
        }
    }

    civic311_plugin_sdk::export_router!(CapabilityProbe);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_parses_each_name() {
        assert_eq!(Probe::parse("kv-counter"), Ok(Probe::KvCounter));
        assert_eq!(Probe::parse("log-flood"), Ok(Probe::LogFlood));
        assert_eq!(Probe::parse("secret-length:api_key"), Ok(Probe::SecretLength("api_key".into())));
        assert_eq!(
            Probe::parse("http-get:http://127.0.0.1:9/x"),
            Ok(Probe::HttpGet("http://127.0.0.1:9/x".into()))
        );
    }

    #[test]
    fn probe_rejects_unknown_name() {
        assert!(Probe::parse("explode").unwrap_err().contains("'explode'"));
    }
}
