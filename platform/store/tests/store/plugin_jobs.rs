//! The integration outbox: jobs enqueued with their request, claimed once
//! across concurrent workers, finished, retried and rejected.

use std::collections::BTreeSet;
use std::time::Duration;

use civic311_domain::plugin::{Hook, RecordKind, SyncedRecord};
use civic311_store::{IntegrationJobStatus, RequestQuery, StoreError};

use crate::common::{add_tenant, at, fixture, installed, new_request};

const LEASE: Duration = Duration::from_secs(60);

fn work_order(remote_id: &str, created: bool) -> SyncedRecord {
    SyncedRecord {
        kind: RecordKind::WorkOrder,
        remote_id: remote_id.to_string(),
        remote_status: Some("open".to_string()),
        created,
    }
}

#[tokio::test]
async fn request_enqueues_one_job_per_install() {
    let fixture = fixture().await;
    let (_, first) = installed(&fixture.tenant, "sync-a", Hook::Integration).await;
    let (_, second) = installed(&fixture.tenant, "sync-b", Hook::Integration).await;
    let mut new = new_request("pothole", "2026-12-02T09:00:00Z");
    new.integration_installs = vec![first.id, second.id];

    let stored = fixture.tenant.create_request(new).await.unwrap();

    let jobs = fixture.tenant.integration_jobs(Some(&stored.id)).await.unwrap();
    let installs: Vec<_> = jobs.iter().map(|job| job.install).collect();
    assert_eq!(installs, vec![first.id, second.id]);
    assert!(jobs.iter().all(|job| job.status == IntegrationJobStatus::Pending && job.attempts == 0));
    assert!(jobs.iter().all(|job| job.request_id == stored.id && job.tenant == fixture.tenant.tenant_id()));
}

#[tokio::test]
async fn request_with_foreign_install_not_stored() {
    let fixture = fixture().await;
    let boston = add_tenant(&fixture.store, "boston", "boston.gov").await;
    let (_, boston_install) = installed(&boston, "sync-b", Hook::Integration).await;
    let mut new = new_request("pothole", "2026-12-02T09:00:00Z");
    new.integration_installs = vec![boston_install.id];

    let result = fixture.tenant.create_request(new).await;

    assert!(matches!(result, Err(StoreError::NotFound { .. })), "request with another tenant's install: {result:?}");
    assert_eq!(fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap().total, 0, "the request was stored");
    assert!(boston.integration_jobs(None).await.unwrap().is_empty(), "a job was enqueued for the other tenant");
}

#[tokio::test]
async fn finish_stores_records_and_usage() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "sync", Hook::Integration).await;
    let now = at("2026-12-02T09:00:00Z");
    fixture.tenant.enqueue_integration_job(install.id, "1001", now).await.unwrap();

    let claimed = fixture.store.claim_integration_jobs(10, now, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].status, IntegrationJobStatus::Running);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].claimed_until, Some(at("2026-12-02T09:01:00Z")));
    assert!(fixture.store.claim_integration_jobs(10, now, LEASE).await.unwrap().is_empty(), "a running job was claimed again");

    let records = [work_order("WO-1", true), work_order("WO-2", false)];
    assert!(fixture.tenant.finish_integration_job(&claimed[0], &records, now).await.unwrap());
    assert!(!fixture.tenant.finish_integration_job(&claimed[0], &records, now).await.unwrap(), "finished twice");

    let job = fixture.tenant.integration_job(claimed[0].id).await.unwrap().unwrap();
    assert_eq!(job.status, IntegrationJobStatus::Done);
    let stored: Vec<_> = fixture.tenant.integration_records("1001").await.unwrap().into_iter().map(|record| record.remote_id).collect();
    assert_eq!(stored, vec!["WO-1".to_string(), "WO-2".to_string()]);
    let usage = fixture.tenant.plugin_usage(now.date_naive(), now.date_naive()).await.unwrap();
    assert_eq!((usage[0].calls, usage[0].work_orders, usage[0].inspections), (0, 2, 0), "records found from an earlier attempt are metered too");
}

#[tokio::test]
async fn retry_waits_and_reject_stops() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "sync", Hook::Integration).await;
    let now = at("2026-12-02T09:00:00Z");
    fixture.tenant.enqueue_integration_job(install.id, "1001", now).await.unwrap();
    let first = fixture.store.claim_integration_jobs(1, now, LEASE).await.unwrap().remove(0);

    let later = at("2026-12-02T09:10:00Z");
    assert!(fixture.tenant.retry_integration_job(&first, later, "503 from back end", now).await.unwrap());
    assert!(fixture.store.claim_integration_jobs(1, at("2026-12-02T09:09:59Z"), LEASE).await.unwrap().is_empty(), "claimed before next_attempt_at");

    let second = fixture.store.claim_integration_jobs(1, later, LEASE).await.unwrap().remove(0);
    assert_eq!(second.attempts, 2);
    assert_eq!(second.last_error.as_deref(), Some("503 from back end"));
    assert!(fixture.tenant.reject_integration_job(&second, "unknown service code", later).await.unwrap());

    let job = fixture.tenant.integration_job(second.id).await.unwrap().unwrap();
    assert_eq!(job.status, IntegrationJobStatus::Rejected);
    assert_eq!(job.last_error.as_deref(), Some("unknown service code"));
    assert!(fixture.store.claim_integration_jobs(1, at("2026-12-03T00:00:00Z"), LEASE).await.unwrap().is_empty());
}

#[tokio::test]
async fn expired_claim_taken_over() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "sync", Hook::Integration).await;
    let now = at("2026-12-02T09:00:00Z");
    fixture.tenant.enqueue_integration_job(install.id, "1001", now).await.unwrap();
    let stale = fixture.store.claim_integration_jobs(1, now, LEASE).await.unwrap().remove(0);

    let after_lease = at("2026-12-02T09:01:01Z");
    let fresh = fixture.store.claim_integration_jobs(1, after_lease, LEASE).await.unwrap().remove(0);

    assert_eq!(fresh.id, stale.id);
    assert_eq!(fresh.attempts, 2);
    assert!(!fixture.tenant.finish_integration_job(&stale, &[work_order("WO-1", true)], after_lease).await.unwrap(), "the stale claim finished the job");
    assert!(fixture.tenant.integration_records("1001").await.unwrap().is_empty(), "the stale claim stored records");
    assert!(fixture.tenant.finish_integration_job(&fresh, &[], after_lease).await.unwrap());
}

#[tokio::test]
async fn enqueue_is_idempotent() {
    let fixture = fixture().await;
    let (_, install) = installed(&fixture.tenant, "sync", Hook::Integration).await;

    let first = fixture.tenant.enqueue_integration_job(install.id, "1001", at("2026-12-02T09:00:00Z")).await.unwrap();
    let second = fixture.tenant.enqueue_integration_job(install.id, "1001", at("2026-12-02T10:00:00Z")).await.unwrap();

    assert_eq!(second, first);
    assert_eq!(fixture.tenant.integration_jobs(None).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_never_share_a_job() {
    let fixture = fixture().await;
    let boston = add_tenant(&fixture.store, "boston", "boston.gov").await;
    let (_, haverhill_install) = installed(&fixture.tenant, "sync", Hook::Integration).await;
    let (_, boston_install) = installed(&boston, "sync", Hook::Integration).await;
    let now = at("2026-12-02T09:00:00Z");
    let mut enqueued = BTreeSet::new();
    for number in 0..20 {
        let request_id = format!("{}", 1001 + number);
        enqueued.insert(fixture.tenant.enqueue_integration_job(haverhill_install.id, &request_id, now).await.unwrap().id);
        enqueued.insert(boston.enqueue_integration_job(boston_install.id, &request_id, now).await.unwrap().id);
    }

    let mut workers = Vec::new();
    for _ in 0..4 {
        let store = fixture.store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.claim_integration_jobs(3, now, LEASE).await.expect("claim jobs");
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|job| job.id));
            }
        }));
    }
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }

    let distinct: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "a job was claimed twice: {claimed:?}");
    assert_eq!(distinct, enqueued, "every job was claimed");
}
