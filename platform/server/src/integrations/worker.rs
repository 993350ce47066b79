//! The worker that drains the integration outbox on one node. Claims are
//! leased in the database, so workers on several nodes never run the same
//! job at once, and a job whose worker died is taken over when its lease ends.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use civic311_domain::plugin::SyncedRecord;
use civic311_plugin_manager::SyncOutcome;
use civic311_store::{IntegrationJob, PluginInstall, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::history;
use super::request::integration_request;
use crate::app::AppState;
use crate::tenants::TenantContext;

/// Settings of the integration worker.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Pause between polls while no job is due.
    pub poll_interval: Duration,
    /// Jobs claimed per poll. The worker finishes a claimed batch before it
    /// stops, so a small batch keeps shutdown short.
    pub batch_size: u64,
    /// How long a claim lasts before another worker may take the job over.
    /// It must exceed the longest plugin call, whose wall time is at most 30 s.
    pub lease: Duration,
    /// Delay before the first retry. Each later retry doubles it, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts after which a job whose plugin still requests a retry is
    /// rejected, with its last error kept.
    pub max_attempts: u32,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            poll_interval: Duration::from_millis(500),
            batch_size: 4,
            lease: Duration::from_secs(120),
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            max_attempts: 10,
        }
    }
}

impl WorkerConfig {
    /// Returns the delay before the attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.first_backoff
            .checked_mul(1_u32 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// The running worker task of this node.
pub struct IntegrationWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl IntegrationWorker {
    /// Starts the worker on the current Tokio runtime.
    pub fn spawn(state: AppState, config: WorkerConfig) -> IntegrationWorker {
        let (stop, stopped) = watch::channel(false);
        tracing::info!(poll_ms = config.poll_interval.as_millis() as u64, max_attempts = config.max_attempts, "integration worker started");
        let task = tokio::spawn(run(state, config, stopped));
        IntegrationWorker { stop, task }
    }

    /// Stops claiming jobs, lets the jobs already claimed finish, and waits for the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "integration worker task failed");
        }
        tracing::info!("integration worker stopped");
    }
}

async fn run(state: AppState, config: WorkerConfig, mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow() {
        let claimed = match state.store.claim_integration_jobs(config.batch_size, Utc::now(), config.lease).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "cannot claim integration jobs; retrying after the poll interval");
                Vec::new()
            }
        };

        let idle = claimed.is_empty();
        for job in claimed {
            process(&state, &config, job).await;
        }

        if idle {
            tokio::select! {
                () = tokio::time::sleep(config.poll_interval) => {}
                _ = stopped.changed() => {}
            }
        }
    }
}

/// Result of one claimed job.
enum JobResult {
    Synced { install: PluginInstall, records: Vec<SyncedRecord> },
    Retry { install: Option<PluginInstall>, error: String },
    Rejected { install: Option<PluginInstall>, error: String },
}

async fn process(state: &AppState, config: &WorkerConfig, job: IntegrationJob) {
    let Some(tenant) = state.tenants.by_id(job.tenant) else {
        let error = format!("tenant {} is not loaded on this node", job.tenant.0);
        tracing::warn!(tenant.id = job.tenant.0, install.id = job.install.0, job.id = job.id.0, "integration job of a tenant this node does not serve; retrying later");
        let retry_at = Utc::now() + to_delta(config.backoff(job.attempts));
        if let Err(store_error) = state.store.scoped(job.tenant).retry_integration_job(&job, retry_at, &error, Utc::now()).await {
            tracing::error!(tenant.id = job.tenant.0, job.id = job.id.0, error = %store_error, "cannot reschedule integration job");
        }
        return;
    };

    let result = match sync(state, &tenant, &job).await {
        Ok(result) => result,
        Err(error) => JobResult::Retry {
            install: None,
            error: format!("storage failed: {error}"),
        },
    };
    if let Err(error) = settle(&tenant, config, &job, result).await {
        tracing::error!(tenant.id = tenant.id.0, install.id = job.install.0, job.id = job.id.0, request.id = %job.request_id, %error, "cannot store the integration job's result; another worker retries it when the lease ends");
    }
}

/// Calls the install's plugin on the stored request.
async fn sync(state: &AppState, tenant: &TenantContext, job: &IntegrationJob) -> Result<JobResult, StoreError> {
    let Some(install) = tenant.store.install_by_id(job.install).await? else {
        return Ok(JobResult::Rejected {
            install: None,
            error: format!("integration install {} no longer exists", job.install.0),
        });
    };
    let Some(request) = tenant.store.request(&job.request_id).await? else {
        return Ok(JobResult::Rejected {
            install: Some(install),
            error: format!("service request {} not found", job.request_id),
        });
    };

    let input = integration_request(tenant, &request, install.config.clone());
    let outcome = state.manager.sync_request(tenant.id, job.install, input, &job.request_id).await;

    Ok(match outcome {
        SyncOutcome::Synced(records) => JobResult::Synced { install, records },
        SyncOutcome::Retry(error) => JobResult::Retry { install: Some(install), error },
        SyncOutcome::Skipped(reason) => JobResult::Retry {
            install: Some(install),
            error: format!("call skipped: {reason}"),
        },
        SyncOutcome::Rejected(error) => JobResult::Rejected { install: Some(install), error },
    })
}

/// Stores the job's result and, when this claim still owns the job, the history entries.
async fn settle(tenant: &TenantContext, config: &WorkerConfig, job: &IntegrationJob, result: JobResult) -> Result<(), StoreError> {
    let now = Utc::now();
    let store = &tenant.store;

    match result {
        JobResult::Synced { install, records } => {
            if store.finish_integration_job(job, &records, now).await? {
                tracing::info!(tenant.id = tenant.id.0, install.id = job.install.0, request.id = %job.request_id, records = records.len(), attempts = job.attempts, "integration job done");
                history::synced(store, job, &install, &records, now).await?;
            }
        }
        JobResult::Retry { error, .. } if job.attempts < config.max_attempts => {
            let retry_at = now + to_delta(config.backoff(job.attempts));
            tracing::warn!(tenant.id = tenant.id.0, install.id = job.install.0, request.id = %job.request_id, attempts = job.attempts, retry_at = %retry_at, %error, "integration job failed; retrying later");
            store.retry_integration_job(job, retry_at, &error, now).await?;
        }
        JobResult::Retry { install, error } => {
            let error = format!("gave up after {} attempts; last error: {error}", job.attempts);
            reject(tenant, job, install.as_ref(), &error, now).await?;
        }
        JobResult::Rejected { install, error } => {
            reject(tenant, job, install.as_ref(), &error, now).await?;
        }
    }
    Ok(())
}

async fn reject(tenant: &TenantContext, job: &IntegrationJob, install: Option<&PluginInstall>, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    if tenant.store.reject_integration_job(job, error, now).await? {
        tracing::warn!(tenant.id = tenant.id.0, install.id = job.install.0, request.id = %job.request_id, attempts = job.attempts, %error, "integration job rejected");
        history::failed(&tenant.store, job, install, error, now).await?;
    }
    Ok(())
}

fn to_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::WorkerConfig;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = WorkerConfig {
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            ..WorkerConfig::default()
        };

        assert_eq!(config.backoff(1), Duration::from_secs(2));
        assert_eq!(config.backoff(2), Duration::from_secs(4));
        assert_eq!(config.backoff(5), Duration::from_secs(32));
        assert_eq!(config.backoff(6), Duration::from_secs(60));
        assert_eq!(config.backoff(40), Duration::from_secs(60));
    }
}
