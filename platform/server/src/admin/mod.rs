//! The plugin admin API under `/api/v1`.
//!
//! A city's admins manage their plugins and installs under
//! `/tenants/{slug}/plugins…`, `/installs…`, `/plugin-audit` and
//! `/plugin-metrics` with an `admin` API key of the tenant
//! (`civic311 api-key create --tenant <slug> --name <label> --scope admin`).
//! Platform admins publish catalogue plugins and read the cost-share report
//! under `/platform/…` with `Authorization: Bearer <CIVIC311_PLATFORM_ADMIN_TOKEN>`.
//! Errors read `{ "error": { "code", "field", "message" } }`, as in the staff API.

mod auth;
mod catalogue;
mod dry_run;
mod installs;
mod lifecycle;
mod observe;
mod platform_auth;
mod plugins;
mod runtime;
mod secrets;
mod shadow;
mod upload;
pub mod views;

use axum::routing::{get, post, put};
use axum::Router;

use crate::app::AppState;

pub use dry_run::{dry_run_inputs, DryRunSelection};
pub use observe::parse_since;
pub use platform_auth::PLATFORM_ADMIN_TOKEN_VAR;

/// Routes of the plugin admin API, nested at `/api/v1`.
pub fn router() -> Router<AppState> {
    let install = "/tenants/{slug}/installs/{hook}/{name}";

    Router::new()
        .route("/tenants/{slug}/plugins", get(plugins::list))
        .route("/tenants/{slug}/plugins/{name}/versions", post(plugins::upload).get(plugins::versions))
        .route("/tenants/{slug}/plugins/{name}/versions/{version}", get(plugins::version))
        .route("/tenants/{slug}/installs", get(installs::list).post(installs::create))
        .route(install, get(installs::show))
        .route(&format!("{install}/activate"), post(lifecycle::activate))
        .route(&format!("{install}/rollback"), post(lifecycle::rollback))
        .route(&format!("{install}/deactivate"), post(lifecycle::deactivate))
        .route(&format!("{install}/grants"), put(installs::set_grants))
        .route(&format!("{install}/limits"), put(installs::set_limits))
        .route(&format!("{install}/config"), put(installs::set_config))
        .route(&format!("{install}/secrets/{{secret}}"), put(secrets::set).delete(secrets::delete))
        .route(&format!("{install}/dry-run"), post(dry_run::run))
        .route(&format!("{install}/shadow"), post(shadow::start).delete(shadow::stop))
        .route(&format!("{install}/shadow-results"), get(shadow::results))
        .route("/tenants/{slug}/plugin-audit", get(observe::audit))
        .route("/platform/catalogue", get(catalogue::list))
        .route("/platform/catalogue/{name}/versions", post(catalogue::publish).get(catalogue::versions))
        .merge(runtime::routes(install))
}
