//! Guest SDK for Civic311 plugins.
//!
//! At the crate root: the bindings of the `router` world in
//! `plugins/wit/router.wit` and a few helpers for reading a request. A router
//! implements [`Guest`] and exports it with [`export_router!`]:
//!
//! ```ignore
//! use civic311_plugin_sdk::{Decision, Guest, RouteError, ServiceRequest};
//!
//! struct Router;
//!
//! impl Guest for Router {
//!     fn route(request: ServiceRequest) -> Result<Decision, RouteError> {
//!         todo!()
//!     }
//! }
//!
//! civic311_plugin_sdk::export_router!(Router);
//! ```
//!
//! A plugin that can do without std should be `#![no_std]` on `wasm32` and
//! invoke [`no_std_runtime!`] once. It then imports nothing from WASI, which
//! makes each sandboxed call cheaper to instantiate.
//!
//! [`capabilities`] contains the imports of the capability interfaces (logs,
//! key-value store, secrets, HTTP) for routers of world
//! `router-with-capabilities`, and [`integration`] the bindings of the
//! `integration` world with its [`export_integration!`] macro.

#![no_std]

extern crate alloc;

pub mod capabilities;
mod helpers;
pub mod integration;
#[cfg(target_arch = "wasm32")]
pub mod runtime;

/// Bindings generated from the `router` world. They live in a module because
/// `#[macro_export]` places the export macros at the crate root, where the
/// generator's own re-exports of them would otherwise collide.
pub mod bindings {
    wit_bindgen::generate!({
        world: "router",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_router",
        default_bindings_module: "civic311_plugin_sdk::bindings",
    });
}

pub use bindings::*;
pub use integration::export_integration;
pub use helpers::{BoundingBox, attribute, months_setting, parse_months, setting};
