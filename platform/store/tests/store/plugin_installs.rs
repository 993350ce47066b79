//! Installs: creation, activation, rollback, the one-active-router rule,
//! shadow versions, settings, the breaker and the audit log.

use std::collections::BTreeMap;

use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_store::{AuditAction, AuditFilter, NewAuditEntry, StoreError};

use crate::common::{at, fixture, installed, new_install, new_version, note};

#[tokio::test]
async fn install_starts_inactive() {
    let fixture = fixture().await;

    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;

    assert_eq!(install.tenant, fixture.tenant.tenant_id());
    assert_eq!(install.hook, Hook::Router);
    assert_eq!(install.plugin_owner, Some(fixture.tenant.tenant_id()));
    assert_eq!(install.active_version, None);
    assert!(!install.breaker.open);
    assert_eq!(install.grants, Grants::default());
    assert_eq!(fixture.tenant.install(Hook::Router, "router-a").await.unwrap(), Some(install.clone()));
    assert_eq!(fixture.tenant.install_by_id(install.id).await.unwrap(), Some(install.clone()));
    assert_eq!(fixture.tenant.installs().await.unwrap(), vec![install]);
}

#[tokio::test]
async fn install_rejects_bad_requests() {
    let fixture = fixture().await;
    let tenant = fixture.tenant.tenant_id();
    installed(&fixture.tenant, "router-a", Hook::Router).await;
    let created_at = at("2026-12-01T10:05:00Z");

    let again = fixture.tenant.create_install(new_install("router-a", Hook::Router, Some(tenant)), created_at).await;
    assert!(matches!(again, Err(StoreError::Conflict { .. })), "second install: {again:?}");

    let unknown = fixture.tenant.create_install(new_install("nothing", Hook::Router, Some(tenant)), created_at).await;
    assert!(matches!(unknown, Err(StoreError::NotFound { .. })), "unknown plugin: {unknown:?}");

    let wrong_hook = fixture.tenant.create_install(new_install("router-a", Hook::Integration, Some(tenant)), created_at).await;
    match wrong_hook {
        Err(StoreError::Invalid(message)) => assert!(message.contains("router hook"), "{message}"),
        other => panic!("expected Invalid for the wrong hook, got {other:?}"),
    }

    let catalogue = fixture.tenant.create_install(new_install("router-a", Hook::Router, None), created_at).await;
    assert!(matches!(catalogue, Err(StoreError::NotFound { .. })), "private plugin installed as catalogue: {catalogue:?}");
}

#[tokio::test]
async fn activate_and_rollback_are_audited() {
    let fixture = fixture().await;
    let (v1, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (v2, _) = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, b"v2")).await.unwrap();

    let first = fixture.tenant.set_active_version(install.id, Some(v1.id), &note(AuditAction::Activate)).await.unwrap();
    let second = fixture.tenant.set_active_version(install.id, Some(v2.id), &note(AuditAction::Activate)).await.unwrap();
    let back = fixture.tenant.set_active_version(install.id, Some(v1.id), &note(AuditAction::Rollback)).await.unwrap();

    assert_eq!(first.previous, None);
    assert_eq!(second.previous.as_ref().map(|version| version.version), Some(1));
    assert_eq!(back.previous.map(|version| version.version), Some(2));
    assert_eq!(back.install.active_version, Some(v1));
    assert!(back.deactivated.is_empty());

    let log = fixture.tenant.audit_log(&AuditFilter::default()).await.unwrap();
    let steps: Vec<_> = log.iter().map(|entry| (entry.action, entry.from_version, entry.to_version)).collect();
    assert_eq!(
        steps,
        vec![
            (AuditAction::Rollback, Some(2), Some(1)),
            (AuditAction::Activate, Some(1), Some(2)),
            (AuditAction::Activate, None, Some(1)),
        ],
        "newest first"
    );
    assert!(log.iter().all(|entry| entry.actor == "admin@example.org" && entry.install == Some(install.id)));
    assert!(log.iter().all(|entry| entry.plugin_name == "router-a" && entry.hook == Hook::Router));
}

#[tokio::test]
async fn deactivate_clears_active_version() {
    let fixture = fixture().await;
    let (v1, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    fixture.tenant.set_active_version(install.id, Some(v1.id), &note(AuditAction::Activate)).await.unwrap();

    let change = fixture.tenant.set_active_version(install.id, None, &note(AuditAction::Deactivate)).await.unwrap();

    assert_eq!(change.install.active_version, None);
    assert_eq!(change.previous.map(|version| version.version), Some(1));
    let latest = &fixture.tenant.audit_log(&AuditFilter { limit: 1, ..Default::default() }).await.unwrap()[0];
    assert_eq!((latest.action, latest.from_version, latest.to_version), (AuditAction::Deactivate, Some(1), None));
}

#[tokio::test]
async fn new_router_deactivates_previous_router() {
    let fixture = fixture().await;
    let (a1, router_a) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (b1, router_b) = installed(&fixture.tenant, "router-b", Hook::Router).await;
    let (sync1, sync) = installed(&fixture.tenant, "sync", Hook::Integration).await;
    fixture.tenant.set_active_version(router_a.id, Some(a1.id), &note(AuditAction::Activate)).await.unwrap();
    fixture.tenant.set_active_version(sync.id, Some(sync1.id), &note(AuditAction::Activate)).await.unwrap();

    let change = fixture.tenant.set_active_version(router_b.id, Some(b1.id), &note(AuditAction::Activate)).await.unwrap();

    assert_eq!(change.deactivated.len(), 1);
    assert_eq!(change.deactivated[0].id, router_a.id);
    assert_eq!(change.deactivated[0].active_version, None);
    let installs = fixture.tenant.installs().await.unwrap();
    let active: Vec<_> = installs
        .iter()
        .filter(|install| install.active_version.is_some())
        .map(|install| install.plugin_name.as_str())
        .collect();
    assert_eq!(active, vec!["sync", "router-b"], "integration installs stay active");

    let log = fixture.tenant.audit_log(&AuditFilter { plugin_name: Some("router-a".into()), ..Default::default() }).await.unwrap();
    assert_eq!(log[0].action, AuditAction::Deactivate);
    assert_eq!((log[0].from_version, log[0].to_version), (Some(1), None));
    assert_eq!(log[0].detail.as_deref(), Some("replaced by router plugin 'router-b' version 1"));
}

#[tokio::test]
async fn version_of_other_plugin_rejected() {
    let fixture = fixture().await;
    let (_, router_a) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (b1, _) = installed(&fixture.tenant, "router-b", Hook::Router).await;

    let result = fixture.tenant.set_active_version(router_a.id, Some(b1.id), &note(AuditAction::Activate)).await;

    match result {
        Err(StoreError::Invalid(message)) => assert!(message.contains("router-a"), "{message}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(fixture.tenant.audit_log(&AuditFilter::default()).await.unwrap().is_empty(), "a rejected change was audited");
}

#[tokio::test]
async fn shadow_version_set_and_cleared() {
    let fixture = fixture().await;
    let (v1, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (v2, _) = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, b"v2")).await.unwrap();
    fixture.tenant.set_active_version(install.id, Some(v1.id), &note(AuditAction::Activate)).await.unwrap();

    let (started, previous) = fixture.tenant.set_shadow_version(install.id, Some(v2.id), &note(AuditAction::ShadowStart)).await.unwrap();
    assert_eq!(previous, None);
    assert_eq!(started.shadow_version, Some(v2.clone()));
    assert_eq!(started.active_version, Some(v1));

    let (stopped, previous) = fixture.tenant.set_shadow_version(install.id, None, &note(AuditAction::ShadowStop)).await.unwrap();
    assert_eq!(previous, Some(v2));
    assert_eq!(stopped.shadow_version, None);

    let actions: Vec<_> = fixture.tenant.audit_log(&AuditFilter::default()).await.unwrap().iter().map(|entry| entry.action).collect();
    assert_eq!(actions, vec![AuditAction::ShadowStop, AuditAction::ShadowStart, AuditAction::Activate]);
}

#[tokio::test]
async fn settings_round_trip() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let changed_at = at("2026-12-02T09:00:00Z");
    let grants = Grants { logs: true, kv: true, secrets: false, http_hosts: vec!["api.viewpermit.example".into()] };
    let limits = LimitOverrides { fuel: Some(5_000_000), wall_time_ms: Some(250), ..Default::default() };
    let config = BTreeMap::from([("base_url".to_string(), "http://127.0.0.1:9000".to_string())]);

    fixture.tenant.set_grants(install.id, &grants, changed_at).await.unwrap();
    fixture.tenant.set_limits(install.id, &limits, changed_at).await.unwrap();
    let updated = fixture.tenant.set_config(install.id, &config, changed_at).await.unwrap();

    assert_eq!(updated.grants, grants);
    assert_eq!(updated.limits, limits);
    assert_eq!(updated.config, config);
    assert_eq!(updated.updated_at, changed_at);
    assert_eq!(fixture.store.install_by_id(install.id).await.unwrap(), Some(updated));
}

#[tokio::test]
async fn breaker_opens_and_closes() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let opened_at = at("2026-12-02T09:00:00Z");

    let open = fixture.tenant.set_breaker(install.id, true, Some("5 traps in 10 calls"), opened_at).await.unwrap();
    assert!(open.breaker.open);
    assert_eq!(open.breaker.reason.as_deref(), Some("5 traps in 10 calls"));
    assert_eq!(open.breaker.opened_at, Some(opened_at));

    let closed = fixture.tenant.set_breaker(install.id, false, Some("ignored"), at("2026-12-02T09:05:00Z")).await.unwrap();
    assert!(!closed.breaker.open);
    assert_eq!(closed.breaker.reason, None);
    assert_eq!(closed.breaker.opened_at, None);
}

#[tokio::test]
async fn loaded_installs_span_tenants() {
    let fixture = fixture().await;
    let boston = crate::common::add_tenant(&fixture.store, "boston", "boston.gov").await;
    let (h1, haverhill_router) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (b1, boston_router) = installed(&boston, "router-b", Hook::Router).await;
    installed(&boston, "idle", Hook::Integration).await;
    fixture.tenant.set_active_version(haverhill_router.id, Some(h1.id), &note(AuditAction::Activate)).await.unwrap();
    boston.set_shadow_version(boston_router.id, Some(b1.id), &note(AuditAction::ShadowStart)).await.unwrap();

    let loaded = fixture.store.loaded_installs().await.unwrap();

    let ids: Vec<_> = loaded.iter().map(|install| (install.tenant, install.id)).collect();
    assert_eq!(ids, vec![(fixture.tenant.tenant_id(), haverhill_router.id), (boston.tenant_id(), boston_router.id)]);
    let by_id = fixture.store.install_by_id(boston_router.id).await.unwrap().expect("install by id");
    assert_eq!(by_id.tenant, boston.tenant_id());
}

#[tokio::test]
async fn audit_log_filters_and_limits() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    for (offset, action) in [AuditAction::Upload, AuditAction::GrantsChange, AuditAction::SecretSet].into_iter().enumerate() {
        let entry = NewAuditEntry {
            install: Some(install.id),
            hook: Hook::Router,
            plugin_name: "router-a".into(),
            action,
            actor: "admin@example.org".into(),
            from_version: None,
            to_version: None,
            detail: Some(format!("step {offset}")),
            at: at(&format!("2026-12-02T09:0{offset}:00Z")),
        };
        fixture.tenant.append_audit(entry).await.unwrap();
    }
    let other = NewAuditEntry {
        install: None,
        hook: Hook::Integration,
        plugin_name: "sync".into(),
        action: AuditAction::Upload,
        actor: "operator".into(),
        from_version: None,
        to_version: Some(1),
        detail: None,
        at: at("2026-12-02T10:00:00Z"),
    };
    fixture.tenant.append_audit(other).await.unwrap();

    let routers = fixture.tenant.audit_log(&AuditFilter { hook: Some(Hook::Router), ..Default::default() }).await.unwrap();
    let latest_two = fixture.tenant.audit_log(&AuditFilter { limit: 2, ..Default::default() }).await.unwrap();
    let sync = fixture.tenant.audit_log(&AuditFilter { plugin_name: Some("sync".into()), ..Default::default() }).await.unwrap();

    let router_actions: Vec<_> = routers.iter().map(|entry| entry.action).collect();
    assert_eq!(router_actions, vec![AuditAction::SecretSet, AuditAction::GrantsChange, AuditAction::Upload]);
    assert_eq!(latest_two.iter().map(|entry| entry.plugin_name.as_str()).collect::<Vec<_>>(), vec!["sync", "router-a"]);
    assert_eq!(sync.len(), 1);
    assert_eq!(sync[0].to_version, Some(1));
}

#[tokio::test]
async fn deactivate_ends_shadow_mode() {
    let fixture = fixture().await;
    let (v1, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (v2, _) = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, b"v2")).await.unwrap();
    fixture.tenant.set_active_version(install.id, Some(v1.id), &note(AuditAction::Activate)).await.unwrap();
    fixture.tenant.set_shadow_version(install.id, Some(v2.id), &note(AuditAction::ShadowStart)).await.unwrap();

    let change = fixture.tenant.set_active_version(install.id, None, &note(AuditAction::Deactivate)).await.unwrap();

    assert_eq!(change.install.active_version, None);
    assert_eq!(change.install.shadow_version, None);
}

#[tokio::test]
async fn replaced_router_ends_shadow_mode() {
    let fixture = fixture().await;
    let (a1, router_a) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (a2, _) = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, b"a2")).await.unwrap();
    let (b1, router_b) = installed(&fixture.tenant, "router-b", Hook::Router).await;
    fixture.tenant.set_active_version(router_a.id, Some(a1.id), &note(AuditAction::Activate)).await.unwrap();
    fixture.tenant.set_shadow_version(router_a.id, Some(a2.id), &note(AuditAction::ShadowStart)).await.unwrap();

    fixture.tenant.set_active_version(router_b.id, Some(b1.id), &note(AuditAction::Activate)).await.unwrap();

    let replaced = fixture.tenant.install_by_id(router_a.id).await.unwrap().unwrap();
    assert_eq!(replaced.active_version, None);
    assert_eq!(replaced.shadow_version, None);
}
