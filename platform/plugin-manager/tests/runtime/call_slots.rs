use std::sync::Arc;
use std::time::Duration;

use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_plugin_manager::{BreakerConfig, CallSlotConfig, ManagerConfig, RouteOutcome};

use crate::{active_router, fixture_with, input_with, test_plugin};

const ROUTER: &str = "looping-router";

/// Returns settings of one call slot per install, a 1 ms wait, and a
/// breaker that never trips, so the slots alone decide what runs.
fn one_slot_config() -> ManagerConfig {
    ManagerConfig {
        breaker: BreakerConfig { failure_threshold: u32::MAX, cool_down: Duration::from_secs(3600) },
        call_slots: CallSlotConfig { per_install: 1, max_wait: Duration::from_millis(1) },
        ..ManagerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_install_skips_extra_calls() {
    let fixture = fixture_with(one_slot_config()).await;
    let manager = Arc::new(fixture.manager);
    active_router(&manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    active_router(&manager, fixture.tenant_b, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    // The maximum fuel makes each looping call run far longer than the 1 ms wait.
    let limits = LimitOverrides { fuel: Some(100_000_000), ..LimitOverrides::default() };
    manager.set_limits(fixture.tenant_a, Hook::Router, ROUTER, limits, "test").await.expect("set limits");

    let mut calls = Vec::new();
    for index in 0..4 {
        let manager = Arc::clone(&manager);
        let tenant = fixture.tenant_a;
        calls.push(tokio::spawn(async move {
            manager.route(tenant, &input_with("fault", "loop"), Some(&format!("REQ-loop-{index}"))).await
        }));
    }
    let neighbour = manager.route(fixture.tenant_b, &input_with("fault", "none"), Some("REQ-b")).await;
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.expect("route task"));
    }

    let fuel_exhausted = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, RouteOutcome::Failed { kind, .. } if kind == "fuel_exhausted"))
        .count();
    let busy = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, RouteOutcome::Skipped { reason, .. } if reason.contains("call(s) at once")))
        .count();
    assert!(fuel_exhausted >= 1, "{outcomes:?}");
    assert!(busy >= 1, "{outcomes:?}");
    assert_eq!(fuel_exhausted + busy, 4, "{outcomes:?}");
    assert!(matches!(neighbour, RouteOutcome::Decided { .. }), "{neighbour:?}");
}
