use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::{ManagerError, RouteOutcome};

use crate::{active_router, fixture, input_with, test_plugin};

const ROUTER: &str = "faulty-router";
const PROBE: &str = "capability-probe";

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, ManagerError>) {
    match result {
        Err(ManagerError::NotFound { .. }) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_calls_scoped_to_tenant() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    for index in 0..5 {
        manager.route(fixture.tenant_a, &input_with("fault", "trap"), Some(&format!("REQ-{index}"))).await;
    }

    assert_not_found(manager.reset_breaker(fixture.tenant_b, Hook::Router, ROUTER, "mallory").await);
    assert_not_found(manager.breaker_state(fixture.tenant_b, Hook::Router, ROUTER).await);
    assert_not_found(manager.logs(fixture.tenant_b, Hook::Router, ROUTER, 0).await);

    let install_a = fixture.store.scoped(fixture.tenant_a).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    assert!(install_a.breaker.open, "tenant B's reset reached tenant A's install");
    assert_eq!(manager.route(fixture.tenant_b, &input_with("fault", "none"), None).await, RouteOutcome::NoRouter);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_scoped_to_install() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let grants = Grants { logs: true, kv: true, secrets: true, http_hosts: vec!["127.0.0.1".to_string()] };
    active_router(manager, fixture.tenant_a, PROBE, test_plugin(PROBE), grants.clone()).await;
    active_router(manager, fixture.tenant_b, PROBE, test_plugin(PROBE), grants).await;
    manager.set_secret(fixture.tenant_a, Hook::Router, PROBE, "api_key", "tenant-a-only-value", "alice").await.unwrap();

    let outcome = manager.route(fixture.tenant_b, &input_with("probe", "secret-length:api_key"), Some("REQ-b")).await;

    let RouteOutcome::Decided { decision, .. } = outcome else {
        panic!("expected a decision, got {outcome:?}");
    };
    assert_eq!(decision.reason.as_deref(), Some("secret api_key is missing"));
}
