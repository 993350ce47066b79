use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use civic311_domain::Priority;
use civic311_domain::plugin::{Grants, Hook, IntegrationRequest, RecordKind, SyncedRecord};
use civic311_plugin_manager::{PluginManager, PluginSource, SyncOutcome};
use civic311_store::{InstallId, TenantId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{bundled, fixture, install, upload_request};

const PLUGIN: &str = "maintstar-integration";

/// Starts a loopback work-order back end that finds no work order on
/// lookup and creates `WO-000001`, recording each request line.
async fn work_order_backend() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback back end");
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);

    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let request = read_request(&mut socket).await;
                let line = request.lines().next().unwrap_or_default().to_string();
                let (status, body) = if line.starts_with("GET ") {
                    ("200 OK", r#"{"work_orders":[]}"#)
                } else {
                    ("201 Created", r#"{"id":"WO-000001","status":"OPEN"}"#)
                };
                seen.lock().unwrap().push(line);
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, requests)
}

/// Reads the head and, from its Content-Length, the body of one request.
async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|value| value.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            if data.len() >= head_end + 4 + length {
                return text;
            }
        }
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&data).to_string(),
            Ok(read) => data.extend_from_slice(&buffer[..read]),
        }
    }
}

async fn active_integration(manager: &PluginManager, tenant: TenantId) -> InstallId {
    manager.publish(upload_request(PLUGIN, bundled(PLUGIN))).await.expect("publish to the catalogue");
    let grants = Grants { logs: true, kv: true, secrets: true, http_hosts: vec!["127.0.0.1".to_string()] };
    let installed = install(manager, tenant, Hook::Integration, PLUGIN, PluginSource::Catalogue, grants).await;
    manager.activate(tenant, Hook::Integration, PLUGIN, 1, "admin@city").await.expect("activate the integration");
    manager.set_secret(tenant, Hook::Integration, PLUGIN, "api_key", "maintstar-test-key", "admin@city").await.expect("set the API key");
    installed.id
}

fn request(base_url: &str) -> IntegrationRequest {
    IntegrationRequest {
        id: "CTA-2026-001001".to_string(),
        service_code: "pothole".to_string(),
        service_name: "Pothole".to_string(),
        description: "Deep pothole".to_string(),
        address: Some("1 Main St".to_string()),
        lat: None,
        long: None,
        answers: BTreeMap::new(),
        department: "dpw".to_string(),
        priority: Priority::Normal,
        queue: None,
        requested_at: DateTime::parse_from_rfc3339("2026-12-02T10:30:00-05:00").unwrap(),
        config: BTreeMap::from([
            ("base_url".to_string(), base_url.to_string()),
            ("departments".to_string(), "dpw".to_string()),
            ("default_work_type".to_string(), "POTHOLE".to_string()),
        ]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_creates_work_order() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    let (port, requests) = work_order_backend().await;
    let install = active_integration(manager, tenant).await;
    assert_eq!(manager.integration_installs(tenant), vec![install]);
    assert!(manager.integration_installs(fixture.tenant_b).is_empty());

    let outcome = manager.sync_request(tenant, install, request(&format!("http://127.0.0.1:{port}")), "CTA-2026-001001").await;
    manager.flush().await;

    let expected = SyncedRecord {
        kind: RecordKind::WorkOrder,
        remote_id: "WO-000001".to_string(),
        remote_status: Some("OPEN".to_string()),
        created: true,
    };
    assert_eq!(outcome, SyncOutcome::Synced(vec![expected]));
    let lines = requests.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("GET /api/v2/work-orders?external_ref="), "{lines:?}");
    assert!(lines[1].starts_with("POST /api/v2/work-orders"), "{lines:?}");

    let today = Utc::now().date_naive();
    let usage = fixture.store.scoped(tenant).plugin_usage(today, today).await.unwrap();
    assert_eq!(usage.len(), 1);
    // The call is metered here. Its work order is metered once, when the
    // outbox worker stores the job's records with finish_integration_job.
    assert_eq!((usage[0].calls, usage[0].work_orders, usage[0].inspections), (1, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_other_tenant_install_skipped() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let (port, requests) = work_order_backend().await;
    let install = active_integration(manager, fixture.tenant_a).await;

    let outcome = manager
        .sync_request(fixture.tenant_b, install, request(&format!("http://127.0.0.1:{port}")), "CTB-2026-001001")
        .await;

    assert!(matches!(&outcome, SyncOutcome::Skipped(reason) if reason.contains("not an active integration install")), "{outcome:?}");
    assert!(requests.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_unreachable_backend_retries() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let install = active_integration(manager, fixture.tenant_a).await;
    let closed_port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };

    let outcome = manager
        .sync_request(fixture.tenant_a, install, request(&format!("http://127.0.0.1:{closed_port}")), "CTA-2026-001002")
        .await;

    assert!(matches!(&outcome, SyncOutcome::Retry(reason) if reason.contains("failed")), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_rejects_missing_base_url() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let install = active_integration(manager, fixture.tenant_a).await;
    let mut without_url = request("http://127.0.0.1:9");
    without_url.config.remove("base_url");

    let outcome = manager.sync_request(fixture.tenant_a, install, without_url, "CTA-2026-001003").await;

    assert!(matches!(&outcome, SyncOutcome::Rejected(reason) if reason.contains("base_url")), "{outcome:?}");
}
