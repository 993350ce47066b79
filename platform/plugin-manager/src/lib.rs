//! The plugin platform of Civic311: city admins upload, version, activate,
//! roll back, dry-run and shadow sandboxed WebAssembly plugins, and the
//! runtime calls the active install of each hook with its grants and limits.
//!
//! [`PluginManager`] is the facade that the server's HTTP handlers and the
//! command line use.

mod artifacts;
mod dry_run;
mod error;
mod lifecycle;
mod manager;
pub mod platform_key;
mod registry;
pub mod shadow;
pub mod cluster;
pub mod cost_share;
pub mod metrics;
pub mod runtime;
pub mod vault;

pub use artifacts::{ArtifactOrigin, artifact_key};
pub use dry_run::{DecisionOrError, DryRunReport, DryRunRow};
pub use error::ManagerError;
pub use lifecycle::{
    Activation, InstallRequest, MANIFEST_ACTOR, PluginSource, SecretState, SecretStatus, Upload, Uploaded, validate_plugin_name,
};
pub use manager::{DEFAULT_MAX_UPLOAD_BYTES, ManagerConfig, PluginManager};
pub use registry::{ActiveInstall, InstallRegistry, VersionRef};
pub use civic311_store::{AuditEntry, AuditFilter, PluginInstall, PluginVersion, SecretName, ShadowResult};
pub use runtime::{Breaker, BreakerConfig, CallSlotConfig, BreakerState, RouteOutcome, SyncOutcome};
pub use cluster::PluginEvent;
pub use vault::{PlatformKey, Vault, VaultError};
pub use cost_share::{CostShareReport, CostShareRow, Split};
pub use metrics::PluginMetrics;
