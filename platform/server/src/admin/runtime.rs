//! Routes that read or change the running installs: the breaker reset,
//! plugin logs, call metrics and the cost-share report from metered usage.

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use civic311_plugin_manager::cost_share::{parse_amount, Split};
use civic311_plugin_manager::PluginMetrics;
use serde::Deserialize;

use super::auth::{authorize_admin, parse_hook};
use super::catalogue::parse_day;
use super::installs::install_view;
use super::observe::{parse_since, DEFAULT_LIMIT, MAX_LIMIT};
use super::platform_auth::authorize_platform;
use super::shadow::{checked_limit, LimitQuery};
use super::views::{InstallView, LogLineView};
use crate::app::AppState;
use crate::error::ApiError;

/// `POST installs/{hook}/{name}/breaker/reset`: closes a tripped breaker so
/// the install's calls run again.
pub async fn reset_breaker(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<InstallView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;

    state.manager.reset_breaker(admin.tenant.id, hook, &name, &admin.actor).await?;
    Ok(Json(install_view(&state, admin.tenant.id, hook, &name).await?))
}

/// `GET installs/{hook}/{name}/logs?limit=`: the plugin's own log lines, newest first.
pub async fn logs(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    Query(query): Query<LimitQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<LogLineView>>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let hook = parse_hook(&hook)?;
    let limit = checked_limit(query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;

    let lines = state.manager.logs(admin.tenant.id, hook, &name, limit).await?;
    Ok(Json(lines.iter().map(LogLineView::from).collect()))
}

/// Query of `GET plugin-metrics`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// RFC 3339 instant; the last 24 hours by default.
    pub since: Option<String>,
}

/// `GET plugin-metrics?since=`: count, p50, p99 and failures per install and version.
pub async fn metrics(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<MetricsQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<PluginMetrics>>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    let since = parse_since(query.since.as_deref())?;

    let metrics = state.manager.metrics(admin.tenant.id, since).await?;
    Ok(Json(metrics))
}

/// Query of `GET platform/cost-share`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostShareQuery {
    pub plugin: String,
    /// First day, `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// Last day, `YYYY-MM-DD`, inclusive.
    pub to: String,
    /// Cost in currency units with at most two decimals.
    pub cost: String,
    /// `usage` (the default) or `equal`.
    pub split: Option<String>,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

/// `GET platform/cost-share`: divides `cost` among the tenants that used
/// the catalogue plugin between `from` and `to`, exact to the cent.
pub async fn cost_share(State(state): State<AppState>, Query(query): Query<CostShareQuery>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize_platform(&headers)?;

    let from = parse_day("from", &query.from)?;
    let to = parse_day("to", &query.to)?;
    let cost_cents = parse_amount(&query.cost)?;
    let split: Split = query.split.as_deref().unwrap_or("usage").parse()?;
    let csv = match query.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => return Err(ApiError::invalid("format", format!("'{other}' is not a report format; give json or csv"))),
    };

    let report = state.manager.cost_share(&query.plugin, from, to, cost_cents, split).await?;
    if csv {
        return Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], report.to_csv()).into_response());
    }
    Ok(Json(report).into_response())
}


/// Routes of this module, merged into the admin router; `install` is the
/// path of one install.
pub(super) fn routes(install: &str) -> Router<AppState> {
    Router::new()
        .route(&format!("{install}/breaker/reset"), post(reset_breaker))
        .route(&format!("{install}/logs"), get(logs))
        .route("/tenants/{slug}/plugin-metrics", get(metrics))
        .route("/platform/cost-share", get(cost_share))
}
