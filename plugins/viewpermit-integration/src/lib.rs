//! ViewPermit integration plugin: files routed service requests as
//! inspection requests in ViewPermit, the health department's inspection
//! system.
//!
//! [`sync`] contains the logic in plain Rust over the SDK's
//! [`model::Capabilities`] trait. On `wasm32` this crate also exports it as
//! a component of the `integration` world. The component is `no_std`, so
//! it imports nothing from WASI. Install config keys and secrets are listed in
//! `docs/integrations/viewpermit.md`.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod api;
pub mod config;
pub mod sync;

/// The SDK's plain-Rust model of the `integration` world, which the sync logic uses.
pub use civic311_plugin_sdk::integration::model;

#[cfg(target_arch = "wasm32")]
mod component {
    use alloc::vec::Vec;

    use civic311_plugin_sdk::integration::{Guest, RoutedRequest, SyncError, SyncedRecord, platform};

    civic311_plugin_sdk::no_std_runtime!();

    struct ViewPermitIntegration;

    impl Guest for ViewPermitIntegration {
        fn sync_request(request: RoutedRequest) -> Result<Vec<SyncedRecord>, SyncError> {
            platform::run(request, crate::sync::sync_request)
        }
    }

    civic311_plugin_sdk::export_integration!(ViewPermitIntegration);
}
