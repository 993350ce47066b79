use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_plugin_manager::{BreakerConfig, ManagerConfig, PluginManager, RouteOutcome};
use civic311_store::{PluginCallOutcome, TenantId};

use crate::{active_router, fixture, fixture_with, input_with, test_plugin};

const ROUTER: &str = "greedy-router";

/// Limits under which one looping call, which burns its million fuel
/// units, overdraws a budget of one unit per second for about 11 days.
fn tiny_budget() -> LimitOverrides {
    LimitOverrides {
        fuel: Some(1_000_000),
        fuel_per_second: Some(1),
        ..LimitOverrides::default()
    }
}

/// Makes the fault-injector the tenant's active router with `limits`.
async fn greedy_router(manager: &PluginManager, tenant: TenantId, limits: LimitOverrides) {
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    manager.set_limits(tenant, Hook::Router, ROUTER, limits, "test").await.expect("set limits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spent_budget_skips_calls() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    greedy_router(manager, tenant, tiny_budget()).await;

    let first = manager.route(tenant, &input_with("fault", "loop"), Some("REQ-loop")).await;
    let second = manager.route(tenant, &input_with("fault", "none"), Some("REQ-after")).await;

    assert!(matches!(&first, RouteOutcome::Failed { kind, .. } if kind == "fuel_exhausted"), "{first:?}");
    let RouteOutcome::Skipped { plugin, reason } = second else {
        panic!("expected a skipped call, got {second:?}");
    };
    assert_eq!(plugin.name, ROUTER);
    assert!(reason.contains("budget of 1 fuel units per second"), "{reason}");
    assert!(reason.contains("fuel_per_second"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_call_recorded_not_tripped() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    let since = Utc::now() - TimeDelta::seconds(1);
    greedy_router(manager, tenant, tiny_budget()).await;

    manager.route(tenant, &input_with("fault", "loop"), Some("REQ-0")).await;
    // More skipped calls than the breaker's threshold of 5 faults.
    for index in 1..=6 {
        manager.route(tenant, &input_with("fault", "none"), Some(&format!("REQ-{index}"))).await;
    }
    manager.flush().await;

    let calls = fixture.store.scoped(tenant).calls_since(None, since).await.unwrap();
    let skipped: Vec<_> = calls.iter().filter(|call| call.outcome == PluginCallOutcome::Skipped).collect();
    assert_eq!(skipped.len(), 6);
    assert!(skipped.iter().all(|call| call.error_kind.as_deref() == Some("fuel_budget")), "{skipped:?}");
    assert!(skipped.iter().all(|call| call.fuel_used == 0), "{skipped:?}");

    let install = fixture.store.scoped(tenant).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    assert!(!install.breaker.open, "{:?}", install.breaker);

    let metrics = manager.metrics(tenant, since).await.unwrap();
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    assert_eq!(metrics[0].skipped, 6);
    assert_eq!(metrics[0].skip_kinds.get("fuel_budget"), Some(&6), "{metrics:?}");
    assert_eq!(metrics[0].count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spent_budget_leaves_other_tenant() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    active_router(manager, fixture.tenant_b, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    manager.set_limits(fixture.tenant_a, Hook::Router, ROUTER, tiny_budget(), "test").await.expect("set limits");

    manager.route(fixture.tenant_a, &input_with("fault", "loop"), Some("REQ-a-0")).await;
    let throttled = manager.route(fixture.tenant_a, &input_with("fault", "none"), Some("REQ-a-1")).await;
    let neighbour = manager.route(fixture.tenant_b, &input_with("fault", "none"), Some("REQ-b")).await;

    assert!(matches!(throttled, RouteOutcome::Skipped { .. }), "{throttled:?}");
    assert!(matches!(neighbour, RouteOutcome::Decided { .. }), "{neighbour:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raised_limit_repays_debt() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    greedy_router(manager, tenant, tiny_budget()).await;
    manager.route(tenant, &input_with("fault", "loop"), Some("REQ-0")).await;

    // At the default billion units per second the debt of about a million
    // units is repaid in about a millisecond, and the call waits for that.
    manager.set_limits(tenant, Hook::Router, ROUTER, LimitOverrides::default(), "test").await.expect("reset limits");
    let outcome = manager.route(tenant, &input_with("fault", "none"), Some("REQ-1")).await;

    assert!(matches!(outcome, RouteOutcome::Decided { .. }), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_above_maximum_rejected() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    let limits = LimitOverrides { fuel_per_second: Some(u64::MAX), ..LimitOverrides::default() };

    let error = manager.set_limits(tenant, Hook::Router, ROUTER, limits, "test").await.unwrap_err();

    let message = error.to_string();
    assert!(message.contains("fuel_per_second"), "{message}");
    assert!(message.contains("20000000000"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_refill_is_awaited() {
    let config = ManagerConfig {
        breaker: BreakerConfig { failure_threshold: u32::MAX, cool_down: Duration::from_secs(3600) },
        ..ManagerConfig::default()
    };
    let fixture = fixture_with(config).await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    // The budget saves up a tenth of a second's worth, a million units, and
    // each looping call burns a million. So each call after the first finds
    // the budget spent and waits up to 100 ms for the refill, inside the call
    // slots' 250 ms wait, and then runs instead of being skipped.
    let limits = LimitOverrides { fuel: Some(1_000_000), fuel_per_second: Some(10_000_000), ..LimitOverrides::default() };
    greedy_router(manager, tenant, limits).await;

    let mut kinds = Vec::new();
    for index in 0..15 {
        let outcome = manager.route(tenant, &input_with("fault", "loop"), Some(&format!("REQ-{index}"))).await;
        kinds.push(match outcome {
            RouteOutcome::Failed { kind, .. } => kind,
            other => format!("{other:?}"),
        });
    }
    let last = manager.route(tenant, &input_with("fault", "none"), Some("REQ-after")).await;

    assert_eq!(kinds, vec!["fuel_exhausted"; 15]);
    assert!(matches!(last, RouteOutcome::Decided { .. }), "{last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_debt() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    greedy_router(manager, tenant, tiny_budget()).await;
    manager.route(tenant, &input_with("fault", "loop"), Some("REQ-0")).await;

    // Any change of the install's settings reloads it.
    manager.set_config(tenant, Hook::Router, ROUTER, BTreeMap::new(), "test").await.expect("set config");
    let after_reload = manager.route(tenant, &input_with("fault", "none"), Some("REQ-1")).await;
    // A changed limit keeps the debt too, repaid at the new rate.
    let limits = LimitOverrides { fuel_per_second: Some(2), ..tiny_budget() };
    manager.set_limits(tenant, Hook::Router, ROUTER, limits, "test").await.expect("change limits");
    let after_change = manager.route(tenant, &input_with("fault", "none"), Some("REQ-2")).await;

    assert!(matches!(after_reload, RouteOutcome::Skipped { .. }), "{after_reload:?}");
    assert!(matches!(after_change, RouteOutcome::Skipped { .. }), "{after_change:?}");
}
