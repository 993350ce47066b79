//! Routing decisions per second through `PluginManager::route` with three
//! tenants, each with two active installs (its boston-router and the
//! catalogue's Maintstar integration), against `PluginHost::route` on the
//! same loaded router with the same number of callers.
//!
//! Each case routes a fixed count of Boston requests, spread round-robin
//! over the tenants, from 2 and from 4 concurrent callers:
//!
//! - `host_threads`: OS threads calling `PluginHost::route`, the raw sandbox;
//! - `host_spawn_blocking`: Tokio tasks calling `PluginHost::route` through
//!   `spawn_blocking`, the dispatch the manager uses;
//! - `manager`: Tokio tasks calling `PluginManager::route`, which adds breaker
//!   admission, the install's capabilities and call records written to
//!   SQLite in batches. Its time includes the final flush of those records.
//!
//! Three rounds run interleaved and the median round of each case is reported.
//!
//! Run: `cargo bench -p civic311-plugin-manager --bench routing_throughput`.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use civic311_domain::routing::RouteInput;
use civic311_plugin_host::PluginHost;
use civic311_plugin_manager::{ActiveInstall, BreakerConfig, PluginManager, RouteOutcome};
use civic311_store::TenantId;

/// Decisions routed in each case.
const DECISIONS: usize = 60_000;

/// Concurrent callers of each case.
const CALLERS: &[usize] = &[2, 4];

/// Rounds of every case; the median round is reported.
const ROUNDS: usize = 3;

/// Tenants, each with a router and an integration install.
const TENANTS: usize = 3;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("start Tokio runtime");
    runtime.block_on(run());
}

/// The loaded platform: the manager and, per tenant, its id and its
/// active router install, whose loaded plugin the baselines call.
struct Platform {
    manager: Arc<PluginManager>,
    tenants: Vec<(TenantId, Arc<ActiveInstall>)>,
}

async fn run() {
    support::print_machine();
    let folder = tempfile::tempdir().expect("create bench folder");
    let platform = set_up(folder.path()).await;
    let input = Arc::new(support::boston_input());
    warm_up(&platform, &input).await;

    let mut rows = Vec::new();
    for &callers in CALLERS {
        let mut threads = Vec::new();
        let mut spawned = Vec::new();
        let mut managed = Vec::new();
        for _ in 0..ROUNDS {
            threads.push(host_threads(&platform, &input, callers));
            spawned.push(host_spawn_blocking(&platform, &input, callers).await);
            managed.push(manager_route(&platform, &input, callers).await);
        }
        rows.push((callers, median(threads), median(spawned), median(managed)));
    }

    println!("{TENANTS} tenants x 2 active installs; {DECISIONS} decisions per case; median of {ROUNDS} rounds");
    for (callers, threads, spawned, managed) in rows {
        let baseline = per_second(threads);
        println!("{callers} callers: host_threads {:.0} decisions/s (baseline)", baseline);
        println!("{callers} callers: host_spawn_blocking {:.0} decisions/s, {:.2} x baseline", per_second(spawned), per_second(spawned) / baseline);
        println!("{callers} callers: manager {:.0} decisions/s, {:.2} x baseline", per_second(managed), per_second(managed) / baseline);
    }
    support::print_load("at end");
}

/// Creates the tenants with their installs and starts the manager.
async fn set_up(folder: &std::path::Path) -> Platform {
    let store = support::sqlite_store(folder).await;
    let manager = support::start_manager(store.clone(), folder, BreakerConfig::default()).await;
    support::publish_integration(&manager, support::INTEGRATION).await;

    let mut tenants = Vec::new();
    for index in 0..TENANTS {
        let tenant = support::create_tenant(&store, &format!("bench-city-{index}")).await;
        support::active_router(&manager, tenant, "boston-router", support::bundled("boston-router")).await;
        support::active_integration(&manager, tenant, support::INTEGRATION).await;

        assert_eq!(manager.registry().integrations(tenant).len(), 1, "tenant {index} has its integration loaded");
        let active = manager.registry().router(tenant).expect("the tenant's router is loaded");
        tenants.push((tenant, active));
    }
    Platform { manager: Arc::new(manager), tenants }
}

/// Routes a few hundred requests each way, so pools, caches and the
/// database's connections exist before the first measured case.
async fn warm_up(platform: &Platform, input: &Arc<RouteInput>) {
    for index in 0..300 {
        let (tenant, loaded) = &platform.tenants[index % TENANTS];
        let decided = platform.manager.route(*tenant, input, Some("warm-up")).await;
        assert!(matches!(decided, RouteOutcome::Decided { .. }), "warm-up route: {decided:?}");
        platform.manager.host().route(&loaded.plugin, input).expect("warm-up host route");
    }
    platform.manager.flush().await;
}

fn host_threads(platform: &Platform, input: &Arc<RouteInput>, callers: usize) -> Duration {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for caller in 0..callers {
            let host: &PluginHost = platform.manager.host();
            let tenants = &platform.tenants;
            scope.spawn(move || {
                for call in (caller..DECISIONS).step_by(callers) {
                    let (_, loaded) = &tenants[call % TENANTS];
                    let decision = host.route(&loaded.plugin, input).expect("host route");
                    assert_eq!(decision.department, support::BOSTON_DEPARTMENT);
                }
            });
        }
    });
    started.elapsed()
}

async fn host_spawn_blocking(platform: &Platform, input: &Arc<RouteInput>, callers: usize) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let manager = Arc::clone(&platform.manager);
        let tenants = platform.tenants.clone();
        let input = Arc::clone(input);
        tasks.push(tokio::spawn(async move {
            for call in (caller..DECISIONS).step_by(callers) {
                let loaded = Arc::clone(&tenants[call % TENANTS].1);
                let host = Arc::clone(manager.host());
                let input = Arc::clone(&input);
                let decision = tokio::task::spawn_blocking(move || host.route(&loaded.plugin, &input))
                    .await
                    .expect("join host route")
                    .expect("host route");
                assert_eq!(decision.department, support::BOSTON_DEPARTMENT);
            }
        }));
    }
    for task in tasks {
        task.await.expect("join caller");
    }
    started.elapsed()
}

async fn manager_route(platform: &Platform, input: &Arc<RouteInput>, callers: usize) -> Duration {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let manager = Arc::clone(&platform.manager);
        let tenants: Vec<TenantId> = platform.tenants.iter().map(|(tenant, _)| *tenant).collect();
        let input = Arc::clone(input);
        tasks.push(tokio::spawn(async move {
            for call in (caller..DECISIONS).step_by(callers) {
                let request_id = format!("bench-{call}");
                let outcome = manager.route(tenants[call % TENANTS], &input, Some(&request_id)).await;
                match outcome {
                    RouteOutcome::Decided { decision, .. } => assert_eq!(decision.department, support::BOSTON_DEPARTMENT),
                    other => panic!("manager route did not decide: {other:?}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("join caller");
    }
    platform.manager.flush().await;
    started.elapsed()
}

fn median(mut rounds: Vec<Duration>) -> Duration {
    rounds.sort_unstable();
    rounds[rounds.len() / 2]
}

fn per_second(elapsed: Duration) -> f64 {
    DECISIONS as f64 / elapsed.as_secs_f64()
}
