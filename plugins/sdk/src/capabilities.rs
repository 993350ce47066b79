//! Guest bindings of the platform's capability interfaces in
//! `plugins/wit/capabilities.wit`: [`log`], [`kv`], [`secrets`] and [`http`].
//!
//! A router of world `router-with-capabilities` keeps using
//! [`export_router!`](crate::export_router) and calls these functions; an
//! integration gets the same modules through [`crate::integration`]. Each
//! capability must be granted to the install, or the upload is rejected.
//!
//! The built component imports only the interfaces whose functions the
//! plugin calls. wit-bindgen declares each import as an extern function,
//! the linker drops the ones never called, and the component encoder keeps
//! only the interfaces that the core module still imports. A router that
//! calls only [`log::write`] therefore needs only the `logs` grant.

mod generated {
    wit_bindgen::generate!({
        world: "capabilities",
        path: "../wit",
    });
}

pub use generated::civic311::plugins::{http, kv, log, secrets};

use alloc::string::String;

/// Writes one log line at level `info`. Requires the `logs` grant; without
/// it the host traps the call.
pub fn log_info(message: &str) {
    log::write(log::Level::Info, message);
}

/// Writes one log line at level `warn`. Requires the `logs` grant.
pub fn log_warn(message: &str) {
    log::write(log::Level::Warn, message);
}

/// Returns the install's secret `name`, or none. Requires the `secrets` grant;
/// without it the host returns none for every name.
pub fn secret(name: &str) -> Option<String> {
    secrets::get(name)
}
