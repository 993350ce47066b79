//! A tenant's installs: create, read, and change grants, limits and config.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_plugin_manager::{InstallRequest, PluginSource};
use civic311_store::{PluginInstall, TenantId};
use serde::Deserialize;

use super::auth::{authorize_admin, parse_hook};
use super::views::{InstallView, SecretNameView};
use crate::app::AppState;
use crate::error::ApiError;
use crate::staff::parse_json;

/// Body of `POST installs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInstallBody {
    pub hook: Hook,
    pub plugin: String,
    /// `tenant` (the default) for the tenant's own uploads, `catalogue` for
    /// a plugin the platform publishes.
    #[serde(default)]
    pub source: SourceBody,
    #[serde(default)]
    pub grants: Grants,
    #[serde(default)]
    pub limits: LimitOverrides,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// Owner of the plugin versions an install uses.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceBody {
    #[default]
    Tenant,
    Catalogue,
}

impl From<SourceBody> for PluginSource {
    fn from(source: SourceBody) -> PluginSource {
        match source {
            SourceBody::Tenant => PluginSource::Tenant,
            SourceBody::Catalogue => PluginSource::Catalogue,
        }
    }
}

/// `GET installs`: every install of the tenant, active or not.
pub async fn list(State(state): State<AppState>, Path(slug): Path<String>, headers: HeaderMap) -> Result<Json<Vec<InstallView>>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;

    let installs = admin.tenant.store.installs().await?;
    let host = state.plugins.config();
    Ok(Json(installs.iter().map(|install| InstallView::new(install, host)).collect()))
}

/// `POST installs`: installs a plugin on a hook, inactive until a version is activated.
pub async fn create(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<InstallView>), ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let body: NewInstallBody = parse_json(&body)?;

    let request = InstallRequest {
        hook: body.hook,
        plugin_name: body.plugin,
        source: body.source.into(),
        grants: body.grants,
        limits: body.limits,
        config: body.config,
    };
    let install = state.manager.install(admin.tenant.id, request, &admin.actor).await?;
    Ok((StatusCode::CREATED, Json(InstallView::new(&install, state.plugins.config()))))
}

/// `GET installs/{hook}/{name}`: the install with its secret names and the
/// limits its calls run with.
pub async fn show(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;

    let view = install_view(&state, admin.tenant.id, hook, &name).await?;
    Ok(Json(view))
}

/// `PUT installs/{hook}/{name}/grants`: replaces the install's grants.
pub async fn set_grants(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let grants: Grants = parse_json(&body)?;

    state.manager.set_grants(admin.tenant.id, hook, &name, grants, &admin.actor).await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}

/// `PUT installs/{hook}/{name}/limits`: replaces the install's limit overrides.
pub async fn set_limits(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let limits: LimitOverrides = parse_json(&body)?;

    state.manager.set_limits(admin.tenant.id, hook, &name, limits, &admin.actor).await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}

/// `PUT installs/{hook}/{name}/config`: replaces the install's config map.
pub async fn set_config(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let config: BTreeMap<String, String> = parse_json(&body)?;

    state.manager.set_config(admin.tenant.id, hook, &name, config, &admin.actor).await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}

/// Reads the install `(hook, name)` of `tenant`, or 404.
pub(super) async fn find_install(state: &AppState, tenant: TenantId, hook: Hook, name: &str) -> Result<PluginInstall, ApiError> {
    state
        .store
        .scoped(tenant)
        .install(hook, name)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "install",
            id: format!("{hook}/{name}"),
        })
}

/// Builds the detail view of an install, with its secret names.
pub(super) async fn install_view(state: &AppState, tenant: TenantId, hook: Hook, name: &str) -> Result<InstallView, ApiError> {
    let install = find_install(state, tenant, hook, name).await?;
    let secrets = state.manager.secret_names(tenant, hook, name).await?;
    let breaker = state.manager.breaker_state(tenant, hook, name).await?;

    let mut view = InstallView::new(&install, state.plugins.config());
    view.secrets = Some(secrets.into_iter().map(SecretNameView::from).collect());
    view.breaker.live = breaker;
    Ok(view)
}
