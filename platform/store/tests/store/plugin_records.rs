//! What installs accumulate: call records, logs, usage, KV entries,
//! sealed secrets and shadow results.

use chrono::NaiveDate;
use civic311_domain::plugin::Hook;
use civic311_store::{
    CallRecord, LogFilter, NewCallRecord, NewPluginLogLine, NewShadowResult, PluginCallOutcome, PluginLogLevel, SealedSecret,
    ShadowSummary, UsageDelta,
};
use serde_json::json;

use crate::common::{add_tenant, at, fixture, installed, new_install, new_version};

fn call(install: civic311_store::InstallId, minute: u32, outcome: PluginCallOutcome) -> NewCallRecord {
    NewCallRecord {
        install,
        version: 1,
        hook: Hook::Router,
        request_id: Some(format!("10{minute:02}")),
        at: at(&format!("2026-12-02T09:{minute:02}:00Z")),
        duration_us: 1_000 + u64::from(minute),
        fuel_used: 50_000,
        outcome,
        error_kind: (outcome == PluginCallOutcome::Failed).then(|| "trap".to_string()),
        shadow: false,
    }
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

#[tokio::test]
async fn calls_recorded_in_one_batch() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let batch = [
        call(install.id, 1, PluginCallOutcome::Ok),
        call(install.id, 2, PluginCallOutcome::Failed),
        call(install.id, 3, PluginCallOutcome::Skipped),
    ];

    fixture.tenant.record_calls(&batch).await.unwrap();
    fixture.tenant.record_calls(&[]).await.unwrap();

    let since = fixture.tenant.calls_since(Some(install.id), at("2026-12-02T09:02:00Z")).await.unwrap();
    let outcomes: Vec<_> = since.iter().map(|record| (record.outcome, record.error_kind.clone())).collect();
    assert_eq!(outcomes, vec![(PluginCallOutcome::Failed, Some("trap".into())), (PluginCallOutcome::Skipped, None)]);
    assert_eq!(since[0].duration_us, 1_002);
    assert_eq!(since[0].fuel_used, 50_000);
    assert_eq!(since[0].request_id.as_deref(), Some("1002"));

    let recent: Vec<CallRecord> = fixture.tenant.recent_calls(install.id, 2).await.unwrap();
    assert_eq!(recent.iter().map(|record| record.at).collect::<Vec<_>>(), vec![at("2026-12-02T09:03:00Z"), at("2026-12-02T09:02:00Z")]);
    assert_eq!(fixture.tenant.calls_since(None, at("2026-12-01T00:00:00Z")).await.unwrap().len(), 3);
}

#[tokio::test]
async fn logs_listed_newest_first() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let line = |minute: u32, request: &str, level: PluginLogLevel| NewPluginLogLine {
        install: install.id,
        version: 1,
        request_id: Some(request.to_string()),
        level,
        message: format!("line at minute {minute}"),
        at: at(&format!("2026-12-02T09:{minute:02}:00Z")),
    };

    fixture
        .tenant
        .append_plugin_logs(&[line(1, "1001", PluginLogLevel::Info), line(2, "1002", PluginLogLevel::Warn), line(3, "1001", PluginLogLevel::Error)])
        .await
        .unwrap();

    let for_request = fixture
        .tenant
        .plugin_logs(&LogFilter { install: Some(install.id), request_id: Some("1001".into()), limit: 0 })
        .await
        .unwrap();
    let messages: Vec<_> = for_request.iter().map(|line| (line.level, line.message.as_str())).collect();
    assert_eq!(messages, vec![(PluginLogLevel::Error, "line at minute 3"), (PluginLogLevel::Info, "line at minute 1")]);
    assert_eq!(fixture.tenant.plugin_logs(&LogFilter { limit: 1, ..Default::default() }).await.unwrap().len(), 1);
}

#[tokio::test]
async fn usage_adds_up_per_day() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "sync", Hook::Integration).await;

    fixture.tenant.add_usage(install.id, day("2026-12-01"), UsageDelta { calls: 3, work_orders: 1, inspections: 0 }).await.unwrap();
    fixture.tenant.add_usage(install.id, day("2026-12-01"), UsageDelta { calls: 2, work_orders: 0, inspections: 4 }).await.unwrap();
    fixture.tenant.add_usage(install.id, day("2026-12-03"), UsageDelta { calls: 7, ..Default::default() }).await.unwrap();

    let rows = fixture.tenant.plugin_usage(day("2026-12-01"), day("2026-12-02")).await.unwrap();
    assert_eq!(rows.len(), 1, "the range ends on 2026-12-02");
    assert_eq!((rows[0].calls, rows[0].work_orders, rows[0].inspections), (5, 1, 4));
    assert_eq!(rows[0].plugin_name, "sync");
    assert_eq!(rows[0].plugin_owner, Some(fixture.tenant.tenant_id()));
    assert_eq!(fixture.tenant.plugin_usage(day("2026-12-01"), day("2026-12-31")).await.unwrap().len(), 2);
}

#[tokio::test]
async fn catalogue_usage_spans_tenants() {
    let fixture = fixture().await;
    let boston = add_tenant(&fixture.store, "boston", "boston.gov").await;
    fixture.store.insert_plugin_version(None, new_version("viewpermit", Hook::Integration, b"vp1")).await.unwrap();
    let created_at = at("2026-12-01T10:00:00Z");
    let haverhill_install = fixture.tenant.create_install(new_install("viewpermit", Hook::Integration, None), created_at).await.unwrap();
    let boston_install = boston.create_install(new_install("viewpermit", Hook::Integration, None), created_at).await.unwrap();
    let (_, private) = installed(&boston, "viewpermit", Hook::Router).await;

    fixture.tenant.add_usage(haverhill_install.id, day("2026-12-01"), UsageDelta { calls: 10, work_orders: 4, inspections: 1 }).await.unwrap();
    boston.add_usage(boston_install.id, day("2026-12-02"), UsageDelta { calls: 30, work_orders: 12, inspections: 0 }).await.unwrap();
    boston.add_usage(private.id, day("2026-12-02"), UsageDelta { calls: 99, ..Default::default() }).await.unwrap();

    let rows = fixture.store.usage_for_plugin(None, "viewpermit", day("2026-12-01"), day("2026-12-31")).await.unwrap();

    let summary: Vec<_> = rows.iter().map(|row| (row.tenant, row.install, row.calls, row.work_orders)).collect();
    assert_eq!(
        summary,
        vec![(fixture.tenant.tenant_id(), haverhill_install.id, 10, 4), (boston.tenant_id(), boston_install.id, 30, 12)],
        "the private plugin of the same name is not the catalogue plugin"
    );
    let private_rows = fixture.store.usage_for_plugin(Some(boston.tenant_id()), "viewpermit", day("2026-12-01"), day("2026-12-31")).await.unwrap();
    assert_eq!(private_rows.iter().map(|row| row.calls).collect::<Vec<_>>(), vec![99]);
}

#[tokio::test]
async fn kv_set_get_delete() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let (_, other) = installed(&fixture.tenant, "router-b", Hook::Router).await;

    fixture.tenant.kv_set(install.id, "counter", b"1").await.unwrap();
    fixture.tenant.kv_set(install.id, "counter", b"2").await.unwrap();
    fixture.tenant.kv_set(install.id, "area", b"north").await.unwrap();

    assert_eq!(fixture.tenant.kv_get(install.id, "counter").await.unwrap(), Some(b"2".to_vec()));
    assert_eq!(fixture.tenant.kv_get(other.id, "counter").await.unwrap(), None, "KV is scoped to the install");
    assert_eq!(fixture.tenant.kv_keys(install.id).await.unwrap(), vec!["area".to_string(), "counter".to_string()]);
    assert!(fixture.tenant.kv_delete(install.id, "counter").await.unwrap());
    assert!(!fixture.tenant.kv_delete(install.id, "counter").await.unwrap());
    assert_eq!(fixture.tenant.kv_get(install.id, "counter").await.unwrap(), None);
}

#[tokio::test]
async fn secrets_listed_by_name_only() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "sync", Hook::Integration).await;
    let sealed = |byte: u8| SealedSecret { ciphertext: vec![byte; 40], nonce: vec![byte; 24] };

    fixture.tenant.set_secret(install.id, "api_token", sealed(1), at("2026-12-02T09:00:00Z")).await.unwrap();
    fixture.tenant.set_secret(install.id, "api_token", sealed(2), at("2026-12-02T09:30:00Z")).await.unwrap();
    fixture.tenant.set_secret(install.id, "password", sealed(3), at("2026-12-02T09:10:00Z")).await.unwrap();

    let names = fixture.tenant.secret_names(install.id).await.unwrap();
    let listed: Vec<_> = names.iter().map(|name| (name.name.as_str(), name.updated_at)).collect();
    assert_eq!(listed, vec![("api_token", at("2026-12-02T09:30:00Z")), ("password", at("2026-12-02T09:10:00Z"))]);
    assert_eq!(fixture.tenant.secret_ciphertext(install.id, "api_token").await.unwrap(), Some(sealed(2)));
    assert_eq!(format!("{:?}", sealed(2)), "SealedSecret(redacted)");

    assert!(fixture.tenant.delete_secret(install.id, "password").await.unwrap());
    assert_eq!(fixture.tenant.secret_ciphertext(install.id, "password").await.unwrap(), None);
    assert_eq!(fixture.tenant.secret_names(install.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn shadow_results_and_summary() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "router-a", Hook::Router).await;
    let result = |request: &str, candidate: i32, agrees: bool| NewShadowResult {
        install: install.id,
        request_id: request.to_string(),
        active_version: 1,
        candidate_version: candidate,
        active_decision: json!({"department": "dpw"}),
        candidate_decision: json!({"department": if agrees { "dpw" } else { "parks" }}),
        agrees,
        at: at("2026-12-02T09:00:00Z"),
    };

    fixture.tenant.insert_shadow_result(result("1001", 2, true)).await.unwrap();
    let disagreement = fixture.tenant.insert_shadow_result(result("1002", 2, false)).await.unwrap();
    fixture.tenant.insert_shadow_result(result("1003", 3, false)).await.unwrap();

    let summary = fixture.tenant.shadow_summary(install.id, Some(2)).await.unwrap();
    assert_eq!(summary, ShadowSummary { total: 2, agreeing: 1, disagreeing: 1 });
    assert_eq!(fixture.tenant.shadow_summary(install.id, None).await.unwrap().disagreeing, 2);

    let only_disagreements = fixture.tenant.shadow_results(install.id, Some(2), true, 0).await.unwrap();
    assert_eq!(only_disagreements, vec![disagreement]);
    assert_eq!(only_disagreements[0].candidate_decision, json!({"department": "parks"}));
    assert_eq!(fixture.tenant.shadow_results(install.id, None, false, 0).await.unwrap().len(), 3);
}
