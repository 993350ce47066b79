use civic311_domain::plugin::Hook;
use civic311_plugin_manager::MANIFEST_ACTOR;

use crate::{bundled, fixture, test_plugin};

const ROUTER: &str = "city-router";

async fn active_version(fixture: &crate::Fixture) -> Option<i32> {
    let install = fixture.store.scoped(fixture.tenant_a).install(Hook::Router, ROUTER).await.unwrap().unwrap();
    install.active_version.map(|version| version.version)
}

#[tokio::test]
async fn new_manifest_router_replaces_manifest_version() {
    let fixture = fixture().await;
    let manager = &fixture.manager;

    manager.adopt_manifest_router(fixture.tenant_a, ROUTER, &bundled("boston-router")).await.unwrap();
    manager.adopt_manifest_router(fixture.tenant_a, ROUTER, &bundled("haverhill-router")).await.unwrap();

    assert_eq!(active_version(&fixture).await, Some(2));
    let audit = manager.audit(fixture.tenant_a, Default::default()).await.unwrap();
    assert_eq!(audit[0].actor, MANIFEST_ACTOR);
    assert_eq!(audit[0].from_version, Some(1));
    assert_eq!(audit[0].to_version, Some(2));
}

#[tokio::test]
async fn admin_choice_outlives_manifest_change() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    manager.adopt_manifest_router(fixture.tenant_a, ROUTER, &bundled("boston-router")).await.unwrap();
    manager.adopt_manifest_router(fixture.tenant_a, ROUTER, &bundled("haverhill-router")).await.unwrap();
    manager.rollback(fixture.tenant_a, Hook::Router, ROUTER, Some(1), "admin:ops").await.unwrap();

    manager.adopt_manifest_router(fixture.tenant_a, ROUTER, &test_plugin("fault-injector")).await.unwrap();

    assert_eq!(active_version(&fixture).await, Some(1));
    let versions = fixture.store.scoped(fixture.tenant_a).plugin_versions(Some(ROUTER)).await.unwrap();
    assert_eq!(versions.len(), 3, "the new manifest router is stored as version 3");
}

#[tokio::test]
async fn same_manifest_router_changes_nothing() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    manager.adopt_manifest_router(fixture.tenant_a, ROUTER, &bundled("boston-router")).await.unwrap();
    let before = manager.audit(fixture.tenant_a, Default::default()).await.unwrap().len();

    manager.adopt_manifest_router(fixture.tenant_a, ROUTER, &bundled("boston-router")).await.unwrap();

    assert_eq!(active_version(&fixture).await, Some(1));
    assert_eq!(manager.audit(fixture.tenant_a, Default::default()).await.unwrap().len(), before);
}
