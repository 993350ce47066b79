//! Integration tests of the plugin runtime: the circuit breaker, call
//! records and metrics, capabilities (secrets, KV, HTTP, logs), integration
//! calls, cost sharing and propagation between two managers over Redis.
//! They run on a real database, real wasmtime, the real plugins under
//! `plugins/` and a real Redis.

mod breaker;
mod call_slots;
mod capabilities;
mod cluster;
mod config;
mod cost_share;
mod fuel_budget;
mod isolation;
mod platform_key;
mod records;
mod switch;
mod sync;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use civic311_domain::Channel;
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_domain::routing::{DepartmentRef, LocalTime, RouteInput};
use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_plugin_manager::{
    BreakerConfig, InstallRequest, ManagerConfig, PluginInstall, PluginManager, PluginSource, Upload, Uploaded,
};
use civic311_store::test_support::{TestDatabase, sample_manifest};
use civic311_store::{Store, TenantId};

/// Departments of the sample manifest.
const DEPARTMENTS: &[&str] = &["dpw", "parks"];

/// A database with two tenants and one manager on it.
struct Fixture {
    store: Store,
    manager: PluginManager,
    tenant_a: TenantId,
    tenant_b: TenantId,
    data_dir: tempfile::TempDir,
    _database: TestDatabase,
}

impl Fixture {
    /// Starts another manager on the same database and platform key, with
    /// its own plugin host, as a second node would.
    async fn second_manager(&self, config: ManagerConfig) -> PluginManager {
        start_manager(self.store.clone(), ManagerConfig { data_dir: self.data_dir.path().to_path_buf(), ..config }).await
    }
}

/// Manager settings with a breaker of threshold 5 and the given cool-down.
/// Plugins may reach private networks, because the test back ends listen on 127.0.0.1.
fn config_with_cool_down(cool_down: Duration) -> ManagerConfig {
    ManagerConfig {
        breaker: BreakerConfig { failure_threshold: 5, cool_down },
        allow_private_networks: true,
        ..ManagerConfig::default()
    }
}

async fn fixture() -> Fixture {
    fixture_with(config_with_cool_down(Duration::from_secs(3600))).await
}

async fn fixture_with(config: ManagerConfig) -> Fixture {
    capture_logs();
    let database = TestDatabase::create().await;
    let store = database.store().await;
    let (tenant_a, _) = store.apply_tenant(&sample_manifest("city-a", "a.example.gov")).await.expect("apply tenant a");
    let (tenant_b, _) = store.apply_tenant(&sample_manifest("city-b", "b.example.gov")).await.expect("apply tenant b");

    let data_dir = tempfile::tempdir().expect("create data folder");
    let manager = start_manager(store.clone(), ManagerConfig { data_dir: data_dir.path().to_path_buf(), ..config }).await;
    Fixture { store, manager, tenant_a: tenant_a.id, tenant_b: tenant_b.id, data_dir, _database: database }
}

async fn start_manager(store: Store, config: ManagerConfig) -> PluginManager {
    let host = Arc::new(PluginHost::new(HostConfig::default()).expect("create plugin host"));
    PluginManager::start(store, host, config).await.expect("start plugin manager")
}

/// Returns the bytes of a production plugin bundled in the binary.
fn bundled(name: &str) -> Vec<u8> {
    civic311_bundled_plugins::bundled(name)
        .unwrap_or_else(|| panic!("{name} is not bundled"))
        .to_vec()
}

/// Returns the bytes of a test plugin built from `plugins/`.
fn test_plugin(name: &str) -> Vec<u8> {
    let path = civic311_bundled_plugins::test_plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn upload_request(name: &str, wasm: Vec<u8>) -> Upload {
    Upload { name: name.to_string(), wasm, description: None, actor: "admin@city".to_string() }
}

async fn install(manager: &PluginManager, tenant: TenantId, hook: Hook, name: &str, source: PluginSource, grants: Grants) -> PluginInstall {
    let request = InstallRequest {
        hook,
        plugin_name: name.to_string(),
        source,
        grants,
        limits: LimitOverrides::default(),
        config: BTreeMap::new(),
    };
    manager
        .install(tenant, request, "admin@city")
        .await
        .unwrap_or_else(|error| panic!("install {name}: {error}"))
}

/// Uploads `wasm` as the tenant's router `name`, installs it with `grants`
/// and activates it.
async fn active_router(manager: &PluginManager, tenant: TenantId, name: &str, wasm: Vec<u8>, grants: Grants) -> Uploaded {
    let uploaded = manager
        .upload(tenant, upload_request(name, wasm))
        .await
        .unwrap_or_else(|error| panic!("upload {name}: {error}"));
    install(manager, tenant, Hook::Router, name, PluginSource::Tenant, grants).await;
    manager
        .activate(tenant, Hook::Router, name, uploaded.version.version, "admin@city")
        .await
        .unwrap_or_else(|error| panic!("activate {name}: {error}"));
    uploaded
}

/// Builds a pothole request of the sample manifest with one routing setting.
fn input_with(setting: &str, value: &str) -> RouteInput {
    RouteInput {
        service_code: "pothole".to_string(),
        service_name: "Pothole".to_string(),
        service_group: None,
        default_department: "dpw".to_string(),
        description: String::new(),
        lat: None,
        long: None,
        address: None,
        attributes: Vec::new(),
        channel: Channel::Web,
        received_local: LocalTime { year: 2026, month: 12, day: 2, hour: 10, minute: 30, weekday: 2 },
        after_hours: false,
        departments: DEPARTMENTS
            .iter()
            .map(|code| DepartmentRef { code: code.to_string(), name: format!("Department {code}") })
            .collect(),
        settings: BTreeMap::from([(setting.to_string(), value.to_string())]),
    }
}

/// Returns every log line that any test of this binary wrote, for tests
/// that search the logs for secrets.
fn captured_logs() -> String {
    let buffer = LOG_BUFFER.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    String::from_utf8_lossy(&buffer).into_owned()
}

static LOG_BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

/// Writes a copy of every log line to [`LOG_BUFFER`].
#[derive(Clone, Copy)]
struct BufferWriter;

impl Write for BufferWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buffer = LOG_BUFFER.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a global subscriber at trace level that writes into
/// [`LOG_BUFFER`], once per test binary, so every thread's lines are kept.
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| BufferWriter)
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}
