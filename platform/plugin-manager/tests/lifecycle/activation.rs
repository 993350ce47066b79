use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::{AuditFilter, ManagerError, PluginSource};
use civic311_store::AuditAction;

use crate::{active_router, bundled, fixture, install, upload};

#[tokio::test]
async fn activate_rollback_and_audit() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let tenant = fixture.tenant_a;
    let first = upload(manager, tenant, "city-router", bundled("haverhill-router")).await;
    install(
        manager,
        tenant,
        Hook::Router,
        "city-router",
        PluginSource::Tenant,
        Grants::default(),
    )
    .await;

    let activated = manager
        .activate(tenant, Hook::Router, "city-router", 1, "alice")
        .await
        .unwrap();
    assert_eq!((activated.from, activated.to), (None, 1));
    let second = upload(manager, tenant, "city-router", bundled("boston-router")).await;
    let upgraded = manager
        .activate(tenant, Hook::Router, "city-router", 2, "bob")
        .await
        .unwrap();
    assert_eq!((upgraded.from, upgraded.to), (Some(1), 2));
    assert_eq!(
        manager.registry().router(tenant).unwrap().version.digest,
        second.version.digest
    );

    let rolled_back = manager
        .rollback(tenant, Hook::Router, "city-router", None, "carol")
        .await
        .unwrap();
    assert_eq!((rolled_back.from, rolled_back.to), (Some(2), 1));
    assert_eq!(
        rolled_back
            .install
            .active_version
            .as_ref()
            .map(|version| version.version),
        Some(1)
    );
    let router = manager.registry().router(tenant).unwrap();
    assert_eq!(router.version.version, 1);
    assert_eq!(router.version.digest, first.version.digest);

    let explicit = manager
        .rollback(tenant, Hook::Router, "city-router", Some(2), "dave")
        .await
        .unwrap();
    assert_eq!((explicit.from, explicit.to), (Some(1), 2));
    assert_eq!(
        manager.registry().router(tenant).unwrap().version.version,
        2
    );

    let entries = manager.audit(tenant, AuditFilter::default()).await.unwrap();
    let summary: Vec<(AuditAction, &str, Option<i32>, Option<i32>)> = entries
        .iter()
        .map(|entry| {
            (
                entry.action,
                entry.actor.as_str(),
                entry.from_version,
                entry.to_version,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (AuditAction::Rollback, "dave", Some(1), Some(2)),
            (AuditAction::Rollback, "carol", Some(2), Some(1)),
            (AuditAction::Activate, "bob", Some(1), Some(2)),
            (AuditAction::Upload, "admin@city", None, Some(2)),
            (AuditAction::Activate, "alice", None, Some(1)),
            (AuditAction::Install, "admin@city", None, None),
            (AuditAction::Upload, "admin@city", None, Some(1)),
        ]
    );
    for pair in entries.windows(2) {
        assert!(
            pair[0].at >= pair[1].at,
            "audit log is not newest first: {pair:?}"
        );
    }
}

#[tokio::test]
async fn activate_same_version_is_unchanged() {
    let fixture = fixture().await;
    active_router(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    let before = fixture
        .manager
        .audit(fixture.tenant_a, AuditFilter::default())
        .await
        .unwrap()
        .len();

    let again = fixture
        .manager
        .activate(fixture.tenant_a, Hook::Router, "city-router", 1, "alice")
        .await
        .unwrap();

    assert_eq!((again.from, again.to), (Some(1), 1));
    let after = fixture
        .manager
        .audit(fixture.tenant_a, AuditFilter::default())
        .await
        .unwrap()
        .len();
    assert_eq!(after, before);
}

#[tokio::test]
async fn activate_unknown_version_lists_available() {
    let fixture = fixture().await;
    active_router(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;

    let error = fixture
        .manager
        .activate(fixture.tenant_a, Hook::Router, "city-router", 7, "alice")
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ManagerError::VersionNotFound { version: 7, available, .. } if *available == vec![1, 2]),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("available versions: 1, 2"),
        "{error}"
    );
}

#[tokio::test]
async fn activate_missing_install_is_not_found() {
    let fixture = fixture().await;
    upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;

    let error = fixture
        .manager
        .activate(fixture.tenant_a, Hook::Router, "city-router", 1, "alice")
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            ManagerError::NotFound {
                what: "plugin install",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("install plugin 'city-router'"),
        "{error}"
    );
}

#[tokio::test]
async fn rollback_without_history_fails() {
    let fixture = fixture().await;
    upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    install(
        &fixture.manager,
        fixture.tenant_a,
        Hook::Router,
        "city-router",
        PluginSource::Tenant,
        Grants::default(),
    )
    .await;

    let inactive = fixture
        .manager
        .rollback(fixture.tenant_a, Hook::Router, "city-router", None, "alice")
        .await
        .unwrap_err();
    assert!(
        matches!(inactive, ManagerError::NothingToRollBack { .. }),
        "{inactive:?}"
    );
    assert!(
        inactive.to_string().contains("no version is active"),
        "{inactive}"
    );

    fixture
        .manager
        .activate(fixture.tenant_a, Hook::Router, "city-router", 1, "alice")
        .await
        .unwrap();
    let only = fixture
        .manager
        .rollback(fixture.tenant_a, Hook::Router, "city-router", None, "alice")
        .await
        .unwrap_err();
    assert!(
        matches!(only, ManagerError::NothingToRollBack { .. }),
        "{only:?}"
    );
    assert!(only.to_string().contains("only version"), "{only}");
}

#[tokio::test]
async fn rollback_after_deactivation_finds_earlier() {
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
        .deactivate(fixture.tenant_a, Hook::Router, "city-router", "alice")
        .await
        .unwrap();
    assert!(manager.registry().router(fixture.tenant_a).is_none());
    manager
        .activate(fixture.tenant_a, Hook::Router, "city-router", 2, "alice")
        .await
        .unwrap();

    let rolled_back = manager
        .rollback(fixture.tenant_a, Hook::Router, "city-router", None, "bob")
        .await
        .unwrap();

    assert_eq!((rolled_back.from, rolled_back.to), (Some(2), 1));
}

#[tokio::test]
async fn second_router_replaces_first() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "first-router",
        bundled("haverhill-router"),
    )
    .await;

    active_router(
        manager,
        fixture.tenant_a,
        "second-router",
        bundled("boston-router"),
    )
    .await;

    let router = manager.registry().router(fixture.tenant_a).unwrap();
    assert_eq!(router.version.name, "second-router");
    let first = fixture
        .store
        .scoped(fixture.tenant_a)
        .install(Hook::Router, "first-router")
        .await
        .unwrap()
        .unwrap();
    assert!(first.active_version.is_none());
    assert!(manager.registry().by_id(first.id).is_none());
    let entries = manager
        .audit(
            fixture.tenant_a,
            AuditFilter {
                plugin_name: Some("first-router".to_string()),
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(entries[0].action, AuditAction::Deactivate);
    assert_eq!(entries[0].from_version, Some(1));
}

#[tokio::test]
async fn limits_above_maximum_rejected() {
    let fixture = fixture().await;
    active_router(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    let limits = civic311_domain::plugin::LimitOverrides {
        fuel: Some(u64::MAX),
        ..Default::default()
    };

    let error = fixture
        .manager
        .set_limits(
            fixture.tenant_a,
            Hook::Router,
            "city-router",
            limits,
            "alice",
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            ManagerError::Plugin(civic311_plugin_host::PluginError::LimitAboveMaximum { .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("fuel"), "{error}");
}

#[tokio::test]
async fn manager_restart_loads_active_router() {
    let fixture = fixture().await;
    active_router(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;

    let restarted = fixture.second_manager().await;

    let router = restarted
        .registry()
        .router(fixture.tenant_a)
        .expect("router loaded at start");
    assert_eq!(router.version.name, "city-router");
    assert_eq!(router.version.version, 1);
    assert!(restarted.registry().router(fixture.tenant_b).is_none());
}
