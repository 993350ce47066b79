//! Calling one integration install for one routed service request, with
//! breaker admission, the call record, and metering of the work orders and
//! inspections it synced.

use std::sync::Arc;

use chrono::Utc;
use civic311_domain::plugin::{Hook, IntegrationRequest, SyncFailure, SyncedRecord};
use civic311_plugin_host::{CallReport, PluginError};
use civic311_store::{InstallId, TenantId};

use crate::manager::PluginManager;
use crate::runtime::breaker::{Admission, CallVerdict};
use crate::runtime::capabilities::InstallCapabilities;
use crate::runtime::route::{SkipKind, host_panic};

/// Result of one integration call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// The back end has these records for the request; an empty list means
    /// the request does not concern it.
    Synced(Vec<SyncedRecord>),
    /// A transient failure: the plugin's own `retry`, a trap, a timeout or a
    /// platform error. The message names the failure, and the caller retries later.
    Retry(String),
    /// The plugin rejected the request for good, for the reason in the message.
    Rejected(String),
    /// The install was not called: it is not an active integration install
    /// of the tenant, or its breaker is open. The caller retries later.
    Skipped(String),
}

impl PluginManager {
    /// Returns the tenant's active integration installs, to enqueue one
    /// outbox job per install for each new request.
    pub fn integration_installs(&self, tenant: TenantId) -> Vec<InstallId> {
        self.registry.integrations(tenant).iter().map(|active| active.install.id).collect()
    }

    /// Sends `request` to the tenant's integration install `install`.
    /// Each call adds one call to the install's usage. The work orders and
    /// inspections it created are metered when the outbox worker stores
    /// them with `TenantStore::finish_integration_job`, once per job.
    pub async fn sync_request(&self, tenant: TenantId, install: InstallId, request: IntegrationRequest, request_id: &str) -> SyncOutcome {
        let Some(active) = self.registry.by_id(install).filter(|active| active.tenant() == tenant) else {
            return SyncOutcome::Skipped(format!("install {install} is not an active integration install of this tenant"));
        };
        if active.install.hook != Hook::Integration {
            return SyncOutcome::Skipped(format!("install {install} serves the {} hook, not the integration hook", active.install.hook));
        }

        let permit = match active.breaker.admit(Utc::now()) {
            Admission::Allowed(permit) => permit,
            Admission::Skipped { reason } => {
                self.record_skipped(&active, Some(request_id), SkipKind::BreakerOpen);
                return SyncOutcome::Skipped(format!("the install's breaker is open: {reason}"));
            }
        };

        let (context, capabilities) = self.call_context(&active, Some(request_id));
        let host = Arc::clone(&self.host);
        let call_active = Arc::clone(&active);
        let joined = tokio::task::spawn_blocking(move || host.sync_request(&call_active.plugin, &request, &context)).await;
        let mut report: CallReport<Vec<SyncedRecord>> = joined.unwrap_or_else(|error| host_panic(&active, error));
        report.result = match report.result {
            Ok(records) => Ok(records.into_iter().map(|record| scrub_record(record, &capabilities)).collect()),
            Err(error) => Err(capabilities.scrub_error(error)),
        };

        let verdict = sync_verdict(&report.result);
        self.record_call(&active, Some(request_id), &report, &verdict, false);
        self.judge(&active, permit, &verdict).await;

        into_outcome(tenant, install, report.result)
    }
}

fn scrub_record(mut record: SyncedRecord, capabilities: &InstallCapabilities) -> SyncedRecord {
    record.remote_id = capabilities.scrub(&record.remote_id);
    record.remote_status = record.remote_status.map(|status| capabilities.scrub(&status));
    record
}

/// Classifies an integration result for the breaker. The plugin's own
/// `retry` or `rejected` shows that it ran correctly, so it counts as a success.
fn sync_verdict(result: &Result<Vec<SyncedRecord>, PluginError>) -> CallVerdict {
    match result {
        Ok(_) | Err(PluginError::SyncFailed { .. }) => CallVerdict::Success,
        Err(error) => CallVerdict::from_failure(error.kind(), &error.to_string()),
    }
}

fn into_outcome(tenant: TenantId, install: InstallId, result: Result<Vec<SyncedRecord>, PluginError>) -> SyncOutcome {
    match result {
        Ok(records) => SyncOutcome::Synced(records),
        Err(PluginError::SyncFailed { failure: SyncFailure::Retry(message), .. }) => SyncOutcome::Retry(message),
        Err(PluginError::SyncFailed { failure: SyncFailure::Rejected(message), .. }) => SyncOutcome::Rejected(message),
        Err(error) => {
            tracing::warn!(tenant.id = tenant.0, install.id = install.0, kind = error.kind(), blame = error.blame(), %error, "integration plugin call failed");
            SyncOutcome::Retry(error.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_failure_is_breaker_success() {
        let failed = PluginError::SyncFailed { plugin: "p".to_string(), failure: SyncFailure::Retry("503".to_string()) };

        assert_eq!(sync_verdict(&Err(failed)), CallVerdict::Success);
    }

    #[test]
    fn trap_maps_to_retry() {
        let trap = PluginError::Trap { plugin: "p".to_string(), message: "unreachable".to_string() };

        let outcome = into_outcome(TenantId(1), InstallId(2), Err(trap));

        assert!(matches!(outcome, SyncOutcome::Retry(message) if message.contains("trapped")));
    }
}
