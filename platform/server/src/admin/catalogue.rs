//! The platform admin routes: catalogue plugins that several tenants can
//! install. The cost-share report is in `runtime.rs`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::NaiveDate;
use civic311_plugin_manager::Upload;

use super::platform_auth::authorize_platform;
use super::plugins::UploadQuery;
use super::upload::read_component;
use super::views::{UploadedView, VersionView};
use crate::app::AppState;
use crate::error::ApiError;

/// Audit actor of catalogue changes made through the API.
const PLATFORM_ACTOR: &str = "platform-admin";

/// `GET platform/catalogue`: every catalogue version, by name and version.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Vec<VersionView>>, ApiError> {
    authorize_platform(&headers)?;

    let versions = state.store.catalogue_versions(None).await?;
    Ok(Json(versions.iter().map(VersionView::from).collect()))
}

/// `GET platform/catalogue/{name}/versions`.
pub async fn versions(State(state): State<AppState>, Path(name): Path<String>, headers: HeaderMap) -> Result<Json<Vec<VersionView>>, ApiError> {
    authorize_platform(&headers)?;

    let versions = state.store.catalogue_versions(Some(&name)).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound {
            what: "catalogue plugin",
            id: name,
        });
    }
    Ok(Json(versions.iter().map(VersionView::from).collect()))
}

/// `POST platform/catalogue/{name}/versions`: publishes a component as the
/// catalogue's next version of `name`; 201 for new bytes, 200 for bytes
/// published before.
pub async fn publish(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<UploadedView>), ApiError> {
    authorize_platform(&headers)?;
    let wasm = read_component(&headers, body, state.plugins.config().max_component_bytes).await?;

    let upload = Upload {
        name,
        wasm,
        description: query.description,
        actor: PLATFORM_ACTOR.to_string(),
    };
    let uploaded = state.manager.publish(upload).await?;

    let status = if uploaded.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(UploadedView {
            created: uploaded.created,
            version: VersionView::from(&uploaded.version),
        }),
    ))
}

/// Parses a `YYYY-MM-DD` day of query field `field`.
pub fn parse_day(field: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, format!("'{text}' is not a date; give YYYY-MM-DD, such as 2026-11-01")))
}
