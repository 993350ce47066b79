//! The [`PluginManager`] facade and its configuration.

use std::path::PathBuf;
use std::sync::Arc;

use civic311_plugin_host::PluginHost;
use civic311_store::{InstallId, Store, TenantId};

use crate::artifacts::ArtifactLoader;
use crate::error::ManagerError;
use crate::registry::InstallRegistry;
use crate::runtime::BreakerConfig;
use crate::vault::Vault;

/// Default maximum bytes of an uploaded component.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 8 << 20;

/// Settings of the plugin manager, read by the server at start.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// Redis URL for propagating plugin changes to other nodes; `None` runs one node alone.
    pub redis_url: Option<String>,
    /// Folder of the platform key file when `CIVIC311_PLATFORM_KEY` is not set.
    pub data_dir: PathBuf,
    /// Circuit breaker settings of every install.
    pub breaker: BreakerConfig,
    /// Maximum bytes of an uploaded component.
    pub max_upload_bytes: usize,
    /// Name of this node in logs and cluster events.
    pub node_id: String,
    /// Calls of one install that may run at once on this node.
    pub call_slots: crate::runtime::CallSlotConfig,
    /// Whether plugins' outbound HTTP may reach loopback, private,
    /// link-local and other non-public addresses. Off by default, so a
    /// tenant's allow-list cannot reach the platform's internal services.
    pub allow_private_networks: bool,
}

impl Default for ManagerConfig {
    /// Returns settings for one node alone, with its key file under `./data`.
    fn default() -> ManagerConfig {
        ManagerConfig {
            redis_url: None,
            data_dir: PathBuf::from("data"),
            breaker: BreakerConfig::default(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            node_id: "local".to_string(),
            call_slots: crate::runtime::CallSlotConfig::default(),
            allow_private_networks: false,
        }
    }
}

/// Uploads, versions and activates plugins, and runs the active installs.
pub struct PluginManager {
    pub(crate) store: Store,
    pub(crate) host: Arc<PluginHost>,
    pub(crate) config: ManagerConfig,
    pub(crate) vault: Arc<Vault>,
    pub(crate) artifacts: Arc<ArtifactLoader>,
    pub(crate) registry: Arc<InstallRegistry>,
    pub(crate) runtime: crate::runtime::Runtime,
}

impl PluginManager {
    /// Starts the manager on `store` with the process's plugin host, and
    /// loads every active install. An install that fails to load is logged
    /// and left out, so its tenant falls back to its default routing.
    ///
    /// Fails with [`crate::VaultError::KeyMismatch`] when the platform key
    /// differs from the one the database was set up with, and with
    /// [`crate::VaultError::KeyFileMissing`] when that database's key file
    /// is missing. The key file is created only on a database without a key.
    pub async fn start(store: Store, host: Arc<PluginHost>, config: ManagerConfig) -> Result<PluginManager, ManagerError> {
        let vault = Arc::new(crate::platform_key::load_platform_key(&store, &host, &config.data_dir).await?);
        let artifacts = Arc::new(ArtifactLoader::new(store.clone(), Arc::clone(&host), Arc::clone(&vault)));
        let registry = Arc::new(InstallRegistry::new(
            store.clone(),
            Arc::clone(&host),
            Arc::clone(&artifacts),
            config.breaker.clone(),
        ));
        registry.load_all().await?;
        let runtime = crate::runtime::Runtime::start(&store, &registry, &config).await?;

        Ok(PluginManager { store, host, config, vault, artifacts, registry, runtime })
    }

    /// Returns the plugin host that compiles and runs every plugin.
    pub fn host(&self) -> &Arc<PluginHost> {
        &self.host
    }

    /// Returns the registry of loaded active installs.
    pub fn registry(&self) -> &Arc<InstallRegistry> {
        &self.registry
    }

    /// Applies a stored change of install `install` on this node at once.
    /// A failed reload is logged by the registry, which leaves the install
    /// out, so the tenant falls back instead of running a stale version.
    pub(crate) async fn changed(&self, tenant: TenantId, install: InstallId, kind: &'static str) {
        if let Err(error) = self.registry.reload(install).await {
            tracing::error!(tenant.id = tenant.0, install.id = install.0, change = kind, %error, "failed to reload the plugin install after a change");
        }
        self.runtime.cluster.publish(tenant, install, kind).await;
    }
}
