//! Errors of inspecting, loading and calling plugins.

use std::time::Duration;

use civic311_domain::plugin::{Capability, Hook, SyncFailure};

/// Failure to load a plugin or to get a decision from it. Every message names
/// the plugin. [`PluginError::blame`] returns whether the tenant's plugin or
/// the platform is at fault.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The bytes are not a WebAssembly component that this engine can compile.
    #[error("plugin {plugin}: not a valid component: {message}")]
    InvalidComponent { plugin: String, message: String },

    /// The component is larger than the platform accepts.
    #[error("plugin {plugin}: the component is {size} bytes, more than the limit of {limit} bytes; shrink it, for example with the `plugin` profile (opt-level \"s\", LTO, strip)")]
    TooLarge { plugin: String, size: usize, limit: usize },

    /// The component is valid but implements no world of the platform: it
    /// exports neither `route` nor `sync-request`, or its types do not match.
    #[error(
        "plugin {plugin}: does not implement a civic311:plugins world (router, \
         router-with-capabilities or integration): {message}; build it against plugins/wit/"
    )]
    WrongWorld { plugin: String, message: String },

    /// The component implements one hook where the caller expects the other,
    /// such as an integration uploaded as a router.
    #[error("plugin {plugin}: serves the {found} hook, but the {expected} hook was expected; install it on the {found} hook")]
    WrongHook { plugin: String, expected: Hook, found: Hook },

    /// The component imports an interface that is neither a capability nor WASI 0.2.
    #[error(
        "plugin {plugin}: imports `{import}`, which the platform does not provide; a plugin may import \
         only civic311:plugins/log, kv, secrets and http @0.1.0, and wasi:*@0.2 interfaces"
    )]
    UnsupportedImport { plugin: String, import: String },

    /// The component imports a capability that the install does not grant.
    #[error(
        "plugin {plugin}: imports the `{capability}` capability, which the install does not grant; \
         grant it with `--grant {capability}` or the \"grants\" field, or rebuild the plugin without it"
    )]
    NotGranted { plugin: String, capability: Capability },

    /// An install's limit override is above the platform maximum.
    #[error("limit {field} = {value} is above the platform maximum of {maximum}; choose a value of at most {maximum}")]
    LimitAboveMaximum { field: &'static str, value: u64, maximum: u64 },

    /// An install's limit override is zero, which would fail every call.
    #[error("limit {field} = 0 is invalid; choose a positive value or remove the override")]
    LimitBelowMinimum { field: &'static str },

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
    /// stack overflow, a call to a WASI function, or a `log` call without the grant.
    #[error("plugin {plugin} trapped: {message}")]
    Trap { plugin: String, message: String },

    /// The plugin returned its own `route-error`, so it made no decision.
    #[error("plugin {plugin} rejected the request ({kind}): {message}")]
    Rejected {
        plugin: String,
        kind: RejectionKind,
        message: String,
    },

    /// The integration returned its own `sync-error`: retry later or rejected for good.
    #[error("plugin {plugin} failed to sync the request ({failure})")]
    SyncFailed { plugin: String, failure: SyncFailure },

    /// The plugin returned output that breaks the output limits.
    #[error("plugin {plugin} returned invalid output: {message}")]
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
            PluginError::TooLarge { .. } => "too_large",
            PluginError::WrongWorld { .. } => "wrong_world",
            PluginError::WrongHook { .. } => "wrong_hook",
            PluginError::UnsupportedImport { .. } => "unsupported_import",
            PluginError::NotGranted { .. } => "not_granted",
            PluginError::LimitAboveMaximum { .. } => "limit_above_maximum",
            PluginError::LimitBelowMinimum { .. } => "limit_below_minimum",
            PluginError::Timeout { .. } => "timeout",
            PluginError::FuelExhausted { .. } => "fuel_exhausted",
            PluginError::MemoryLimit { .. } => "memory_limit",
            PluginError::Trap { .. } => "trap",
            PluginError::Rejected { .. } => "rejected",
            PluginError::SyncFailed { .. } => "sync_failed",
            PluginError::InvalidOutput { .. } => "invalid_output",
            PluginError::Platform { .. } => "platform",
        }
    }
}
