//! The [`PluginManager`] facade and its configuration.

use std::path::PathBuf;
use std::sync::Arc;

use civic311_plugin_host::PluginHost;
use civic311_store::Store;

use crate::error::ManagerError;

/// Settings of the plugin manager, read by the server at start.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    /// Redis URL for propagating plugin changes to other nodes; `None` runs one node alone.
    pub redis_url: Option<String>,
    /// Folder of the platform key file when `CIVIC311_PLATFORM_KEY` is not set.
    pub data_dir: PathBuf,
    /// Maximum bytes of an uploaded component.
    pub max_upload_bytes: usize,
    /// Name of this node in logs and cluster events.
    pub node_id: String,
}

/// Uploads, versions and activates plugins, and runs the active installs.
pub struct PluginManager {
    store: Store,
    host: Arc<PluginHost>,
    config: ManagerConfig,
}

impl PluginManager {
    /// Starts the manager on `store` with the process's plugin host.
    pub async fn start(store: Store, host: Arc<PluginHost>, config: ManagerConfig) -> Result<PluginManager, ManagerError> {
        Ok(PluginManager { store, host, config })
    }

    /// Returns the plugin host that compiles and runs every plugin.
    pub fn host(&self) -> &Arc<PluginHost> {
        &self.host
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn config(&self) -> &ManagerConfig {
        &self.config
    }
}
