use std::time::Duration;

use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::{AuditFilter, BreakerState, RouteOutcome};
use civic311_store::{AuditAction, AuditEntry, TenantId};

use crate::{active_router, config_with_cool_down, fixture, fixture_with, input_with, test_plugin};

const ROUTER: &str = "faulty-router";

async fn breaker_audit(manager: &civic311_plugin_manager::PluginManager, tenant: TenantId) -> Vec<AuditEntry> {
    let entries = manager.audit(tenant, AuditFilter::default()).await.expect("read audit log");
    entries
        .into_iter()
        .filter(|entry| matches!(entry.action, AuditAction::BreakerOpen | AuditAction::BreakerReset))
        .collect()
}

/// Routes `count` requests with `fault` and returns the kinds of the outcomes.
async fn route_faults(manager: &civic311_plugin_manager::PluginManager, tenant: TenantId, fault: &str, count: usize) -> Vec<String> {
    let mut kinds = Vec::new();
    for index in 0..count {
        let request_id = format!("REQ-{fault}-{index}");
        let outcome = manager.route(tenant, &input_with("fault", fault), Some(&request_id)).await;
        kinds.push(match outcome {
            RouteOutcome::Failed { kind, .. } => kind,
            RouteOutcome::Decided { .. } => "decided".to_string(),
            RouteOutcome::Skipped { .. } => "skipped".to_string(),
            RouteOutcome::NoRouter => "no_router".to_string(),
        });
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_trips_after_five_traps() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    let kinds = route_faults(manager, tenant, "trap", 5).await;
    assert_eq!(kinds, vec!["trap"; 5]);

    let skipped = manager.route(tenant, &input_with("fault", "none"), Some("REQ-after")).await;
    let RouteOutcome::Skipped { plugin, reason } = skipped else {
        panic!("expected a skipped call, got {skipped:?}");
    };
    assert_eq!(plugin.name, ROUTER);
    assert!(reason.contains("5 consecutive failures"), "{reason}");
    assert!(reason.contains("trap"), "{reason}");

    let install = fixture.store.scoped(tenant).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    assert!(install.breaker.open);
    assert_eq!(install.breaker.reason.as_deref(), Some(reason.as_str()));
    assert!(install.breaker.opened_at.is_some());

    let audit = breaker_audit(manager, tenant).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::BreakerOpen);
    assert_eq!(audit[0].actor, "platform");
    assert_eq!(audit[0].detail.as_deref(), Some(reason.as_str()));

    let state = manager.breaker_state(tenant, Hook::Router, ROUTER).await.unwrap();
    assert!(matches!(state, Some(BreakerState::Open { .. })), "{state:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_open_leaves_other_tenant() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    active_router(manager, fixture.tenant_b, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    route_faults(manager, fixture.tenant_a, "trap", 5).await;

    let other = manager.route(fixture.tenant_b, &input_with("fault", "none"), Some("REQ-b")).await;
    assert!(matches!(other, RouteOutcome::Decided { .. }), "{other:?}");
    let install_b = fixture.store.scoped(fixture.tenant_b).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    assert!(!install_b.breaker.open);
    assert!(breaker_audit(manager, fixture.tenant_b).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_trial_success_closes() {
    // With no cool-down, the first call after the trip is the trial call.
    let fixture = fixture_with(config_with_cool_down(Duration::ZERO)).await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    route_faults(manager, tenant, "trap", 5).await;
    assert!(fixture.store.scoped(tenant).install(Hook::Router, ROUTER).await.unwrap().unwrap().breaker.open);

    let trial = manager.route(tenant, &input_with("fault", "none"), Some("REQ-trial")).await;

    assert!(matches!(trial, RouteOutcome::Decided { .. }), "{trial:?}");
    let install = fixture.store.scoped(tenant).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    assert!(!install.breaker.open);
    assert_eq!(install.breaker.reason, None);
    let audit = breaker_audit(manager, tenant).await;
    let actions: Vec<(AuditAction, &str)> = audit.iter().map(|entry| (entry.action, entry.actor.as_str())).collect();
    assert_eq!(actions, vec![(AuditAction::BreakerReset, "platform"), (AuditAction::BreakerOpen, "platform")]);
    let state = manager.breaker_state(tenant, Hook::Router, ROUTER).await.unwrap();
    assert_eq!(state, Some(BreakerState::Closed { consecutive_failures: 0 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_trial_failure_reopens() {
    let fixture = fixture_with(config_with_cool_down(Duration::ZERO)).await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    route_faults(manager, tenant, "trap", 5).await;
    let first_open = fixture.store.scoped(tenant).install(Hook::Router, ROUTER).await.unwrap().unwrap();

    let trial = manager.route(tenant, &input_with("fault", "trap"), Some("REQ-trial")).await;

    assert!(matches!(&trial, RouteOutcome::Failed { kind, .. } if kind == "trap"), "{trial:?}");
    let reopened = fixture.store.scoped(tenant).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    assert!(reopened.breaker.open);
    let reason = reopened.breaker.reason.clone().unwrap_or_default();
    assert!(reason.contains("trial call"), "{reason}");
    assert!(reopened.breaker.opened_at >= first_open.breaker.opened_at);
    let opens = breaker_audit(manager, tenant).await.iter().filter(|entry| entry.action == AuditAction::BreakerOpen).count();
    assert_eq!(opens, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_reset_closes_breaker() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    active_router(manager, tenant, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    route_faults(manager, tenant, "trap", 5).await;

    let install = manager.reset_breaker(tenant, Hook::Router, ROUTER, "alice").await.unwrap();

    assert!(!install.breaker.open);
    let after = manager.route(tenant, &input_with("fault", "none"), Some("REQ-after-reset")).await;
    assert!(matches!(after, RouteOutcome::Decided { .. }), "{after:?}");
    let audit = breaker_audit(manager, tenant).await;
    assert_eq!(audit[0].action, AuditAction::BreakerReset);
    assert_eq!(audit[0].actor, "alice");
    let detail = audit[0].detail.clone().unwrap_or_default();
    assert!(detail.contains("5 consecutive failures"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_of_closed_breaker_is_unchanged() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    let install = manager.reset_breaker(fixture.tenant_a, Hook::Router, ROUTER, "alice").await.unwrap();

    assert!(!install.breaker.open);
    assert!(breaker_audit(manager, fixture.tenant_a).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejections_do_not_trip() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    // An unknown fault name makes the plugin return its own invalid-input error.
    let kinds = route_faults(manager, fixture.tenant_a, "no-such-fault", 7).await;

    assert_eq!(kinds, vec!["rejected"; 7]);
    assert!(breaker_audit(manager, fixture.tenant_a).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_department_trips() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;

    let kinds = route_faults(manager, fixture.tenant_a, "wrong-department", 6).await;

    // The decision goes back to the caller, which falls back, and the breaker counts it.
    assert_eq!(kinds, vec!["decided", "decided", "decided", "decided", "decided", "skipped"]);
    let install = fixture.store.scoped(fixture.tenant_a).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    let reason = install.breaker.reason.unwrap_or_default();
    assert!(reason.contains("invalid_department"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_without_router() {
    let fixture = fixture().await;

    let outcome = fixture.manager.route(fixture.tenant_a, &input_with("fault", "none"), None).await;

    assert_eq!(outcome, RouteOutcome::NoRouter);
}
