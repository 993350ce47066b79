//! Integration tests of the plugin lifecycle: upload, activation, rollback,
//! audit, artifacts, dry run, shadow mode and tenant isolation, on a real
//! database, real wasmtime and the real plugins under `plugins/`.

mod activation;
mod artifacts;
mod dry_run;
mod isolation;
mod manifest;
mod settings;
mod shadow;
mod upload;

use std::collections::BTreeMap;
use std::sync::Arc;

use civic311_domain::Channel;
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_domain::routing::{AttributeValue, DepartmentRef, LocalTime, RouteInput};
use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_plugin_manager::{
    InstallRequest, ManagerConfig, PluginInstall, PluginManager, PluginSource, Upload, Uploaded,
};
use civic311_store::test_support::{TestDatabase, sample_manifest};
use civic311_store::{Store, TenantId};

/// Departments of the Boston tenant that the boston-router names.
const BOSTON_DEPARTMENTS: &[&str] = &["PWDx", "BTDT", "ISD", "PARK", "PROP", "INFO", "GEN_"];

/// A database with two tenants and a manager on it.
struct Fixture {
    store: Store,
    manager: PluginManager,
    tenant_a: TenantId,
    tenant_b: TenantId,
    /// Holds the platform key file; kept so a second manager can share the key.
    data_dir: tempfile::TempDir,
    database: TestDatabase,
}

impl Fixture {
    /// Starts another manager, with its own plugin host and compile cache,
    /// on the same database and platform key, as a second node would.
    async fn second_manager(&self) -> PluginManager {
        start_manager(self.store.clone(), self.data_dir.path()).await
    }
}

async fn fixture() -> Fixture {
    let database = TestDatabase::create().await;
    let store = database.store().await;
    let (tenant_a, _) = store
        .apply_tenant(&sample_manifest("city-a", "a.example.gov"))
        .await
        .expect("apply tenant a");
    let (tenant_b, _) = store
        .apply_tenant(&sample_manifest("city-b", "b.example.gov"))
        .await
        .expect("apply tenant b");

    let data_dir = tempfile::tempdir().expect("create data folder");
    let manager = start_manager(store.clone(), data_dir.path()).await;
    Fixture {
        store,
        manager,
        tenant_a: tenant_a.id,
        tenant_b: tenant_b.id,
        data_dir,
        database,
    }
}

async fn start_manager(store: Store, data_dir: &std::path::Path) -> PluginManager {
    let host = Arc::new(PluginHost::new(HostConfig::default()).expect("create plugin host"));
    let config = ManagerConfig {
        data_dir: data_dir.to_path_buf(),
        ..ManagerConfig::default()
    };
    PluginManager::start(store, host, config)
        .await
        .expect("start plugin manager")
}

/// Returns the bytes of a production router bundled in the binary.
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

async fn upload(manager: &PluginManager, tenant: TenantId, name: &str, wasm: Vec<u8>) -> Uploaded {
    let upload = Upload {
        name: name.to_string(),
        wasm,
        description: None,
        actor: "admin@city".to_string(),
    };
    manager
        .upload(tenant, upload)
        .await
        .unwrap_or_else(|error| panic!("upload {name}: {error}"))
}

async fn install(
    manager: &PluginManager,
    tenant: TenantId,
    hook: Hook,
    name: &str,
    source: PluginSource,
    grants: Grants,
) -> PluginInstall {
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

/// Uploads `wasm` as the tenant's router `name`, installs and activates it.
async fn active_router(
    manager: &PluginManager,
    tenant: TenantId,
    name: &str,
    wasm: Vec<u8>,
) -> Uploaded {
    let uploaded = upload(manager, tenant, name, wasm).await;
    install(
        manager,
        tenant,
        Hook::Router,
        name,
        PluginSource::Tenant,
        Grants::default(),
    )
    .await;
    manager
        .activate(
            tenant,
            Hook::Router,
            name,
            uploaded.version.version,
            "admin@city",
        )
        .await
        .unwrap_or_else(|error| panic!("activate {name}: {error}"));
    uploaded
}

/// Builds a Boston request received on Wednesday 2026-12-02 at 10:30.
fn boston_input(service_code: &str, default_department: &str) -> RouteInput {
    RouteInput {
        service_code: service_code.to_string(),
        service_name: service_code.to_string(),
        service_group: None,
        default_department: default_department.to_string(),
        description: String::new(),
        lat: None,
        long: None,
        address: None,
        attributes: Vec::new(),
        channel: Channel::Web,
        received_local: LocalTime {
            year: 2026,
            month: 12,
            day: 2,
            hour: 10,
            minute: 30,
            weekday: 2,
        },
        after_hours: false,
        departments: BOSTON_DEPARTMENTS
            .iter()
            .map(|code| DepartmentRef {
                code: code.to_string(),
                name: format!("Department {code}"),
            })
            .collect(),
        settings: BTreeMap::new(),
    }
}

fn attribute(code: &str, value: &str) -> AttributeValue {
    AttributeValue {
        code: code.to_string(),
        values: vec![value.to_string()],
    }
}
