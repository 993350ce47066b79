use chrono::{TimeDelta, Utc};
use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::RouteOutcome;
use civic311_store::PluginCallOutcome;

use crate::{active_router, fixture, input_with, test_plugin};

const ROUTER: &str = "faulty-router";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_recorded_with_metrics() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    let since = Utc::now() - TimeDelta::seconds(1);
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    for (index, fault) in ["none", "none", "none", "trap"].iter().enumerate() {
        manager.route(tenant, &input_with("fault", fault), Some(&format!("REQ-{index}"))).await;
    }
    manager.flush().await;

    let calls = fixture.store.scoped(tenant).calls_since(None, since).await.unwrap();
    let outcomes: Vec<(Option<&str>, PluginCallOutcome, Option<&str>)> = calls
        .iter()
        .map(|call| (call.request_id.as_deref(), call.outcome, call.error_kind.as_deref()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (Some("REQ-0"), PluginCallOutcome::Ok, None),
            (Some("REQ-1"), PluginCallOutcome::Ok, None),
            (Some("REQ-2"), PluginCallOutcome::Ok, None),
            (Some("REQ-3"), PluginCallOutcome::Failed, Some("trap")),
        ]
    );
    assert!(calls.iter().all(|call| call.version == 1 && call.hook == Hook::Router && !call.shadow));
    assert!(calls.iter().filter(|call| call.outcome == PluginCallOutcome::Ok).all(|call| call.fuel_used > 0));

    let metrics = manager.metrics(tenant, since).await.unwrap();
    assert_eq!(metrics.len(), 1);
    let row = &metrics[0];
    assert_eq!(row.plugin_name, ROUTER);
    assert_eq!(row.version, 1);
    assert_eq!(row.count, 4);
    assert_eq!(row.failures, 1);
    assert_eq!(row.skipped, 0);
    assert_eq!(row.failure_kinds.get("trap"), Some(&1));
    assert!(row.p50_us.is_some());
    assert!(row.p99_us >= row.p50_us);
    assert!(row.mean_fuel.unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_calls_recorded() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    let since = Utc::now() - TimeDelta::seconds(1);
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    for index in 0..7 {
        manager.route(tenant, &input_with("fault", "trap"), Some(&format!("REQ-{index}"))).await;
    }
    manager.flush().await;

    let metrics = manager.metrics(tenant, since).await.unwrap();
    assert_eq!(metrics[0].count, 5);
    assert_eq!(metrics[0].failures, 5);
    assert_eq!(metrics[0].skipped, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counts_calls() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    for index in 0..3 {
        let outcome = manager.route(tenant, &input_with("fault", "none"), Some(&format!("REQ-{index}"))).await;
        assert!(matches!(outcome, RouteOutcome::Decided { .. }), "{outcome:?}");
    }
    manager.flush().await;

    let today = Utc::now().date_naive();
    let usage = fixture.store.scoped(tenant).plugin_usage(today, today).await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].calls, 3);
    assert_eq!(usage[0].work_orders, 0);
    assert_eq!(usage[0].plugin_name, ROUTER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_scoped_to_tenant() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let since = Utc::now() - TimeDelta::seconds(1);
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    manager.route(fixture.tenant_a, &input_with("fault", "none"), Some("REQ-a")).await;
    manager.flush().await;

    assert!(manager.metrics(fixture.tenant_b, since).await.unwrap().is_empty());
    assert!(fixture.store.scoped(fixture.tenant_b).calls_since(None, since).await.unwrap().is_empty());
    assert_eq!(manager.metrics(fixture.tenant_a, since).await.unwrap().len(), 1);
}
