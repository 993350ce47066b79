//! The integration outbox end to end. A city installs the Maintstar
//! integration from the platform catalogue, and each new pothole request
//! files exactly one work order in the Maintstar simulator over loopback.
//! Failed syncs are retried. A second city shares the same catalogue plugin
//! with its own configuration, secret and metered usage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use civic311_domain::plugin::{Grants, Hook, LimitOverrides, RecordKind};
use civic311_plugin_manager::{InstallRequest, PluginSource, Upload};
use civic311_store::{IntegrationJob, IntegrationJobStatus};
use civic311_tests::simulators::backend::Fault;
use civic311_tests::simulators::maintstar::{MaintstarOperation, MaintstarSim, DEFAULT_WORK_TYPES};
use civic311_tests::{copy_tenant, history_entry, plugin_wasm, tenants_dir, TestServer};
use serde_json::{json, Value};

const PLUGIN: &str = "maintstar-integration";

/// Upper bound on the wait for a job to settle. Retries back off from
/// 100 ms to 1 s in test servers, so a job that is going to finish does so
/// within a few seconds.
const JOB_WAIT: Duration = Duration::from_secs(30);

/// Writes a copy of Haverhill's folder under `parent` as another city with
/// its own slug and jurisdiction id, so that two tenants share the catalogue plugin.
fn write_second_city(parent: &Path, slug: &str) -> PathBuf {
    let source = tenants_dir().join("haverhill");
    let dir = parent.join(slug);
    std::fs::create_dir_all(&dir).expect("create the second city's folder");
    std::fs::copy(source.join("services.toml"), dir.join("services.toml")).expect("copy services.toml");

    let text = std::fs::read_to_string(source.join("tenant.toml")).expect("read Haverhill's tenant.toml");
    let mut manifest: toml::Table = text.parse().expect("Haverhill's tenant.toml is valid TOML");
    manifest.insert("slug".into(), slug.into());
    manifest.insert("name".into(), format!("Town of {slug}").into());
    manifest.insert("jurisdiction_id".into(), format!("{slug}.test").into());
    manifest.remove("telephony");
    std::fs::write(dir.join("tenant.toml"), toml::to_string(&manifest).expect("serialize the manifest"))
        .expect("write the second city's tenant.toml");
    dir
}

async fn start_server(second_city: &str) -> (TestServer, tempfile::TempDir) {
    let folder = tempfile::tempdir().expect("create a temporary tenants folder");
    copy_tenant(&tenants_dir().join("haverhill"), folder.path());
    write_second_city(folder.path(), second_city);
    let server = TestServer::start_with_tenants(folder.path()).await;
    (server, folder)
}

/// Publishes the Maintstar integration to the platform catalogue and returns its version.
async fn publish_maintstar(server: &TestServer) -> i32 {
    let upload = Upload {
        name: PLUGIN.to_string(),
        wasm: plugin_wasm(PLUGIN),
        description: Some("Maintstar work orders".to_string()),
        actor: "platform-admin".to_string(),
    };
    let published = server.state.manager.publish(upload).await.expect("the Maintstar integration publishes");
    assert_eq!(published.version.hook, Hook::Integration);
    published.version.version
}

/// Installs the catalogue plugin for `slug` against `sim`, stores its API
/// key as the install secret, and activates `version`.
async fn install_maintstar(server: &TestServer, slug: &str, sim: &MaintstarSim, work_type: &str, version: i32) {
    let tenant = server.tenant(slug);
    let host = sim.host().split(':').next().expect("the simulator host has a name").to_string();
    let config = BTreeMap::from([
        ("base_url".to_string(), sim.base_url().to_string()),
        ("departments".to_string(), "dpw-highway".to_string()),
        ("work_type.pothole".to_string(), work_type.to_string()),
    ]);
    let request = InstallRequest {
        hook: Hook::Integration,
        plugin_name: PLUGIN.to_string(),
        source: PluginSource::Catalogue,
        grants: Grants {
            logs: true,
            kv: false,
            secrets: true,
            http_hosts: vec![host],
        },
        limits: LimitOverrides::default(),
        config,
    };

    let manager = &server.state.manager;
    manager.install(tenant.id, request, "city-admin").await.unwrap_or_else(|error| panic!("{slug} installs {PLUGIN}: {error}"));
    manager
        .set_secret(tenant.id, Hook::Integration, PLUGIN, "api_key", sim.api_key(), "city-admin")
        .await
        .unwrap_or_else(|error| panic!("{slug} stores the Maintstar API key: {error}"));
    manager
        .activate(tenant.id, Hook::Integration, PLUGIN, version, "city-admin")
        .await
        .unwrap_or_else(|error| panic!("{slug} activates {PLUGIN} version {version}: {error}"));
}

fn pothole(description: &str) -> Value {
    json!({
        "service_code": "pothole",
        "description": description,
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "large" },
        "channel": "web",
    })
}

/// Submits a request through the staff API and returns its id.
async fn submit(server: &TestServer, slug: &str, key: &str, body: &Value) -> String {
    let (status, created) = server.staff_post(slug, key, "/requests", body).await;
    assert_eq!(status, 201, "POST to {slug} failed: {created}");
    created["request"]["id"].as_str().expect("the reply carries the request id").to_string()
}

/// Polls the request's integration job until it is done or rejected, and returns it.
async fn settled_job(server: &TestServer, slug: &str, request_id: &str) -> IntegrationJob {
    let store = &server.tenant(slug).store;
    let deadline = tokio::time::Instant::now() + JOB_WAIT;
    loop {
        let jobs = store.integration_jobs(Some(request_id)).await.expect("integration jobs are readable");
        assert_eq!(jobs.len(), 1, "request {request_id} has one job per integration install: {jobs:?}");
        let job = jobs.into_iter().next().expect("one job");
        if matches!(job.status, IntegrationJobStatus::Done | IntegrationJobStatus::Rejected) {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "job of {request_id} did not settle within {JOB_WAIT:?}: {job:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pothole_files_one_work_order() {
    let sim = MaintstarSim::start().await;
    let (server, _folder) = start_server("bradford").await;
    let version = publish_maintstar(&server).await;
    install_maintstar(&server, "haverhill", &sim, "ROAD-PATCH", version).await;
    let key = server.api_key("haverhill").await;

    let id = submit(&server, "haverhill", &key, &pothole("Deep pothole in the right lane")).await;
    let job = settled_job(&server, "haverhill", &id).await;

    assert_eq!(job.status, IntegrationJobStatus::Done, "{job:?}");
    assert_eq!(job.attempts, 1);
    let orders = sim.work_orders_for(&id);
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].work_type, "ROAD-PATCH");

    let records = server.tenant("haverhill").store.integration_records(&id).await.expect("records are readable");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].kind, RecordKind::WorkOrder);
    assert_eq!(records[0].remote_id, orders[0].id);

    let (status, stored) = server.staff_get("haverhill", &key, &format!("/requests/{id}")).await;
    assert_eq!(status, 200, "{stored}");
    let entry = history_entry(&stored, "integration_synced").unwrap_or_else(|| panic!("no integration_synced entry: {stored}"));
    assert_eq!(entry["visibility"], "internal");
    assert_eq!(entry["summary"], format!("Work order {} created in {PLUGIN}", orders[0].id));
    assert_eq!(entry["detail"]["remote_id"], orders[0].id.as_str());
    assert_eq!(sim.last_api_key().as_deref(), Some(sim.api_key()), "the plugin sent the install secret");
    assert!(!stored.to_string().contains(sim.api_key()), "the request reply shows the Maintstar API key: {stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_response_files_one_work_order() {
    let sim = MaintstarSim::start().await;
    let (server, _folder) = start_server("bradford").await;
    let version = publish_maintstar(&server).await;
    install_maintstar(&server, "haverhill", &sim, "ROAD-PATCH", version).await;
    let key = server.api_key("haverhill").await;
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::LoseResponse);

    let id = submit(&server, "haverhill", &key, &pothole("Pothole by the bridge")).await;
    let job = settled_job(&server, "haverhill", &id).await;

    assert_eq!(job.status, IntegrationJobStatus::Done, "{job:?}");
    assert_eq!(job.attempts, 2, "the lost response is retried once: {job:?}");
    let orders = sim.work_orders_for(&id);
    assert_eq!(orders.len(), 1, "the retry finds the work order instead of filing another: {orders:?}");

    let records = server.tenant("haverhill").store.integration_records(&id).await.expect("records are readable");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].remote_id, orders[0].id);

    let today = Utc::now().date_naive();
    let usage = server
        .state
        .store
        .usage_for_plugin(None, PLUGIN, today, today)
        .await
        .expect("usage of the catalogue plugin is readable");
    let metered: u64 = usage.iter().map(|row| row.work_orders).sum();
    assert_eq!(metered, 1, "the work order found on retry is metered once: {usage:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_burst_is_retried() {
    let sim = MaintstarSim::start().await;
    let (server, _folder) = start_server("bradford").await;
    let version = publish_maintstar(&server).await;
    install_maintstar(&server, "haverhill", &sim, "ROAD-PATCH", version).await;
    let key = server.api_key("haverhill").await;
    sim.fail_next(3, Fault::Unavailable);

    let id = submit(&server, "haverhill", &key, &pothole("Pothole at the crosswalk")).await;
    let job = settled_job(&server, "haverhill", &id).await;

    assert_eq!(job.status, IntegrationJobStatus::Done, "{job:?}");
    assert_eq!(job.attempts, 4, "three 503 replies, then success: {job:?}");
    assert_eq!(sim.work_orders_for(&id).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_failures_end_rejected() {
    let sim = MaintstarSim::start().await;
    let (server, _folder) = start_server("bradford").await;
    let version = publish_maintstar(&server).await;
    install_maintstar(&server, "haverhill", &sim, "ROAD-PATCH", version).await;
    let key = server.api_key("haverhill").await;
    let max_attempts = civic311_tests::test_worker_config().max_attempts;
    sim.fail_next(max_attempts + 10, Fault::Unavailable);

    let id = submit(&server, "haverhill", &key, &pothole("Pothole that never syncs")).await;
    let job = settled_job(&server, "haverhill", &id).await;

    assert_eq!(job.status, IntegrationJobStatus::Rejected, "{job:?}");
    assert_eq!(job.attempts, max_attempts);
    let error = job.last_error.as_deref().unwrap_or("");
    assert!(error.contains(&format!("gave up after {max_attempts} attempts")), "{error}");
    assert!(error.contains("503"), "the last error names the status: {error}");
    assert!(sim.work_orders_for(&id).is_empty());

    let (_, stored) = server.staff_get("haverhill", &key, &format!("/requests/{id}")).await;
    let entry = history_entry(&stored, "integration_failed").unwrap_or_else(|| panic!("no integration_failed entry: {stored}"));
    assert_eq!(entry["detail"]["plugin"], PLUGIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_work_order_is_not_retried() {
    let sim = MaintstarSim::start().await;
    let (server, _folder) = start_server("bradford").await;
    let version = publish_maintstar(&server).await;
    install_maintstar(&server, "haverhill", &sim, "NO-SUCH-TYPE", version).await;
    let key = server.api_key("haverhill").await;

    let id = submit(&server, "haverhill", &key, &pothole("Pothole with an unknown work type")).await;
    let job = settled_job(&server, "haverhill", &id).await;

    assert_eq!(job.status, IntegrationJobStatus::Rejected, "{job:?}");
    assert_eq!(job.attempts, 1, "a rejection is final: {job:?}");
    assert!(sim.work_orders_for(&id).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cities_share_the_catalogue_plugin() {
    let haverhill_sim = MaintstarSim::start().await;
    let bradford_sim = MaintstarSim::start_with("mst-bradford-5c2e91", DEFAULT_WORK_TYPES).await;
    let (server, _folder) = start_server("bradford").await;
    let version = publish_maintstar(&server).await;
    install_maintstar(&server, "haverhill", &haverhill_sim, "ROAD-PATCH", version).await;
    install_maintstar(&server, "bradford", &bradford_sim, "GENERAL", version).await;
    let haverhill_key = server.api_key("haverhill").await;
    let bradford_key = server.api_key("bradford").await;

    let mut haverhill_ids = Vec::new();
    for number in 0..3 {
        haverhill_ids.push(submit(&server, "haverhill", &haverhill_key, &pothole(&format!("Haverhill pothole {number}"))).await);
    }
    let bradford_id = submit(&server, "bradford", &bradford_key, &pothole("Bradford pothole")).await;
    for id in &haverhill_ids {
        assert_eq!(settled_job(&server, "haverhill", id).await.status, IntegrationJobStatus::Done);
    }
    assert_eq!(settled_job(&server, "bradford", &bradford_id).await.status, IntegrationJobStatus::Done);

    assert_eq!(haverhill_sim.work_orders().len(), 3, "Haverhill's work orders go to its own Maintstar");
    assert_eq!(bradford_sim.work_orders().len(), 1, "Bradford's work order goes to its own Maintstar");
    assert_eq!(bradford_sim.work_orders()[0].work_type, "GENERAL", "Bradford's own config applies");
    assert_eq!(bradford_sim.last_api_key().as_deref(), Some("mst-bradford-5c2e91"), "Bradford's own secret is sent");
    assert_eq!(haverhill_sim.last_api_key().as_deref(), Some(haverhill_sim.api_key()));

    server.state.manager.flush().await;
    let today = Utc::now().date_naive();
    let usage = server
        .state
        .store
        .usage_for_plugin(None, PLUGIN, today, today)
        .await
        .expect("usage of the catalogue plugin is readable");
    let haverhill = server.tenant("haverhill").id;
    let bradford = server.tenant("bradford").id;
    let work_orders = |tenant| usage.iter().filter(|row| row.tenant == tenant).map(|row| row.work_orders).sum::<u64>();
    assert_eq!(work_orders(haverhill), 3, "{usage:?}");
    assert_eq!(work_orders(bradford), 1, "{usage:?}");
    let calls = |tenant| usage.iter().filter(|row| row.tenant == tenant).map(|row| row.calls).sum::<u64>();
    assert_eq!(calls(haverhill), 3, "one call per Haverhill request: {usage:?}");
    assert_eq!(calls(bradford), 1, "one call for Bradford's request: {usage:?}");

    // Public ids count per tenant, so both cities have a request with the
    // same id. Each tenant's store lists only its own jobs and records.
    for (slug, tenant, sim, count) in [("haverhill", haverhill, &haverhill_sim, 3), ("bradford", bradford, &bradford_sim, 1)] {
        let store = &server.tenant(slug).store;
        let install = store
            .install(Hook::Integration, PLUGIN)
            .await
            .expect("installs are readable")
            .unwrap_or_else(|| panic!("{slug} installed the plugin"));
        let jobs = store.integration_jobs(None).await.expect("jobs are readable");
        assert_eq!(jobs.len(), count, "{slug}: {jobs:?}");
        for job in &jobs {
            assert_eq!(job.tenant, tenant, "{slug} lists another tenant's job: {job:?}");
            assert_eq!(job.install, install.id, "{slug}'s request ran another install: {job:?}");

            let records = store.integration_records(&job.request_id).await.expect("records are readable");
            assert_eq!(records.len(), 1, "{slug}: {records:?}");
            let remote_ids: Vec<String> = sim.work_orders().into_iter().map(|order| order.id).collect();
            assert!(remote_ids.contains(&records[0].remote_id), "{slug} lists a work order of another city: {records:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_without_install_gets_no_job() {
    let (server, _folder) = start_server("bradford").await;
    let key = server.api_key("haverhill").await;

    let id = submit(&server, "haverhill", &key, &pothole("Pothole in a city without integrations")).await;

    let jobs = server.tenant("haverhill").store.integration_jobs(Some(&id)).await.expect("jobs are readable");
    assert!(jobs.is_empty(), "{jobs:?}");
}
