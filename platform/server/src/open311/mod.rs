//! The Open311 GeoReport v2 API, nested at [`MOUNT_PATH`].
//!
//! Every route takes the format from the path suffix and the tenant from
//! `jurisdiction_id` (optional while the server hosts one jurisdiction).
//! Handlers return `Result<_, Open311Error>`, and `finish` writes errors in
//! the spec's `errors` body, in the same format, in one place.

mod discovery;
mod errors;
mod format;
mod media;
mod params;
mod render;
mod requests_get;
mod requests_post;
mod services;
mod stats;
mod tokens;
mod xml;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use civic311_domain::Locale;

use crate::app::AppState;
use crate::tenants::TenantContext;
use params::Params;

pub use errors::Open311Error;
pub use format::Format;

/// Path at which the server mounts [`router`]; links in replies are built under it.
pub const MOUNT_PATH: &str = "/open311/v2";

/// Environment variable with the public base URL of the server, such as
/// `https://311.example.org`, used in links when the server sits behind a
/// proxy. Without it, links use `http://` and the request's `Host` header.
pub const PUBLIC_URL_VAR: &str = "CIVIC311_PUBLIC_URL";

/// Builds the Open311 routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{file}", get(get_file).post(post_file))
        .route("/services/{file}", get(get_service_definition))
        .route("/requests/{file}", get(get_request))
        .route("/tokens/{file}", get(get_token))
        .route("/media/{request_id}/{index}", get(media::photo))
        .layer(DefaultBodyLimit::max(requests_post::MAX_BODY_BYTES))
}

/// Parts of the HTTP request that every handler needs.
struct Call {
    state: AppState,
    format: Format,
    params: Params,
    headers: HeaderMap,
}

impl Call {
    fn new(state: AppState, format: Format, query: Option<String>, headers: HeaderMap) -> Call {
        let params = Params::parse(query.as_deref().unwrap_or(""));
        Call {
            state,
            format,
            params,
            headers,
        }
    }

    /// Finds the tenant `jurisdiction_id` names and records its id on the
    /// request's span. Without the parameter, a server with one tenant uses
    /// it and a server with several rejects the call.
    pub fn tenant(&self) -> Result<Arc<TenantContext>, Open311Error> {
        let tenant = self.find_tenant()?;
        tracing::Span::current().record("tenant.id", tenant.id.0);
        Ok(tenant)
    }

    fn find_tenant(&self) -> Result<Arc<TenantContext>, Open311Error> {
        if let Some(jurisdiction_id) = self.params.get("jurisdiction_id") {
            return self
                .state
                .tenants
                .by_jurisdiction(jurisdiction_id)
                .ok_or_else(|| Open311Error::UnknownJurisdiction(jurisdiction_id.to_string()));
        }

        let mut tenants = self.state.tenants.all();
        if tenants.len() == 1 {
            return Ok(tenants.remove(0));
        }
        let known = tenants
            .iter()
            .map(|tenant| tenant.manifest.jurisdiction_id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Err(Open311Error::JurisdictionRequired { known })
    }

    /// Picks the reply language: the `locale` parameter, then
    /// `Accept-Language`, then the tenant's first locale. Only the tenant's
    /// locales are chosen.
    pub fn locale(&self, tenant: &TenantContext) -> Locale {
        let offered = &tenant.manifest.locales;
        let header = self
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok());
        [self.params.get("locale"), header]
            .into_iter()
            .flatten()
            .filter_map(Locale::negotiate)
            .find(|locale| offered.contains(locale))
            .or_else(|| offered.first().copied())
            .unwrap_or(Locale::En)
    }

    /// Returns the absolute URL of the Open311 API, without a trailing slash.
    pub fn base_url(&self) -> String {
        let origin = match std::env::var(PUBLIC_URL_VAR) {
            Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
            _ => {
                let host = self
                    .headers
                    .get(header::HOST)
                    .and_then(|value| value.to_str().ok());
                format!("http://{}", host.unwrap_or("localhost"))
            }
        };
        format!("{origin}{MOUNT_PATH}")
    }
}

/// Writes a handler's result: the reply itself, or the spec's error body.
fn finish(format: Format, result: Result<Response, Open311Error>) -> Response {
    result.unwrap_or_else(|error| error.into_response(format))
}

/// GET `discovery`, `services`, `requests` and `stats`, each `.json` or `.xml`.
async fn get_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (name, format) = match format::split_suffix(&file) {
        Ok(split) => split,
        Err(error) => return error.into_response(Format::Xml),
    };
    let call = Call::new(state, format, query, headers);

    let result = match name {
        "discovery" => discovery::discovery(&call).await,
        "services" => services::list(&call).await,
        "requests" => requests_get::list(&call).await,
        "stats" => stats::stats(&call).await,
        _ => Err(Open311Error::ResourceNotFound { path: file.clone() }),
    };
    finish(format, result)
}

/// POST `requests.json` or `requests.xml`.
async fn post_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let (name, format) = match format::split_suffix(&file) {
        Ok(split) => split,
        Err(error) => return error.into_response(Format::Xml),
    };
    if name != "requests" {
        return Open311Error::ResourceNotFound { path: file.clone() }.into_response(format);
    }

    let call = Call::new(state, format, query, headers);
    finish(format, requests_post::create(&call, request).await)
}

/// GET `services/{service_code}.{format}`.
async fn get_service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (code, format) = match format::split_suffix(&file) {
        Ok(split) => split,
        Err(error) => return error.into_response(Format::Xml),
    };
    let call = Call::new(state, format, query, headers);
    finish(format, services::definition(&call, code.trim()).await)
}

/// GET `requests/{service_request_id}.{format}`.
async fn get_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (id, format) = match format::split_suffix(&file) {
        Ok(split) => split,
        Err(error) => return error.into_response(Format::Xml),
    };
    let call = Call::new(state, format, query, headers);
    finish(format, requests_get::one(&call, id.trim()).await)
}

/// GET `tokens/{token}.{format}`.
async fn get_token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (token, format) = match format::split_suffix(&file) {
        Ok(split) => split,
        Err(error) => return error.into_response(Format::Xml),
    };
    let call = Call::new(state, format, query, headers);
    finish(format, tokens::lookup(&call, token.trim()).await)
}
