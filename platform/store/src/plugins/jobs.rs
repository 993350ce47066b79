//! The integration outbox: one job per (install, service request), enqueued
//! in the request's own transaction and claimed by workers on any node.
//!
//! A claim is a conditional UPDATE that succeeds for exactly one claimer on
//! SQLite and PostgreSQL. Finishing calls match the job's `attempts`, so a
//! worker whose lease expired and whose job another worker claimed again
//! changes nothing.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use civic311_domain::plugin::{RecordKind, SyncedRecord};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    UpdateMany,
};

use super::entity::{install, job, record};
use super::usage::add_usage_in;
use super::{
    install_not_found_on_foreign_key, parse_text, PLUGIN_INSTALL, IntegrationJob, IntegrationJobId, IntegrationJobStatus, IntegrationRecord, InstallId,
    UsageDelta,
};
use crate::sql::{begin_write, stored_instant};
use crate::{Store, StoreError, TenantId, TenantStore};

impl Store {
    /// Claims up to `limit` due jobs of any tenant for `lease`: pending jobs
    /// whose `next_attempt_at` has come, and running jobs whose lease
    /// expired. Each claimed job is `running` with `attempts` incremented.
    /// Concurrent claimers never receive the same job.
    pub async fn claim_integration_jobs(&self, limit: u64, now: DateTime<Utc>, lease: Duration) -> Result<Vec<IntegrationJob>, StoreError> {
        let now = stored_instant(now);
        let lease = TimeDelta::from_std(lease).map_err(|_| StoreError::Invalid(format!("job lease {lease:?} is out of range; use a lease of a few minutes")))?;

        let candidates = job::Entity::find()
            .select_only()
            .column(job::Column::Id)
            .filter(claimable(now))
            .order_by_asc(job::Column::NextAttemptAt)
            .order_by_asc(job::Column::Id)
            .limit(limit)
            .into_tuple::<i64>()
            .all(&self.db)
            .await?;

        let mut claimed = Vec::with_capacity(candidates.len());
        for id in candidates {
            let updated = job::Entity::update_many()
                .col_expr(job::Column::Status, Expr::value(IntegrationJobStatus::Running.as_str()))
                .col_expr(job::Column::ClaimedUntil, Expr::value(now + lease))
                .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
                .col_expr(job::Column::UpdatedAt, Expr::value(now))
                .filter(job::Column::Id.eq(id))
                .filter(claimable(now))
                .exec(&self.db)
                .await?;
            if updated.rows_affected == 1
                && let Some(row) = job::Entity::find_by_id(id).one(&self.db).await?
            {
                claimed.push(decode_job(row)?);
            }
        }
        Ok(claimed)
    }
}

impl TenantStore {
    /// Enqueues a pending job for the install and request, due at `at`, and
    /// returns it; an existing job for the pair is returned unchanged.
    /// Fails with `NotFound` for an install that is not the tenant's.
    pub async fn enqueue_integration_job(&self, install: InstallId, request_id: &str, at: DateTime<Utc>) -> Result<IntegrationJob, StoreError> {
        job::Entity::insert(pending_job(self.tenant, install, request_id, at))
            .on_conflict_do_nothing_on([job::Column::InstallId, job::Column::RequestId])
            .exec_without_returning(&self.db)
            .await
            .map_err(|error| install_not_found_on_foreign_key(error, install))?;

        let row = self
            .jobs_query()
            .filter(job::Column::InstallId.eq(install.0))
            .filter(job::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await?
            // The pair is unique across tenants, so a row that this tenant cannot
            // see belongs to another tenant's install.
            .ok_or_else(|| StoreError::NotFound { entity: PLUGIN_INSTALL, id: install.to_string() })?;
        decode_job(row)
    }

    /// Finds one of the tenant's jobs.
    pub async fn integration_job(&self, id: IntegrationJobId) -> Result<Option<IntegrationJob>, StoreError> {
        let row = self.jobs_query().filter(job::Column::Id.eq(id.0)).one(&self.db).await?;
        row.map(decode_job).transpose()
    }

    /// Lists the tenant's jobs, of one request or of all, oldest first.
    pub async fn integration_jobs(&self, request_id: Option<&str>) -> Result<Vec<IntegrationJob>, StoreError> {
        let mut select = self.jobs_query();
        if let Some(request_id) = request_id {
            select = select.filter(job::Column::RequestId.eq(request_id));
        }
        let rows = select.order_by_asc(job::Column::Id).all(&self.db).await?;
        rows.into_iter().map(decode_job).collect()
    }

    /// Marks a claimed job done and stores the records it synced, in one
    /// transaction. Records with `created` add to the install's usage of
    /// work orders and inspections on the day of `at`.
    ///
    /// Returns false, changing nothing, when the job is no longer this
    /// claim's: it is not running or another claim took it over.
    pub async fn finish_integration_job(&self, claimed: &IntegrationJob, records: &[SyncedRecord], at: DateTime<Utc>) -> Result<bool, StoreError> {
        let txn = begin_write(&self.db).await?;
        let finished = self
            .claimed_job_update(claimed)
            .col_expr(job::Column::Status, Expr::value(IntegrationJobStatus::Done.as_str()))
            .col_expr(job::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(job::Column::LastError, Expr::value(Option::<String>::None))
            .col_expr(job::Column::UpdatedAt, Expr::value(stored_instant(at)))
            .exec(&txn)
            .await?;
        if finished.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }

        // The stored row, not the caller's copy, names the install and request.
        let row = self
            .jobs_query()
            .filter(job::Column::Id.eq(claimed.id.0))
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::NotFound { entity: "integration job", id: claimed.id.to_string() })?;
        let install = InstallId(row.install_id);
        upsert_records(&txn, self.tenant, install, &row.request_id, records, at).await?;

        let delta = synced_counts(records);
        if delta != UsageDelta::default() {
            add_usage_in(&txn, self, install, at.date_naive(), delta).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Returns a claimed job to `pending` until `next_attempt_at`, keeping
    /// `error`. Returns false when the job is no longer this claim's.
    pub async fn retry_integration_job(
        &self,
        claimed: &IntegrationJob,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let updated = self
            .claimed_job_update(claimed)
            .col_expr(job::Column::Status, Expr::value(IntegrationJobStatus::Pending.as_str()))
            .col_expr(job::Column::NextAttemptAt, Expr::value(stored_instant(next_attempt_at)))
            .col_expr(job::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(job::Column::LastError, Expr::value(error))
            .col_expr(job::Column::UpdatedAt, Expr::value(stored_instant(at)))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// Marks a claimed job rejected with `error`; it is not retried.
    /// Returns false when the job is no longer this claim's.
    pub async fn reject_integration_job(&self, claimed: &IntegrationJob, error: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let updated = self
            .claimed_job_update(claimed)
            .col_expr(job::Column::Status, Expr::value(IntegrationJobStatus::Rejected.as_str()))
            .col_expr(job::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(job::Column::LastError, Expr::value(error))
            .col_expr(job::Column::UpdatedAt, Expr::value(stored_instant(at)))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// Lists the records the tenant's integrations synced for a request, oldest first.
    pub async fn integration_records(&self, request_id: &str) -> Result<Vec<IntegrationRecord>, StoreError> {
        let rows = record::Entity::find()
            .filter(record::Column::TenantId.eq(self.tenant.0))
            .filter(record::Column::RequestId.eq(request_id))
            .order_by_asc(record::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter().map(decode_record).collect()
    }

    fn jobs_query(&self) -> sea_orm::Select<job::Entity> {
        job::Entity::find().filter(job::Column::TenantId.eq(self.tenant.0))
    }

    /// Starts an update of the job that matches only while `claimed` is its current claim.
    fn claimed_job_update(&self, claimed: &IntegrationJob) -> UpdateMany<job::Entity> {
        job::Entity::update_many()
            .filter(job::Column::Id.eq(claimed.id.0))
            .filter(job::Column::TenantId.eq(self.tenant.0))
            .filter(job::Column::Status.eq(IntegrationJobStatus::Running.as_str()))
            .filter(job::Column::Attempts.eq(i32::try_from(claimed.attempts).unwrap_or(i32::MAX)))
    }
}

/// Inserts one pending job per install for a new request, inside the
/// request's transaction. Fails with `NotFound` when an install is not the tenant's.
pub(crate) async fn insert_pending_jobs(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    request_id: &str,
    installs: &[InstallId],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if installs.is_empty() {
        return Ok(());
    }

    // Checked before inserting, because another tenant's job with the same
    // request id would otherwise fail on the unique key, not the foreign key.
    let own: Vec<i64> = install::Entity::find()
        .select_only()
        .column(install::Column::Id)
        .filter(install::Column::TenantId.eq(tenant.0))
        .filter(install::Column::Id.is_in(installs.iter().map(|install| install.0)))
        .into_tuple()
        .all(txn)
        .await?;
    if let Some(foreign) = installs.iter().find(|install| !own.contains(&install.0)) {
        return Err(StoreError::NotFound { entity: PLUGIN_INSTALL, id: foreign.to_string() });
    }

    for install in installs {
        job::Entity::insert(pending_job(tenant, *install, request_id, at))
            .exec_without_returning(txn)
            .await
            .map_err(|error| install_not_found_on_foreign_key(error, *install))?;
    }
    Ok(())
}

fn pending_job(tenant: TenantId, install: InstallId, request_id: &str, at: DateTime<Utc>) -> job::ActiveModel {
    let at = stored_instant(at);
    job::ActiveModel {
        tenant_id: Set(tenant.0),
        install_id: Set(install.0),
        request_id: Set(request_id.to_string()),
        status: Set(IntegrationJobStatus::Pending.as_str().to_string()),
        attempts: Set(0),
        next_attempt_at: Set(at),
        claimed_until: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
}

/// Matches jobs a worker may claim at `now`.
fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(job::Column::Status.eq(IntegrationJobStatus::Pending.as_str()))
                .add(job::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(job::Column::Status.eq(IntegrationJobStatus::Running.as_str()))
                .add(job::Column::ClaimedUntil.lt(now)),
        )
}

async fn upsert_records<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    install: InstallId,
    request_id: &str,
    records: &[SyncedRecord],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let on_conflict = OnConflict::columns([record::Column::InstallId, record::Column::RequestId, record::Column::RemoteId])
        .update_columns([record::Column::Kind, record::Column::RemoteStatus])
        .to_owned();

    for synced in records {
        let row = record::ActiveModel {
            tenant_id: Set(tenant.0),
            install_id: Set(install.0),
            request_id: Set(request_id.to_string()),
            kind: Set(synced.kind.as_str().to_string()),
            remote_id: Set(synced.remote_id.clone()),
            remote_status: Set(synced.remote_status.clone()),
            created_at: Set(stored_instant(at)),
            ..Default::default()
        };
        record::Entity::insert(row)
            .on_conflict(on_conflict.clone())
            .exec_without_returning(conn)
            .await
            .map_err(|error| install_not_found_on_foreign_key(error, install))?;
    }
    Ok(())
}

/// Counts the work orders and inspections that the finished job synced,
/// whether this attempt created them or found them from an earlier attempt
/// whose response was lost. A job finishes once, so each record is metered once.
fn synced_counts(records: &[SyncedRecord]) -> UsageDelta {
    let synced = |kind: RecordKind| records.iter().filter(|record| record.kind == kind).count() as u64;
    UsageDelta {
        calls: 0,
        work_orders: synced(RecordKind::WorkOrder),
        inspections: synced(RecordKind::Inspection),
    }
}

fn decode_job(row: job::Model) -> Result<IntegrationJob, StoreError> {
    let owner = format!("integration job {}", row.id);
    Ok(IntegrationJob {
        id: IntegrationJobId(row.id),
        tenant: TenantId(row.tenant_id),
        install: InstallId(row.install_id),
        status: parse_text("integration job status", &owner, &row.status)?,
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        request_id: row.request_id,
        next_attempt_at: row.next_attempt_at,
        claimed_until: row.claimed_until,
        last_error: row.last_error,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn decode_record(row: record::Model) -> Result<IntegrationRecord, StoreError> {
    let owner = format!("integration record {}", row.id);
    Ok(IntegrationRecord {
        id: row.id,
        install: InstallId(row.install_id),
        kind: parse_text("integration record kind", &owner, &row.kind)?,
        request_id: row.request_id,
        remote_id: row.remote_id,
        remote_status: row.remote_status,
        created_at: row.created_at,
    })
}
