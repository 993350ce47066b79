use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::RouteOutcome;

use crate::{active_router, fixture, input_with, test_plugin};

/// Activations that switch between the two routers while requests route.
const SWITCHES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_switch_leaves_no_gap() {
    let fixture = fixture().await;
    let manager = Arc::new(fixture.manager);
    let tenant = fixture.tenant_a;
    active_router(&manager, tenant, "router-one", test_plugin("fault-injector"), Grants::default()).await;
    active_router(&manager, tenant, "router-two", test_plugin("fault-injector"), Grants::default()).await;

    let switching = Arc::new(AtomicBool::new(true));
    let router = {
        let (manager, switching) = (Arc::clone(&manager), Arc::clone(&switching));
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            while switching.load(Ordering::SeqCst) {
                outcomes.push(manager.route(tenant, &input_with("fault", "none"), None).await);
            }
            outcomes
        })
    };
    for switch in 0..SWITCHES {
        let name = if switch % 2 == 0 { "router-one" } else { "router-two" };
        manager.activate(tenant, Hook::Router, name, 1, "admin@city").await.unwrap();
        tokio::task::yield_now().await;
    }
    switching.store(false, Ordering::SeqCst);
    let outcomes = router.await.unwrap();

    assert!(!outcomes.is_empty(), "no request routed during the switches");
    let without_router = outcomes.iter().filter(|outcome| **outcome == RouteOutcome::NoRouter).count();
    assert_eq!(without_router, 0, "{without_router} of {} requests found no router", outcomes.len());
    let routed = manager.route(tenant, &input_with("fault", "none"), None).await;
    match routed {
        RouteOutcome::Decided { plugin, .. } => assert_eq!(plugin.name, "router-two"),
        other => panic!("expected router-two to decide, got {other:?}"),
    }
}
