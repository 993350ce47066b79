//! Maintstar integration plugin: files routed service requests as work
//! orders in Maintstar, the public-works work-order system.
//!
//! [`sync`] contains the logic in plain Rust over the [`model::Capabilities`]
//! trait. On `wasm32` this crate also exports it as a component of the
//! `integration` world. The component is `no_std`, so it imports nothing
//! from WASI. Install config keys and secrets are listed in
//! `docs/integrations/maintstar.md`.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod api;
pub mod config;
pub mod model;
pub mod sync;

#[cfg(target_arch = "wasm32")]
mod component {
    use alloc::string::String;
    use alloc::vec::Vec;

    use civic311_plugin_sdk::integration::{
        Guest, RecordKind as WitRecordKind, RoutedRequest as WitRequest, SyncError, SyncedRecord as WitRecord, http, log, secrets,
    };

    use crate::model::{Capabilities, HttpError, HttpRequest, HttpResponse, LogLevel, Method, RecordKind, RoutedRequest, SyncFailure, SyncedRecord};

    civic311_plugin_sdk::no_std_runtime!();

    struct MaintstarIntegration;

    impl Guest for MaintstarIntegration {
        fn sync_request(request: WitRequest) -> Result<Vec<WitRecord>, SyncError> {
            let records = crate::sync::sync_request(&convert_request(request), &PlatformCapabilities).map_err(|failure| match failure {
                SyncFailure::Retry(reason) => SyncError::Retry(reason),
                SyncFailure::Rejected(reason) => SyncError::Rejected(reason),
            })?;
            Ok(records.into_iter().map(convert_record).collect())
        }
    }

    civic311_plugin_sdk::export_integration!(MaintstarIntegration);

    fn convert_request(request: WitRequest) -> RoutedRequest {
        RoutedRequest {
            id: request.id,
            service_code: request.service_code,
            service_name: request.service_name,
            description: request.description,
            address: request.address,
            location: request.location.map(|point| (point.lat, point.long)),
            answers: request.answers.into_iter().map(|answer| (answer.code, answer.values)).collect(),
            department: request.department,
            priority: request.priority,
            queue: request.queue,
            requested_at: request.requested_at,
            config: request.config.into_iter().map(|entry| (entry.key, entry.value)).collect(),
        }
    }

    fn convert_record(record: SyncedRecord) -> WitRecord {
        WitRecord {
            kind: match record.kind {
                RecordKind::WorkOrder => WitRecordKind::WorkOrder,
            },
            remote_id: record.remote_id,
            remote_status: record.remote_status,
            created: record.created,
        }
    }

    /// The capabilities as the platform's imports.
    struct PlatformCapabilities;

    impl Capabilities for PlatformCapabilities {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            let wit_request = http::Request {
                method: match request.method {
                    Method::Get => http::Method::Get,
                    Method::Post => http::Method::Post,
                },
                url: request.url.clone(),
                headers: request
                    .headers
                    .iter()
                    .map(|(name, value)| http::Header { name: name.clone(), value: value.clone() })
                    .collect(),
                body: request.body.clone(),
            };

            match http::send(&wit_request) {
                Ok(response) => Ok(HttpResponse { status: response.status, body: response.body }),
                Err(http::HttpError::Denied(host)) => Err(HttpError::Denied(host)),
                Err(http::HttpError::InvalidUrl(detail)) => Err(HttpError::InvalidUrl(detail)),
                Err(http::HttpError::Timeout) => Err(HttpError::Timeout),
                Err(http::HttpError::Failed(detail)) => Err(HttpError::Failed(detail)),
            }
        }

        fn secret(&self, name: &str) -> Option<String> {
            secrets::get(name)
        }

        fn log(&self, level: LogLevel, message: &str) {
            let level = match level {
                LogLevel::Debug => log::Level::Debug,
                LogLevel::Info => log::Level::Info,
                LogLevel::Warn => log::Level::Warn,
                LogLevel::Error => log::Level::Error,
            };
            log::write(level, message);
        }
    }
}
