//! An install's secrets: set and delete by name. No reply carries a value.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::auth::{authorize_admin, parse_hook};
use super::installs::install_view;
use super::views::InstallView;
use crate::app::AppState;
use crate::error::ApiError;

/// Body of `PUT secrets/{secret}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretBody {
    pub value: String,
}

/// `PUT installs/{hook}/{name}/secrets/{secret}`: stores the value encrypted
/// with the platform key and returns the install with secret names only.
pub async fn set(
    State(state): State<AppState>,
    Path((slug, hook, name, secret)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    // A JSON error message quotes at most the position, never the value.
    let body: SecretBody = serde_json::from_slice(&body).map_err(|error| {
        ApiError::invalid("body", format!("invalid JSON body at line {} column {}; send {{\"value\": \"...\"}}", error.line(), error.column()))
    })?;

    state
        .manager
        .set_secret(admin.tenant.id, hook, &name, &secret, &body.value, &admin.actor)
        .await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}

/// `DELETE installs/{hook}/{name}/secrets/{secret}`.
pub async fn delete(
    State(state): State<AppState>,
    Path((slug, hook, name, secret)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<InstallView>), ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;

    state.manager.delete_secret(admin.tenant.id, hook, &name, &secret, &admin.actor).await?;
    Ok((StatusCode::OK, Json(install_view(&state, admin.tenant.id, hook, &name).await?)))
}
