//! Handlers of the staff API's service request routes.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use civic311_domain::SubStatus;
use civic311_store::{HistoryEvent, HistoryKind, NewHistoryEvent, RequestQuery, ServiceRequest, Visibility};
use serde_json::json;

use super::auth::{authorize, Authorized};
use super::body::{
    parse_json, CandidatesQuery, DuplicateBody, NewRequestBody, NoteBody, RequestPage, RequestWithHistory, SearchQuery,
    StatusBody, DEFAULT_PAGE_SIZE, DEFAULT_RADIUS_METERS, MAX_PAGE_SIZE, MAX_RADIUS_METERS,
};
use crate::app::AppState;
use crate::error::ApiError;
use crate::intake::{self, normalize_phone};

const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// `POST requests`: creates a request on any channel, `phone` by default.
pub async fn create(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<RequestWithHistory>), ApiError> {
    let auth = authorize(&state, &headers, &slug).await?;
    let body: NewRequestBody = parse_json(&body)?;

    let idempotency_key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .map(|value| value.to_str().map(|text| text.trim().to_string()))
        .transpose()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "the header must be visible ASCII text"))?
        .filter(|key| !key.is_empty());

    let mut draft = body.into_draft(idempotency_key);
    draft.api_key_id = Some(auth.key.id);
    let request = intake::submit(&state, &auth.tenant, draft).await?;

    let history = auth.tenant.store.history(&request.id).await?;
    Ok((StatusCode::CREATED, Json(RequestWithHistory { request, history })))
}

/// `GET requests/{id}`: the full record with contact and internal history.
pub async fn show(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<RequestWithHistory>, ApiError> {
    let auth = authorize(&state, &headers, &slug).await?;
    let request = find_request(&auth, &id).await?;

    let history = auth.tenant.store.history(&request.id).await?;
    Ok(Json(RequestWithHistory { request, history }))
}

/// `GET requests?phone=&q=`: caller history and search, newest first.
pub async fn search(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RequestPage>, ApiError> {
    let auth = authorize(&state, &headers, &slug).await?;
    let Query(query) = query.map_err(|rejection| ApiError::invalid("query", rejection.body_text()))?;

    let page_size = query.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page_size == 0 || page_size > MAX_PAGE_SIZE {
        return Err(ApiError::invalid("page_size", format!("{page_size} is out of range; give 1 to {MAX_PAGE_SIZE}")));
    }
    let page = query.page.unwrap_or(1);
    if page == 0 {
        return Err(ApiError::invalid("page", "pages count from 1"));
    }

    let store_query = RequestQuery {
        contact_phone: query.phone.as_deref().and_then(normalize_phone),
        text: query.q.map(|text| text.trim().to_string()).filter(|text| !text.is_empty()),
        page,
        page_size,
        ..RequestQuery::default()
    };
    let found = auth.tenant.store.query_requests(&store_query).await?;

    Ok(Json(RequestPage {
        items: found.items,
        total: found.total,
        page: found.page,
        page_size: found.page_size,
    }))
}

/// `POST requests/{id}/status`: changes the sub-status, with an optional note.
///
/// A public note goes into the `status_changed` entry. An internal note
/// becomes a separate internal `note` entry, so the public history shows the
/// change without the staff remark.
pub async fn change_status(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RequestWithHistory>, ApiError> {
    let auth = authorize(&state, &headers, &slug).await?;
    let body: StatusBody = parse_json(&body)?;
    let sub_status: SubStatus = body
        .sub_status
        .parse()
        .map_err(|error: civic311_domain::status::InvalidSubStatus| ApiError::invalid("sub_status", error.to_string()))?;
    let request = find_request(&auth, &id).await?;

    let note = body.note.map(|text| text.trim().to_string()).filter(|text| !text.is_empty());
    let visibility = body.visibility.unwrap_or(Visibility::Public);
    let now = Utc::now();
    let store = &auth.tenant.store;

    let public_note = if visibility == Visibility::Public { note.clone() } else { None };
    let changed = store
        .change_status(&request.id, sub_status, public_note, Some(auth.actor()), now)
        .await?;

    if let (Visibility::Internal, Some(text)) = (visibility, note) {
        store.append_history(&request.id, note_event(&auth, text, Visibility::Internal)).await?;
    }
    tracing::info!(tenant.id = auth.tenant.id.0, request.id = %changed.id, sub_status = %sub_status, "request status changed");

    let history = store.history(&changed.id).await?;
    Ok(Json(RequestWithHistory { request: changed, history }))
}

/// `POST requests/{id}/notes`: appends a note, internal unless marked public.
pub async fn add_note(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<HistoryEvent>), ApiError> {
    let auth = authorize(&state, &headers, &slug).await?;
    let body: NoteBody = parse_json(&body)?;
    let text = body.text.trim().to_string();
    if text.is_empty() {
        return Err(ApiError::invalid("text", "the note is empty; write the text to add"));
    }
    let request = find_request(&auth, &id).await?;

    let event = note_event(&auth, text, body.visibility.unwrap_or(Visibility::Internal));
    let stored = auth.tenant.store.append_history(&request.id, event).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// `POST requests/{id}/duplicate-of`: closes the request as a duplicate of `parent_id`.
pub async fn mark_duplicate(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<RequestWithHistory>, ApiError> {
    let auth = authorize(&state, &headers, &slug).await?;
    let body: DuplicateBody = parse_json(&body)?;
    let parent_id = body.parent_id.trim();
    if parent_id == id.trim() {
        return Err(ApiError::invalid("parent_id", "a request cannot be a duplicate of itself; give another request's id"));
    }

    let request = find_request(&auth, &id).await?;
    let parent = auth.tenant.store.request(parent_id).await?.ok_or_else(|| ApiError::InvalidField {
        field: "parent_id".into(),
        message: format!("request '{parent_id}' not found in this tenant"),
    })?;

    let closed = auth
        .tenant
        .store
        .mark_duplicate(&request.id, &parent.id, Some(auth.actor()), Utc::now())
        .await?;
    let history = auth.tenant.store.history(&closed.id).await?;
    Ok(Json(RequestWithHistory { request: closed, history }))
}

/// `GET requests/{id}/duplicate-candidates?radius_meters=`: open requests of
/// the same service nearby, nearest first.
pub async fn duplicate_candidates(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<CandidatesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<ServiceRequest>>, ApiError> {
    let auth = authorize(&state, &headers, &slug).await?;
    let Query(query) = query.map_err(|rejection| ApiError::invalid("query", rejection.body_text()))?;

    let radius = query.radius_meters.unwrap_or(DEFAULT_RADIUS_METERS);
    if !radius.is_finite() || radius <= 0.0 || radius > MAX_RADIUS_METERS {
        return Err(ApiError::invalid(
            "radius_meters",
            format!("{radius} is out of range; give more than 0 and at most {MAX_RADIUS_METERS} meters"),
        ));
    }

    let request = find_request(&auth, &id).await?;
    let candidates = auth.tenant.store.duplicate_candidates(&request.id, radius).await?;
    Ok(Json(candidates))
}

async fn find_request(auth: &Authorized, id: &str) -> Result<ServiceRequest, ApiError> {
    let id = id.trim();
    auth.tenant.store.request(id).await?.ok_or_else(|| ApiError::NotFound {
        what: "service request",
        id: id.to_string(),
    })
}

fn note_event(auth: &Authorized, text: String, visibility: Visibility) -> NewHistoryEvent {
    NewHistoryEvent {
        at: Utc::now(),
        kind: HistoryKind::Note,
        visibility,
        summary: text,
        detail: json!({ "api_key": auth.key.name }),
        actor: Some(auth.actor()),
    }
}
