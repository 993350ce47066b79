use chrono::NaiveDate;
use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_manager::{PluginManager, PluginSource, Split};
use civic311_store::{TenantId, UsageDelta};

use crate::{Fixture, bundled, fixture, install, upload_request};

const PLUGIN: &str = "maintstar-integration";

fn day(number: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, number).unwrap()
}

fn integration_grants() -> Grants {
    Grants { logs: true, kv: true, secrets: true, http_hosts: vec!["127.0.0.1".to_string()] }
}

/// Publishes the integration to the catalogue and installs and activates
/// it for `tenants`.
async fn shared_integration(manager: &PluginManager, tenants: &[TenantId]) {
    manager.publish(upload_request(PLUGIN, bundled(PLUGIN))).await.expect("publish to the catalogue");
    for tenant in tenants {
        install(manager, *tenant, Hook::Integration, PLUGIN, PluginSource::Catalogue, integration_grants()).await;
        manager.activate(*tenant, Hook::Integration, PLUGIN, 1, "admin@city").await.expect("activate the integration");
    }
}

async fn add_usage(fixture: &Fixture, tenant: TenantId, on: NaiveDate, delta: UsageDelta) {
    let scoped = fixture.store.scoped(tenant);
    let install = scoped.install(Hook::Integration, PLUGIN).await.unwrap().unwrap();
    scoped.add_usage(install.id, on, delta).await.unwrap();
}

fn work_orders(count: u64) -> UsageDelta {
    UsageDelta { calls: count, work_orders: count, inspections: 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_split_by_work_orders() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    shared_integration(manager, &[fixture.tenant_a, fixture.tenant_b]).await;
    add_usage(&fixture, fixture.tenant_a, day(3), work_orders(2)).await;
    add_usage(&fixture, fixture.tenant_a, day(20), work_orders(1)).await;
    add_usage(&fixture, fixture.tenant_b, day(5), work_orders(1)).await;
    // Outside the period: not counted.
    add_usage(&fixture, fixture.tenant_b, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), work_orders(100)).await;

    let report = manager.cost_share(PLUGIN, day(1), day(30), 100_001, Split::Usage).await.unwrap();

    let rows: Vec<(&str, u64, i64)> = report.rows.iter().map(|row| (row.tenant.as_str(), row.work_orders, row.share_cents)).collect();
    assert_eq!(rows, vec![("city-a", 3, 75_001), ("city-b", 1, 25_000)]);
    assert_eq!(report.rows.iter().map(|row| row.share_cents).sum::<i64>(), 100_001);
    assert!(report.to_csv().starts_with("tenant,calls,work_orders,inspections,weight,share_cents,share,percent\ncity-a,3,3,0,3,75001,750.01,75.00\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_split_includes_idle_install() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    shared_integration(manager, &[fixture.tenant_a, fixture.tenant_b]).await;
    add_usage(&fixture, fixture.tenant_a, chrono::Utc::now().date_naive(), work_orders(10)).await;
    let today = chrono::Utc::now().date_naive();

    let report = manager.cost_share(PLUGIN, today, today, 999, Split::Equal).await.unwrap();

    let shares: Vec<(&str, i64)> = report.rows.iter().map(|row| (row.tenant.as_str(), row.share_cents)).collect();
    assert_eq!(shares, vec![("city-a", 500), ("city-b", 499)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_share_unknown_plugin() {
    let fixture = fixture().await;

    let error = fixture.manager.cost_share("no-such-plugin", day(1), day(30), 100, Split::Usage).await.unwrap_err();

    assert!(error.to_string().contains("no-such-plugin"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_share_rejects_reversed_period() {
    let fixture = fixture().await;

    let error = fixture.manager.cost_share(PLUGIN, day(30), day(1), 100, Split::Usage).await.unwrap_err();

    assert!(error.to_string().contains("before --from"), "{error}");
}
