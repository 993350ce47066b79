//! Errors of loading and calling plugins.

use std::time::Duration;

/// Failure to load a plugin or to get a decision from it. Every message names
/// the plugin. [`PluginError::blame`] returns whether the tenant's plugin or
/// the platform is at fault.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not a WebAssembly component that this engine can compile.
    #[error("plugin {plugin}: not a valid component: {message}")]
    InvalidComponent { plugin: String, message: String },

    /// The component is valid but does not implement the `router` world.
    #[error(
        "plugin {plugin}: does not implement the civic311:plugins/router world: {message}; \
         build it against plugins/wit/router.wit"
    )]
    WrongWorld { plugin: String, message: String },

    /// The call ran past its wall-time limit and was interrupted.
    #[error("plugin {plugin} timed out after the wall-time limit of {limit:?} and was stopped")]
    Timeout { plugin: String, limit: Duration },

    /// The call burned its whole fuel budget and was stopped.
    #[error("plugin {plugin} exhausted its fuel budget of {fuel} units and was stopped")]
    FuelExhausted { plugin: String, fuel: u64 },

    /// The instance tried to grow its linear memory past the limit.
    #[error("plugin {plugin} exceeded the memory limit of {limit_bytes} bytes and was stopped")]
    MemoryLimit { plugin: String, limit_bytes: usize },

    /// The guest trapped: `unreachable`, a panic, an out-of-bounds access, a
    /// stack overflow or a call to an import that the router world does not grant.
    #[error("plugin {plugin} trapped: {message}")]
    Trap { plugin: String, message: String },

    /// The plugin returned its own `route-error`, so it made no decision.
    #[error("plugin {plugin} rejected the request ({kind}): {message}")]
    Rejected {
        plugin: String,
        kind: RejectionKind,
        message: String,
    },

    /// The plugin returned a decision that breaks the output limits.
    #[error("plugin {plugin} returned an invalid decision: {message}")]
    InvalidOutput { plugin: String, message: String },

    /// The host could not set up the engine or a sandbox, for reasons that
    /// are not the plugin's fault.
    #[error("plugin host failed{}: {message}", plugin.as_deref().map(|name| format!(" for plugin {name}")).unwrap_or_default())]
    Platform { plugin: Option<String>, message: String },
}

/// Case of the WIT `route-error` variant that a plugin returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectionKind {
    /// `no-rule`: no rule of the plugin covers the request.
    NoRule,
    /// `invalid-input`: the request or the routing settings are malformed.
    InvalidInput,
}

impl std::fmt::Display for RejectionKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            RejectionKind::NoRule => "no-rule",
            RejectionKind::InvalidInput => "invalid-input",
        })
    }
}

impl PluginError {
    /// Returns `"plugin"` when the tenant's plugin caused the failure and
    /// `"platform"` when the host did, for spans, metrics and the request history.
    pub fn blame(&self) -> &'static str {
        match self {
            PluginError::Platform { .. } => "platform",
            _ => "plugin",
        }
    }

    /// Returns a short stable name of the variant, such as `timeout`, for
    /// metrics and history entries.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::InvalidComponent { .. } => "invalid_component",
            PluginError::WrongWorld { .. } => "wrong_world",
            PluginError::Timeout { .. } => "timeout",
            PluginError::FuelExhausted { .. } => "fuel_exhausted",
            PluginError::MemoryLimit { .. } => "memory_limit",
            PluginError::Trap { .. } => "trap",
            PluginError::Rejected { .. } => "rejected",
            PluginError::InvalidOutput { .. } => "invalid_output",
            PluginError::Platform { .. } => "platform",
        }
    }
}
