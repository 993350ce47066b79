//! Staff API for call takers, authenticated with a `staff` API key of the
//! tenant as `Authorization: Bearer KEY`: the live call view, call details, linking a
//! call to requests, creating a request on a call, and the caller's history.
//!
//! Responses include the caller's number because staff need it; it is never
//! logged. Caller history is looked up through the call, so the number never
//! appears in a URL or an access log.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use civic311_domain::routing::AttributeValue;
use civic311_domain::{Channel, Locale};
use civic311_store::telephony::{Call, CallEvent, CallLink, CallOutcome, LinkRelation};
use civic311_store::{ApiKeyRecord, Contact, RequestQuery, ServiceRequest};
use serde::{Deserialize, Serialize};

use super::config::TelephonyConfig;
use super::{TelephonyTenant, WebhookError, telephony_tenant};
use crate::app::AppState;
use crate::error::ApiError;
use crate::intake::{self, RequestDraft};
use crate::staff::parse_json;

/// Calls that started longer ago than this are left out of the live view
/// even without an end event, so a lost final webhook does not keep a call
/// on screen forever.
const LIVE_WINDOW_HOURS: i64 = 12;

/// Most requests returned by caller history.
const CALLER_HISTORY_LIMIT: u64 = 50;

/// A call as the call taker's screen shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallView {
    pub id: String,
    pub provider: String,
    pub from: Option<String>,
    /// The city number dialled, and its label from the manifest.
    pub line: Option<String>,
    pub line_label: Option<String>,
    /// Department whose public line the caller dialled, with its English name.
    pub department: Option<String>,
    pub department_name: Option<String>,
    pub forwarded: bool,
    pub language: Option<Locale>,
    pub queue: Option<String>,
    pub outcome: CallOutcome,
    pub started_at: DateTime<Utc>,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub agent: Option<String>,
    pub agent_name: Option<String>,
    pub location: Option<String>,
    pub location_name: Option<String>,
    pub wait_seconds: Option<i64>,
    pub handle_seconds: Option<i64>,
    pub linked_requests: u32,
}

/// A call with its event log and linked requests.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallDetail {
    pub call: CallView,
    pub events: Vec<CallEvent>,
    pub links: Vec<CallLink>,
}

/// Body of `POST .../calls/{call_id}/links`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub request_id: String,
    /// `looked_up` (default) or `created`.
    #[serde(default)]
    pub relation: Option<LinkRelation>,
    /// Staff member who linked the call.
    #[serde(default)]
    pub actor: Option<String>,
}

/// Body of `POST .../calls/{call_id}/requests`: the request the call taker entered.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequestBody {
    pub service_code: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub long: Option<f64>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub address_id: Option<String>,
    #[serde(default)]
    pub zipcode: Option<String>,
    #[serde(default)]
    pub attributes: Vec<AttributeValue>,
    /// Contact details; the phone defaults to the caller's number.
    #[serde(default)]
    pub contact: Contact,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
}

/// Reply of `POST .../calls/{call_id}/requests`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedOnCall {
    pub request: ServiceRequest,
    pub link: CallLink,
}

/// Reply of `GET .../calls/{call_id}/caller-history`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallerHistory {
    /// Whether the call has a caller number to search by.
    pub caller_known: bool,
    pub total: u64,
    pub requests: Vec<ServiceRequest>,
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> ApiError {
        match error {
            WebhookError::NotConfigured { tenant, .. } => ApiError::NotFound { what: "telephony tenant", id: tenant },
            WebhookError::Store(error) => error.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Checks the Bearer API key as the staff API does and returns the tenant.
///
/// Returns 404 for a tenant without telephony, 401 without a key or with a
/// key that matches no tenant, and 403 for another tenant's key or a key
/// without the `staff` scope.
pub async fn authorized(state: &AppState, slug: &str, headers: &HeaderMap) -> Result<TelephonyTenant, ApiError> {
    authorized_with_key(state, slug, headers).await.map(|(tenant, _)| tenant)
}

/// Checks the Bearer API key like [`authorized`] and also returns the key,
/// for routes that scope an idempotency key to it.
async fn authorized_with_key(state: &AppState, slug: &str, headers: &HeaderMap) -> Result<(TelephonyTenant, ApiKeyRecord), ApiError> {
    let tenant = telephony_tenant(state, slug).await?;
    let authorized = crate::staff::authorize(state, headers, slug).await?;
    Ok((tenant, authorized.key))
}

/// Builds the call taker's view of a call, with names from the manifest.
pub fn call_view(tenant: &TelephonyTenant, call: Call) -> CallView {
    let config: &TelephonyConfig = &tenant.config;
    let manifest = &tenant.context.manifest;
    let summary = call.summary;

    let line_label = summary.line.as_deref().and_then(|number| config.line(number)).map(|line| line.label.clone());
    let department_name = summary
        .department
        .as_deref()
        .and_then(|code| manifest.department(code))
        .map(|department| department.name.get(Locale::En).to_string());
    let agent_name = summary.agent.as_deref().and_then(|code| config.agent(code)).map(|agent| agent.name.clone());
    let location_name = summary
        .location
        .as_deref()
        .and_then(|code| config.location(code))
        .map(|location| location.name.clone());

    CallView {
        id: call.id,
        provider: summary.provider.as_str().to_string(),
        from: summary.from,
        line: summary.line,
        line_label,
        department: summary.department,
        department_name,
        forwarded: summary.forwarded,
        language: summary.language,
        queue: summary.queue,
        outcome: summary.outcome,
        started_at: summary.started_at,
        enqueued_at: summary.enqueued_at,
        answered_at: summary.answered_at,
        ended_at: summary.ended_at,
        agent: summary.agent,
        agent_name,
        location: summary.location,
        location_name,
        wait_seconds: summary.wait_seconds,
        handle_seconds: summary.handle_seconds,
        linked_requests: call.linked_requests,
    }
}

/// `GET /telephony/{tenant}/calls`: calls in progress, oldest first.
pub async fn live_calls(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Vec<CallView>>, ApiError> {
    let tenant = authorized(&state, &slug, &headers).await?;
    let since = Utc::now() - Duration::hours(LIVE_WINDOW_HOURS);

    let calls = tenant.context.store.live_calls(since).await?;
    Ok(Json(calls.into_iter().map(|call| call_view(&tenant, call)).collect()))
}

/// `GET /telephony/{tenant}/calls/{call_id}`: one call with events and links.
pub async fn call_detail(
    State(state): State<AppState>,
    Path((slug, call_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<CallDetail>, ApiError> {
    let tenant = authorized(&state, &slug, &headers).await?;
    let call = find_call(&tenant, &call_id).await?;

    let events = tenant.context.store.call_events(&call_id).await?;
    let links = tenant.context.store.call_links(&call_id).await?;
    Ok(Json(CallDetail { call: call_view(&tenant, call), events, links }))
}

async fn find_call(tenant: &TelephonyTenant, call_id: &str) -> Result<Call, ApiError> {
    tenant
        .context
        .store
        .call(call_id)
        .await?
        .ok_or_else(|| ApiError::NotFound { what: "call", id: call_id.to_string() })
}

/// `POST /telephony/{tenant}/calls/{call_id}/links`: links a request the call
/// taker looked up (or created elsewhere) to the call.
pub async fn link_request(
    State(state): State<AppState>,
    Path((slug, call_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let tenant = authorized(&state, &slug, &headers).await?;
    let body: LinkBody = parse_json(&body)?;
    let relation = body.relation.unwrap_or(LinkRelation::LookedUp);

    let link = tenant
        .context
        .store
        .link_call_request(&call_id, &body.request_id, relation, body.actor, Utc::now())
        .await?;
    tracing::info!(tenant.id = tenant.context.id.0, call.id = %call_id, request.id = %body.request_id, "call linked to request");
    Ok((StatusCode::CREATED, Json(link)).into_response())
}

/// `POST /telephony/{tenant}/calls/{call_id}/requests`: creates a request
/// through intake with channel `phone` and the call's id, then links it.
pub async fn create_request(
    State(state): State<AppState>,
    Path((slug, call_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (tenant, api_key) = authorized_with_key(&state, &slug, &headers).await?;
    let body: NewRequestBody = parse_json(&body)?;
    let call = find_call(&tenant, &call_id).await?;

    let mut contact = body.contact;
    if contact.phone.is_none() {
        contact.phone = call.summary.from.clone();
    }
    let draft = RequestDraft {
        service_code: body.service_code,
        description: body.description,
        lat: body.lat,
        long: body.long,
        address: body.address,
        address_id: body.address_id,
        zipcode: body.zipcode,
        attributes: body.attributes,
        contact,
        channel: Some(Channel::Phone),
        call_id: Some(call_id.clone()),
        idempotency_key: body.idempotency_key,
        api_key_id: Some(api_key.id),
        ..Default::default()
    };

    let context = Arc::clone(&tenant.context);
    let request = intake::submit(&state, &context, draft).await?;
    let link = context
        .store
        .link_call_request(&call_id, &request.id, LinkRelation::Created, body.actor, Utc::now())
        .await?;
    tracing::info!(tenant.id = context.id.0, call.id = %call_id, request.id = %request.id, "request created on call");

    Ok((StatusCode::CREATED, Json(CreatedOnCall { request, link })).into_response())
}

/// `GET /telephony/{tenant}/calls/{call_id}/caller-history`: the caller's
/// earlier requests, newest first, found by the call's caller number.
pub async fn caller_history(
    State(state): State<AppState>,
    Path((slug, call_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<CallerHistory>, ApiError> {
    let tenant = authorized(&state, &slug, &headers).await?;
    let call = find_call(&tenant, &call_id).await?;

    let Some(phone) = call.summary.from else {
        return Ok(Json(CallerHistory { caller_known: false, total: 0, requests: Vec::new() }));
    };
    let query = RequestQuery {
        contact_phone: Some(phone),
        page: 1,
        page_size: CALLER_HISTORY_LIMIT,
        ..Default::default()
    };

    let page = tenant.context.store.query_requests(&query).await?;
    Ok(Json(CallerHistory { caller_known: true, total: page.total, requests: page.items }))
}
