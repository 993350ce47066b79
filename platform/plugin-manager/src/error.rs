//! Errors of the plugin manager, mapped to HTTP statuses once by the server.

use civic311_domain::plugin::Hook;
use civic311_plugin_host::PluginError;
use civic311_store::StoreError;

use crate::vault::VaultError;

/// Failure of a plugin lifecycle or runtime operation. Each message names the
/// value that failed and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The plugin host rejected a component or failed to load it. Uploads
    /// that are not components, target no known world, import something the
    /// platform does not offer or need an ungranted capability end here.
    #[error(transparent)]
    Plugin(#[from] PluginError),

    /// The database failed or rejected the operation.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The platform key could not be loaded, or a secret could not be sealed or opened.
    #[error(transparent)]
    Vault(#[from] VaultError),

    /// The tenant has no such install or plugin (HTTP 404).
    #[error("{what} '{name}' not found in this tenant; {hint}")]
    NotFound { what: &'static str, name: String, hint: String },

    /// The plugin has no such version visible to the tenant (HTTP 404).
    #[error("plugin '{name}' has no version {version}; available versions: {}", list_versions(.available))]
    VersionNotFound { name: String, version: i32, available: Vec<i32> },

    /// A version of one hook was used where another hook is needed (HTTP 422).
    #[error("plugin '{plugin}' version {version} serves the {found} hook, not the {expected} hook; use a plugin built for the {expected} hook here")]
    WrongHook { plugin: String, version: i32, expected: Hook, found: Hook },

    /// Rollback found no earlier version to return to (HTTP 409).
    #[error("cannot roll back plugin '{name}' on the {hook} hook: {reason}")]
    NothingToRollBack { hook: Hook, name: String, reason: String },

    /// A field of the request is invalid (HTTP 422).
    #[error("invalid {field}: {problem}")]
    Invalid { field: String, problem: String },
}

impl ManagerError {
    /// Returns a stable snake_case name of the error for API bodies and
    /// metrics; plugin errors use [`PluginError::kind`].
    pub fn kind(&self) -> &'static str {
        match self {
            ManagerError::Plugin(error) => error.kind(),
            ManagerError::Store(StoreError::NotFound { .. }) => "not_found",
            ManagerError::Store(StoreError::Conflict { .. }) => "conflict",
            ManagerError::Store(StoreError::Invalid(_)) => "invalid",
            ManagerError::Store(_) => "storage",
            ManagerError::Vault(_) => "vault",
            ManagerError::NotFound { .. } => "not_found",
            ManagerError::VersionNotFound { .. } => "version_not_found",
            ManagerError::WrongHook { .. } => "wrong_hook",
            ManagerError::NothingToRollBack { .. } => "nothing_to_roll_back",
            ManagerError::Invalid { .. } => "invalid",
        }
    }

    pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> ManagerError {
        ManagerError::Invalid { field: field.to_string(), problem: problem.into() }
    }

    pub(crate) fn install_not_found(hook: Hook, name: &str) -> ManagerError {
        ManagerError::NotFound {
            what: "plugin install",
            name: format!("{hook}/{name}"),
            hint: format!("install plugin '{name}' on the {hook} hook first"),
        }
    }
}

fn list_versions(available: &[i32]) -> String {
    if available.is_empty() {
        return "none; upload one first".to_string();
    }
    let numbers: Vec<String> = available.iter().map(i32::to_string).collect();
    numbers.join(", ")
}
