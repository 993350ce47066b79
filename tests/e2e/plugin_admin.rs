//! The plugin admin API over real HTTP: upload validation, activation,
//! rollback and the audit log, dry runs, the circuit breaker, the platform
//! catalogue and tenant isolation.

use std::sync::Once;

use civic311_store::ApiKeyScope;
use civic311_tests::{parse_reply, plugin_wasm, write_fault_tenant, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// Platform admin token that every test in this binary runs with.
const PLATFORM_TOKEN: &str = "e2e-platform-admin-token-5f0c2a";

/// Sets the platform admin token once, before any test starts a server.
/// Every test calls it first, so no other thread reads the environment
/// while it is written.
fn setup() {
    static SET: Once = Once::new();
    SET.call_once(|| {
        // SAFETY: every test calls `setup` before it starts any thread of
        // its own, and `Once` makes the others wait until the write is done.
        unsafe { std::env::set_var("CIVIC311_PLATFORM_ADMIN_TOKEN", PLATFORM_TOKEN) };
    });
}

async fn send(server: &TestServer, method: Method, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let (status, text) = server.admin_send(method, path, key, body.as_ref()).await;
    (status, parse_reply(status, &text))
}

async fn upload(server: &TestServer, slug: &str, key: &str, name: &str, wasm: Vec<u8>) -> (u16, Value) {
    let (status, text) = server.upload_plugin(slug, key, name, wasm).await;
    (status, parse_reply(status, &text))
}

/// Returns a tree down that blocks the road. Haverhill's router sends it to
/// the on-call DPW Highway crew, while its service's default department is DPW Parks.
fn tree_blocking_road() -> Value {
    json!({
        "service_code": "tree-down",
        "description": "Oak limb across the road",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "blocking_road": "yes" },
    })
}

/// Returns graffiti, which no Haverhill rule covers, so every router sends it to DPW Parks.
fn graffiti() -> Value {
    json!({
        "service_code": "graffiti",
        "description": "Tag on the bridge rail",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "offensive": "no" },
    })
}

/// Submits a request through the staff API and returns its id and department.
async fn submit(server: &TestServer, staff_key: &str, body: &Value) -> (String, String) {
    let (status, reply) = server.staff_post("haverhill", staff_key, "/requests", body).await;
    assert_eq!(status, 201, "{reply}");
    let request = &reply["request"];
    (
        request["id"].as_str().expect("request id").to_string(),
        request["department"].as_str().expect("department").to_string(),
    )
}

async fn install(server: &TestServer, slug: &str, key: &str, body: Value) -> (u16, Value) {
    send(server, Method::POST, &format!("/api/v1/tenants/{slug}/installs"), key, Some(body)).await
}

fn install_path(slug: &str, hook: &str, name: &str, rest: &str) -> String {
    format!("/api/v1/tenants/{slug}/installs/{hook}/{name}{rest}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_rejects_non_component() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;

    let (status, reply) = upload(&server, "haverhill", &key, "not-a-plugin", b"this is not WebAssembly".to_vec()).await;

    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"]["code"], "invalid_component", "{reply}");
    let message = reply["error"]["message"].as_str().expect("message");
    assert!(message.contains("not-a-plugin"), "{message}");
    assert!(message.contains("not a valid component"), "{message}");

    // A body above axum's default limit of 2 MB still reaches the plugin host.
    let (status, large) = upload(&server, "haverhill", &key, "not-a-plugin", vec![b'x'; 3 << 20]).await;
    assert_eq!(status, 422, "{large}");
    assert_eq!(large["error"]["code"], "invalid_component", "{large}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_rejects_core_module() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    // The 8-byte header of an empty core WebAssembly module, version 1.
    let core_module = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

    let (status, reply) = upload(&server, "haverhill", &key, "core-module", core_module).await;

    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"]["code"], "invalid_component", "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_above_size_limit_is_413() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let limit = server.state.plugins.config().max_component_bytes;

    let (status, reply) = upload(&server, "haverhill", &key, "too-big", vec![0u8; limit + 1]).await;

    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply["error"]["code"], "too_large", "{reply}");
    let message = reply["error"]["message"].as_str().expect("message");
    assert!(message.contains(&limit.to_string()), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_rejects_wrong_content_type() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;

    let response = server
        .client
        .post(server.staff_url("haverhill", "/plugins/city-router/versions"))
        .bearer_auth(&key)
        .json(&json!({ "wasm": "AGFzbQ==" }))
        .send()
        .await
        .expect("upload reaches the server");

    assert_eq!(response.status().as_u16(), 415);
    let reply: Value = response.json().await.expect("JSON error body");
    assert_eq!(reply["error"]["code"], "unsupported_media_type", "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_upload_is_created_then_reused() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let wasm = plugin_wasm("haverhill-router");

    let (first_status, first) = upload(&server, "haverhill", &key, "city-router", wasm.clone()).await;
    let (second_status, second) = upload(&server, "haverhill", &key, "city-router", wasm).await;

    assert_eq!(first_status, 201, "{first}");
    assert_eq!(first["created"], true);
    assert_eq!(first["version"]["name"], "city-router");
    assert_eq!(first["version"]["version"], 1);
    assert_eq!(first["version"]["hook"], "router");
    assert_eq!(first["version"]["source"], "tenant");
    assert_eq!(first["version"]["uploaded_by"], "admin:e2e-tests-admin");
    assert_eq!(second_status, 200, "{second}");
    assert_eq!(second["created"], false);
    assert_eq!(second["version"]["version"], 1);
    assert_eq!(second["version"]["digest"], first["version"]["digest"]);

    let (status, versions) = send(&server, Method::GET, "/api/v1/tenants/haverhill/plugins/city-router/versions", &key, None).await;
    assert_eq!(status, 200, "{versions}");
    assert_eq!(versions.as_array().expect("a list").len(), 1, "{versions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_component_rejected_on_router_hook() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;

    let (status, uploaded) = upload(&server, "haverhill", &key, "maintstar", plugin_wasm("maintstar-integration")).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["version"]["hook"], "integration");
    assert_eq!(uploaded["version"]["world"], "integration");

    let (status, reply) = install(&server, "haverhill", &key, json!({ "hook": "router", "plugin": "maintstar" })).await;

    assert_eq!(status, 422, "{reply}");
    let message = reply["error"]["message"].as_str().expect("message");
    assert!(message.contains("'maintstar' serves the integration hook"), "{message}");
    assert!(message.contains("router hook"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ungranted_capability_rejected_at_activation() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;

    let (status, uploaded) = upload(&server, "haverhill", &key, "probe", plugin_wasm("capability-probe")).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["version"]["world"], "router-with-capabilities");
    let (status, created) = install(&server, "haverhill", &key, json!({ "hook": "router", "plugin": "probe" })).await;
    assert_eq!(status, 201, "{created}");

    let path = install_path("haverhill", "router", "probe", "/activate");
    let (status, reply) = send(&server, Method::POST, &path, &key, Some(json!({ "version": 1 }))).await;

    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"]["code"], "not_granted", "{reply}");
    assert_eq!(reply["error"]["field"], "grants", "{reply}");
    let message = reply["error"]["message"].as_str().expect("message");
    assert!(message.contains("probe"), "{message}");
    assert!(message.contains("grant"), "{message}");

    let (_, shown) = send(&server, Method::GET, &install_path("haverhill", "router", "probe", ""), &key, None).await;
    assert_eq!(shown["active_version"], Value::Null, "{shown}");

    let grants = json!({ "logs": true, "kv": true, "secrets": true, "http_hosts": ["127.0.0.1"] });
    let (status, granted) = send(&server, Method::PUT, &install_path("haverhill", "router", "probe", "/grants"), &key, Some(grants)).await;
    assert_eq!(status, 200, "{granted}");
    assert_eq!(granted["grants"]["http_hosts"], json!(["127.0.0.1"]));
    let (status, activated) = send(&server, Method::POST, &path, &key, Some(json!({ "version": 1 }))).await;
    assert_eq!(status, 200, "once granted, the probe activates: {activated}");
    assert_eq!(activated["install"]["active_version"]["version"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivate_falls_back_to_default_department() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let staff = server.api_key("haverhill").await;

    let path = install_path("haverhill", "router", "haverhill-router", "/deactivate");
    let (status, deactivated) = send(&server, Method::POST, &path, &key, None).await;

    assert_eq!(status, 200, "{deactivated}");
    assert_eq!(deactivated["active_version"], Value::Null, "{deactivated}");
    let (_, department) = submit(&server, &staff, &tree_blocking_road()).await;
    assert_eq!(department, "dpw-parks", "without a router the service's default department applies");
    let (status, audit) = send(&server, Method::GET, "/api/v1/tenants/haverhill/plugin-audit?name=haverhill-router", &key, None).await;
    assert_eq!(status, 200, "{audit}");
    let entry = audit.as_array().expect("a list").iter().find(|entry| entry["action"] == "deactivate").cloned();
    let entry = entry.unwrap_or_else(|| panic!("no deactivate entry: {audit}"));
    assert_eq!(entry["from_version"], 1);
    assert_eq!(entry["to_version"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_rollback_and_audit_log() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let staff = server.api_key("haverhill").await;
    let router = |rest: &str| install_path("haverhill", "router", "haverhill-router", rest);

    // The manifest's router is the install's version 1; the fault plugin,
    // whose default fault routes to the service's default department, becomes version 2.
    let (status, uploaded) = upload(&server, "haverhill", &key, "haverhill-router", plugin_wasm("fault-injector")).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["version"]["version"], 2);
    let (_, department) = submit(&server, &staff, &tree_blocking_road()).await;
    assert_eq!(department, "dpw-highway");

    let (status, activated) = send(&server, Method::POST, &router("/activate"), &key, Some(json!({ "version": 2 }))).await;
    assert_eq!(status, 200, "{activated}");
    assert_eq!(activated["from_version"], 1);
    assert_eq!(activated["to_version"], 2);
    assert_eq!(activated["install"]["active_version"]["version"], 2);
    let (_, department) = submit(&server, &staff, &tree_blocking_road()).await;
    assert_eq!(department, "dpw-parks");

    let (status, rolled_back) = send(&server, Method::POST, &router("/rollback"), &key, None).await;
    assert_eq!(status, 200, "{rolled_back}");
    assert_eq!(rolled_back["from_version"], 2);
    assert_eq!(rolled_back["to_version"], 1);
    let (_, department) = submit(&server, &staff, &tree_blocking_road()).await;
    assert_eq!(department, "dpw-highway");

    let (status, audit) = send(
        &server,
        Method::GET,
        "/api/v1/tenants/haverhill/plugin-audit?hook=router&name=haverhill-router",
        &key,
        None,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit.as_array().expect("a list");
    let activate = entries.iter().find(|entry| entry["action"] == "activate" && entry["to_version"] == 2).expect("activate entry");
    assert_eq!(activate["actor"], "admin:e2e-tests-admin");
    assert_eq!(activate["from_version"], 1);
    assert!(activate["at"].as_str().is_some_and(|at| !at.is_empty()), "{activate}");
    let rollback = entries.iter().find(|entry| entry["action"] == "rollback").expect("rollback entry");
    assert_eq!(rollback["actor"], "admin:e2e-tests-admin");
    assert_eq!(rollback["from_version"], 2);
    assert_eq!(rollback["to_version"], 1);
    let upload_entry = entries.iter().find(|entry| entry["action"] == "upload" && entry["to_version"] == 2);
    assert!(upload_entry.is_some(), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_to_given_version_and_missing_version() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let router = |rest: &str| install_path("haverhill", "router", "haverhill-router", rest);
    upload(&server, "haverhill", &key, "haverhill-router", plugin_wasm("fault-injector")).await;
    send(&server, Method::POST, &router("/activate"), &key, Some(json!({ "version": 2 }))).await;

    let (status, reply) = send(&server, Method::POST, &router("/rollback"), &key, Some(json!({ "to_version": 7 }))).await;
    assert_eq!(status, 404, "{reply}");
    assert_eq!(reply["error"]["code"], "version_not_found", "{reply}");
    assert!(reply["error"]["message"].as_str().expect("message").contains("1, 2"), "{reply}");

    let (status, reply) = send(&server, Method::POST, &router("/rollback"), &key, Some(json!({ "to_version": 1 }))).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["to_version"], 1);
    assert_eq!(reply["install"]["active_version"]["version"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_shows_exact_differences() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let staff = server.api_key("haverhill").await;
    let (tree, _) = submit(&server, &staff, &tree_blocking_road()).await;
    let (wall, _) = submit(&server, &staff, &graffiti()).await;

    upload(&server, "haverhill", &key, "fault-injector", plugin_wasm("fault-injector")).await;
    let (status, created) = install(&server, "haverhill", &key, json!({ "hook": "router", "plugin": "fault-injector" })).await;
    assert_eq!(status, 201, "{created}");

    let path = install_path("haverhill", "router", "fault-injector", "/dry-run");
    let body = json!({ "version": 1, "request_ids": [tree, wall] });
    let (status, report) = send(&server, Method::POST, &path, &key, Some(body)).await;

    assert_eq!(status, 200, "{report}");
    assert_eq!(report["total"], 2, "{report}");
    assert_eq!(report["changed_count"], 1, "{report}");
    assert_eq!(report["candidate"]["name"], "fault-injector");
    assert_eq!(report["active"]["name"], "haverhill-router");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows[0]["request_id"], tree.as_str());
    assert_eq!(rows[0]["changed"], true);
    assert_eq!(
        rows[0]["changes"],
        json!(["department: dpw-highway -> dpw-parks", "priority: urgent -> normal", "queue: on-call -> none"])
    );
    assert_eq!(rows[0]["active"]["decision"]["department"], "dpw-highway");
    assert_eq!(rows[0]["candidate"]["decision"]["department"], "dpw-parks");
    assert_eq!(rows[1]["request_id"], wall.as_str());
    assert_eq!(rows[1]["changed"], false);
    assert_eq!(rows[1]["changes"], json!([]));

    let (status, last) = send(&server, Method::POST, &path, &key, Some(json!({ "version": 1, "last": 2 }))).await;
    assert_eq!(status, 200, "{last}");
    assert_eq!(last["total"], 2);
    assert_eq!(last["changed_count"], 1);

    let stored = server.tenant("haverhill").store.request(&tree).await.expect("read").expect("stored");
    assert_eq!(stored.department, "dpw-highway", "a dry run changes no request");
    let (_, shown) = send(&server, Method::GET, &install_path("haverhill", "router", "fault-injector", ""), &key, None).await;
    assert_eq!(shown["active_version"], Value::Null, "a dry run activates nothing: {shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_rejects_both_selections_and_too_many() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let path = install_path("haverhill", "router", "haverhill-router", "/dry-run");

    let (status, both) = send(&server, Method::POST, &path, &key, Some(json!({ "version": 1, "last": 5, "request_ids": ["x"] }))).await;
    assert_eq!(status, 422, "{both}");
    assert_eq!(both["error"]["field"], "last");

    let (status, many) = send(&server, Method::POST, &path, &key, Some(json!({ "version": 1, "last": 1001 }))).await;
    assert_eq!(status, 422, "{many}");
    assert!(many["error"]["message"].as_str().expect("message").contains("1000"), "{many}");

    let (status, missing) = send(&server, Method::POST, &path, &key, Some(json!({ "version": 1, "request_ids": ["HAV-0-404"] }))).await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_trips_and_admin_reset_recovers() {
    setup();
    let folder = tempfile::tempdir().expect("temporary folder");
    write_fault_tenant(folder.path(), "trap");
    let server = TestServer::start_with_tenants(folder.path()).await;
    let key = server.admin_key("fault-trap").await;
    let staff = server.api_key("fault-trap").await;
    let install = install_path("fault-trap", "router", "fault-injector", "");

    for _ in 0..5 {
        let (status, reply) = server.staff_post("fault-trap", &staff, "/requests", &graffiti()).await;
        assert_eq!(status, 201, "{reply}");
    }
    server.state.manager.flush().await;

    let (status, tripped) = send(&server, Method::GET, &install, &key, None).await;
    assert_eq!(status, 200, "{tripped}");
    assert_eq!(tripped["breaker"]["open"], true, "{tripped}");
    assert!(tripped["breaker"]["reason"].as_str().expect("reason").contains("trap"), "{tripped}");
    assert!(tripped["breaker"]["opened_at"].is_string(), "{tripped}");
    assert_eq!(tripped["breaker"]["live"]["state"], "open", "{tripped}");

    let (status, skipped) = server.staff_post("fault-trap", &staff, "/requests", &graffiti()).await;
    assert_eq!(status, 201, "{skipped}");
    assert_eq!(skipped["request"]["department"], "dpw-parks");

    let (status, reset) = send(&server, Method::POST, &format!("{install}/breaker/reset"), &key, None).await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["breaker"]["open"], false, "{reset}");
    assert_eq!(reset["breaker"]["live"]["state"], "closed", "{reset}");

    let (status, audit) = send(&server, Method::GET, "/api/v1/tenants/fault-trap/plugin-audit", &key, None).await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> = audit.as_array().expect("a list").iter().filter_map(|entry| entry["action"].as_str()).collect();
    assert!(actions.contains(&"breaker_open"), "{audit}");
    assert!(actions.contains(&"breaker_reset"), "{audit}");

    // After the reset the plugin runs again: the next call traps instead of being skipped.
    let (status, after_reset) = server.staff_post("fault-trap", &staff, "/requests", &graffiti()).await;
    assert_eq!(status, 201, "{after_reset}");
    server.state.manager.flush().await;
    let (status, metrics) = send(&server, Method::GET, "/api/v1/tenants/fault-trap/plugin-metrics", &key, None).await;
    assert_eq!(status, 200, "{metrics}");
    let row = &metrics.as_array().expect("a list")[0];
    assert_eq!(row["count"], 6, "{metrics}");
    assert_eq!(row["failures"], 6, "{metrics}");
    assert_eq!(row["failure_kinds"]["trap"], 6, "{metrics}");
    assert_eq!(row["skipped"], 1, "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tenant_admin_key_is_rejected() {
    setup();
    let server = TestServer::start().await;
    let boston = server.admin_key("boston").await;
    let haverhill_staff = server.api_key("haverhill").await;
    let router = |rest: &str| install_path("haverhill", "router", "haverhill-router", rest);

    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/api/v1/tenants/haverhill/plugins".into(), None),
        (Method::GET, "/api/v1/tenants/haverhill/installs".into(), None),
        (Method::GET, router(""), None),
        (Method::POST, router("/activate"), Some(json!({ "version": 1 }))),
        (Method::POST, router("/rollback"), None),
        (Method::PUT, router("/secrets/api_key"), Some(json!({ "value": "x" }))),
        (Method::GET, router("/logs"), None),
        (Method::GET, "/api/v1/tenants/haverhill/plugin-audit".into(), None),
        (Method::GET, "/api/v1/tenants/haverhill/plugin-metrics".into(), None),
        (Method::GET, "/api/v1/tenants/haverhill/plugins/haverhill-router/versions".into(), None),
        (Method::GET, "/api/v1/tenants/haverhill/plugins/haverhill-router/versions/1".into(), None),
        (Method::POST, "/api/v1/tenants/haverhill/plugins/haverhill-router/versions".into(), Some(json!({}))),
        (Method::POST, "/api/v1/tenants/haverhill/installs".into(), Some(json!({ "hook": "router", "plugin": "haverhill-router" }))),
        (Method::POST, router("/deactivate"), None),
        (Method::PUT, router("/grants"), Some(json!({ "logs": true }))),
        (Method::PUT, router("/limits"), Some(json!({ "fuel": 1000 }))),
        (Method::PUT, router("/config"), Some(json!({ "ward": "3" }))),
        (Method::DELETE, router("/secrets/api_key"), None),
        (Method::POST, router("/dry-run"), Some(json!({ "version": 1 }))),
        (Method::POST, router("/shadow"), Some(json!({ "version": 1 }))),
        (Method::DELETE, router("/shadow"), None),
        (Method::GET, router("/shadow-results"), None),
        (Method::POST, router("/breaker/reset"), None),
    ];
    for (method, path, body) in attempts {
        let (status, reply) = send(&server, method.clone(), &path, &boston, body.clone()).await;
        assert_eq!(status, 403, "{method} {path} with Boston's key: {reply}");

        let (status, reply) = send(&server, method.clone(), &path, &haverhill_staff, body).await;
        assert_eq!(status, 403, "{method} {path} with a staff key: {reply}");
    }

    let (status, boston_plugins) = send(&server, Method::GET, "/api/v1/tenants/boston/plugins", &boston, None).await;
    assert_eq!(status, 200, "{boston_plugins}");
    let names: Vec<&str> = boston_plugins.as_array().expect("a list").iter().filter_map(|version| version["name"].as_str()).collect();
    assert!(!names.contains(&"haverhill-router"), "{boston_plugins}");

    let (status, reply) = install(&server, "boston", &boston, json!({ "hook": "router", "plugin": "haverhill-router" })).await;
    assert_eq!(status, 404, "Boston cannot install Haverhill's private plugin: {reply}");

    let haverhill = server.admin_key("haverhill").await;
    let (_, shown) = send(&server, Method::GET, &router(""), &haverhill, None).await;
    assert_eq!(shown["active_version"]["version"], 1, "nothing Boston sent changed the install: {shown}");
    assert_eq!(shown["limits"]["overrides"]["fuel"], Value::Null, "{shown}");
    assert_eq!(shown["grants"]["logs"], false, "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_publish_and_install_by_two_tenants() {
    setup();
    let server = TestServer::start().await;
    let path = "/api/v1/platform/catalogue/shared-router/versions";

    // The server rejects the token before it reads the body and then closes
    // the connection, so this request gets a client of its own.
    let response = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth("wrong-token")
        .header("content-type", "application/wasm")
        .body(plugin_wasm("fault-injector"))
        .send()
        .await
        .expect("publish reaches the server");
    assert_eq!(response.status().as_u16(), 403);

    let response = server
        .client
        .post(server.url(path))
        .bearer_auth(PLATFORM_TOKEN)
        .header("content-type", "application/wasm")
        .body(plugin_wasm("fault-injector"))
        .send()
        .await
        .expect("publish reaches the server");
    assert_eq!(response.status().as_u16(), 201);
    let published: Value = response.json().await.expect("JSON reply");
    assert_eq!(published["version"]["source"], "catalogue");

    let (status, listed) = send(&server, Method::GET, "/api/v1/platform/catalogue", PLATFORM_TOKEN, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed[0]["name"], "shared-router");

    for slug in ["haverhill", "boston"] {
        let key = server.admin_key(slug).await;
        let body = json!({ "hook": "router", "plugin": "shared-router", "source": "catalogue", "config": { "fault": "none" } });
        let (status, created) = install(&server, slug, &key, body).await;
        assert_eq!(status, 201, "{slug}: {created}");
        assert_eq!(created["source"], "catalogue");
        assert_eq!(created["config"]["fault"], "none");

        let path = install_path(slug, "router", "shared-router", "/activate");
        let (status, activated) = send(&server, Method::POST, &path, &key, Some(json!({ "version": 1 }))).await;
        assert_eq!(status, 200, "{slug}: {activated}");
    }

    let haverhill = server.api_key("haverhill").await;
    submit(&server, &haverhill, &graffiti()).await;
    submit(&server, &haverhill, &graffiti()).await;
    submit(&server, &haverhill, &graffiti()).await;
    let boston = server.api_key("boston").await;
    let comment = json!({ "service_code": "general-comments-for-a-program-or-policy", "description": "Thanks for the bike lanes" });
    let (status, reply) = server.staff_post("boston", &boston, "/requests", &comment).await;
    assert_eq!(status, 201, "{reply}");
    server.state.manager.flush().await;

    let today = chrono::Utc::now().date_naive();
    let query = format!(
        "/api/v1/platform/cost-share?plugin=shared-router&from={}&to={}&cost=10.01&split=usage",
        today - chrono::Days::new(1),
        today + chrono::Days::new(1)
    );
    let (status, report) = send(&server, Method::GET, &query, PLATFORM_TOKEN, None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["cost_cents"], 1001);
    assert_eq!(report["basis"], "calls");
    assert_eq!(report["rows"][0]["tenant"], "boston");
    assert_eq!(report["rows"][0]["calls"], 1);
    assert_eq!(report["rows"][0]["share_cents"], 250, "{report}");
    assert_eq!(report["rows"][1]["tenant"], "haverhill");
    assert_eq!(report["rows"][1]["share_cents"], 751, "{report}");

    let (status, csv) = server.admin_send(Method::GET, &format!("{query}&format=csv"), PLATFORM_TOKEN, None).await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.contains("\nhaverhill,3,0,0,3,751,7.51,75.02\n"), "{csv}");

    let (status, invalid) = send(&server, Method::GET, &query.replace("cost=10.01", "cost=10.001"), PLATFORM_TOKEN, None).await;
    assert_eq!(status, 422, "{invalid}");
    assert_eq!(invalid["error"]["field"], "cost");

    let (status, text) = server.admin_send(Method::GET, "/api/v1/platform/catalogue", "", None).await;
    assert_eq!(status, 401, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_records_disagreements() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let staff = server.api_key("haverhill").await;
    let router = |rest: &str| install_path("haverhill", "router", "haverhill-router", rest);
    upload(&server, "haverhill", &key, "haverhill-router", plugin_wasm("fault-injector")).await;

    let (status, started) = send(&server, Method::POST, &router("/shadow"), &key, Some(json!({ "version": 2 }))).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["shadow_version"]["version"], 2);
    assert_eq!(started["active_version"]["version"], 1);
    let (tree, department) = submit(&server, &staff, &tree_blocking_road()).await;
    assert_eq!(department, "dpw-highway", "the shadow version changes nothing");

    let results = wait_for_shadow_result(&server, &key, &router("/shadow-results")).await;
    assert_eq!(results[0]["request_id"], tree.as_str());
    assert_eq!(results[0]["active_version"], 1);
    assert_eq!(results[0]["candidate_version"], 2);
    assert_eq!(results[0]["agrees"], false);

    let (status, stopped) = send(&server, Method::DELETE, &router("/shadow"), &key, None).await;
    assert_eq!(status, 200, "{stopped}");
    assert_eq!(stopped["shadow_version"], Value::Null);
}

/// Polls the shadow results until one is recorded, because the shadow call
/// runs in the background after the request is routed.
async fn wait_for_shadow_result(server: &TestServer, key: &str, path: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, results) = send(server, Method::GET, path, key, None).await;
        assert_eq!(status, 200, "{results}");
        let results = results.as_array().expect("a list").clone();
        if !results.is_empty() {
            return results;
        }
        assert!(tokio::time::Instant::now() < deadline, "no shadow result was recorded within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_above_maximum_are_rejected() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let maximum = server.state.plugins.config().maxima.fuel;
    let path = install_path("haverhill", "router", "haverhill-router", "/limits");

    let (status, reply) = send(&server, Method::PUT, &path, &key, Some(json!({ "fuel": maximum + 1 }))).await;
    assert_eq!(status, 422, "{reply}");
    assert!(reply["error"]["message"].as_str().expect("message").contains(&maximum.to_string()), "{reply}");

    let (status, reply) = send(&server, Method::PUT, &path, &key, Some(json!({ "fuel": 2_000_000 }))).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["limits"]["overrides"]["fuel"], 2_000_000);
    assert_eq!(reply["limits"]["effective"]["fuel"], 2_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_per_second_limit_set_over_http() {
    setup();
    let server = TestServer::start().await;
    let key = server.admin_key("haverhill").await;
    let maximum = server.state.plugins.config().maxima.fuel_per_second;
    let path = install_path("haverhill", "router", "haverhill-router", "/limits");

    let (status, reply) = send(&server, Method::PUT, &path, &key, Some(json!({ "fuel_per_second": maximum + 1 }))).await;
    assert_eq!(status, 422, "{reply}");
    let message = reply["error"]["message"].as_str().expect("message");
    assert!(message.contains("fuel_per_second"), "{reply}");
    assert!(message.contains(&maximum.to_string()), "{reply}");
    assert_eq!(reply["error"]["field"], "fuel_per_second", "{reply}");

    let (status, reply) = send(&server, Method::PUT, &path, &key, Some(json!({ "fuel_per_second": 0 }))).await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"]["field"], "fuel_per_second", "{reply}");

    let (status, reply) = send(&server, Method::PUT, &path, &key, Some(json!({ "fuel_per_second": "1000" }))).await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"]["field"], "fuel_per_second", "{reply}");

    let (status, reply) = send(&server, Method::PUT, &path, &key, Some(json!({ "fuel_per_seconds": 5 }))).await;
    assert_eq!(status, 422, "{reply}");
    let message = reply["error"]["message"].as_str().expect("message");
    assert!(message.contains("unknown field `fuel_per_seconds`"), "{reply}");

    let (status, reply) = send(&server, Method::PUT, &path, &key, Some(json!({ "fuel_per_second": 50_000_000 }))).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["limits"]["overrides"]["fuel_per_second"], 50_000_000);
    assert_eq!(reply["limits"]["effective"]["fuel_per_second"], 50_000_000);
    let default_fuel = server.state.plugins.config().defaults.fuel;
    assert_eq!(reply["limits"]["effective"]["fuel"], default_fuel, "other limits keep their defaults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_scope_cannot_use_admin_api() {
    setup();
    let server = TestServer::start().await;
    let open311 = server.api_key_with_scope("haverhill", ApiKeyScope::Open311).await;

    let (status, reply) = send(&server, Method::GET, "/api/v1/tenants/haverhill/plugins", &open311, None).await;

    assert_eq!(status, 403, "{reply}");
    assert!(reply["error"]["message"].as_str().expect("message").contains("--scope admin"), "{reply}");
}
