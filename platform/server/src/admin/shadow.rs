//! Shadow mode: a candidate version runs beside the active one on live
//! traffic, and the platform records where their decisions disagree.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

use super::auth::{authorize_admin, parse_hook};
use super::installs::install_view;
use super::views::{InstallView, ShadowResultView};
use crate::app::AppState;
use crate::error::ApiError;
use crate::staff::parse_json;

/// Results one call returns by default and at most.
const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

/// Body of `POST shadow`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowBody {
    pub version: i32,
}

/// Query of `GET shadow-results`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    pub limit: Option<u64>,
}

/// Returns the `limit` query value, checked against 1..=`max`.
pub(super) fn checked_limit(limit: Option<u64>, default: u64, max: u64) -> Result<u64, ApiError> {
    match limit {
        None => Ok(default),
        Some(limit) if (1..=max).contains(&limit) => Ok(limit),
        Some(limit) => Err(ApiError::invalid("limit", format!("{limit} is out of range; give 1 to {max}"))),
    }
}

/// `POST installs/{hook}/{name}/shadow`: starts shadowing `version`.
pub async fn start(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let body: ShadowBody = parse_json(&body)?;

    state.manager.start_shadow(admin.tenant.id, hook, &name, body.version, &admin.actor).await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}

/// `DELETE installs/{hook}/{name}/shadow`: stops shadowing; results stay.
pub async fn stop(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;

    state.manager.stop_shadow(admin.tenant.id, hook, &name, &admin.actor).await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}

/// `GET installs/{hook}/{name}/shadow-results?limit=`: newest first.
pub async fn results(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    Query(query): Query<LimitQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<ShadowResultView>>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let limit = checked_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;

    let results = state.manager.shadow_results(admin.tenant.id, hook, &name, limit).await?;
    Ok(Json(results.iter().map(ShadowResultView::from).collect()))
}
