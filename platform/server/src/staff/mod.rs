//! The staff JSON API under `/api/v1/tenants/{slug}`, for call takers and
//! department staff. Every route needs `Authorization: Bearer <api key>`
//! with a `staff` key of the tenant; errors read
//! `{ "error": { "code", "field", "message" } }`.

mod auth;
mod body;
mod requests;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub(crate) use auth::bearer_token;
pub use auth::{authorize, authorize_scope, Authorized};
pub use body::parse_json;

/// Routes of the staff API, nested at `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/{slug}/requests", post(requests::create).get(requests::search))
        .route("/tenants/{slug}/requests/{id}", get(requests::show))
        .route("/tenants/{slug}/requests/{id}/status", post(requests::change_status))
        .route("/tenants/{slug}/requests/{id}/notes", post(requests::add_note))
        .route("/tenants/{slug}/requests/{id}/duplicate-of", post(requests::mark_duplicate))
        .route("/tenants/{slug}/requests/{id}/duplicate-candidates", get(requests::duplicate_candidates))
}
