//! Dry run of a candidate router version against stored service requests.
//! The manager runs candidate and active version side by side with no side
//! effects, and this module picks the requests and rebuilds their route inputs.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use civic311_domain::plugin::Hook;
use civic311_domain::routing::RouteInput;
use civic311_store::{RequestQuery, ServiceRequest};
use serde::Deserialize;

use super::auth::{authorize_admin, parse_hook};
use super::views::DryRunView;
use crate::app::AppState;
use crate::error::ApiError;
use crate::intake::route_input_for_stored;
use crate::staff::parse_json;
use crate::tenants::TenantContext;

/// Requests a dry run uses when the caller names none and gives no `last`.
pub const DEFAULT_LAST: u64 = 50;

/// Most requests one dry run may replay.
pub const MAX_LAST: u64 = 1000;

/// Selection of the stored requests a dry run replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DryRunSelection {
    /// The tenant's newest `n` requests by `requested_at`.
    Last(u64),
    /// These requests, in this order.
    Requests(Vec<String>),
}

impl DryRunSelection {
    /// Builds the selection from the optional `last` and `request_ids`
    /// inputs, rejecting both at once and a `last` outside 1..=1000.
    pub fn from_parts(last: Option<u64>, request_ids: Vec<String>) -> Result<DryRunSelection, ApiError> {
        match (last, request_ids.is_empty()) {
            (Some(_), false) => Err(ApiError::invalid("last", "give either last or request_ids, not both")),
            (None, false) if request_ids.len() as u64 > MAX_LAST => Err(ApiError::invalid(
                "request_ids",
                format!("{} request ids given; a dry run replays at most {MAX_LAST}", request_ids.len()),
            )),
            (None, false) => Ok(DryRunSelection::Requests(request_ids)),
            (Some(last), true) if !(1..=MAX_LAST).contains(&last) => {
                Err(ApiError::invalid("last", format!("{last} is out of range; give 1 to {MAX_LAST}")))
            }
            (last, true) => Ok(DryRunSelection::Last(last.unwrap_or(DEFAULT_LAST))),
        }
    }
}

/// Reads the selected requests of `tenant` and rebuilds each one's route
/// input as if it arrived again at its original time.
pub async fn dry_run_inputs(tenant: &TenantContext, selection: &DryRunSelection) -> Result<Vec<(String, RouteInput)>, ApiError> {
    let requests = select_requests(tenant, selection).await?;

    let inputs = requests
        .iter()
        .map(|request| (request.id.clone(), route_input_for_stored(tenant, request)))
        .collect();
    Ok(inputs)
}

async fn select_requests(tenant: &TenantContext, selection: &DryRunSelection) -> Result<Vec<ServiceRequest>, ApiError> {
    match selection {
        DryRunSelection::Last(last) => {
            let query = RequestQuery {
                page: 1,
                page_size: *last,
                ..RequestQuery::default()
            };
            Ok(tenant.store.query_requests(&query).await?.items)
        }
        DryRunSelection::Requests(ids) => {
            let mut requests = Vec::with_capacity(ids.len());
            for id in ids {
                let request = tenant.store.request(id).await?.ok_or_else(|| ApiError::NotFound {
                    what: "service request",
                    id: id.clone(),
                })?;
                requests.push(request);
            }
            Ok(requests)
        }
    }
}

/// Body of `POST dry-run`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    pub version: i32,
    /// Replay the newest `last` requests; 50 by default, at most 1000.
    pub last: Option<u64>,
    /// Replay these requests instead.
    #[serde(default)]
    pub request_ids: Vec<String>,
}

/// `POST installs/router/{name}/dry-run`: runs version `version` of the
/// router `name` and the active router on stored requests and returns
/// both decisions per request with what would change.
pub async fn run(
    State(state): State<AppState>,
    Path((slug, hook, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DryRunView>, ApiError> {
    let admin = authorize_admin(&state, &headers, &slug).await?;
    if parse_hook(&hook)? != Hook::Router {
        return Err(ApiError::invalid("hook", "a dry run replays routing decisions, so it runs on the router hook only"));
    }
    let body: DryRunBody = parse_json(&body)?;
    let selection = DryRunSelection::from_parts(body.last, body.request_ids)?;

    let inputs = dry_run_inputs(&admin.tenant, &selection).await?;
    let report = state.manager.dry_run(admin.tenant.id, &name, body.version, inputs).await?;
    Ok(Json(DryRunView(report)))
}
