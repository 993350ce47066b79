//! Tenant B must not see, change or claim tenant A's plugin rows.

use chrono::NaiveDate;
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_store::{
    AuditAction, AuditFilter, InstallId, LogFilter, NewAuditEntry, NewCallRecord, NewPluginLogLine, NewShadowResult, PluginCallOutcome,
    PluginLogLevel, SealedSecret, StoreError, UsageDelta,
};
use serde_json::json;

use crate::common::{add_tenant, at, fixture, installed, new_request, note};

fn assert_install_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, path: &str) {
    match result {
        Err(StoreError::NotFound { entity, .. }) => assert_eq!(entity, "plugin install", "{path}"),
        other => panic!("{path}: expected NotFound, got {other:?}"),
    }
}

fn call_of(install: InstallId) -> NewCallRecord {
    NewCallRecord {
        install,
        version: 1,
        hook: Hook::Router,
        request_id: None,
        at: at("2026-12-02T09:00:00Z"),
        duration_us: 900,
        fuel_used: 10,
        outcome: PluginCallOutcome::Ok,
        error_kind: None,
        shadow: false,
    }
}

fn log_of(install: InstallId) -> NewPluginLogLine {
    NewPluginLogLine {
        install,
        version: 1,
        request_id: None,
        level: PluginLogLevel::Info,
        message: "written by B".into(),
        at: at("2026-12-02T09:00:00Z"),
    }
}

#[tokio::test]
async fn tenant_b_cannot_reach_tenant_a_plugins() {
    let fixture = fixture().await;
    let tenant_a = &fixture.tenant;
    let tenant_b = add_tenant(&fixture.store, "boston", "boston.gov").await;
    let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let now = at("2026-12-02T09:00:00Z");

    // Tenant A: an active router and an integration with KV, a secret, calls, logs, usage, a shadow result and a job.
    let (a_version, a_router) = installed(tenant_a, "router-a", Hook::Router).await;
    let (_, a_sync) = installed(tenant_a, "sync", Hook::Integration).await;
    tenant_a.set_active_version(a_router.id, Some(a_version.id), &note(AuditAction::Activate)).await.unwrap();
    tenant_a.kv_set(a_router.id, "key", b"a value").await.unwrap();
    tenant_a.set_secret(a_sync.id, "api_token", SealedSecret { ciphertext: vec![1; 40], nonce: vec![2; 24] }, now).await.unwrap();
    tenant_a.record_calls(&[call_of(a_router.id)]).await.unwrap();
    tenant_a.append_plugin_logs(&[log_of(a_router.id)]).await.unwrap();
    tenant_a.add_usage(a_sync.id, day, UsageDelta { calls: 1, ..Default::default() }).await.unwrap();
    let shadow = NewShadowResult {
        install: a_router.id,
        request_id: "1001".into(),
        active_version: 1,
        candidate_version: 1,
        active_decision: json!({}),
        candidate_decision: json!({}),
        agrees: true,
        at: now,
    };
    tenant_a.insert_shadow_result(shadow.clone()).await.unwrap();
    let a_job = tenant_a.enqueue_integration_job(a_sync.id, "1001", now).await.unwrap();
    let a_installs = tenant_a.installs().await.unwrap();
    let a_audit = tenant_a.audit_log(&AuditFilter::default()).await.unwrap();

    // Tenant B has its own install so that its lists are not trivially empty.
    let (b_version, b_router) = installed(&tenant_b, "router-b", Hook::Router).await;

    // Reads.
    assert_eq!(tenant_b.installs().await.unwrap().iter().map(|install| install.id).collect::<Vec<_>>(), vec![b_router.id], "installs");
    assert_eq!(tenant_b.install(Hook::Router, "router-a").await.unwrap(), None, "install");
    assert_eq!(tenant_b.install_by_id(a_router.id).await.unwrap(), None, "install_by_id");
    assert!(tenant_b.audit_log(&AuditFilter::default()).await.unwrap().is_empty(), "audit_log");
    assert!(tenant_b.calls_since(None, at("2026-01-01T00:00:00Z")).await.unwrap().is_empty(), "calls_since");
    assert!(tenant_b.calls_since(Some(a_router.id), at("2026-01-01T00:00:00Z")).await.unwrap().is_empty(), "calls_since A's install");
    assert!(tenant_b.recent_calls(a_router.id, 0).await.unwrap().is_empty(), "recent_calls");
    assert!(tenant_b.plugin_logs(&LogFilter::default()).await.unwrap().is_empty(), "plugin_logs");
    assert_eq!(tenant_b.kv_get(a_router.id, "key").await.unwrap(), None, "kv_get");
    assert!(tenant_b.kv_keys(a_router.id).await.unwrap().is_empty(), "kv_keys");
    assert!(tenant_b.secret_names(a_sync.id).await.unwrap().is_empty(), "secret_names");
    assert_eq!(tenant_b.secret_ciphertext(a_sync.id, "api_token").await.unwrap(), None, "secret_ciphertext");
    assert!(tenant_b.plugin_usage(day, day).await.unwrap().is_empty(), "plugin_usage");
    assert!(tenant_b.shadow_results(a_router.id, None, false, 0).await.unwrap().is_empty(), "shadow_results");
    assert_eq!(tenant_b.shadow_summary(a_router.id, None).await.unwrap().total, 0, "shadow_summary");
    assert_eq!(tenant_b.integration_job(a_job.id).await.unwrap(), None, "integration_job");
    assert!(tenant_b.integration_jobs(None).await.unwrap().is_empty(), "integration_jobs");
    assert!(tenant_b.integration_records("1001").await.unwrap().is_empty(), "integration_records");

    // Writes naming A's installs.
    let at_b = at("2026-12-02T10:00:00Z");
    assert_install_not_found(tenant_b.set_active_version(a_router.id, Some(b_version.id), &note(AuditAction::Activate)).await, "set_active_version");
    assert_install_not_found(tenant_b.set_active_version(a_router.id, None, &note(AuditAction::Deactivate)).await, "deactivate");
    assert_install_not_found(tenant_b.set_shadow_version(a_router.id, None, &note(AuditAction::ShadowStop)).await, "set_shadow_version");
    assert_install_not_found(tenant_b.set_grants(a_router.id, &Grants { kv: true, ..Default::default() }, at_b).await, "set_grants");
    assert_install_not_found(tenant_b.set_limits(a_router.id, &LimitOverrides::default(), at_b).await, "set_limits");
    assert_install_not_found(tenant_b.set_config(a_router.id, &Default::default(), at_b).await, "set_config");
    assert_install_not_found(tenant_b.set_breaker(a_router.id, true, Some("by B"), at_b).await, "set_breaker");
    assert_install_not_found(tenant_b.kv_set(a_router.id, "key", b"b value").await, "kv_set");
    assert!(!tenant_b.kv_delete(a_router.id, "key").await.unwrap(), "kv_delete");
    assert_install_not_found(
        tenant_b.set_secret(a_sync.id, "api_token", SealedSecret { ciphertext: vec![9; 40], nonce: vec![9; 24] }, at_b).await,
        "set_secret",
    );
    assert!(!tenant_b.delete_secret(a_sync.id, "api_token").await.unwrap(), "delete_secret");
    assert_install_not_found(tenant_b.record_calls(&[call_of(b_router.id), call_of(a_router.id)]).await, "record_calls");
    assert!(tenant_b.calls_since(None, at("2026-01-01T00:00:00Z")).await.unwrap().is_empty(), "a rejected batch wrote a call");
    assert_install_not_found(tenant_b.append_plugin_logs(&[log_of(a_router.id)]).await, "append_plugin_logs");
    assert_install_not_found(tenant_b.add_usage(a_sync.id, day, UsageDelta { calls: 5, ..Default::default() }).await, "add_usage");
    assert_install_not_found(tenant_b.insert_shadow_result(shadow).await, "insert_shadow_result");
    assert_install_not_found(tenant_b.enqueue_integration_job(a_sync.id, "1001", at_b).await, "enqueue_integration_job");
    let foreign_audit = NewAuditEntry {
        install: Some(a_router.id),
        hook: Hook::Router,
        plugin_name: "router-a".into(),
        action: AuditAction::GrantsChange,
        actor: "B".into(),
        from_version: None,
        to_version: None,
        detail: None,
        at: at_b,
    };
    assert_install_not_found(tenant_b.append_audit(foreign_audit).await, "append_audit");
    let mut request = new_request("pothole", "2026-12-02T10:00:00Z");
    request.integration_installs = vec![a_sync.id];
    assert_install_not_found(tenant_b.create_request(request).await, "create_request with A's install");

    // Jobs: B cannot finish, retry or reject A's claimed job.
    let claimed = fixture.store.claim_integration_jobs(10, now, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(!tenant_b.finish_integration_job(&claimed[0], &[], at_b).await.unwrap(), "finish_integration_job");
    assert!(!tenant_b.retry_integration_job(&claimed[0], at_b, "by B", at_b).await.unwrap(), "retry_integration_job");
    assert!(!tenant_b.reject_integration_job(&claimed[0], "by B", at_b).await.unwrap(), "reject_integration_job");

    // Tenant A is unchanged.
    let a_installs_after = tenant_a.installs().await.unwrap();
    assert_eq!(a_installs_after, a_installs);
    assert_eq!(tenant_a.audit_log(&AuditFilter::default()).await.unwrap(), a_audit);
    assert_eq!(tenant_a.kv_get(a_router.id, "key").await.unwrap(), Some(b"a value".to_vec()));
    assert_eq!(tenant_a.secret_ciphertext(a_sync.id, "api_token").await.unwrap().map(|sealed| sealed.ciphertext), Some(vec![1; 40]));
    assert_eq!(tenant_a.calls_since(None, at("2026-01-01T00:00:00Z")).await.unwrap().len(), 1);
    assert_eq!(tenant_a.plugin_logs(&LogFilter::default()).await.unwrap().len(), 1);
    assert_eq!(tenant_a.plugin_usage(day, day).await.unwrap()[0].calls, 1);
    let a_job_after = tenant_a.integration_job(a_job.id).await.unwrap().unwrap();
    assert_eq!(a_job_after.status, civic311_store::IntegrationJobStatus::Running);
}
