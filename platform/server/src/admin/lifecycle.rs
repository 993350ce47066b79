//! Activation, rollback and deactivation of an install's versions.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;

use super::auth::{authorize_admin, parse_hook};
use super::installs::install_view;
use super::views::{ActivationView, InstallView};
use crate::app::AppState;
use crate::error::ApiError;
use crate::staff::parse_json;

/// Body of `POST activate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateBody {
    pub version: i32,
}

/// Body of `POST rollback`; an empty body rolls back to the version active
/// before the current one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    pub to_version: Option<i32>,
}

/// `POST installs/{hook}/{name}/activate`: makes `version` the active one.
/// The version is loaded before the switch, so a failed load changes nothing.
pub async fn activate(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActivationView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let body: ActivateBody = parse_json(&body)?;

    let activation = state.manager.activate(admin.tenant.id, hook, &name, body.version, &admin.actor).await?;
    let install = install_view(&state, admin.tenant.id, hook, &name).await?;
    Ok(Json(ActivationView {
        from_version: activation.from,
        to_version: activation.to,
        install,
    }))
}

/// `POST installs/{hook}/{name}/rollback`: activates `to_version`, or by
/// default the version that was active before the current one.
pub async fn rollback(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActivationView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let body: RollbackBody = if body.iter().all(u8::is_ascii_whitespace) { RollbackBody::default() } else { parse_json(&body)? };

    let activation = state.manager.rollback(admin.tenant.id, hook, &name, body.to_version, &admin.actor).await?;
    let install = install_view(&state, admin.tenant.id, hook, &name).await?;
    Ok(Json(ActivationView {
        from_version: activation.from,
        to_version: activation.to,
        install,
    }))
}

/// `POST installs/{hook}/{name}/deactivate`: stops calling the install; a
/// router hook falls back to the services' default departments.
pub async fn deactivate(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;

    state.manager.deactivate(admin.tenant.id, hook, &name, &admin.actor).await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}
