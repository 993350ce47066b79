//! The bundled Maintstar and ViewPermit integration components, run by the
//! real plugin host against the back-end simulators over loopback HTTP.
//!
//! The capability provider here does what the platform's does, with real
//! parts: reqwest on the test's tokio runtime for `http`, and in-memory
//! maps for `kv` and `secrets`. The host calls it on a blocking thread, so
//! each sync runs in `spawn_blocking` and the provider enters the runtime
//! with `Handle::block_on`.
//!
//! Checks of credentials compare without printing the value.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::DateTime;
use civic311_domain::Priority;
use civic311_domain::plugin::{Grants, Hook, IntegrationRequest, RecordKind, SyncFailure, SyncedRecord};
use civic311_plugin_host::{
    CallContext, CallLimits, CapabilityProvider, HostConfig, HttpFailure, HttpRequest, HttpResponse, LoadedPlugin, LogLevel,
    PluginError, PluginHost,
};
use civic311_tests::simulators::backend::Fault;
use civic311_tests::simulators::maintstar::{self, MaintstarOperation, MaintstarSim};
use civic311_tests::simulators::viewpermit::{self, ViewPermitOperation, ViewPermitSim};
use tokio::runtime::Handle;

/// HTTP timeout of the test provider, below the call's wall time, so that a
/// hung back end returns a timeout to the plugin while the call still runs.
const HTTP_TIMEOUT: Duration = Duration::from_millis(500);

/// Wall time of each call: long enough for several loopback requests and the
/// provider's HTTP timeout on a busy 2-core machine.
const WALL_TIME: Duration = Duration::from_secs(10);

/// Capabilities of one install: real HTTP, and the install's secrets and
/// key-value store in memory.
struct TestProvider {
    runtime: Handle,
    client: reqwest::Client,
    secrets: BTreeMap<String, String>,
    kv: Mutex<BTreeMap<String, Vec<u8>>>,
    logs: Mutex<Vec<(LogLevel, String)>>,
}

impl TestProvider {
    fn new(secrets: &[(&str, &str)]) -> Arc<TestProvider> {
        Arc::new(TestProvider {
            runtime: Handle::current(),
            client: reqwest::Client::new(),
            secrets: secrets.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
            kv: Mutex::new(BTreeMap::new()),
            logs: Mutex::new(Vec::new()),
        })
    }

    fn log_lines(&self) -> Vec<String> {
        self.logs.lock().unwrap().iter().map(|(_, line)| line.clone()).collect()
    }

    fn kv_value(&self, key: &str) -> Option<String> {
        let kv = self.kv.lock().unwrap();
        kv.get(key).map(|value| String::from_utf8_lossy(value).into_owned())
    }

    async fn send(&self, request: HttpRequest, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|error| HttpFailure::Failed(error.to_string()))?;
        let mut builder = self.client.request(method, &request.url).timeout(timeout.min(HTTP_TIMEOUT));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }

        let response = builder.send().await.map_err(http_failure)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_string()))
            .collect();
        let body = response.bytes().await.map_err(http_failure)?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }
}

fn http_failure(error: reqwest::Error) -> HttpFailure {
    if error.is_timeout() { HttpFailure::Timeout } else { HttpFailure::Failed(error.to_string()) }
}

impl CapabilityProvider for TestProvider {
    fn log(&self, level: LogLevel, message: &str) {
        self.logs.lock().unwrap().push((level, message.to_string()));
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.kv.lock().unwrap().get(key).cloned())
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.kv.lock().unwrap().insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn kv_delete(&self, key: &str) -> Result<(), String> {
        self.kv.lock().unwrap().remove(key);
        Ok(())
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned()
    }

    fn http_send(&self, request: HttpRequest, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
        self.runtime.block_on(self.send(request, timeout))
    }
}

/// One install of a bundled integration: the loaded component, its config,
/// grants and provider.
struct Install {
    host: Arc<PluginHost>,
    plugin: Arc<LoadedPlugin>,
    config: BTreeMap<String, String>,
    grants: Grants,
    provider: Arc<TestProvider>,
}

impl Install {
    fn new(name: &str, config: &[(&str, &str)], provider: Arc<TestProvider>) -> Install {
        let host = PluginHost::new(HostConfig::default()).expect("the plugin host starts");
        let wasm = civic311_bundled_plugins::bundled(name).unwrap_or_else(|| panic!("{name} is bundled"));
        let plugin = host.load(name, wasm).unwrap_or_else(|error| panic!("{name} loads: {error}"));
        assert_eq!(plugin.hook(), Hook::Integration);

        Install {
            host: Arc::new(host),
            plugin: Arc::new(plugin),
            config: config.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect(),
            grants: Grants { logs: true, kv: true, secrets: true, http_hosts: vec!["127.0.0.1".to_string()] },
            provider,
        }
    }

    /// Runs one sync of `request` with this install's config, on a blocking thread.
    async fn sync(&self, request: &IntegrationRequest) -> Result<Vec<SyncedRecord>, PluginError> {
        let mut request = request.clone();
        request.config = self.config.clone();
        let limits = CallLimits { wall_time: WALL_TIME, ..HostConfig::default().defaults };
        let call = CallContext { limits, grants: self.grants.clone(), capabilities: self.provider.clone() };
        let (host, plugin) = (self.host.clone(), self.plugin.clone());

        tokio::task::spawn_blocking(move || host.sync_request(&plugin, &request, &call).result)
            .await
            .expect("the sync task does not panic")
    }
}

fn sync_failure(result: Result<Vec<SyncedRecord>, PluginError>) -> SyncFailure {
    match result {
        Err(PluginError::SyncFailed { failure, .. }) => failure,
        other => panic!("expected the plugin's own sync error, got {other:?}"),
    }
}

fn retry_message(result: Result<Vec<SyncedRecord>, PluginError>) -> String {
    match sync_failure(result) {
        SyncFailure::Retry(message) => message,
        SyncFailure::Rejected(message) => panic!("expected retry, got rejected: {message}"),
    }
}

fn rejected_message(result: Result<Vec<SyncedRecord>, PluginError>) -> String {
    match sync_failure(result) {
        SyncFailure::Rejected(message) => message,
        SyncFailure::Retry(message) => panic!("expected rejected, got retry: {message}"),
    }
}

fn request(id: &str, service_code: &str, department: &str) -> IntegrationRequest {
    IntegrationRequest {
        id: id.to_string(),
        service_code: service_code.to_string(),
        service_name: "Pothole".to_string(),
        description: "Deep pothole in the right lane".to_string(),
        address: Some("12 Main St, Haverhill, MA".to_string()),
        lat: Some(42.7762),
        long: Some(-71.0773),
        answers: BTreeMap::from([("size".to_string(), vec!["large".to_string()])]),
        department: department.to_string(),
        priority: Priority::High,
        queue: None,
        requested_at: DateTime::parse_from_rfc3339("2026-12-01T09:30:00-05:00").unwrap(),
        config: BTreeMap::new(),
    }
}

fn food_complaint(id: &str) -> IntegrationRequest {
    let mut request = request(id, "food-complaint", "health");
    request.service_name = "Food complaint".to_string();
    request.description = "Raw chicken stored above salads".to_string();
    request.address = Some("40 Washington St, Haverhill, MA".to_string());
    request.answers = BTreeMap::from([("business_name".to_string(), vec!["Merrimack Diner".to_string()])]);
    request.priority = Priority::Normal;
    request
}

const MAINTSTAR_SECRET: &str = "mst-haverhill-4b1d7e0c9a2f";

async fn maintstar() -> (MaintstarSim, Install) {
    let sim = MaintstarSim::start_with(MAINTSTAR_SECRET, maintstar::DEFAULT_WORK_TYPES).await;
    let config = [
        ("base_url", sim.base_url()),
        ("departments", "dpw-highway,dpw-forestry"),
        ("work_type.pothole", "ROAD-PATCH"),
        ("department.dpw-highway", "HWY"),
    ];
    let install = Install::new("maintstar-integration", &config, TestProvider::new(&[("api_key", MAINTSTAR_SECRET)]));
    (sim, install)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_creates_work_order() {
    let (sim, install) = maintstar().await;

    let records = install.sync(&request("HAV-2026-000123", "pothole", "dpw-highway")).await.expect("the sync succeeds");

    assert_eq!(records.len(), 1);
    assert_eq!(records[0].kind, RecordKind::WorkOrder);
    assert_eq!(records[0].remote_id, "WO-000001");
    assert_eq!(records[0].remote_status.as_deref(), Some("OPEN"));
    assert!(records[0].created);

    let stored = sim.work_orders_for("HAV-2026-000123");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].work_type, "ROAD-PATCH");
    assert_eq!(stored[0].department, "HWY");
    assert_eq!(stored[0].priority, "HIGH");
    assert_eq!(stored[0].description, "Pothole: Deep pothole in the right lane\nsize: large");
    assert_eq!(stored[0].location.address.as_deref(), Some("12 Main St, Haverhill, MA"));
    assert_eq!(stored[0].location.latitude, Some(42.7762));
    assert_eq!(stored[0].requested_at.as_deref(), Some("2026-12-01T09:30:00-05:00"));
    assert!(sim.last_api_key().as_deref() == Some(MAINTSTAR_SECRET), "the API key secret reaches Maintstar");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_repeat_finds_existing() {
    let (sim, install) = maintstar().await;
    let pothole = request("HAV-2026-000124", "pothole", "dpw-highway");

    let first = install.sync(&pothole).await.expect("the first sync succeeds");
    let second = install.sync(&pothole).await.expect("the repeated sync succeeds");

    assert!(first[0].created);
    assert!(!second[0].created);
    assert_eq!(second[0].remote_id, first[0].remote_id);
    assert_eq!(sim.work_orders().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_skips_unconfigured_request() {
    let (sim, install) = maintstar().await;

    let records = install.sync(&request("HAV-2026-000125", "noise", "health")).await.expect("the sync succeeds");

    assert!(records.is_empty());
    assert_eq!(sim.requests_received(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_listed_department_uses_default_type() {
    let (sim, mut install) = maintstar().await;
    install.config.insert("default_work_type".to_string(), "TREE-REMOVAL".to_string());

    let records = install.sync(&request("HAV-2026-000126", "fallen-tree", "dpw-forestry")).await.expect("the sync succeeds");

    assert_eq!(records.len(), 1);
    let stored = sim.work_orders_for("HAV-2026-000126");
    assert_eq!(stored[0].work_type, "TREE-REMOVAL");
    assert_eq!(stored[0].department, "dpw-forestry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_transient_failures_are_retried() {
    let (sim, install) = maintstar().await;
    let pothole = request("HAV-2026-000127", "pothole", "dpw-highway");
    let faults = [
        (MaintstarOperation::Lookup, Fault::InternalError, "500"),
        (MaintstarOperation::Create, Fault::Unavailable, "503"),
        (MaintstarOperation::Create, Fault::RateLimited, "429"),
    ];

    for (operation, fault, status) in faults {
        sim.fail_next_on(operation, 1, fault);
        let message = retry_message(install.sync(&pothole).await);
        assert!(message.contains(status), "{status}: {message}");
        assert!(sim.work_orders().is_empty(), "{status}: no work order after a failure");
    }

    let records = install.sync(&pothole).await.expect("the sync succeeds once the faults are spent");
    assert!(records[0].created);
    assert_eq!(sim.work_orders().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_validation_error_is_rejected() {
    let (sim, install) = maintstar().await;
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::Invalid("location is outside the city".to_string()));

    let message = rejected_message(install.sync(&request("HAV-2026-000128", "pothole", "dpw-highway")).await);

    assert!(message.contains("400"), "{message}");
    assert!(message.contains("location is outside the city"), "{message}");
    assert!(sim.work_orders().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_unknown_work_type_is_rejected() {
    let (sim, mut install) = maintstar().await;
    install.config.insert("work_type.pothole".to_string(), "POTHOLE-FILL".to_string());

    let message = rejected_message(install.sync(&request("HAV-2026-000129", "pothole", "dpw-highway")).await);

    assert!(message.contains("on field work_type"), "{message}");
    assert!(sim.work_orders().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_hang_is_retried() {
    let (sim, install) = maintstar().await;
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::Hang(Duration::from_secs(30)));

    let message = retry_message(install.sync(&request("HAV-2026-000130", "pothole", "dpw-highway")).await);

    assert!(message.contains("timed out"), "{message}");
    assert!(sim.work_orders().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_lost_response_creates_one_order() {
    let (sim, install) = maintstar().await;
    let pothole = request("HAV-2026-000131", "pothole", "dpw-highway");
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::LoseResponse);

    let message = retry_message(install.sync(&pothole).await);
    assert!(message.contains("creating the work order"), "{message}");
    assert_eq!(sim.work_orders().len(), 1, "Maintstar stored the work order although the response was lost");

    let records = install.sync(&pothole).await.expect("the retry succeeds");
    assert!(!records[0].created, "the retry finds the work order instead of creating one");
    assert_eq!(records[0].remote_id, "WO-000001");
    assert_eq!(sim.work_orders().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_wrong_or_missing_key_is_retried() {
    let (sim, mut install) = maintstar().await;
    install.provider = TestProvider::new(&[("api_key", "revoked-key")]);
    let pothole = request("HAV-2026-000132", "pothole", "dpw-highway");

    let message = retry_message(install.sync(&pothole).await);
    assert!(message.contains("401"), "{message}");

    install.provider = TestProvider::new(&[]);
    let requests_before = sim.requests_received();
    let message = retry_message(install.sync(&pothole).await);
    assert!(message.contains("no secret api_key"), "{message}");
    assert_eq!(sim.requests_received(), requests_before, "nothing is sent without the API key");
    assert!(sim.work_orders().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_host_off_allow_list_is_rejected() {
    let (sim, mut install) = maintstar().await;
    install.grants.http_hosts = vec!["maintstar.haverhillma.gov".to_string()];

    let message = rejected_message(install.sync(&request("HAV-2026-000133", "pothole", "dpw-highway")).await);

    assert!(message.contains("allow-list"), "{message}");
    assert_eq!(sim.requests_received(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintstar_logs_without_secret() {
    let (_sim, install) = maintstar().await;
    let pothole = request("HAV-2026-000134", "pothole", "dpw-highway");
    install.sync(&pothole).await.expect("the sync succeeds");

    let lines = install.provider.log_lines();

    assert!(lines.iter().any(|line| line == "HAV-2026-000134: created Maintstar work order WO-000001"), "{lines:?}");
    assert!(lines.iter().all(|line| !line.contains(MAINTSTAR_SECRET)), "a log line contains the API key");
    assert!(lines.iter().all(|line| !line.contains(&pothole.description)), "a log line contains the description");
}

const VIEWPERMIT_SECRET: &str = "vp-haverhill-93e1c4a0d7b6";

fn viewpermit_config(sim: &ViewPermitSim, client_id: &str) -> Vec<(String, String)> {
    [
        ("base_url", sim.base_url()),
        ("client_id", client_id),
        ("departments", "health"),
        ("inspection_type.food-complaint", "FOOD-COMPLAINT"),
        ("establishment_name_attribute", "business_name"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect()
}

async fn viewpermit_for(client_id: &str, client_secret: &str) -> (ViewPermitSim, Install) {
    let sim = ViewPermitSim::start_with(client_id, client_secret, viewpermit::DEFAULT_INSPECTION_TYPES).await;
    let config = viewpermit_config(&sim, client_id);
    let config: Vec<(&str, &str)> = config.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
    let install = Install::new("viewpermit-integration", &config, TestProvider::new(&[("client_secret", client_secret)]));
    (sim, install)
}

async fn viewpermit() -> (ViewPermitSim, Install) {
    viewpermit_for("civic311-haverhill", VIEWPERMIT_SECRET).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_files_inspection_and_caches_token() {
    let (sim, install) = viewpermit().await;

    let records = install.sync(&food_complaint("HAV-2026-000200")).await.expect("the sync succeeds");

    assert_eq!(records.len(), 1);
    assert_eq!(records[0].kind, RecordKind::Inspection);
    assert_eq!(records[0].remote_id, "IR-000001");
    assert_eq!(records[0].remote_status.as_deref(), Some("REQUESTED"));
    assert!(records[0].created);

    let stored = sim.inspections_for("HAV-2026-000200");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source_system, "civic311");
    assert_eq!(stored[0].inspection_type, "FOOD-COMPLAINT");
    assert_eq!(stored[0].establishment.name.as_deref(), Some("Merrimack Diner"));
    assert_eq!(stored[0].establishment.address, "40 Washington St, Haverhill, MA");
    assert_eq!(stored[0].priority, "routine");
    assert_eq!(stored[0].requested_date, "2026-12-01");

    let credentials = sim.last_credentials().expect("the plugin requested a token");
    assert_eq!(credentials.client_id, "civic311-haverhill");
    assert!(credentials.client_secret == VIEWPERMIT_SECRET, "the client secret reaches ViewPermit");
    assert_eq!(sim.tokens_issued(), 1);
    let cached = install.provider.kv_value("oauth-token").expect("the token is cached in kv");
    let token = sim.last_bearer_token().expect("the plugin sent a bearer token");
    assert!(cached == format!("civic311-haverhill\n{token}"), "kv caches the client id and the token sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_reuses_cached_token() {
    let (sim, install) = viewpermit().await;

    install.sync(&food_complaint("HAV-2026-000201")).await.expect("the first sync succeeds");
    install.sync(&food_complaint("HAV-2026-000202")).await.expect("the second sync succeeds");

    assert_eq!(sim.tokens_issued(), 1);
    assert_eq!(sim.inspections().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_renews_expired_token() {
    let (sim, install) = viewpermit().await;
    install.sync(&food_complaint("HAV-2026-000203")).await.expect("the first sync succeeds");
    let first_token = install.provider.kv_value("oauth-token").unwrap();

    sim.expire_tokens();
    let records = install.sync(&food_complaint("HAV-2026-000204")).await.expect("the sync renews the token");

    assert!(records[0].created);
    assert_eq!(sim.tokens_issued(), 2);
    let renewed = install.provider.kv_value("oauth-token").unwrap();
    assert!(renewed != first_token, "kv holds the renewed token");
    let lines = install.provider.log_lines();
    assert!(lines.iter().any(|line| line.contains("requesting a new one")), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_repeat_finds_existing() {
    let (sim, install) = viewpermit().await;
    let complaint = food_complaint("HAV-2026-000205");

    let first = install.sync(&complaint).await.expect("the first sync succeeds");
    let second = install.sync(&complaint).await.expect("the repeated sync succeeds");

    assert!(first[0].created);
    assert!(!second[0].created);
    assert_eq!(second[0].remote_id, first[0].remote_id);
    assert_eq!(sim.inspections().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_lost_response_files_one_inspection() {
    let (sim, install) = viewpermit().await;
    let complaint = food_complaint("HAV-2026-000206");
    sim.fail_next_on(ViewPermitOperation::Create, 1, Fault::LoseResponse);

    retry_message(install.sync(&complaint).await);
    assert_eq!(sim.inspections().len(), 1);

    let records = install.sync(&complaint).await.expect("the retry succeeds");
    assert!(!records[0].created);
    assert_eq!(records[0].remote_id, "IR-000001");
    assert_eq!(sim.inspections().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_failures_map_to_retry_or_rejected() {
    let (sim, install) = viewpermit().await;
    let complaint = food_complaint("HAV-2026-000207");

    sim.fail_next_on(ViewPermitOperation::Token, 1, Fault::Unavailable);
    assert!(retry_message(install.sync(&complaint).await).contains("503"));

    sim.fail_next_on(ViewPermitOperation::Lookup, 1, Fault::RateLimited);
    assert!(retry_message(install.sync(&complaint).await).contains("429"));

    sim.fail_next_on(ViewPermitOperation::Create, 1, Fault::Invalid("notes contain an unsupported character".to_string()));
    let message = rejected_message(install.sync(&complaint).await);
    assert!(message.contains("notes contain an unsupported character"), "{message}");

    assert!(sim.inspections().is_empty());
    install.sync(&complaint).await.expect("the sync succeeds once the faults are spent");
    assert_eq!(sim.inspections().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_wrong_secret_is_retried() {
    let (sim, mut install) = viewpermit().await;
    install.provider = TestProvider::new(&[("client_secret", "rotated-away")]);

    let message = retry_message(install.sync(&food_complaint("HAV-2026-000208")).await);

    assert!(message.contains("invalid_client"), "{message}");
    assert_eq!(sim.tokens_issued(), 0);
    assert!(sim.inspections().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_request_without_address_is_rejected() {
    let (sim, install) = viewpermit().await;
    let mut complaint = food_complaint("HAV-2026-000209");
    complaint.address = None;

    let message = rejected_message(install.sync(&complaint).await);

    assert!(message.contains("no address"), "{message}");
    assert_eq!(sim.requests_received(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_logs_without_secret_or_token() {
    let (sim, install) = viewpermit().await;
    let complaint = food_complaint("HAV-2026-000210");
    install.sync(&complaint).await.expect("the sync succeeds");
    let token = sim.last_bearer_token().unwrap();

    let lines = install.provider.log_lines();

    assert!(lines.iter().any(|line| line == "HAV-2026-000210: created ViewPermit inspection request IR-000001"), "{lines:?}");
    assert!(lines.iter().all(|line| !line.contains(VIEWPERMIT_SECRET)), "a log line contains the client secret");
    assert!(lines.iter().all(|line| !line.contains(&token)), "a log line contains the access token");
    assert!(lines.iter().all(|line| !line.contains(&complaint.description)), "a log line contains the description");
}

/// One component serves two cities: each install reaches its own back end
/// with its own secret, and keeps its own cached token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewpermit_installs_stay_separate() {
    let (haverhill_sim, haverhill) = viewpermit_for("civic311-haverhill", VIEWPERMIT_SECRET).await;
    let (lowell_sim, lowell) = viewpermit_for("civic311-lowell", "vp-lowell-5d0e2b7a1c38").await;

    haverhill.sync(&food_complaint("HAV-2026-000211")).await.expect("Haverhill's sync succeeds");
    lowell.sync(&food_complaint("LOW-2026-000001")).await.expect("Lowell's sync succeeds");

    assert_eq!(haverhill_sim.inspections().len(), 1);
    assert_eq!(haverhill_sim.inspections()[0].source_system_id, "HAV-2026-000211");
    assert_eq!(lowell_sim.inspections().len(), 1);
    assert_eq!(lowell_sim.inspections()[0].source_system_id, "LOW-2026-000001");
    assert!(haverhill.provider.kv_value("oauth-token").unwrap().starts_with("civic311-haverhill\n"));
    assert!(lowell.provider.kv_value("oauth-token").unwrap().starts_with("civic311-lowell\n"));
    assert!(lowell_sim.last_credentials().unwrap().client_secret != VIEWPERMIT_SECRET, "Lowell's install sends its own secret");
}
