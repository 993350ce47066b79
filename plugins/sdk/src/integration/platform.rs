//! The bridge between the `integration` world and [`model`](super::model):
//! conversions of the world's types and [`PlatformCapabilities`], which
//! calls the platform's imports.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::model::{Capabilities, HttpError, HttpRequest, HttpResponse, LogLevel, Method, RecordKind, RoutedRequest, SyncFailure, SyncedRecord};
use super::{http, kv, log, secrets};

/// Converts `request` to the plain-Rust model, runs `sync` with the
/// platform's capabilities and converts its records or failure back. A
/// plugin's `Guest::sync_request` calls this with its own sync function.
pub fn run(
    request: super::RoutedRequest,
    sync: impl FnOnce(&RoutedRequest, &PlatformCapabilities) -> Result<Vec<SyncedRecord>, SyncFailure>,
) -> Result<Vec<super::SyncedRecord>, super::SyncError> {
    let records = sync(&RoutedRequest::from(request), &PlatformCapabilities)?;
    Ok(records.into_iter().map(super::SyncedRecord::from).collect())
}

impl From<super::RoutedRequest> for RoutedRequest {
    fn from(request: super::RoutedRequest) -> RoutedRequest {
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
}

impl From<SyncedRecord> for super::SyncedRecord {
    fn from(record: SyncedRecord) -> super::SyncedRecord {
        super::SyncedRecord {
            kind: match record.kind {
                RecordKind::WorkOrder => super::RecordKind::WorkOrder,
                RecordKind::Inspection => super::RecordKind::Inspection,
                RecordKind::Other => super::RecordKind::Other,
            },
            remote_id: record.remote_id,
            remote_status: record.remote_status,
            created: record.created,
        }
    }
}

impl From<SyncFailure> for super::SyncError {
    fn from(failure: SyncFailure) -> super::SyncError {
        match failure {
            SyncFailure::Retry(reason) => super::SyncError::Retry(reason),
            SyncFailure::Rejected(reason) => super::SyncError::Rejected(reason),
        }
    }
}

/// The capabilities as the platform's imports. Natively, where there is no
/// host, each method panics, so native tests implement [`Capabilities`].
pub struct PlatformCapabilities;

impl Capabilities for PlatformCapabilities {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        match http::send(&http_request(request)) {
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

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        kv::get(key).map_err(kv_error)
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        kv::set(key, value).map_err(kv_error)
    }

    fn kv_delete(&self, key: &str) -> Result<(), String> {
        kv::delete(key).map_err(kv_error)
    }
}

fn http_request(request: &HttpRequest) -> http::Request {
    http::Request {
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
    }
}

fn kv_error(error: kv::KvError) -> String {
    match error {
        kv::KvError::TooLarge(detail) => format!("too large: {detail}"),
        kv::KvError::Unavailable(detail) => format!("unavailable: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use super::*;
    use crate::integration;

    #[test]
    fn request_converts_from_world() {
        let request = integration::RoutedRequest {
            id: "HAV-1".to_string(),
            service_code: "pothole".to_string(),
            service_name: "Pothole".to_string(),
            description: "Deep".to_string(),
            address: Some("12 Main St".to_string()),
            location: Some(integration::GeoPoint { lat: 42.7, long: -71.0 }),
            answers: vec![integration::Answer { code: "size".to_string(), values: vec!["large".to_string()] }],
            department: "dpw".to_string(),
            priority: "high".to_string(),
            queue: None,
            requested_at: "2026-12-01T09:30:00-05:00".to_string(),
            config: vec![integration::ConfigEntry { key: "base_url".to_string(), value: "https://x".to_string() }],
        };

        let model = RoutedRequest::from(request);

        assert_eq!(model.location, Some((42.7, -71.0)));
        assert_eq!(model.answers, vec![("size".to_string(), vec!["large".to_string()])]);
        assert_eq!(model.config.get("base_url").map(String::as_str), Some("https://x"));
        assert_eq!(model.address.as_deref(), Some("12 Main St"));
    }

    #[test]
    fn record_and_failure_convert_to_world() {
        let record = SyncedRecord { kind: RecordKind::Inspection, remote_id: "IR-1".to_string(), remote_status: None, created: true };

        let converted = integration::SyncedRecord::from(record);

        assert_eq!(converted.kind, integration::RecordKind::Inspection);
        assert_eq!(converted.remote_id, "IR-1");
        assert!(converted.created);
        assert!(matches!(integration::SyncError::from(SyncFailure::Retry("x".to_string())), integration::SyncError::Retry(reason) if reason == "x"));
    }
}
