//! Capability calls of the capability-probe plugin through a recording
//! provider: what reaches the provider with and without each grant, and the
//! caps the host enforces itself.

use std::sync::Arc;
use std::time::Duration;

use civic311_domain::plugin::Grants;
use civic311_domain::routing::{RouteDecision, RouteInput};
use civic311_plugin_host::{
    CallContext, CallReport, HostConfig, HttpFailure, HttpResponse, LoadedPlugin, LogLevel, MAX_LOG_LINE_BYTES,
    MAX_LOG_LINES, PluginError, PluginHost,
};

use crate::provider::RecordingProvider;
use crate::{host, read_test_plugin, request, settings};

const SECRET: &str = "s3cr3t-api-key-value";

fn probe(host: &PluginHost) -> LoadedPlugin {
    host.load("capability-probe", &read_test_plugin("capability-probe")).unwrap()
}

fn probe_request(probe: &str) -> RouteInput {
    let mut input = request("pothole", "dpw-highway");
    input.settings = settings(&[("probe", probe)]);
    input
}

fn all_granted() -> Grants {
    Grants {
        logs: true,
        kv: true,
        secrets: true,
        http_hosts: vec!["127.0.0.1".to_string(), "*.city.example".to_string()],
    }
}

/// Runs the probe once with `grants` and `provider`, under the default limits.
fn run(host: &PluginHost, probe_name: &str, grants: Grants, provider: &Arc<RecordingProvider>) -> CallReport<RouteDecision> {
    let call = CallContext {
        limits: HostConfig::default().defaults,
        grants,
        capabilities: provider.clone(),
    };
    host.route_with(&probe(host), &probe_request(probe_name), &call)
}

fn reason(report: CallReport<RouteDecision>) -> String {
    let decision = report.result.unwrap_or_else(|error| panic!("probe call failed: {error}"));
    decision.reason.unwrap_or_default()
}

#[test]
fn log_line_reaches_provider() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let report = run(&host, "log", all_granted(), &provider);

    assert_eq!(report.dropped_log_lines, 0);
    assert_eq!(reason(report), "logged one line");
    assert_eq!(provider.log_lines(), vec![(LogLevel::Info, "probe log line".to_string())]);
}

#[test]
fn log_without_grant_traps() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());
    let grants = Grants {
        logs: false,
        ..all_granted()
    };

    let error = run(&host, "log", grants, &provider).result.unwrap_err();

    assert!(matches!(error, PluginError::Trap { .. }), "{error}");
    assert!(error.to_string().contains("logs capability is not granted"), "{error}");
    assert!(provider.log_lines().is_empty());
}

#[test]
fn log_flood_is_capped() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let report = run(&host, "log-flood", all_granted(), &provider);

    assert_eq!(report.dropped_log_lines, 60 - MAX_LOG_LINES);
    assert_eq!(reason(report), "wrote 60 lines");
    let lines = provider.log_lines();
    assert_eq!(lines.len(), MAX_LOG_LINES as usize);
    assert!(lines.iter().all(|(_, line)| line.len() == MAX_LOG_LINE_BYTES));
}

#[test]
fn kv_counter_persists_between_calls() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let first = reason(run(&host, "kv-counter", all_granted(), &provider));
    let second = reason(run(&host, "kv-counter", all_granted(), &provider));

    assert_eq!(first, "counter=1");
    assert_eq!(second, "counter=2");
    assert_eq!(provider.kv.lock().unwrap().get("counter").cloned(), Some(b"2".to_vec()));
}

#[test]
fn kv_without_grant_is_unavailable() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());
    let grants = Grants {
        kv: false,
        ..all_granted()
    };

    let reason = reason(run(&host, "kv-counter", grants, &provider));

    assert!(reason.starts_with("kv get failed: unavailable("), "{reason}");
    assert!(reason.contains("kv capability is not granted"), "{reason}");
    assert!(provider.kv_calls().is_empty());
}

#[test]
fn kv_oversize_key_and_value_rejected() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let reason = reason(run(&host, "kv-oversize", all_granted(), &provider));

    assert!(reason.contains("key: too-large(the key is 257 bytes"), "{reason}");
    assert!(reason.contains("value: too-large(the value is 65537 bytes"), "{reason}");
    assert!(provider.kv_calls().is_empty(), "{:?}", provider.kv_calls());
}

#[test]
fn secret_read_reports_length_only() {
    let host = host();
    let provider = Arc::new(RecordingProvider {
        secrets: [("api_key".to_string(), SECRET.to_string())].into(),
        ..RecordingProvider::default()
    });

    let reason = reason(run(&host, "secret-length:api_key", all_granted(), &provider));

    assert_eq!(reason, format!("secret api_key has {} bytes", SECRET.len()));
    assert!(!reason.contains(SECRET));
    assert_eq!(provider.secret_requests(), vec!["api_key".to_string()]);
}

#[test]
fn secret_without_grant_is_missing() {
    let host = host();
    let provider = Arc::new(RecordingProvider {
        secrets: [("api_key".to_string(), SECRET.to_string())].into(),
        ..RecordingProvider::default()
    });
    let grants = Grants {
        secrets: false,
        ..all_granted()
    };

    let reason = reason(run(&host, "secret-length:api_key", grants, &provider));

    assert_eq!(reason, "secret api_key is missing");
    assert!(provider.secret_requests().is_empty());
}

#[test]
fn http_to_allowed_host_reaches_provider() {
    let host = host();
    let provider = Arc::new(RecordingProvider {
        http_answer: Some(Ok(HttpResponse {
            status: 200,
            headers: vec![("content-type".to_string(), "text/plain".to_string())],
            body: b"hello".to_vec(),
        })),
        ..RecordingProvider::default()
    });

    let reason = reason(run(&host, "http-get:http://api.city.example:8080/status", all_granted(), &provider));

    assert_eq!(reason, "http status 200, 5 bytes");
    let requests = provider.http_requests();
    assert_eq!(requests.len(), 1);
    let (request, timeout) = &requests[0];
    assert_eq!(request.method, "GET");
    assert_eq!(request.url, "http://api.city.example:8080/status");
    assert!(*timeout > Duration::ZERO);
    assert!(*timeout <= HostConfig::default().defaults.wall_time);
}

#[test]
fn http_outside_allow_list_denied() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let reason = reason(run(&host, "http-get:https://169.254.169.254/latest", all_granted(), &provider));

    assert_eq!(reason, "http denied(169.254.169.254)");
    assert!(provider.http_requests().is_empty());
}

#[test]
fn http_wildcard_does_not_match_bare_domain() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let reason = reason(run(&host, "http-get:https://city.example/", all_granted(), &provider));

    assert_eq!(reason, "http denied(city.example)");
    assert!(provider.http_requests().is_empty());
}

#[test]
fn http_without_grant_denied() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());
    let grants = Grants {
        http_hosts: Vec::new(),
        ..all_granted()
    };

    let reason = reason(run(&host, "http-get:http://127.0.0.1:9/", grants, &provider));

    assert_eq!(reason, "http denied(127.0.0.1)");
    assert!(provider.http_requests().is_empty());
}

#[test]
fn http_other_scheme_is_invalid_url() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let reason = reason(run(&host, "http-get:file:///etc/passwd", all_granted(), &provider));

    assert!(reason.starts_with("http invalid-url(file:///etc/passwd"), "{reason}");
    assert!(provider.http_requests().is_empty());
}

#[test]
fn http_provider_timeout_reaches_plugin() {
    let host = host();
    let provider = Arc::new(RecordingProvider {
        http_answer: Some(Err(HttpFailure::Timeout)),
        ..RecordingProvider::default()
    });

    let reason = reason(run(&host, "http-get:http://127.0.0.1:9/", all_granted(), &provider));

    assert_eq!(reason, "http timeout");
}

#[test]
fn http_provider_denial_reaches_plugin() {
    let host = host();
    let provider = Arc::new(RecordingProvider {
        http_answer: Some(Err(HttpFailure::Denied("address 10.0.0.5 is blocked".to_string()))),
        ..RecordingProvider::default()
    });

    let reason = reason(run(&host, "http-get:http://127.0.0.1:9/", all_granted(), &provider));

    assert_eq!(reason, "http denied(address 10.0.0.5 is blocked)");
    assert_eq!(provider.http_requests().len(), 1);
}

#[test]
fn oversized_http_response_fails() {
    let host = host();
    let provider = Arc::new(RecordingProvider {
        http_answer: Some(Ok(HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: vec![b'x'; (1 << 20) + 1],
        })),
        ..RecordingProvider::default()
    });

    let reason = reason(run(&host, "http-get:http://127.0.0.1:9/", all_granted(), &provider));

    assert!(reason.starts_with("http failed(the response body is 1048577 bytes"), "{reason}");
}
