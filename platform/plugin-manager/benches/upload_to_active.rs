//! Upload-to-active time of the boston-router through the plugin manager on
//! SQLite, against `PluginHost::load` of the same bytes.
//!
//! Every iteration appends a custom section with a counter to the
//! component, so each upload has a new digest and compiles for real. Three
//! cases run interleaved, so that load from other processes hits all three alike:
//!
//! - `host_load`: `PluginHost::load` (checks, compile, pre-instantiation) of
//!   new bytes, the baseline;
//! - `new_plugin`: `upload` + `install` + `activate` of a new router plugin,
//!   which also deactivates the tenant's previous router install;
//! - `new_version`: `upload` + `activate` of a new version of an installed router.
//!
//! Run: `cargo bench -p civic311-plugin-manager --bench upload_to_active`.

mod support;

use std::time::{Duration, Instant};

use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_plugin_manager::{BreakerConfig, PluginSource};

use support::{Summary, millis};

/// Measured iterations of each case.
const ITERATIONS: usize = 20;

/// Iterations run first and discarded, to fill caches and the database pool.
const WARM_UP: usize = 2;

/// Plugin name of the `new_version` case.
const VERSIONED_ROUTER: &str = "boston-router";

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("start Tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    support::print_machine();
    let folder = tempfile::tempdir().expect("create bench folder");
    let store = support::sqlite_store(folder.path()).await;
    let tenant = support::create_tenant(&store, "bench-city").await;
    let manager = support::start_manager(store, folder.path(), BreakerConfig::default()).await;
    let host = PluginHost::new(HostConfig::default()).expect("create baseline plugin host");
    let router = support::bundled("boston-router");

    let first = support::upload(&manager, tenant, VERSIONED_ROUTER, router.clone()).await;
    support::install(&manager, tenant, Hook::Router, VERSIONED_ROUTER, PluginSource::Tenant, Grants::default()).await;
    support::activate(&manager, tenant, Hook::Router, VERSIONED_ROUTER, first).await;

    let mut host_load = Vec::new();
    let mut new_plugin = Vec::new();
    let mut new_version = Vec::new();
    for iteration in 0..WARM_UP + ITERATIONS {
        let bytes = |case: &str| support::with_custom_section(&router, "civic311-bench", format!("{case}-{iteration}").as_bytes());

        let loaded = time_host_load(&host, &bytes("host"));
        let plugin = time_new_plugin(&manager, tenant, iteration, bytes("plugin")).await;
        let version = time_new_version(&manager, tenant, bytes("version")).await;
        if iteration >= WARM_UP {
            host_load.push(loaded);
            new_plugin.push(plugin);
            new_version.push(version);
        }
    }

    let baseline = Summary::of(&host_load);
    println!("component size: {} bytes; {ITERATIONS} iterations per case after {WARM_UP} warm-up", router.len());
    report("host_load (baseline)", &baseline, &baseline);
    report("new_plugin: upload + install + activate", &Summary::of(&new_plugin), &baseline);
    report("new_version: upload + activate", &Summary::of(&new_version), &baseline);
    support::print_load("at end");
}

fn time_host_load(host: &PluginHost, wasm: &[u8]) -> Duration {
    let started = Instant::now();
    let plugin = host.load("boston-router", wasm).expect("load boston-router with a custom section");
    let elapsed = started.elapsed();
    assert_eq!(plugin.hook(), Hook::Router);
    elapsed
}

async fn time_new_plugin(manager: &civic311_plugin_manager::PluginManager, tenant: civic311_store::TenantId, iteration: usize, wasm: Vec<u8>) -> Duration {
    let name = format!("bench-router-{iteration}");
    let started = Instant::now();
    let version = support::upload(manager, tenant, &name, wasm).await;
    support::install(manager, tenant, Hook::Router, &name, PluginSource::Tenant, Grants::default()).await;
    support::activate(manager, tenant, Hook::Router, &name, version).await;
    let elapsed = started.elapsed();

    check_active_router(manager, tenant, &name, version);
    elapsed
}

async fn time_new_version(manager: &civic311_plugin_manager::PluginManager, tenant: civic311_store::TenantId, wasm: Vec<u8>) -> Duration {
    let started = Instant::now();
    let version = support::upload(manager, tenant, VERSIONED_ROUTER, wasm).await;
    support::activate(manager, tenant, Hook::Router, VERSIONED_ROUTER, version).await;
    let elapsed = started.elapsed();

    check_active_router(manager, tenant, VERSIONED_ROUTER, version);
    elapsed
}

/// Checks that the registry now routes the tenant through `name` version `version`.
fn check_active_router(manager: &civic311_plugin_manager::PluginManager, tenant: civic311_store::TenantId, name: &str, version: i32) {
    let active = manager.registry().router(tenant).expect("the tenant has an active router");
    assert_eq!((active.version.name.as_str(), active.version.version), (name, version));
}

fn report(case: &str, summary: &Summary, baseline: &Summary) {
    let ratio = summary.p50.as_secs_f64() / baseline.p50.as_secs_f64();
    println!(
        "{case}: median {}, min {}, max {}, mean {}; {ratio:.2} x the baseline median",
        millis(summary.p50),
        millis(summary.min),
        millis(summary.max),
        millis(summary.mean),
    );
}
