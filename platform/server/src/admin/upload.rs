//! Reading an uploaded component from a request body, with the size limit
//! and content type checked before the plugin host sees the bytes.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};

use crate::error::ApiError;

/// Content types accepted for a component upload.
const COMPONENT_CONTENT_TYPES: [&str; 2] = ["application/wasm", "application/octet-stream"];

/// Reads the component bytes of an upload, at most `limit` bytes.
///
/// Returns 415 for a body that is not sent as `application/wasm` and 413
/// for a body above `limit`.
pub(super) async fn read_component(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    check_content_type(headers)?;

    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(size) = declared.filter(|size| *size > limit as u64) {
        return Err(too_large(Some(size), limit));
    }

    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| too_large(None, limit))?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("body", "the body is empty; send the component's bytes with Content-Type: application/wasm"));
    }
    Ok(bytes.to_vec())
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
