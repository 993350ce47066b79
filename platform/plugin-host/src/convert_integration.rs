//! Conversion between the domain integration types and the WIT types of the
//! `integration` world, with the caps on what a plugin may return.

use civic311_domain::plugin::{IntegrationRequest, RecordKind, SyncFailure, SyncedRecord};

use crate::bindings::integration as wit;
use crate::convert::{MAX_NAME_BYTES, truncate_message};
use crate::error::PluginError;

/// Builds the WIT request. A point is passed only when both coordinates are known.
pub(crate) fn to_wit_routed_request(request: &IntegrationRequest) -> wit::RoutedRequest {
    let location = match (request.lat, request.long) {
        (Some(lat), Some(long)) => Some(wit::GeoPoint { lat, long }),
        _ => None,
    };

    wit::RoutedRequest {
        id: request.id.clone(),
        service_code: request.service_code.clone(),
        service_name: request.service_name.clone(),
        description: request.description.clone(),
        address: request.address.clone(),
        location,
        answers: request
            .answers
            .iter()
            .map(|(code, values)| wit::Answer {
                code: code.clone(),
                values: values.clone(),
            })
            .collect(),
        department: request.department.clone(),
        priority: request.priority.as_str().to_string(),
        queue: request.queue.clone(),
        requested_at: request.requested_at.to_rfc3339(),
        config: request
            .config
            .iter()
            .map(|(key, value)| wit::ConfigEntry {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

/// Checks the shape of each record and converts them. A remote id must be
/// non-empty and, like a remote status, at most [`MAX_NAME_BYTES`] long.
pub(crate) fn from_wit_records(plugin: &str, records: Vec<wit::SyncedRecord>) -> Result<Vec<SyncedRecord>, PluginError> {
    let invalid = |message: String| PluginError::InvalidOutput {
        plugin: plugin.to_string(),
        message,
    };

    let mut converted = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        if record.remote_id.trim().is_empty() {
            return Err(invalid(format!("record {index} has an empty remote-id")));
        }
        if record.remote_id.len() > MAX_NAME_BYTES {
            return Err(invalid(format!(
                "record {index} has a remote-id of {} bytes, more than the limit of {MAX_NAME_BYTES}",
                record.remote_id.len()
            )));
        }
        if let Some(status) = &record.remote_status
            && status.len() > MAX_NAME_BYTES
        {
            return Err(invalid(format!(
                "record {index} has a remote-status of {} bytes, more than the limit of {MAX_NAME_BYTES}",
                status.len()
            )));
        }

        converted.push(SyncedRecord {
            kind: match record.kind {
                wit::RecordKind::WorkOrder => RecordKind::WorkOrder,
                wit::RecordKind::Inspection => RecordKind::Inspection,
                wit::RecordKind::Other => RecordKind::Other,
            },
            remote_id: record.remote_id,
            remote_status: record.remote_status,
            created: record.created,
        });
    }
    Ok(converted)
}

/// Converts the plugin's own `sync-error` to [`PluginError::SyncFailed`].
pub(crate) fn sync_failure(plugin: &str, error: wit::SyncError) -> PluginError {
    let failure = match error {
        wit::SyncError::Retry(message) => SyncFailure::Retry(truncate_message(message)),
        wit::SyncError::Rejected(message) => SyncFailure::Rejected(truncate_message(message)),
    };
    PluginError::SyncFailed {
        plugin: plugin.to_string(),
        failure,
    }
}

/// Fails with [`PluginError::InvalidOutput`] when `output` serialized as JSON
/// is larger than `max_bytes`.
pub(crate) fn check_output_size<T: serde::Serialize>(plugin: &str, output: &T, max_bytes: usize) -> Result<(), PluginError> {
    let size = serde_json::to_vec(output).map(|bytes| bytes.len()).map_err(|error| PluginError::Platform {
        plugin: Some(plugin.to_string()),
        message: format!("failed to measure the output size: {error}"),
    })?;
    if size > max_bytes {
        return Err(PluginError::InvalidOutput {
            plugin: plugin.to_string(),
            message: format!("the output is {size} bytes as JSON, more than the limit of {max_bytes} bytes"),
        });
    }
    Ok(())
}
