//! Intake of new service requests from every channel: validation against the
//! service definition, routing by the tenant's plugin with a safe fallback,
//! the SLA due time, and the history entries written with the request.

mod fingerprint;
mod routing;
mod validate;

use chrono::{DateTime, Utc};
use civic311_domain::manifest::ServiceType;
use civic311_domain::routing::{AttributeValue, RouteInput};
use civic311_domain::sla::Sla;
use civic311_domain::{Channel, Locale, Priority, SubStatus};
use civic311_store::{
    Contact, HistoryKind, NewHistoryEvent, NewPhoto, NewServiceRequest, ServiceRequest, StoreError, Visibility,
};
use serde_json::json;

use crate::app::AppState;
use crate::i18n;
use crate::tenants::TenantContext;

pub use routing::{route_input, route_input_for_stored};
pub(crate) use routing::{joined_departments, routing_settings};
pub use validate::{MAX_ANSWER_CHARS, MAX_DESCRIPTION_CHARS};

/// A request as a channel submitted it, before validation.
#[derive(Clone, Debug, Default)]
pub struct RequestDraft {
    pub service_code: String,
    pub description: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub media_url: Option<String>,
    pub attributes: Vec<AttributeValue>,
    pub contact: Contact,
    pub channel: Option<Channel>,
    pub call_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// Id of the API key that authenticated the submission. An idempotency
    /// key repeats a request only when it comes with the same API key.
    pub api_key_id: Option<i64>,
    pub photos: Vec<NewPhoto>,
}

/// Reason intake rejected a draft. Each variant names the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("service_code '{code}' not found; GET services lists the codes")]
    UnknownService { code: String },
    #[error("{field}: {problem}")]
    InvalidField { field: String, problem: String },
    /// The client sent an idempotency key it used before with another payload.
    #[error("Idempotency-Key '{key}' was already used for a different request; send a new key for a new request")]
    IdempotencyKeyReused { key: String },
    #[error(transparent)]
    Store(#[from] civic311_store::StoreError),
}

/// Options of [`submit_with`] beyond the draft's own fields.
#[derive(Clone, Copy, Debug)]
pub struct SubmitOptions {
    /// Language of validation messages and public history summaries.
    pub locale: Locale,
    /// The instant the request counts as received; `None` means now. The
    /// routing local time and the SLA due time count from it.
    pub received_at: Option<DateTime<Utc>>,
}

impl Default for SubmitOptions {
    fn default() -> SubmitOptions {
        SubmitOptions {
            locale: Locale::En,
            received_at: None,
        }
    }
}

/// Validates, routes and stores a new service request, with English messages.
pub async fn submit(state: &AppState, tenant: &TenantContext, draft: RequestDraft) -> Result<ServiceRequest, IntakeError> {
    submit_with(state, tenant, draft, SubmitOptions::default()).await
}

/// Validates, routes and stores a new service request.
///
/// The request is stored with sub-status `submitted`, channel `web` unless
/// the draft names one, a public `created` entry and the routing entry. In
/// the same transaction it gets one integration job per active integration
/// install of the tenant, which the integration worker runs later.
///
/// A draft whose idempotency key and API key match a stored request returns
/// that request unchanged and skips routing when its payload fingerprint
/// matches too. When the fingerprint differs, it fails with `IdempotencyKeyReused`.
pub async fn submit_with(
    state: &AppState,
    tenant: &TenantContext,
    mut draft: RequestDraft,
    options: SubmitOptions,
) -> Result<ServiceRequest, IntakeError> {
    let service = validate::validate(&tenant.manifest, &draft, options.locale)?;
    let received = options.received_at.unwrap_or_else(Utc::now);
    draft.contact.phone = draft.contact.phone.as_deref().and_then(normalize_phone);

    let channel = draft.channel.unwrap_or(Channel::Web);
    let client = draft.api_key_id.map(|id| format!("api_key:{id}"));
    let payload_fingerprint = draft
        .idempotency_key
        .as_ref()
        .map(|_| fingerprint::fingerprint(&draft, &service.code, channel));
    if let Some(key) = &draft.idempotency_key {
        let stored = tenant
            .store
            .request_by_idempotency_key(client.as_deref(), key, payload_fingerprint.as_deref())
            .await
            .map_err(from_store)?;
        if let Some(stored) = stored {
            return Ok(stored);
        }
    }

    // A tenant with a router install gets the request's id before routing,
    // so call records, plugin logs and shadow results name the request.
    let public_id = match state.manager.registry().router(tenant.id) {
        Some(_) => Some(tenant.store.reserve_public_id().await.map_err(from_store)?),
        None => None,
    };
    let input = route_input(tenant, service, &draft, received);
    let outcome = routing::route_at(state, tenant, input, received, public_id.as_deref()).await;
    let expected_at = tenant.calendar.due(received, outcome.sla);

    let mut history = vec![created_event(&draft, channel, received, options.locale)];
    history.extend(outcome.history);

    let new = NewServiceRequest {
        service_code: service.code.clone(),
        service_name: service.name.get(Locale::En).to_string(),
        description: draft.description.unwrap_or_default(),
        lat: draft.lat,
        long: draft.long,
        address: trimmed(draft.address),
        address_id: trimmed(draft.address_id),
        zipcode: trimmed(draft.zipcode),
        media_url: trimmed(draft.media_url),
        attributes: draft.attributes,
        contact: draft.contact,
        channel,
        sub_status: SubStatus::Submitted,
        department: outcome.department,
        priority: outcome.priority,
        queue: outcome.queue,
        assignee: outcome.assignee,
        requested_at: received,
        updated_at: received,
        expected_at: Some(expected_at),
        closed_at: None,
        status_notes: None,
        with_token: service.service_type == ServiceType::Batch,
        source_id: None,
        public_id,
        call_id: draft.call_id,
        idempotency_key: draft.idempotency_key,
        idempotency_client: client,
        payload_fingerprint,
        photos: draft.photos,
        history,
        integration_installs: state.manager.integration_installs(tenant.id),
    };

    let stored = tenant.store.create_request(new).await.map_err(from_store)?;
    tracing::info!(tenant.id = tenant.id.0, request.id = %stored.id, service_code = %stored.service_code, department = %stored.department, channel = %stored.channel, "service request stored");
    Ok(stored)
}

/// Lifts a reused idempotency key out of the store error, so that each API
/// can answer it with its own 422 reply.
fn from_store(error: StoreError) -> IntakeError {
    match error {
        StoreError::IdempotencyKeyReused { key } => IntakeError::IdempotencyKeyReused { key },
        other => IntakeError::Store(other),
    }
}

fn created_event(draft: &RequestDraft, channel: Channel, received: DateTime<Utc>, locale: Locale) -> NewHistoryEvent {
    NewHistoryEvent {
        at: received,
        kind: HistoryKind::Created,
        visibility: Visibility::Public,
        summary: i18n::text(locale, "history-created", &[]),
        detail: json!({ "channel": channel.as_str(), "call_id": draft.call_id }),
        actor: None,
    }
}

fn trimmed(value: Option<String>) -> Option<String> {
    value
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// Normalizes a North American phone number to E.164 (`+1` and ten digits)
/// so caller history finds it however it was typed. Numbers that already
/// start with `+` keep their country code; other forms are kept as given,
/// trimmed. Returns `None` for a blank number.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let trimmed = phone.trim();
    if trimmed.is_empty() {
        return None;
    }

    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let normalized = if trimmed.starts_with('+') && digits.len() >= 8 {
        format!("+{digits}")
    } else if digits.len() == 10 {
        format!("+1{digits}")
    } else if digits.len() == 11 && digits.starts_with('1') {
        format!("+{digits}")
    } else {
        trimmed.to_string()
    };
    Some(normalized)
}

/// Routing result of a request: its department and the history entries that explain it.
#[derive(Clone, Debug)]
pub struct RoutingOutcome {
    pub department: String,
    pub priority: Priority,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    /// The SLA that applies: the plugin's override or the service's own.
    pub sla: Sla,
    /// `routed`, `routing_failed` when the plugin failed, or `routing_skipped`
    /// when its circuit breaker is open; in both latter cases the service's
    /// default department took the request.
    pub history: Vec<NewHistoryEvent>,
}

/// Runs the tenant's active router install on `input`. It returns no error,
/// because a plugin error, timeout, open circuit breaker, busy call slot or
/// unknown department falls back to the service's default department.
pub async fn route(state: &AppState, tenant: &TenantContext, input: RouteInput) -> RoutingOutcome {
    routing::route_at(state, tenant, input, Utc::now(), None).await
}

#[cfg(test)]
mod tests {
    use super::normalize_phone;

    #[test]
    fn phone_numbers_normalize_to_e164() {
        assert_eq!(normalize_phone("(978) 374-2300").as_deref(), Some("+19783742300"));
        assert_eq!(normalize_phone("1-978-374-2300").as_deref(), Some("+19783742300"));
        assert_eq!(normalize_phone("+44 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(normalize_phone("ext 12").as_deref(), Some("ext 12"));
        assert_eq!(normalize_phone("  ").as_deref(), None);
    }
}
