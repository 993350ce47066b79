//! Integration calls with `sync_request`, and the hook checks between
//! routers and integrations.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::DateTime;
use civic311_domain::Priority;
use civic311_domain::plugin::{Grants, IntegrationRequest, SyncFailure};
use civic311_plugin_host::{CallContext, HostConfig, HttpFailure, LoadedPlugin, PluginError, PluginHost};
use civic311_domain::plugin::Hook;

use crate::provider::RecordingProvider;
use crate::{host, load_bundled, request};

fn maintstar(host: &PluginHost) -> LoadedPlugin {
    load_bundled(host, "maintstar-integration")
}

fn pothole(config: &[(&str, &str)]) -> IntegrationRequest {
    IntegrationRequest {
        id: "HAV-2026-000123".to_string(),
        service_code: "pothole".to_string(),
        service_name: "Pothole".to_string(),
        description: "Deep pothole in the right lane".to_string(),
        address: Some("1 Main St".to_string()),
        lat: Some(42.7762),
        long: Some(-71.0773),
        answers: BTreeMap::from([("size".to_string(), vec!["large".to_string()])]),
        department: "dpw-highway".to_string(),
        priority: Priority::High,
        queue: None,
        requested_at: DateTime::parse_from_rfc3339("2026-12-02T10:30:00-05:00").unwrap(),
        config: config.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect(),
    }
}

fn integration_grants() -> Grants {
    Grants {
        logs: true,
        kv: true,
        secrets: true,
        http_hosts: vec!["127.0.0.1".to_string()],
    }
}

fn call(provider: &Arc<RecordingProvider>) -> CallContext {
    CallContext {
        limits: HostConfig::default().defaults,
        grants: integration_grants(),
        capabilities: provider.clone(),
    }
}

#[test]
fn unrelated_request_syncs_nothing() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());
    let request = pothole(&[("base_url", "http://127.0.0.1:9")]);

    let report = host.sync_request(&maintstar(&host), &request, &call(&provider));

    assert_eq!(report.result.unwrap(), Vec::new());
    assert!(provider.http_requests().is_empty());
    assert!(report.fuel_used > 0);
}

/// A connection failure reported by the provider becomes the plugin's
/// `retry`, which the host returns as `SyncFailed`.
#[test]
fn transport_failure_is_retry() {
    let host = host();
    let provider = Arc::new(RecordingProvider {
        secrets: [("api_key".to_string(), "maintstar-key".to_string())].into(),
        http_answer: Some(Err(HttpFailure::Failed("connection refused".to_string()))),
        ..RecordingProvider::default()
    });
    let request = pothole(&[("base_url", "http://127.0.0.1:9"), ("work_type.pothole", "POTHOLE")]);

    let error = host.sync_request(&maintstar(&host), &request, &call(&provider)).result.unwrap_err();

    let PluginError::SyncFailed { plugin, failure: SyncFailure::Retry(message) } = &error else {
        panic!("expected SyncFailed with Retry, got {error}")
    };
    assert_eq!(plugin, "maintstar-integration");
    assert!(message.contains("connection refused"), "{message}");
    assert_eq!(error.kind(), "sync_failed");
    let requests = provider.http_requests();
    assert!(!requests.is_empty());
    assert!(requests[0].0.url.starts_with("http://127.0.0.1:9/"), "{}", requests[0].0.url);
    assert_eq!(provider.secret_requests(), vec!["api_key".to_string()]);
}

#[test]
fn missing_config_is_rejected() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());
    let request = pothole(&[("work_type.pothole", "POTHOLE")]);

    let error = host.sync_request(&maintstar(&host), &request, &call(&provider)).result.unwrap_err();

    assert!(
        matches!(&error, PluginError::SyncFailed { failure: SyncFailure::Rejected(message), .. } if message.contains("base_url")),
        "{error}"
    );
}

#[test]
fn route_with_on_integration_is_wrong_hook() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());

    let report = host.route_with(&maintstar(&host), &request("pothole", "dpw-highway"), &call(&provider));

    let error = report.result.unwrap_err();
    assert!(
        matches!(error, PluginError::WrongHook { expected: Hook::Router, found: Hook::Integration, .. }),
        "{error}"
    );
    assert_eq!(error.kind(), "wrong_hook");
}

#[test]
fn sync_request_on_router_is_wrong_hook() {
    let host = host();
    let provider = Arc::new(RecordingProvider::default());
    let router = load_bundled(&host, "haverhill-router");

    let error = host.sync_request(&router, &pothole(&[]), &call(&provider)).result.unwrap_err();

    assert!(
        matches!(error, PluginError::WrongHook { expected: Hook::Integration, found: Hook::Router, .. }),
        "{error}"
    );
}
