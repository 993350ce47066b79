//! Guest bindings of the `integration` world in `plugins/wit/integration.wit`
//! and helpers for reading a [`RoutedRequest`]. A plugin implements [`Guest`]
//! and exports it with [`export_integration!`](crate::export_integration):
//!
//! ```ignore
//! use civic311_plugin_sdk::integration::{Guest, RoutedRequest, SyncError, SyncedRecord};
//!
//! struct Integration;
//!
//! impl Guest for Integration {
//!     fn sync_request(request: RoutedRequest) -> Result<Vec<SyncedRecord>, SyncError> {
//!         todo!()
//!     }
//! }
//!
//! civic311_plugin_sdk::export_integration!(Integration);
//! ```
//!
//! The capability interfaces are re-exported here as [`log`], [`kv`],
//! [`secrets`] and [`http`]; they are the same modules as in
//! [`crate::capabilities`]. The component imports only those it calls.
//!
//! [`model`] has plain-Rust forms of the world's types and a
//! [`model::Capabilities`] trait, so that a plugin's sync logic also runs
//! natively in unit tests. [`platform::run`] converts the world's request,
//! runs that logic with the platform's capabilities and converts the result
//! back. [`install_config`] reads the install's configuration entries, and
//! [`logging`] writes the log lines of a sync. [`failures`] classifies
//! requests that got no response.

wit_bindgen::generate!({
    world: "integration",
    path: "../wit",
    pub_export_macro: true,
    export_macro_name: "export_integration",
    default_bindings_module: "civic311_plugin_sdk::integration",
    with: {
        "civic311:plugins/log@0.1.0": crate::capabilities::log,
        "civic311:plugins/kv@0.1.0": crate::capabilities::kv,
        "civic311:plugins/secrets@0.1.0": crate::capabilities::secrets,
        "civic311:plugins/http@0.1.0": crate::capabilities::http,
    },
});

pub use crate::capabilities::{http, kv, log, secrets};

pub mod failures;
pub mod install_config;
pub mod logging;
pub mod model;
pub mod platform;

/// Returns the value of the install's configuration entry `key`, if the
/// tenant's admin set it.
pub fn config<'a>(request: &'a RoutedRequest, key: &str) -> Option<&'a str> {
    request
        .config
        .iter()
        .find(|entry| entry.key == key)
        .map(|entry| entry.value.as_str())
}

/// Returns the first submitted value of the attribute `code`, if the
/// request has one.
pub fn answer<'a>(request: &'a RoutedRequest, code: &str) -> Option<&'a str> {
    request
        .answers
        .iter()
        .find(|answer| answer.code == code)
        .and_then(|answer| answer.values.first())
        .map(alloc::string::String::as_str)
}
