use std::collections::BTreeMap;

use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::{DecisionOrError, RouteOutcome};

use crate::{active_router, fixture, input_with, test_plugin};

const ROUTER: &str = "faulty-router";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_receives_install_config() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    let config = BTreeMap::from([("fault".to_string(), "trap".to_string())]);
    manager.set_config(fixture.tenant_a, Hook::Router, ROUTER, config, "admin@city").await.unwrap();

    // The manifest's settings set `none`; the install's config replaces it.
    let outcome = manager.route(fixture.tenant_a, &input_with("fault", "none"), Some("REQ-1")).await;

    match outcome {
        RouteOutcome::Failed { kind, .. } => assert_eq!(kind, "trap"),
        other => panic!("expected the install's fault=trap to fail the call, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_keeps_manifest_settings() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    let config = BTreeMap::from([("unrelated".to_string(), "1".to_string())]);
    manager.set_config(fixture.tenant_a, Hook::Router, ROUTER, config, "admin@city").await.unwrap();

    let outcome = manager.route(fixture.tenant_a, &input_with("fault", "trap"), Some("REQ-1")).await;

    match outcome {
        RouteOutcome::Failed { kind, .. } => assert_eq!(kind, "trap"),
        other => panic!("expected the manifest's fault=trap to fail the call, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_uses_install_config() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let uploaded = active_router(manager, fixture.tenant_a, ROUTER, test_plugin("fault-injector"), Grants::default()).await;
    let config = BTreeMap::from([("fault".to_string(), "trap".to_string())]);
    manager.set_config(fixture.tenant_a, Hook::Router, ROUTER, config, "admin@city").await.unwrap();
    let inputs = vec![("REQ-1".to_string(), input_with("fault", "none"))];

    let report = manager.dry_run(fixture.tenant_a, ROUTER, uploaded.version.version, inputs).await.unwrap();

    assert_eq!(report.total, 1);
    match &report.rows[0].candidate {
        DecisionOrError::Error { kind, .. } => assert_eq!(kind, "trap"),
        other => panic!("expected the candidate to trap under the install's config, got {other:?}"),
    }
}
