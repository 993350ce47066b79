//! Internal history entries that record what an integration did for a request.

use chrono::{DateTime, Utc};
use civic311_domain::plugin::{RecordKind, SyncedRecord};
use civic311_store::{HistoryKind, IntegrationJob, NewHistoryEvent, PluginInstall, StoreError, TenantStore, Visibility};
use serde_json::json;

/// Appends one entry per synced record, such as "Work order WO-123 created in maintstar-integration".
pub(super) async fn synced(
    store: &TenantStore,
    job: &IntegrationJob,
    install: &PluginInstall,
    records: &[SyncedRecord],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for record in records {
        let verb = if record.created { "created in" } else { "already in" };
        let event = NewHistoryEvent {
            at,
            kind: HistoryKind::IntegrationSynced,
            visibility: Visibility::Internal,
            summary: format!("{} {} {verb} {}", record_noun(record.kind), record.remote_id, install.plugin_name),
            detail: json!({
                "install_id": job.install.0,
                "plugin": install.plugin_name,
                "version": install.active_version.as_ref().map(|version| version.version),
                "kind": record.kind.as_str(),
                "remote_id": record.remote_id,
                "remote_status": record.remote_status,
                "created": record.created,
                "attempts": job.attempts,
            }),
            actor: Some(install.plugin_name.clone()),
        };
        store.append_history(&job.request_id, event).await?;
    }
    Ok(())
}

/// Appends the entry of a job that will not be retried.
pub(super) async fn failed(
    store: &TenantStore,
    job: &IntegrationJob,
    install: Option<&PluginInstall>,
    error: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let plugin = install.map_or_else(|| format!("install {}", job.install.0), |install| install.plugin_name.clone());
    let event = NewHistoryEvent {
        at,
        kind: HistoryKind::IntegrationFailed,
        visibility: Visibility::Internal,
        summary: format!("Integration {plugin} did not sync the request: {error}"),
        detail: json!({
            "install_id": job.install.0,
            "plugin": plugin,
            "error": error,
            "attempts": job.attempts,
        }),
        actor: Some(plugin.clone()),
    };
    match store.append_history(&job.request_id, event).await {
        Err(StoreError::NotFound { .. }) => Ok(()),
        other => other.map(drop),
    }
}

fn record_noun(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::WorkOrder => "Work order",
        RecordKind::Inspection => "Inspection",
        RecordKind::Other => "Record",
    }
}
