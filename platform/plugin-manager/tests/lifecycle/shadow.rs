use civic311_domain::Priority;
use civic311_domain::plugin::Hook;
use civic311_domain::routing::RouteDecision;
use civic311_plugin_manager::{AuditFilter, DecisionOrError, ManagerError, shadow};
use civic311_store::AuditAction;

use civic311_domain::plugin::Grants;
use civic311_plugin_manager::PluginSource;

use crate::{active_router, bundled, fixture, install, upload};

fn decision(department: &str) -> DecisionOrError {
    DecisionOrError::Decision {
        decision: RouteDecision {
            department: department.to_string(),
            priority: Priority::Normal,
            queue: None,
            assignee: None,
            sla_override: None,
            reason: Some(format!("to {department}")),
        },
    }
}

#[tokio::test]
async fn shadow_start_and_stop() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    upload(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;

    let started = manager
        .start_shadow(fixture.tenant_a, Hook::Router, "city-router", 2, "alice")
        .await
        .unwrap();

    assert_eq!(
        started
            .shadow_version
            .as_ref()
            .map(|version| version.version),
        Some(2)
    );
    assert_eq!(
        started
            .active_version
            .as_ref()
            .map(|version| version.version),
        Some(1)
    );
    let router = manager.registry().router(fixture.tenant_a).unwrap();
    assert_eq!(router.version.version, 1);
    assert_eq!(
        router.shadow.as_ref().map(|(version, _)| version.version),
        Some(2)
    );

    let stopped = manager
        .stop_shadow(fixture.tenant_a, Hook::Router, "city-router", "bob")
        .await
        .unwrap();

    assert!(stopped.shadow_version.is_none());
    assert!(
        manager
            .registry()
            .router(fixture.tenant_a)
            .unwrap()
            .shadow
            .is_none()
    );
    let entries = manager
        .audit(fixture.tenant_a, AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(
        (entries[0].action, entries[0].actor.as_str()),
        (AuditAction::ShadowStop, "bob")
    );
    assert_eq!(
        (entries[1].action, entries[1].to_version),
        (AuditAction::ShadowStart, Some(2))
    );
}

#[tokio::test]
async fn shadow_needs_active_other_version() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    upload(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;

    let same = manager
        .start_shadow(fixture.tenant_a, Hook::Router, "city-router", 1, "alice")
        .await
        .unwrap_err();
    manager
        .deactivate(fixture.tenant_a, Hook::Router, "city-router", "alice")
        .await
        .unwrap();
    let inactive = manager
        .start_shadow(fixture.tenant_a, Hook::Router, "city-router", 2, "alice")
        .await
        .unwrap_err();

    assert!(
        matches!(&same, ManagerError::Invalid { problem, .. } if problem.contains("is the active version")),
        "{same:?}"
    );
    assert!(
        matches!(&inactive, ManagerError::Invalid { problem, .. } if problem.contains("no active version")),
        "{inactive:?}"
    );
}

#[tokio::test]
async fn shadow_record_lists_disagreements() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    upload(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;
    manager
        .start_shadow(fixture.tenant_a, Hook::Router, "city-router", 2, "alice")
        .await
        .unwrap();
    let router = manager.registry().router(fixture.tenant_a).unwrap();
    let (candidate, _) = router.shadow.as_ref().unwrap();

    shadow::record(
        &fixture.store,
        fixture.tenant_a,
        "A-1",
        (&router.version, &decision("dpw")),
        (candidate, &decision("dpw")),
    )
    .await
    .unwrap();
    shadow::record(
        &fixture.store,
        fixture.tenant_a,
        "A-2",
        (&router.version, &decision("dpw")),
        (candidate, &decision("parks")),
    )
    .await
    .unwrap();

    let results = manager
        .shadow_results(fixture.tenant_a, Hook::Router, "city-router", 0)
        .await
        .unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(
        (results[0].request_id.as_str(), results[0].agrees),
        ("A-2", false)
    );
    assert_eq!(
        (results[1].request_id.as_str(), results[1].agrees),
        ("A-1", true)
    );
    assert_eq!(
        (results[0].active_version, results[0].candidate_version),
        (1, 2)
    );
    assert_eq!(
        results[0].candidate_decision["decision"]["department"],
        "parks"
    );
    let summary = manager
        .shadow_summary(fixture.tenant_a, Hook::Router, "city-router")
        .await
        .unwrap();
    assert_eq!(
        (summary.total, summary.agreeing, summary.disagreeing),
        (2, 1, 1)
    );
}

/// Waits until the install has `count` shadow results; the shadow call runs
/// in a background task that the test cannot join.
async fn shadow_results_when_ready(
    manager: &civic311_plugin_manager::PluginManager,
    tenant: civic311_store::TenantId,
    count: usize,
) -> Vec<civic311_plugin_manager::ShadowResult> {
    for _ in 0..1000 {
        let results = manager
            .shadow_results(tenant, Hook::Router, "city-router", 0)
            .await
            .unwrap();
        if results.len() >= count {
            return results;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the shadow call recorded no result");
}

#[tokio::test]
async fn live_shadow_records_disagreement() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;
    upload(
        manager,
        fixture.tenant_a,
        "city-router",
        crate::test_plugin("fault-injector"),
    )
    .await;
    manager
        .start_shadow(fixture.tenant_a, Hook::Router, "city-router", 2, "alice")
        .await
        .unwrap();

    let outcome = manager
        .route(
            fixture.tenant_a,
            &crate::boston_input("needle-pickup", "GEN_"),
            Some("REQ-1"),
        )
        .await;

    let civic311_plugin_manager::RouteOutcome::Decided { plugin, decision } = outcome else {
        panic!("routing failed: {outcome:?}");
    };
    assert_eq!(plugin.version, 1);
    assert_eq!(decision.priority, Priority::High);
    assert_eq!(decision.queue.as_deref(), Some("GEN_Needle_Pickup"));
    let results = shadow_results_when_ready(manager, fixture.tenant_a, 1).await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].request_id, "REQ-1");
    assert!(!results[0].agrees);
    assert_eq!(
        (results[0].active_version, results[0].candidate_version),
        (1, 2)
    );
    assert_eq!(results[0].active_decision["decision"]["priority"], "high");
    assert_eq!(
        results[0].candidate_decision["decision"]["priority"],
        "normal"
    );
    assert!(manager.registry().router(fixture.tenant_b).is_none());
    assert!(
        manager
            .shadow_results(fixture.tenant_b, Hook::Router, "city-router", 0)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn shadow_rejected_on_integration() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    upload(manager, fixture.tenant_a, "city-sync", bundled("maintstar-integration")).await;
    upload(manager, fixture.tenant_a, "city-sync", bundled("viewpermit-integration")).await;
    let grants = Grants { logs: true, kv: false, secrets: true, http_hosts: vec!["127.0.0.1".to_string()] };
    install(manager, fixture.tenant_a, Hook::Integration, "city-sync", PluginSource::Tenant, grants).await;
    manager
        .activate(fixture.tenant_a, Hook::Integration, "city-sync", 1, "alice")
        .await
        .unwrap();

    let error = manager
        .start_shadow(fixture.tenant_a, Hook::Integration, "city-sync", 2, "alice")
        .await
        .unwrap_err();

    assert!(matches!(&error, ManagerError::Invalid { field, .. } if field == "hook"), "{error:?}");
    let stored = fixture.store.scoped(fixture.tenant_a).install(Hook::Integration, "city-sync").await.unwrap().unwrap();
    assert!(stored.shadow_version.is_none(), "a shadow version was stored: {stored:?}");
}

#[tokio::test]
async fn activating_candidate_ends_shadow() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(manager, fixture.tenant_a, "city-router", bundled("haverhill-router")).await;
    upload(manager, fixture.tenant_a, "city-router", bundled("boston-router")).await;
    manager
        .start_shadow(fixture.tenant_a, Hook::Router, "city-router", 2, "alice")
        .await
        .unwrap();

    let activation = manager
        .activate(fixture.tenant_a, Hook::Router, "city-router", 2, "alice")
        .await
        .unwrap();

    assert_eq!(activation.install.active_version.as_ref().map(|version| version.version), Some(2));
    assert!(activation.install.shadow_version.is_none(), "the candidate still shadows itself: {:?}", activation.install);
    let loaded = manager.registry().router(fixture.tenant_a).expect("a loaded router");
    assert!(loaded.shadow.is_none(), "the loaded router still runs a shadow candidate");
}
