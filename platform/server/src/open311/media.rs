//! GET `media/{service_request_id}/{n}`: photos uploaded with a request.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::errors::Open311Error;
use super::{Call, Format};
use crate::app::AppState;

/// Serves photo `n` (from 1) with its stored content type. The request must
/// belong to the jurisdiction of the call; errors are written as XML, the
/// format every Open311 client reads.
pub async fn photo(
    State(state): State<AppState>,
    Path((request_id, index)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let call = Call::new(state, Format::Xml, query, headers);
    match load(&call, request_id.trim(), index.trim()).await {
        Ok(response) => response,
        Err(error) => error.into_response(Format::Xml),
    }
}

async fn load(call: &Call, request_id: &str, index: &str) -> Result<Response, Open311Error> {
    let tenant = call.tenant()?;
    let not_found = || Open311Error::PhotoNotFound {
        request_id: request_id.to_string(),
        index: index.to_string(),
        jurisdiction: tenant.manifest.jurisdiction_id.clone(),
    };
    let number = index
        .parse::<u32>()
        .ok()
        .filter(|number| *number >= 1)
        .ok_or_else(not_found)?;
    let photo = tenant
        .store
        .photo(request_id, number)
        .await?
        .ok_or_else(not_found)?;

    let content_type = HeaderValue::from_str(&photo.content_type).map_err(|_| {
        Open311Error::internal(format!(
            "stored photo has an invalid content type '{}'",
            photo.content_type
        ))
    })?;
    let mut response = (StatusCode::OK, photo.bytes).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, content_type);
    response_headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    Ok(response)
}
