//! Stand-ins for the plugin manager's runtime calls until that runtime
//! lands: routing through the registry's active router install with the
//! host's default limits, and integration calls that are skipped.
// TODO: remove this module once PluginManager::route, sync_request,
// integration_installs and flush exist, and call those instead.

use std::sync::Arc;

use civic311_domain::plugin::{IntegrationRequest, SyncedRecord};
use civic311_domain::routing::{RouteDecision, RouteInput};
use civic311_plugin_manager::{PluginManager, VersionRef};
use civic311_store::{InstallId, TenantId};

/// What routing through the active router install produced.
pub enum RouteOutcome {
    NoRouter,
    Decided { plugin: VersionRef, decision: RouteDecision },
    Failed { plugin: VersionRef, kind: String, blame: &'static str, message: String },
    Skipped { plugin: VersionRef, reason: String },
}

/// What an integration call produced.
pub enum SyncOutcome {
    Synced(Vec<SyncedRecord>),
    Retry(String),
    Rejected(String),
    Skipped(String),
}

/// Calls the tenant's active router install on a blocking thread.
pub async fn route(manager: &PluginManager, tenant: TenantId, input: &RouteInput) -> RouteOutcome {
    let Some(active) = manager.registry().router(tenant) else {
        return RouteOutcome::NoRouter;
    };

    let host = Arc::clone(manager.host());
    let call_active = Arc::clone(&active);
    let call_input = input.clone();
    let joined = tokio::task::spawn_blocking(move || host.route(&call_active.plugin, &call_input)).await;

    let plugin = active.version.clone();
    match joined {
        Ok(Ok(decision)) => RouteOutcome::Decided { plugin, decision },
        Ok(Err(error)) => RouteOutcome::Failed {
            plugin,
            kind: error.kind().to_string(),
            blame: error.blame(),
            message: error.to_string(),
        },
        Err(join_error) => RouteOutcome::Failed {
            plugin,
            kind: "host_panic".into(),
            blame: "platform",
            message: format!("the plugin call panicked on the host: {join_error}"),
        },
    }
}

/// Returns the ids of the tenant's active integration installs.
pub fn integration_installs(manager: &PluginManager, tenant: TenantId) -> Vec<InstallId> {
    manager.registry().integrations(tenant).iter().map(|active| active.install.id).collect()
}

/// Skips every integration call until the runtime lands.
pub async fn sync_request(_manager: &PluginManager, _tenant: TenantId, _install: InstallId, _request: IntegrationRequest, _request_id: &str) -> SyncOutcome {
    SyncOutcome::Skipped("the integration runtime is not available yet".to_string())
}
