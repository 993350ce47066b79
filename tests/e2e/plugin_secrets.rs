//! Secrets never leave the platform: a router and an integration plugin
//! read secrets set over the admin API and the command line, and the test
//! searches every reply it got and every captured log line for the values.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use civic311_store::IntegrationJobStatus;
use civic311_tests::simulators::maintstar::{MaintstarSim, DEFAULT_WORK_TYPES};
use civic311_tests::{capture_logs, civic311_bin, parse_reply, plugin_wasm, tenants_dir, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// Maximum time an integration job may take to settle before the test fails.
const JOB_WAIT: Duration = Duration::from_secs(20);

/// Every reply body a test received, to search for secret values.
#[derive(Default)]
struct Replies(Vec<String>);

impl Replies {
    async fn send(&mut self, server: &TestServer, method: Method, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let (status, text) = server.admin_send(method, path, key, body.as_ref()).await;
        self.0.push(text.clone());
        (status, parse_reply(status, &text))
    }

    async fn upload(&mut self, server: &TestServer, slug: &str, key: &str, name: &str, wasm: Vec<u8>) -> Value {
        let (status, text) = server.upload_plugin(slug, key, name, wasm).await;
        self.0.push(text.clone());
        assert_eq!(status, 201, "{text}");
        parse_reply(status, &text)
    }

    async fn submit(&mut self, server: &TestServer, slug: &str, staff_key: &str, body: &Value) -> Value {
        let (status, reply) = server.staff_post(slug, staff_key, "/requests", body).await;
        self.0.push(reply.to_string());
        assert_eq!(status, 201, "{reply}");
        reply
    }

    /// Asserts that no reply contains `secret`, naming the first that does.
    fn assert_absent(&self, secret: &str) {
        assert!(!self.0.is_empty(), "no replies were captured");
        for (index, text) in self.0.iter().enumerate() {
            assert!(!text.contains(secret), "reply {index} contains the secret: {text}");
        }
    }
}

/// Writes a copy of Haverhill's tenant folder under `parent` with slug
/// `probe-city`, whose routing settings also contain `probe`, the setting
/// that selects what the capability probe does.
fn write_probe_tenant(parent: &Path, probe: &str) -> PathBuf {
    let dir = parent.join("probe-city");
    std::fs::create_dir_all(&dir).expect("create the tenant folder");
    let source = tenants_dir().join("haverhill");
    std::fs::copy(source.join("services.toml"), dir.join("services.toml")).expect("copy services.toml");

    let text = std::fs::read_to_string(source.join("tenant.toml")).expect("read Haverhill's tenant.toml");
    let mut manifest: toml::Table = text.parse().expect("Haverhill's tenant.toml is valid TOML");
    manifest.insert("slug".into(), "probe-city".into());
    manifest.insert("name".into(), "Probe City".into());
    manifest.insert("jurisdiction_id".into(), "probe-city.test".into());
    manifest.remove("telephony");
    let routing = manifest.get_mut("routing").and_then(|routing| routing.as_table_mut()).expect("a [routing] table");
    let settings = routing.get_mut("settings").and_then(|settings| settings.as_table_mut()).expect("a [routing.settings] table");
    settings.insert("probe".into(), probe.into());

    std::fs::write(dir.join("tenant.toml"), toml::to_string(&manifest).expect("serialize the manifest")).expect("write tenant.toml");
    dir
}

fn graffiti() -> Value {
    json!({
        "service_code": "graffiti",
        "description": "Tag on the bridge rail",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "offensive": "no" },
    })
}

fn pothole() -> Value {
    json!({
        "service_code": "pothole",
        "description": "Deep pothole in the right lane",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "large" },
    })
}

/// Returns the reason of the request's `routed` history entry.
fn routed_reason(reply: &Value) -> String {
    let history = reply["history"].as_array().expect("a history list");
    let routed = history.iter().find(|entry| entry["kind"] == "routed").unwrap_or_else(|| panic!("no routed entry: {reply}"));
    routed["detail"]["reason"].as_str().unwrap_or_else(|| panic!("no reason: {routed}")).to_string()
}

/// Uploads the capability probe to `probe-city`, installs it on the router
/// hook with every capability granted and activates it.
async fn install_probe(server: &TestServer, replies: &mut Replies, key: &str) {
    replies.upload(server, "probe-city", key, "probe", plugin_wasm("capability-probe")).await;
    let body = json!({
        "hook": "router",
        "plugin": "probe",
        "grants": { "logs": true, "kv": true, "secrets": true, "http_hosts": ["127.0.0.1"] },
    });
    let (status, created) = replies.send(server, Method::POST, "/api/v1/tenants/probe-city/installs", key, Some(body)).await;
    assert_eq!(status, 201, "{created}");
}

/// GETs every admin route that shows an install or its history.
async fn read_everything(server: &TestServer, replies: &mut Replies, slug: &str, key: &str, hook: &str, name: &str) {
    let install = format!("/api/v1/tenants/{slug}/installs/{hook}/{name}");
    let paths = [
        format!("/api/v1/tenants/{slug}/plugins"),
        format!("/api/v1/tenants/{slug}/installs"),
        install.clone(),
        format!("{install}/logs"),
        format!("{install}/shadow-results"),
        format!("/api/v1/tenants/{slug}/plugin-audit"),
        format!("/api/v1/tenants/{slug}/plugin-metrics"),
    ];
    for path in paths {
        let (status, reply) = replies.send(server, Method::GET, &path, key, None).await;
        assert_eq!(status, 200, "GET {path}: {reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_secret_stays_out_of_replies_and_logs() {
    let logs = capture_logs();
    let secret = "rtr-secret-8d41c3f0a9b27e65";
    let folder = tempfile::tempdir().expect("temporary folder");
    write_probe_tenant(folder.path(), "secret-length:api_token");
    let server = TestServer::start_with_tenants(folder.path()).await;
    let key = server.admin_key("probe-city").await;
    let staff = server.api_key("probe-city").await;
    let mut replies = Replies::default();
    install_probe(&server, &mut replies, &key).await;

    let path = "/api/v1/tenants/probe-city/installs/router/probe/secrets/api_token";
    let (status, stored) = replies.send(&server, Method::PUT, path, &key, Some(json!({ "value": secret }))).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["secrets"][0]["name"], "api_token", "{stored}");
    let path = "/api/v1/tenants/probe-city/installs/router/probe/activate";
    let (status, activated) = replies.send(&server, Method::POST, path, &key, Some(json!({ "version": 1 }))).await;
    assert_eq!(status, 200, "{activated}");

    let routed = replies.submit(&server, "probe-city", &staff, &graffiti()).await;
    assert_eq!(routed_reason(&routed), format!("secret api_token has {} bytes", secret.len()), "the plugin read the secret");
    server.state.manager.flush().await;
    read_everything(&server, &mut replies, "probe-city", &key, "router", "probe").await;

    let path = "/api/v1/tenants/probe-city/installs/router/probe/secrets/api_token";
    let (status, deleted) = replies.send(&server, Method::DELETE, path, &key, None).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["secrets"], json!([]), "{deleted}");
    let routed = replies.submit(&server, "probe-city", &staff, &graffiti()).await;
    assert_eq!(routed_reason(&routed), "secret api_token is missing");

    replies.assert_absent(secret);
    let captured = logs.text();
    assert!(captured.contains("probe-city") || captured.contains("api_token"), "the log capture is empty: {captured}");
    assert!(!captured.contains(secret), "a log line contains the secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_secret_reaches_backend_only() {
    let logs = capture_logs();
    let secret = "mst-secret-2b7e9f14c0d36a58";
    let sim = MaintstarSim::start_with(secret, DEFAULT_WORK_TYPES).await;
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let staff = server.api_key("haverhill").await;
    let mut replies = Replies::default();

    replies.upload(&server, "haverhill", &key, "maintstar", plugin_wasm("maintstar-integration")).await;
    let body = json!({
        "hook": "integration",
        "plugin": "maintstar",
        "grants": { "logs": true, "secrets": true, "http_hosts": ["127.0.0.1"] },
        "config": { "base_url": sim.base_url(), "departments": "dpw-highway", "work_type.pothole": "ROAD-PATCH" },
    });
    let (status, created) = replies.send(&server, Method::POST, "/api/v1/tenants/haverhill/installs", &key, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let install = "/api/v1/tenants/haverhill/installs/integration/maintstar";
    let (status, stored) = replies.send(&server, Method::PUT, &format!("{install}/secrets/api_key"), &key, Some(json!({ "value": secret }))).await;
    assert_eq!(status, 200, "{stored}");
    let (status, activated) = replies.send(&server, Method::POST, &format!("{install}/activate"), &key, Some(json!({ "version": 1 }))).await;
    assert_eq!(status, 200, "{activated}");

    let created = replies.submit(&server, "haverhill", &staff, &pothole()).await;
    let request_id = created["request"]["id"].as_str().expect("request id").to_string();
    wait_for_job(&server, &request_id).await;

    assert_eq!(sim.last_api_key().as_deref(), Some(secret), "Maintstar received the secret");
    assert_eq!(sim.work_orders_for(&request_id).len(), 1);
    server.state.manager.flush().await;
    read_everything(&server, &mut replies, "haverhill", &key, "integration", "maintstar").await;

    replies.assert_absent(secret);
    let captured = logs.text();
    assert!(captured.contains(&request_id), "the log capture misses the request: {captured}");
    assert!(!captured.contains(secret), "a log line contains the secret");
}

/// Polls the request's integration job until it is done, failing when it
/// is rejected or does not settle within [`JOB_WAIT`].
async fn wait_for_job(server: &TestServer, request_id: &str) {
    let store = &server.tenant("haverhill").store;
    let deadline = tokio::time::Instant::now() + JOB_WAIT;
    loop {
        let jobs = store.integration_jobs(Some(request_id)).await.expect("integration jobs are readable");
        if let Some(job) = jobs.first() {
            assert_ne!(job.status, IntegrationJobStatus::Rejected, "{job:?}");
            if job.status == IntegrationJobStatus::Done {
                return;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "the job of {request_id} did not finish within {JOB_WAIT:?}: {jobs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_secret_set_hides_value() {
    let secret = "cli-secret-61fa0e93d5b84c27";
    let folder = tempfile::tempdir().expect("temporary folder");
    write_probe_tenant(folder.path(), "secret-length:api_token");
    let server = TestServer::start_with_tenants(folder.path()).await;
    let key = server.admin_key("probe-city").await;
    let staff = server.api_key("probe-city").await;
    let mut replies = Replies::default();
    install_probe(&server, &mut replies, &key).await;

    let mut child = Command::new(civic311_bin!())
        .args(["plugin", "secret", "set", "--tenant", "probe-city", "--hook", "router", "--name", "probe", "--secret", "api_token"])
        .env("DATABASE_URL", server.database_url())
        .env("CIVIC311_DATA_DIR", server.platform_data_dir())
        .env("RUST_LOG", "debug")
        .env_remove("REDIS_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the civic311 binary runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        writeln!(stdin, "{secret}").expect("write the secret to stdin");
    }
    let output = child.wait_with_output().expect("the command finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("set: secret api_token"), "{stdout}");
    assert!(stderr.contains("DEBUG") || stderr.contains("INFO"), "the debug log is empty: {stderr}");
    assert!(!stdout.contains(secret), "stdout contains the secret");
    assert!(!stderr.contains(secret), "the debug log contains the secret");

    // The server opens the secret the command sealed: the probe reads its
    // length, and the trailing line break of stdin is not part of it.
    let path = "/api/v1/tenants/probe-city/installs/router/probe/activate";
    let (status, activated) = replies.send(&server, Method::POST, path, &key, Some(json!({ "version": 1 }))).await;
    assert_eq!(status, 200, "{activated}");
    let routed = replies.submit(&server, "probe-city", &staff, &graffiti()).await;
    assert_eq!(routed_reason(&routed), format!("secret api_token has {} bytes", secret.len()));
    read_everything(&server, &mut replies, "probe-city", &key, "router", "probe").await;
    replies.assert_absent(secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_routes_503_without_token() {
    // This binary never sets the token, so the server runs without one.
    assert!(std::env::var_os("CIVIC311_PLATFORM_ADMIN_TOKEN").is_none(), "unset CIVIC311_PLATFORM_ADMIN_TOKEN to run this test");
    let server = TestServer::start().await;

    let (status, text) = server.admin_send(Method::GET, "/api/v1/platform/catalogue", "any-token", None).await;

    assert_eq!(status, 503, "{text}");
    let reply = parse_reply(status, &text);
    assert_eq!(reply["error"]["code"], "platform_admin_disabled");
    assert!(reply["error"]["message"].as_str().expect("message").contains("CIVIC311_PLATFORM_ADMIN_TOKEN"), "{reply}");
}
