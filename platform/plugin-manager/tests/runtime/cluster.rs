use std::time::Duration;

use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::{ManagerConfig, PluginManager, RouteOutcome};
use civic311_store::TenantId;

use crate::{active_router, config_with_cool_down, fixture_with, input_with, test_plugin};

const ROUTER: &str = "faulty-router";

/// Upper bound on the wait for a change on one manager to show on the
/// other. It only keeps a broken propagation from hanging the test.
const PROPAGATION_WAIT: Duration = Duration::from_secs(15);

/// Returns the Redis URL of the tests: `TEST_REDIS_URL`, or the local
/// default that CI starts.
fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_string())
}

fn redis_config() -> ManagerConfig {
    ManagerConfig { redis_url: Some(redis_url()), ..config_with_cool_down(Duration::from_secs(3600)) }
}

/// Polls until `check` holds on `manager`, and panics naming `what` when it
/// still fails after [`PROPAGATION_WAIT`].
async fn wait_for(manager: &PluginManager, what: &str, check: impl Fn(&PluginManager) -> bool) {
    let deadline = tokio::time::Instant::now() + PROPAGATION_WAIT;
    while !check(manager) {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not reach the second manager");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn active_version(manager: &PluginManager, tenant: TenantId) -> Option<i32> {
    manager.registry().router(tenant).map(|active| active.version.version)
}

fn breaker_open(manager: &PluginManager, tenant: TenantId) -> bool {
    manager.registry().router(tenant).is_some_and(|active| active.breaker.is_open())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_reaches_second_manager() {
    let fixture = fixture_with(redis_config()).await;
    let node_b = fixture.second_manager(redis_config()).await;
    let tenant = fixture.tenant_a;
    assert_eq!(active_version(&node_b, tenant), None);

    active_router(&fixture.manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    wait_for(&node_b, "the activation", |node| active_version(node, tenant) == Some(1)).await;
    let routed = node_b.route(tenant, &input_with("fault", "none"), Some("REQ-b")).await;
    assert!(matches!(routed, RouteOutcome::Decided { .. }), "{routed:?}");
    assert_eq!(active_version(&node_b, fixture.tenant_b), None);

    fixture.manager.deactivate(tenant, Hook::Router, ROUTER, "alice").await.unwrap();
    wait_for(&node_b, "the deactivation", |node| active_version(node, tenant).is_none()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_state_reaches_second_manager() {
    let fixture = fixture_with(redis_config()).await;
    let node_b = fixture.second_manager(redis_config()).await;
    let tenant = fixture.tenant_a;
    active_router(&fixture.manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    wait_for(&node_b, "the activation", |node| active_version(node, tenant) == Some(1)).await;

    for index in 0..5 {
        fixture.manager.route(tenant, &input_with("fault", "trap"), Some(&format!("REQ-{index}"))).await;
    }
    wait_for(&node_b, "the breaker trip", |node| breaker_open(node, tenant)).await;
    let skipped = node_b.route(tenant, &input_with("fault", "none"), Some("REQ-b")).await;
    assert!(matches!(skipped, RouteOutcome::Skipped { .. }), "{skipped:?}");

    node_b.reset_breaker(tenant, Hook::Router, ROUTER, "alice").await.unwrap();
    wait_for(&fixture.manager, "the breaker reset", |node| !breaker_open(node, tenant)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_heals_without_redis() {
    let local = config_with_cool_down(Duration::from_secs(3600));
    let fixture = fixture_with(local.clone()).await;
    let node_b = fixture.second_manager(local).await;
    let tenant = fixture.tenant_a;
    active_router(&fixture.manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    node_b.reconcile().await;
    assert_eq!(active_version(&node_b, tenant), Some(1));

    fixture.manager.deactivate(tenant, Hook::Router, ROUTER, "alice").await.unwrap();
    node_b.reconcile().await;
    assert_eq!(active_version(&node_b, tenant), None);
}
