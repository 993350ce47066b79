//! Reading an uploaded component from a request body. The size limit and
//! content type are checked before the plugin host receives the bytes.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use futures_util::StreamExt;

use crate::error::ApiError;

/// Content types accepted for a component upload.
const COMPONENT_CONTENT_TYPES: [&str; 2] = ["application/wasm", "application/octet-stream"];

/// Bodies up to this multiple of the upload limit are read to the end
/// before a 413, so that the client, still sending, receives the reply. A
/// larger body is cut off and the connection closed.
const DRAIN_FACTOR: u64 = 4;

/// Reads the component bytes of an upload, at most `limit` bytes.
///
/// Returns 415 for a body that is not sent as `application/wasm` and 413
/// for a body above `limit`.
pub(super) async fn read_component(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    check_content_type(headers)?;

    let drain_limit = (limit as u64).saturating_mul(DRAIN_FACTOR);
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(size) = declared.filter(|size| *size > drain_limit) {
        return Err(too_large(Some(size), limit));
    }

    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut received: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| ApiError::invalid("body", format!("the upload broke off: {error}; send it again")))?;
        received = received.saturating_add(chunk.len() as u64);
        if received > drain_limit {
            break;
        }
        if received <= limit as u64 {
            bytes.extend_from_slice(&chunk);
        }
    }

    if received > limit as u64 {
        return Err(too_large(Some(received).filter(|size| *size <= drain_limit), limit));
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid("body", "the body is empty; send the component's bytes with Content-Type: application/wasm"));
    }
    Ok(bytes)
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());

    match content_type {
        Some(value) if COMPONENT_CONTENT_TYPES.contains(&value.as_str()) => Ok(()),
        other => Err(ApiError::Status {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            field: Some("Content-Type".into()),
            message: format!(
                "Content-Type '{}' is not a component upload; send the .wasm bytes as the body with Content-Type: application/wasm",
                other.unwrap_or_else(|| "(none)".into())
            ),
        }),
    }
}

fn too_large(size: Option<u64>, limit: usize) -> ApiError {
    let size = size.map(|size| format!(" of {size} bytes")).unwrap_or_default();
    ApiError::Status {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_large",
        field: Some("body".into()),
        message: format!(
            "the component{size} is larger than the upload limit of {limit} bytes; \
             build it with the `plugin` profile (opt-level \"s\", LTO, stripped) to shrink it"
        ),
    }
}
