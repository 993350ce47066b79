//! Bearer API key checks of the staff API and the telephony staff routes.

use std::sync::Arc;

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use civic311_store::{ApiKeyRecord, ApiKeyScope};

use crate::app::AppState;
use crate::error::ApiError;
use crate::tenants::TenantContext;

/// A tenant and the API key that proved access to it.
pub struct Authorized {
    pub tenant: Arc<TenantContext>,
    pub key: ApiKeyRecord,
}

impl Authorized {
    /// Returns the history actor for changes made with this key.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.key.name)
    }
}

/// Checks that `headers` carry a `staff` API key of the tenant `slug`.
///
/// Returns 404 for an unknown tenant, 401 without a key or with a key that
/// matches no tenant, and 403 for a valid key of another tenant or a key
/// whose scope is only `open311`.
pub async fn authorize(state: &AppState, headers: &HeaderMap, slug: &str) -> Result<Authorized, ApiError> {
    authorize_scope(state, headers, slug, ApiKeyScope::Staff).await
}

/// Checks that `headers` carry an API key of the tenant `slug` whose scope
/// includes `required`, with the statuses of [`authorize`].
pub async fn authorize_scope(state: &AppState, headers: &HeaderMap, slug: &str, required: ApiKeyScope) -> Result<Authorized, ApiError> {
    let tenant = state.tenants.by_slug(slug).ok_or_else(|| ApiError::NotFound {
        what: "tenant",
        id: slug.to_string(),
    })?;
    tracing::Span::current().record("tenant.id", tenant.id.0);

    let secret = bearer_token(headers)?;
    if let Some(key) = tenant.store.verify_api_key(secret).await? {
        require_scope(&key, required, slug)?;
        return Ok(Authorized { tenant, key });
    }

    for other in state.tenants.all() {
        if other.id != tenant.id && other.store.verify_api_key(secret).await?.is_some() {
            tracing::warn!(tenant.id = tenant.id.0, key.tenant.id = other.id.0, "API call with another tenant's API key");
            return Err(ApiError::Forbidden(format!(
                "this API key belongs to another tenant; use a key created with `civic311 api-key create --tenant {slug} --name <label> --scope {required}`"
            )));
        }
    }
    tracing::info!(tenant.id = tenant.id.0, "API call with an unknown API key");
    Err(ApiError::Unauthorized(format!(
        "invalid API key; create one with `civic311 api-key create --tenant {slug} --name <label> --scope {required}`"
    )))
}

/// Rejects a key of tenant `slug` whose scope does not include `required`, with 403.
fn require_scope(key: &ApiKeyRecord, required: ApiKeyScope, slug: &str) -> Result<(), ApiError> {
    if key.scope.allows(required) {
        return Ok(());
    }

    tracing::warn!(
        tenant.id = key.tenant_id.0,
        api_key.id = key.id,
        api_key.scope = %key.scope,
        required.scope = %required,
        "API call with an API key of too narrow a scope"
    );
    // The match is exhaustive, so a new scope does not compile until its grant is described here.
    let grants = match key.scope {
        ApiKeyScope::Open311 => "only submits Open311 requests",
        ApiKeyScope::Staff => "opens the staff APIs",
        ApiKeyScope::Admin => "opens the staff APIs and the plugin admin API",
    };
    Err(ApiError::Forbidden(format!(
        "API key '{}' has scope {}, which {grants}. This API needs scope {required}; \
         create such a key with `civic311 api-key create --tenant {slug} --name <label> --scope {required}`",
        key.name, key.scope
    )))
}

pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let missing = || ApiError::Unauthorized("missing header `Authorization: Bearer <api key>`".into());
    let value = headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let text = value.to_str().map_err(|_| missing())?;

    let (scheme, token) = text.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}
