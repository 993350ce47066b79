//! The tenant admin key check and the path parts every install route shares.

use std::sync::Arc;

use axum::http::HeaderMap;
use civic311_domain::plugin::Hook;
use civic311_store::ApiKeyScope;

use crate::app::AppState;
use crate::error::ApiError;
use crate::staff::authorize_scope;
use crate::tenants::TenantContext;

/// A tenant and the name of the `admin` key that proved access to it.
pub(super) struct Admin {
    pub tenant: Arc<TenantContext>,
    /// Audit actor of changes made with this key, such as `admin:city-it`.
    pub actor: String,
}

/// Checks that `headers` carry an `admin` API key of tenant `slug`.
///
/// Returns 404 for an unknown tenant, 401 without a key or with an unknown
/// key, and 403 for another tenant's key or a key of a narrower scope.
pub(super) async fn authorize_admin(state: &AppState, headers: &HeaderMap, slug: &str) -> Result<Admin, ApiError> {
    let authorized = authorize_scope(state, headers, slug, ApiKeyScope::Admin).await?;
    Ok(Admin {
        actor: format!("admin:{}", authorized.key.name),
        tenant: authorized.tenant,
    })
}

/// Parses the `{hook}` path segment.
pub(super) fn parse_hook(text: &str) -> Result<Hook, ApiError> {
    text.parse().map_err(|error: civic311_domain::plugin::InvalidHook| ApiError::invalid("hook", error.to_string()))
}
