//! Resident memory of a plugin manager with 50 tenants x 3 active installs.
//!
//! The bench writes a SQLite database in this process: 50 tenants, each
//! with its own boston-router as its router install and the catalogue's
//! Maintstar and ViewPermit integrations as two integration installs, all
//! active. It then starts itself again as a child process that only reads,
//! so that the memory of the uploads and compiles is not counted. The child
//! reports `VmRSS` from `/proc/self/status`:
//!
//! 1. after the store is connected and the plugin host created, with 0 installs loaded (the baseline);
//! 2. after `PluginManager::start` has loaded every active install from its stored artifact;
//! 3. after one routing call per tenant, which maps each router's sandbox once.
//!
//! Two databases run. In `distinct routers` each tenant's router has its
//! own bytes (a custom section with the tenant's slug), so 50 routers
//! compile separately. In `shared router` every tenant uploads the same
//! bytes, so the plugin host compiles and keeps the router once.
//!
//! Run: `cargo bench -p civic311-plugin-manager --bench plugin_memory`.

mod support;

use std::path::{Path, PathBuf};

use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_plugin_manager::{BreakerConfig, ManagerConfig, PluginManager, RouteOutcome};

/// Tenants in the database.
const TENANTS: usize = 50;

/// Catalogue integrations that every tenant installs beside its router.
const INTEGRATIONS: &[&str] = &["maintstar-integration", "viewpermit-integration"];

/// Environment variable that makes this binary measure the database in the named folder.
const MEASURE_DIR: &str = "CIVIC311_BENCH_MEMORY_DIR";

fn main() {
    match std::env::var_os(MEASURE_DIR) {
        Some(folder) => measure(PathBuf::from(folder)),
        None => drive(),
    }
}

/// Writes each database and runs the measuring child on it.
fn drive() {
    support::print_machine();
    let runtime = tokio::runtime::Runtime::new().expect("start Tokio runtime");

    for (label, distinct) in [("distinct routers", true), ("shared router", false)] {
        let folder = tempfile::tempdir().expect("create bench folder");
        runtime.block_on(write_database(folder.path(), distinct));

        let output = std::process::Command::new(std::env::current_exe().expect("path of this bench"))
            .env(MEASURE_DIR, folder.path())
            .output()
            .expect("run the measuring child");
        assert!(output.status.success(), "measuring child failed: {}", String::from_utf8_lossy(&output.stderr));

        println!();
        println!("== {label}: {TENANTS} tenants x {} installs", 1 + INTEGRATIONS.len());
        print!("{}", String::from_utf8_lossy(&output.stdout));
    }
    support::print_load("at end");
}

/// Creates the tenants and their active installs in a new database in `folder`.
async fn write_database(folder: &Path, distinct: bool) {
    let store = support::sqlite_store(folder).await;
    let manager = support::start_manager(store.clone(), folder, BreakerConfig::default()).await;
    for integration in INTEGRATIONS {
        support::publish_integration(&manager, integration).await;
    }

    let router = support::bundled("boston-router");
    for index in 0..TENANTS {
        let slug = format!("city-{index:02}");
        let tenant = support::create_tenant(&store, &slug).await;
        let wasm = if distinct { support::with_custom_section(&router, "civic311-bench", slug.as_bytes()) } else { router.clone() };

        support::active_router(&manager, tenant, "boston-router", wasm).await;
        for integration in INTEGRATIONS {
            support::active_integration(&manager, tenant, integration).await;
        }
    }
    manager.flush().await;
}

/// Measures resident memory before and after loading the installs in `folder`.
fn measure(folder: PathBuf) {
    let at_start = support::resident_kib();
    let runtime = tokio::runtime::Runtime::new().expect("start Tokio runtime");
    runtime.block_on(async {
        let store = support::sqlite_store(&folder).await;
        let tenants = store.tenants().await.expect("list tenants");
        let host = std::sync::Arc::new(PluginHost::new(HostConfig::default()).expect("create plugin host"));
        let baseline = support::resident_kib();

        let config = ManagerConfig { data_dir: folder.clone(), ..ManagerConfig::default() };
        let manager = PluginManager::start(store, host, config).await.expect("start plugin manager");
        let loaded = support::resident_kib();

        let mut installs = 0;
        for tenant in &tenants {
            installs += manager.registry().integrations(tenant.id).len();
            if manager.registry().router(tenant.id).is_some() {
                installs += 1;
            }
        }
        assert_eq!(installs, TENANTS * (1 + INTEGRATIONS.len()), "every install is loaded");

        let input = support::boston_input();
        for tenant in &tenants {
            let outcome = manager.route(tenant.id, &input, Some("memory")).await;
            assert!(matches!(outcome, RouteOutcome::Decided { .. }), "route for {}: {outcome:?}", tenant.slug);
        }
        manager.flush().await;
        let routed = support::resident_kib();

        println!("process start: {}", support::mib(at_start));
        println!("store and host, 0 installs (baseline): {}", support::mib(baseline));
        print_step(&format!("{installs} installs loaded"), loaded, baseline, installs);
        print_step(&format!("after one route per tenant ({} calls)", tenants.len()), routed, baseline, installs);
        println!("peak (VmHWM): {}", support::mib(support::peak_resident_kib()));
    });
}

fn print_step(step: &str, kib: u64, baseline: u64, installs: usize) {
    let added = kib.saturating_sub(baseline);
    println!(
        "{step}: {}, {} above the baseline, {:.2} MiB per install",
        support::mib(kib),
        support::mib(added),
        added as f64 / 1024.0 / installs as f64,
    );
}
