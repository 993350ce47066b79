//! The runtime of installed plugins: the circuit breaker of each install,
//! routing calls, integration calls, call records and the capabilities a
//! plugin reaches.

pub mod breaker;
mod breaker_admin;
mod call_slots;
pub mod capabilities;
pub mod egress;
pub mod fuel_budget;
pub mod recorder;
pub mod route;
mod shadows;
pub mod sync;

use civic311_domain::plugin::Hook;
use civic311_store::{LogFilter, PluginLogLine, Store, TenantId};

pub use breaker::{Admission, Breaker, BreakerConfig, BreakerState, CallVerdict, Permit, Transition};
pub use call_slots::CallSlotConfig;
pub use fuel_budget::{FuelBudget, Throttled};
pub use recorder::Recorder;
pub use route::RouteOutcome;
pub use sync::SyncOutcome;

use crate::cluster::Cluster;
use crate::error::ManagerError;
use crate::manager::{ManagerConfig, PluginManager};
use crate::registry::InstallRegistry;

/// Actor of the audit entries that the platform writes itself, such as a breaker trip.
pub const PLATFORM_ACTOR: &str = "platform";

/// The runtime parts of a [`PluginManager`]: the recorder's writer task,
/// the shared HTTP client of the `http` capability, and the link to the
/// other nodes.
pub(crate) struct Runtime {
    pub(crate) recorder: Recorder,
    pub(crate) http: capabilities::PluginHttpClient,
    pub(crate) cluster: Cluster,
    pub(crate) shadows: shadows::ShadowSlots,
    pub(crate) call_slots: call_slots::CallSlots,
}

impl Runtime {
    /// Starts the recorder and the cluster tasks on the current Tokio runtime.
    pub(crate) async fn start(
        store: &Store,
        registry: &std::sync::Arc<InstallRegistry>,
        config: &ManagerConfig,
    ) -> Result<Runtime, ManagerError> {
        let cluster = Cluster::start(config.redis_url.as_deref(), &config.node_id, store.clone(), registry.clone()).await?;
        Ok(Runtime {
            recorder: Recorder::start(store.clone()),
            http: capabilities::http_client(config.allow_private_networks)?,
            cluster,
            shadows: shadows::ShadowSlots::default(),
            call_slots: call_slots::CallSlots::new(config.call_slots),
        })
    }
}

impl PluginManager {
    /// Waits until every call record, usage count and log line queued so
    /// far is written, for tests and shutdown.
    pub async fn flush(&self) {
        self.runtime.recorder.flush().await;
    }

    /// Lists the install's latest log lines, newest first; `limit` 0 reads
    /// as the store's default. Lines still queued in the recorder are not included.
    pub async fn logs(&self, tenant: TenantId, hook: Hook, name: &str, limit: u64) -> Result<Vec<PluginLogLine>, ManagerError> {
        let scoped = self.store.scoped(tenant);
        let install = self.require_install(&scoped, hook, name).await?;
        let filter = LogFilter { install: Some(install.id), request_id: None, limit };
        Ok(scoped.plugin_logs(&filter).await?)
    }
}
