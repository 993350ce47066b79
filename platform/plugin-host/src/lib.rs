//! Runs tenants' plugins, WebAssembly components of the worlds in
//! `plugins/wit/` (`router`, `router-with-capabilities`, `integration`),
//! each call in a fresh wasmtime sandbox.
//!
//! One [`PluginHost`] per process owns the engine. [`PluginHost::inspect`]
//! validates an upload, [`PluginHost::load`] or
//! [`PluginHost::load_precompiled`] compiles and type-checks a component
//! once per digest, and [`PluginHost::route_with`] and
//! [`PluginHost::sync_request`] run one call under an install's
//! [`CallLimits`] and [`Grants`](civic311_domain::plugin::Grants), with the
//! capabilities of a [`CapabilityProvider`].

mod bindings;
mod capabilities;
mod capability_host;
mod config;
mod convert;
mod convert_integration;
mod error;
mod host;
mod inspect;
mod sandbox;

pub use capabilities::{
    CallContext, CallReport, CapabilityProvider, HttpFailure, HttpRequest, HttpResponse, LogLevel,
    MAX_HTTP_RESPONSE_BYTES, MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, MAX_LOG_LINE_BYTES, MAX_LOG_LINES, NoCapabilities,
    host_allowed,
};
pub use config::{CallLimits, EPOCH_TICK, HostConfig, MAX_CONCURRENT_CALLS};
pub use convert::{MAX_NAME_BYTES, MAX_REASON_BYTES};
pub use error::{PluginError, RejectionKind};
pub use host::{LoadedPlugin, PluginHost};
pub use inspect::Inspection;

/// The server shares one host across threads and moves loaded plugins into
/// blocking tasks, so both types must stay `Send + Sync`.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PluginHost>();
    assert_send_sync::<LoadedPlugin>();
    assert_send_sync::<CallContext>();
};
