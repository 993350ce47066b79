//! Plugin versions a tenant can use: its own uploads and the catalogue's.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use civic311_plugin_manager::Upload;
use serde::Deserialize;

use super::auth::authorize_admin;
use super::upload::read_component;
use super::views::{UploadedView, VersionView};
use crate::app::AppState;
use crate::error::ApiError;

/// Query of an upload.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    pub description: Option<String>,
}

/// `GET plugins`: every version the tenant can install: the catalogue's,
/// then its own, each by name and version.
pub async fn list(State(state): State<AppState>, Path(slug): Path<String>, headers: HeaderMap) -> Result<Json<Vec<VersionView>>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;

    let versions = admin.tenant.store.plugin_versions(None).await?;
    Ok(Json(versions.iter().map(VersionView::from).collect()))
}

/// `GET plugins/{name}/versions`: the versions of `name` that the tenant
/// can install, the catalogue's and its own, marked by `source`.
pub async fn versions(
    State(state): State<AppState>,
    Path((slug, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;

    let versions = admin.tenant.store.plugin_versions(Some(&name)).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound { what: "plugin", id: name });
    }
    Ok(Json(versions.iter().map(VersionView::from).collect()))
}

/// `GET plugins/{name}/versions/{version}`: the tenant's own version, or
/// the catalogue's when the tenant has no plugin of that name and version.
pub async fn version(
    State(state): State<AppState>,
    Path((slug, name, version)): Path<(String, String, i32)>,
    headers: HeaderMap,
) -> Result<Json<VersionView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;

    let store = &admin.tenant.store;
    let found = match store.plugin_version(Some(admin.tenant.id), &name, version).await? {
        Some(version) => Some(version),
        None => store.plugin_version(None, &name, version).await?,
    };
    let found = found.ok_or_else(|| ApiError::NotFound {
        what: "plugin version",
        id: format!("{name} v{version}"),
    })?;
    Ok(Json(VersionView::from(&found)))
}

/// `POST plugins/{name}/versions`: uploads a component as the tenant's next
/// version of `name`. Returns 201 for new bytes and 200 with the existing
/// version when the same bytes were uploaded before.
pub async fn upload(
    State(state): State<AppState>,
    Path((slug, name)): Path<(String, String)>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<UploadedView>), ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let wasm = read_component(&headers, body, state.plugins.config().max_component_bytes).await?;

    let upload = Upload {
        name,
        wasm,
        description: query.description,
        actor: admin.actor,
    };
    let uploaded = state.manager.upload(admin.tenant.id, upload).await?;

    let status = if uploaded.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(UploadedView {
            created: uploaded.created,
            version: VersionView::from(&uploaded.version),
        }),
    ))
}
