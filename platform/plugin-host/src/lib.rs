//! Runs tenants' router plugins, WebAssembly components of the `router`
//! world in `plugins/wit/`, each call in a fresh wasmtime sandbox.

use std::sync::Arc;
use std::time::Duration;

use civic311_domain::routing::{RouteDecision, RouteInput};

/// Limits applied to every plugin call.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Fuel units one call may burn before it traps.
    pub fuel_per_call: u64,
    /// Bytes of linear memory one instance may grow to.
    pub max_memory_bytes: usize,
    /// Wall-clock time one call may run, enforced by an epoch deadline.
    pub wall_time: Duration,
}

/// Why a plugin call or load failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin}: not a valid component: {message}")]
    InvalidComponent { plugin: String, message: String },
    #[error("plugin {plugin} trapped: {message}")]
    Trap { plugin: String, message: String },
}

/// A compiled, pre-instantiated plugin version.
#[derive(Clone)]
pub struct LoadedPlugin {
    inner: Arc<()>,
}

impl LoadedPlugin {
    pub fn name(&self) -> &str {
        todo!()
    }

    /// Hex SHA-256 of the component bytes.
    pub fn digest(&self) -> &str {
        todo!()
    }
}

/// One wasmtime engine shared by all tenants.
pub struct PluginHost {}

impl PluginHost {
    pub fn new(config: HostConfig) -> Result<PluginHost, PluginError> {
        todo!("{config:?}")
    }

    /// Compiles `wasm` once per digest and pre-instantiates it against the router world.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<LoadedPlugin, PluginError> {
        todo!("{name} {}", wasm.len())
    }

    /// Runs one routing decision in a fresh store. Blocks for at most the wall-time limit.
    pub fn route(&self, plugin: &LoadedPlugin, input: &RouteInput) -> Result<RouteDecision, PluginError> {
        todo!("{} {input:?}", plugin.inner.as_ref() == &())
    }
}
