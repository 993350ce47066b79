//! Runs tenants' router plugins, WebAssembly components of the `router`
//! world in `plugins/wit/router.wit`, each call in a fresh wasmtime sandbox.
//!
//! One [`PluginHost`] per process owns the engine. [`PluginHost::load`]
//! compiles and type-checks a component once per digest, and
//! [`PluginHost::route`] runs one decision under the fuel, memory and
//! wall-time limits of [`HostConfig`].

mod bindings;
mod config;
mod convert;
mod error;
mod host;
mod sandbox;

pub use config::{EPOCH_TICK, HostConfig, MAX_CONCURRENT_CALLS};
pub use convert::{MAX_NAME_BYTES, MAX_REASON_BYTES};
pub use error::{PluginError, RejectionKind};
pub use host::{LoadedPlugin, PluginHost};

/// The server shares one host across threads and moves loaded plugins into
/// blocking tasks, so both types must stay `Send + Sync`.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PluginHost>();
    assert_send_sync::<LoadedPlugin>();
};
