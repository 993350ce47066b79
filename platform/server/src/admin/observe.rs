//! The plugin audit log, and the `since` parameter of the metrics routes.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use civic311_plugin_manager::AuditFilter;
use serde::Deserialize;

use super::auth::{authorize_admin, parse_hook};
use super::shadow::checked_limit;
use super::views::AuditEntryView;
use crate::app::AppState;
use crate::error::ApiError;

pub(super) const DEFAULT_LIMIT: u64 = 100;
pub(super) const MAX_LIMIT: u64 = 1000;

/// Window of `plugin-metrics` when the query gives no `since`.
const DEFAULT_METRICS_WINDOW: Duration = Duration::hours(24);

/// Query of `GET plugin-audit`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub hook: Option<String>,
    pub name: Option<String>,
    pub limit: Option<u64>,
}

/// `GET plugin-audit?hook=&name=&limit=`: who changed which install, when,
/// from which version to which, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<AuditQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<AuditEntryView>>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = query.hook.as_deref().map(parse_hook).transpose()?;
    let limit = checked_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;

    let filter = AuditFilter {
        hook,
        plugin_name: query.name,
        limit,
    };
    let entries = state.manager.audit(admin.tenant.id, filter).await?;
    Ok(Json(entries.iter().map(AuditEntryView::from).collect()))
}

/// Parses an RFC 3339 instant, or returns 24 hours ago.
pub fn parse_since(text: Option<&str>) -> Result<DateTime<Utc>, ApiError> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(Utc::now() - DEFAULT_METRICS_WINDOW),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|instant| instant.with_timezone(&Utc))
            .map_err(|error| ApiError::invalid("since", format!("'{text}' is not an RFC 3339 instant ({error}); give one such as 2026-12-01T00:00:00Z"))),
    }
}
