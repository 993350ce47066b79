//! The plugin platform of Civic311: city admins upload, version, activate,
//! roll back, dry-run and shadow sandboxed WebAssembly plugins, and the
//! runtime calls the active install of each hook with its grants and limits.
//!
//! [`PluginManager`] is the facade that the server's HTTP handlers and the
//! command line use.

mod error;
mod manager;
pub mod runtime;

pub use error::ManagerError;
pub use manager::{ManagerConfig, PluginManager};
pub use runtime::{Breaker, BreakerConfig};
