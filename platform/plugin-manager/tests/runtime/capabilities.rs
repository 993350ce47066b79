use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::{AuditFilter, ManagerConfig, PluginManager, RouteOutcome};
use civic311_store::{LogFilter, PluginLogLevel, TenantId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{active_router, captured_logs, config_with_cool_down, fixture, fixture_with, input_with, test_plugin};

const PROBE: &str = "capability-probe";

/// Grants every capability, because the probe imports all four and an
/// install must grant each import; HTTP is allowed to 127.0.0.1 only.
fn all_grants() -> Grants {
    Grants { logs: true, kv: true, secrets: true, http_hosts: vec!["127.0.0.1".to_string()] }
}

/// Routes one request with `probe` and returns the decision's reason.
async fn probe(manager: &PluginManager, tenant: TenantId, probe: &str) -> String {
    let outcome = manager.route(tenant, &input_with("probe", probe), Some("REQ-probe")).await;
    match outcome {
        RouteOutcome::Decided { decision, .. } => decision.reason.unwrap_or_default(),
        other => panic!("probe {probe}: expected a decision, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_read_never_leaks() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    let secret = format!("sk-live-{}", uuid_like());
    active_router(manager, tenant, PROBE, test_plugin(PROBE), all_grants()).await;
    manager.set_secret(tenant, Hook::Router, PROBE, "api_key", &secret, "alice").await.unwrap();

    let reason = probe(manager, tenant, "secret-length:api_key").await;
    manager.flush().await;

    assert_eq!(reason, format!("secret api_key has {} bytes", secret.len()));
    let scoped = fixture.store.scoped(tenant);
    let install = scoped.install(Hook::Router, PROBE).await.unwrap().unwrap();
    let sealed = scoped.secret_ciphertext(install.id, "api_key").await.unwrap().unwrap();
    assert!(!contains(&sealed.ciphertext, secret.as_bytes()), "ciphertext contains the plaintext");
    assert!(!format!("{sealed:?}").contains(&secret));

    let names = manager.secret_names(tenant, Hook::Router, PROBE).await.unwrap();
    assert_eq!(names.iter().map(|name| name.name.as_str()).collect::<Vec<_>>(), vec!["api_key"]);
    let audit = manager.audit(tenant, AuditFilter::default()).await.unwrap();
    let logs = scoped.plugin_logs(&LogFilter::default()).await.unwrap();
    let calls = scoped.calls_since(None, Utc::now() - TimeDelta::hours(1)).await.unwrap();
    let logs_text = captured_logs();
    assert!(logs_text.contains("plugin install reloaded"), "the test subscriber captured no log lines");
    let outputs = [
        format!("{names:?}"),
        serde_json::to_string(&names).unwrap(),
        format!("{install:?}"),
        serde_json::to_string(&install).unwrap(),
        format!("{audit:?}"),
        serde_json::to_string(&audit).unwrap(),
        format!("{logs:?}"),
        format!("{calls:?}"),
        logs_text,
    ];
    for (index, output) in outputs.iter().enumerate() {
        assert!(!output.contains(&secret), "output {index} contains the secret: {output}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_denied_without_grant() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    let all = all_grants();
    active_router(manager, tenant, PROBE, test_plugin(PROBE), all.clone()).await;
    manager.set_secret(tenant, Hook::Router, PROBE, "api_key", "value-1", "alice").await.unwrap();
    let without_secrets = Grants { secrets: false, ..all };

    let changed = manager.set_grants(tenant, Hook::Router, PROBE, without_secrets, "alice").await;

    // Either the change is rejected because the active version imports
    // `secrets`, or the host denies the read at call time.
    match changed {
        Err(error) => assert!(error.to_string().contains("secrets"), "{error}"),
        Ok(_) => assert_eq!(probe(manager, tenant, "secret-length:api_key").await, "secret api_key is missing"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_scoped_to_install() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let grants = all_grants();
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), grants.clone()).await;
    active_router(manager, fixture.tenant_b, PROBE, test_plugin(PROBE), grants).await;

    assert_eq!(probe(manager, fixture.tenant_a, "kv-counter").await, "counter=1");
    assert_eq!(probe(manager, fixture.tenant_a, "kv-counter").await, "counter=2");
    assert_eq!(probe(manager, fixture.tenant_b, "kv-counter").await, "counter=1");

    let install_a = fixture.store.scoped(fixture.tenant_a).install(Hook::Router, PROBE).await.unwrap().unwrap();
    let install_b = fixture.store.scoped(fixture.tenant_b).install(Hook::Router, PROBE).await.unwrap().unwrap();
    let stored_a = fixture.store.scoped(fixture.tenant_a).kv_get(install_a.id, "counter").await.unwrap();
    assert_eq!(stored_a.as_deref(), Some(b"2".as_slice()));
    // Tenant B cannot read tenant A's install through its own scope.
    assert_eq!(fixture.store.scoped(fixture.tenant_b).kv_get(install_a.id, "counter").await.unwrap(), None);
    let stored_b = fixture.store.scoped(fixture.tenant_b).kv_get(install_b.id, "counter").await.unwrap();
    assert_eq!(stored_b.as_deref(), Some(b"1".as_slice()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_size_limits() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), all_grants()).await;

    let reason = probe(manager, fixture.tenant_a, "kv-oversize").await;

    assert!(reason.starts_with("key: too-large("), "{reason}");
    assert!(reason.contains("; value: too-large("), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_written_by_recorder() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), all_grants()).await;

    assert_eq!(probe(manager, fixture.tenant_a, "log").await, "logged one line");
    manager.flush().await;

    let lines = manager.logs(fixture.tenant_a, Hook::Router, PROBE, 0).await.unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].message, "probe log line");
    assert_eq!(lines[0].level, PluginLogLevel::Info);
    assert_eq!(lines[0].request_id.as_deref(), Some("REQ-probe"));
    assert_eq!(lines[0].version, 1);
    assert!(fixture.store.scoped(fixture.tenant_b).plugin_logs(&LogFilter::default()).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_flood_capped() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), all_grants()).await;

    probe(manager, fixture.tenant_a, "log-flood").await;
    manager.flush().await;

    let lines = manager.logs(fixture.tenant_a, Hook::Router, PROBE, 1000).await.unwrap();
    assert_eq!(lines.len(), 50);
    assert!(lines.iter().all(|line| line.message.len() <= 1000));
}

/// Starts a loopback HTTP server that replies `response` to every request
/// and counts the requests.
async fn serve(response: &'static [u8]) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback server");
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let served = Arc::clone(&count);

    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            served.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !contains(&request, b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let _ = socket.write_all(response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, count)
}

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_allowed_host_works() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let (port, count) = serve(HELLO).await;
    let grants = all_grants();
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), grants).await;

    let reason = probe(manager, fixture.tenant_a, &format!("http-get:http://127.0.0.1:{port}/status")).await;

    assert_eq!(reason, "http status 200, 5 bytes");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_other_host_denied() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let (port, count) = serve(HELLO).await;
    let grants = all_grants();
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), grants).await;

    let reason = probe(manager, fixture.tenant_a, &format!("http-get:http://localhost:{port}/status")).await;

    assert_eq!(reason, "http denied(localhost)");
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_redirect_not_followed() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let (port, count) = serve(b"HTTP/1.1 302 Found\r\nLocation: http://localhost:9/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    let grants = all_grants();
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), grants).await;

    let reason = probe(manager, fixture.tenant_a, &format!("http-get:http://127.0.0.1:{port}/")).await;

    assert_eq!(reason, "http status 302, 0 bytes");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_large_response_fails() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let body: &'static [u8] = Box::leak(large_response().into_boxed_slice());
    let (port, _) = serve(body).await;
    let grants = all_grants();
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), grants).await;

    let reason = probe(manager, fixture.tenant_a, &format!("http-get:http://127.0.0.1:{port}/")).await;

    assert!(reason.starts_with("http failed("), "{reason}");
    assert!(reason.contains("larger than"), "{reason}");
}

/// Returns a fixture whose manager keeps the default egress rule, which
/// blocks loopback and private addresses.
async fn public_only_fixture() -> crate::Fixture {
    let config = ManagerConfig { allow_private_networks: false, ..config_with_cool_down(Duration::from_secs(3600)) };
    fixture_with(config).await
}

/// Grants every capability with HTTP allowed to both names of loopback.
fn loopback_grants() -> Grants {
    Grants { http_hosts: vec!["127.0.0.1".to_string(), "localhost".to_string()], ..all_grants() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_loopback_blocked_by_default() {
    let fixture = public_only_fixture().await;
    let manager = &fixture.manager;
    let (port, count) = serve(HELLO).await;
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), loopback_grants()).await;

    let by_address = probe(manager, fixture.tenant_a, &format!("http-get:http://127.0.0.1:{port}/status")).await;
    let by_name = probe(manager, fixture.tenant_a, &format!("http-get:http://localhost:{port}/status")).await;

    assert!(by_address.starts_with("http denied(address 127.0.0.1 is in the loopback range 127.0.0.0/8"), "{by_address}");
    assert!(by_address.contains("allow_private_networks"), "{by_address}");
    assert!(by_name.starts_with("http denied(host 'localhost' is a localhost name"), "{by_name}");
    assert_eq!(count.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_loopback_allowed_by_setting() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let (port, count) = serve(HELLO).await;
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), loopback_grants()).await;

    let by_address = probe(manager, fixture.tenant_a, &format!("http-get:http://127.0.0.1:{port}/status")).await;
    let by_name = probe(manager, fixture.tenant_a, &format!("http-get:http://localhost:{port}/status")).await;

    assert_eq!(by_address, "http status 200, 5 bytes");
    assert_eq!(by_name, "http status 200, 5 bytes");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

/// Builds a response whose body is 2 MiB, twice the limit.
fn large_response() -> Vec<u8> {
    let body_bytes = 2 << 20;
    let mut response = format!("HTTP/1.1 200 OK\r\nContent-Length: {body_bytes}\r\nConnection: close\r\n\r\n").into_bytes();
    response.resize(response.len() + body_bytes, b'x');
    response
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Returns 16 random hex digits, so the secret appears nowhere by chance.
fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    hex::encode(bytes)
}
