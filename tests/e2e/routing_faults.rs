//! A router plugin that loops, exhausts memory, traps or names a department
//! that does not exist never loses a request. The request is stored with the
//! service's default department and a `routing_failed` history entry, and
//! other tenants on the same plugin host keep routing normally.

use civic311_store::test_support::TestDatabase;
use civic311_tests::{copy_tenant, history_entry, tenants_dir, write_fault_tenant, TestServer};
use serde_json::{json, Value};

/// Each fault the fault-injector plugin plays, with the error kinds the
/// routing failure may record for it. A busy loop stops at whichever limit
/// it reaches first, the wall-time deadline or the fuel budget. The memory
/// fault fills each new megabyte, and wasmtime charges fuel for bulk memory
/// writes by size, so under the default limits (16 MiB, 10 million fuel
/// units) the fuel budget can run out before the memory cap is reached.
const FAULTS: &[(&str, &[&str])] = &[
    ("loop", &["timeout", "fuel_exhausted"]),
    ("grow-memory", &["memory_limit", "fuel_exhausted"]),
    ("trap", &["trap"]),
    ("wrong-department", &["invalid_department"]),
];

/// Builds a pothole request inside Haverhill's service area; its default department is dpw-highway.
fn pothole() -> Value {
    json!({
        "service_code": "pothole",
        "description": "Deep pothole in the right lane",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "medium" },
        "channel": "web",
    })
}

async fn start_server(faults: &[&str]) -> (TestServer, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("create a temporary tenants folder");
    copy_tenant(&tenants_dir().join("haverhill"), folder.path());
    copy_tenant(&tenants_dir().join("boston"), folder.path());
    for fault in faults {
        write_fault_tenant(folder.path(), fault);
    }

    let server = TestServer::start_with_tenants(folder.path()).await;
    (server, folder)
}

async fn submit(server: &TestServer, slug: &str, body: &Value) -> Value {
    let key = server.api_key(slug).await;
    let (status, created) = server.staff_post(slug, &key, "/requests", body).await;
    assert_eq!(status, 201, "POST to {slug} failed: {created}");

    let id = created["request"]["id"].as_str().expect("the reply carries the request id");
    let (status, stored) = server.staff_get(slug, &key, &format!("/requests/{id}")).await;
    assert_eq!(status, 200, "GET of {slug} request {id} failed: {stored}");
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_falls_back_to_default_department() {
    let faults: Vec<&str> = FAULTS.iter().map(|(fault, _)| *fault).collect();
    let (server, _folder) = start_server(&faults).await;
    // The manifest names the file fault_injector.wasm; the plugin takes its
    // stem with hyphens for underscores as name.
    let plugin_name = "fault-injector".to_string();

    for (fault, kinds) in FAULTS {
        let slug = format!("fault-{fault}");
        let stored = submit(&server, &slug, &pothole()).await;

        assert_eq!(stored["request"]["department"], "dpw-highway", "fault {fault}: {stored}");
        assert_eq!(stored["request"]["sub_status"], "submitted", "fault {fault}");
        assert!(history_entry(&stored, "created").is_some(), "fault {fault}: no created entry in {stored}");
        assert!(history_entry(&stored, "routed").is_none(), "fault {fault}: a routed entry despite the fault: {stored}");

        let failure = history_entry(&stored, "routing_failed")
            .unwrap_or_else(|| panic!("fault {fault}: no routing_failed entry in {stored}"));
        assert_eq!(failure["visibility"], "internal", "fault {fault}");
        assert_eq!(failure["detail"]["plugin"], plugin_name.as_str(), "fault {fault}");
        assert_eq!(failure["detail"]["blame"], "plugin", "fault {fault}");
        assert_eq!(failure["detail"]["department"], "dpw-highway", "fault {fault}");
        let digest = failure["detail"]["digest"].as_str().unwrap_or("");
        assert_eq!(digest.len(), 64, "fault {fault}: digest {digest:?} is not hex SHA-256");
        let kind = failure["detail"]["error_kind"].as_str().unwrap_or("");
        assert!(kinds.contains(&kind), "fault {fault}: error kind {kind:?} not among {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_department_names_the_bogus_code() {
    let (server, _folder) = start_server(&["wrong-department"]).await;

    let stored = submit(&server, "fault-wrong-department", &pothole()).await;

    let failure = history_entry(&stored, "routing_failed").expect("a routing_failed entry");
    let error = failure["detail"]["error"].as_str().unwrap_or("");
    assert!(error.contains("not one of the tenant's departments"), "{error}");
    assert!(error.contains("dpw-highway"), "the error lists the valid codes: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tenants_route_normally_after_faults() {
    let (server, _folder) = start_server(&["loop", "grow-memory", "trap", "none"]).await;

    for fault in ["loop", "grow-memory", "trap"] {
        let stored = submit(&server, &format!("fault-{fault}"), &pothole()).await;
        assert!(history_entry(&stored, "routing_failed").is_some(), "fault {fault}: {stored}");
    }

    let healthy = submit(&server, "fault-none", &pothole()).await;
    assert!(history_entry(&healthy, "routing_failed").is_none(), "fault none failed: {healthy}");
    let routed = history_entry(&healthy, "routed").expect("fault none writes a routed entry");
    assert_eq!(healthy["request"]["department"], "dpw-highway");
    assert_eq!(routed["detail"]["department"], "dpw-highway");

    let haverhill = submit(&server, "haverhill", &pothole()).await;
    let routed = history_entry(&haverhill, "routed").expect("Haverhill writes a routed entry");
    assert_eq!(routed["detail"]["plugin"], "haverhill-router");
    assert_eq!(haverhill["request"]["department"], "dpw-highway");
    let queue = haverhill["request"]["queue"].as_str().unwrap_or("");
    assert!(queue.starts_with("pothole-"), "Haverhill's router sets a pothole queue, got {queue:?}");

    let boston_graffiti = json!({
        "service_code": "pwd-graffiti",
        "description": "Tags painted on the traffic signal box",
        "lat": 42.3467,
        "long": -71.0972,
        "attributes": { "surface": "traffic-signal" },
    });
    let boston = submit(&server, "boston", &boston_graffiti).await;
    let routed = history_entry(&boston, "routed").expect("Boston writes a routed entry");
    assert_eq!(routed["detail"]["plugin"], "boston-router");
    assert_eq!(boston["request"]["department"], "BTDT");
    assert_eq!(boston["request"]["queue"], "BTDT_Traffic Signal_Graffiti");
}

/// `tenant apply` and `serve` reject a plugin that does not load, so a load
/// failure can only come later: here the tenant was stored from a folder
/// that is gone at the next start, and its relative plugin path no longer resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unloadable_plugin_leaves_tenant_serving() {
    let database = TestDatabase::create().await;
    let removed = tempfile::tempdir().expect("create a temporary folder for the stored tenant");
    let fault_dir = write_fault_tenant(removed.path(), "none");
    let manifest = civic311_server::tenants::load_manifest(&fault_dir).expect("the fault tenant's manifest is valid");
    database.store().await.apply_tenant(&manifest).await.expect("store the fault tenant");
    drop(removed);

    let folder = tempfile::tempdir().expect("create a temporary tenants folder");
    copy_tenant(&tenants_dir().join("haverhill"), folder.path());
    let server = TestServer::start_with_tenants_and_database(folder.path(), database).await;
    let registry = server.state.manager.registry();
    assert!(registry.router(server.tenant("fault-none").id).is_none());
    assert!(server.tenant("fault-none").router_error.is_some());
    assert!(registry.router(server.tenant("haverhill").id).is_some());

    let stored = submit(&server, "fault-none", &pothole()).await;
    assert_eq!(stored["request"]["department"], "dpw-highway");
    let failure = history_entry(&stored, "routing_failed").expect("a routing_failed entry");
    assert_eq!(failure["detail"]["error_kind"], "load_failed");

    let haverhill = submit(&server, "haverhill", &pothole()).await;
    assert!(history_entry(&haverhill, "routed").is_some(), "{haverhill}");
}
