//! Errors of the plugin manager, mapped to HTTP statuses once by the server.

use civic311_plugin_host::PluginError;
use civic311_store::StoreError;

/// Failure of a plugin lifecycle or runtime operation. Each message names the
/// value that failed and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The plugin host rejected a component or failed to load it.
    #[error(transparent)]
    Plugin(#[from] PluginError),

    /// The database failed or rejected the operation.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// A field of the request is invalid.
    #[error("invalid {field}: {problem}")]
    Invalid { field: String, problem: String },
}
