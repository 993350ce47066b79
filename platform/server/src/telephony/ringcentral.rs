//! RingCentral-style webhook: the `Validation-Token` handshake and
//! telephony-session events mapped onto the call model.
//!
//! RingCentral documents no body signature, so each event is authenticated
//! by the subscription's verification token in `Verification-Token`. Older
//! RingCentral pages name the header `validation-token`, so both are accepted. Since that
//! second name equals the handshake header, a request is a handshake only
//! when its body is empty.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use civic311_domain::Locale;
use civic311_store::telephony::{CallEventDetail, CallEventKind, CallProvider, NewCallEvent, RecordOutcome};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::config::{RingCentralConfig, TelephonyConfig, normalize_number};
use super::{TelephonyTenant, WebhookError, parse_timestamp, telephony_tenant};
use crate::app::AppState;

/// Maximum handshake token echoed. RingCentral rejects a reply whose headers
/// and body exceed 1024 bytes, and the other reply headers take about 150.
const MAX_VALIDATION_TOKEN_BYTES: usize = 512;

/// Handles the handshake or one event delivery.
pub async fn webhook(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WebhookError> {
    let tenant = telephony_tenant(&state, &slug).await?;
    let settings = tenant.config.ringcentral.clone().ok_or_else(|| WebhookError::NotConfigured {
        tenant: slug.clone(),
        what: "RingCentral telephony",
    })?;

    let handshake_token = headers.get("validation-token");
    if body.iter().all(u8::is_ascii_whitespace)
        && let Some(token) = handshake_token
    {
        return handshake(token);
    }

    verify_token(&tenant, &settings, &headers)?;
    let envelope: Envelope = serde_json::from_slice(&body)
        .map_err(|error| WebhookError::BadRequest(format!("body is not a RingCentral event envelope: {error}")))?;

    if !envelope.event.contains("/telephony/sessions") {
        tracing::debug!(tenant.id = tenant.context.id.0, event = %envelope.event, "RingCentral event ignored: not a telephony session event");
        return Ok((StatusCode::OK, Json(serde_json::json!({ "recorded": 0, "duplicates": 0 }))).into_response());
    }

    let events = session_events(&tenant.config, &settings, &envelope)?;
    let (recorded, duplicates) = record_all(&tenant, events).await?;
    Ok((StatusCode::OK, Json(serde_json::json!({ "recorded": recorded, "duplicates": duplicates }))).into_response())
}

fn handshake(token: &HeaderValue) -> Result<Response, WebhookError> {
    if token.is_empty() || token.len() > MAX_VALIDATION_TOKEN_BYTES {
        return Err(WebhookError::BadRequest(format!(
            "Validation-Token must have 1 to {MAX_VALIDATION_TOKEN_BYTES} bytes, got {}",
            token.len()
        )));
    }

    let mut response = StatusCode::OK.into_response();
    response.headers_mut().insert("validation-token", token.clone());
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn verify_token(tenant: &TelephonyTenant, settings: &RingCentralConfig, headers: &HeaderMap) -> Result<(), WebhookError> {
    let expected = settings.verification_token.resolve()?;
    let received = headers.get("verification-token").or_else(|| headers.get("validation-token"));

    let matches = received.is_some_and(|value| bool::from(value.as_bytes().ct_eq(expected.expose().as_bytes())));
    if matches {
        return Ok(());
    }

    tracing::warn!(
        tenant.id = tenant.context.id.0,
        tenant.slug = %tenant.context.manifest.slug,
        token_present = received.is_some(),
        dev_token = expected.is_dev,
        "RingCentral webhook rejected: verification token does not match"
    );
    Err(WebhookError::Forbidden("verification token missing or invalid".into()))
}

async fn record_all(tenant: &TelephonyTenant, events: Vec<NewCallEvent>) -> Result<(u32, u32), WebhookError> {
    let mut recorded = 0;
    let mut duplicates = 0;
    for event in events {
        let call_id = event.call_id.clone();
        match tenant.context.store.record_call_event(event).await? {
            RecordOutcome::Recorded(_) => recorded += 1,
            RecordOutcome::Duplicate(_) => {
                duplicates += 1;
                tracing::debug!(tenant.id = tenant.context.id.0, call.id = %call_id, "duplicate RingCentral event ignored");
            }
        }
    }
    Ok((recorded, duplicates))
}

/// Maps each party of a telephony-session event onto a call event.
///
/// A party whose extension belongs to a configured agent is the agent's leg;
/// its `Answered` status records who answered and where. Any other party is
/// the caller's leg: `Setup` starts the call, `Proceeding` puts it in the
/// queue of the extension it rings, `Answered`, `VoiceMail` and
/// `Disconnected`/`Gone` answer, divert and end it.
fn session_events(
    config: &TelephonyConfig,
    settings: &RingCentralConfig,
    envelope: &Envelope,
) -> Result<Vec<NewCallEvent>, WebhookError> {
    let body = &envelope.body;
    let session = body
        .telephony_session_id
        .clone()
        .or_else(|| body.session_id.clone())
        .ok_or_else(|| WebhookError::BadRequest("body.telephonySessionId is missing".into()))?;
    let occurred_at = event_time(envelope);

    let events = body.parties.iter().map(|party| {
        let (kind, detail) = map_party(config, settings, party);
        NewCallEvent {
            provider: CallProvider::RingCentral,
            call_id: session.clone(),
            dedup_key: format!("ringcentral:{session}:{}:{}", body.sequence.unwrap_or(-1), party.id),
            sequence: body.sequence,
            occurred_at,
            kind,
            detail,
        }
    });
    Ok(events.collect())
}

fn event_time(envelope: &Envelope) -> DateTime<Utc> {
    envelope
        .body
        .event_time
        .as_deref()
        .or(envelope.timestamp.as_deref())
        .and_then(parse_timestamp)
        .unwrap_or_else(Utc::now)
}

fn map_party(config: &TelephonyConfig, settings: &RingCentralConfig, party: &Party) -> (CallEventKind, CallEventDetail) {
    let code = party.status.code.as_str();
    let provider_status = match &party.status.reason {
        Some(reason) => format!("{code}/{reason}"),
        None => code.to_string(),
    };

    let agent = party.extension_id.as_deref().and_then(|extension| config.agent_by_extension(extension));
    if let Some(agent) = agent {
        let kind = if code == "Answered" { CallEventKind::Answered } else { CallEventKind::Status };
        let detail = CallEventDetail {
            agent: Some(agent.code.clone()),
            location: Some(agent.location.clone()),
            provider_status: Some(provider_status),
            ..Default::default()
        };
        return (kind, detail);
    }

    let mut detail = caller_detail(config, party);
    detail.provider_status = Some(provider_status);
    let kind = match code {
        "Setup" => CallEventKind::Started,
        "Proceeding" => {
            let locale = queue_language(settings, party);
            let (locale, queue) = config.queue_for(locale);
            detail.language = Some(locale);
            detail.queue = Some(queue.to_string());
            CallEventKind::Enqueued
        }
        "Answered" => CallEventKind::Answered,
        "VoiceMail" => CallEventKind::Voicemail,
        "Disconnected" | "Gone" => CallEventKind::Ended,
        _ => CallEventKind::Status,
    };
    (kind, detail)
}

/// Builds the caller's number and the dialled line. Every caller-leg event
/// carries them, so the call keeps them even if its `Setup` event is lost.
fn caller_detail(config: &TelephonyConfig, party: &Party) -> CallEventDetail {
    let dialled = party.to.as_ref().and_then(|to| to.phone_number.as_deref());
    let line = dialled.and_then(|number| config.line(number));

    CallEventDetail {
        from: party.from.as_ref().and_then(|from| from.phone_number.as_deref()).map(normalize_number),
        line: line.map(|line| line.number.clone()).or_else(|| dialled.map(normalize_number)),
        department: line.and_then(|line| line.department.clone()),
        ..Default::default()
    }
}

/// Returns the language of the queue extension the caller's leg rings, or
/// English when the extension is not a configured queue extension.
fn queue_language(settings: &RingCentralConfig, party: &Party) -> Locale {
    let extension = party.to.as_ref().and_then(|to| to.extension_id.as_deref());
    settings
        .queue_extensions
        .iter()
        .find(|(_, configured)| Some(configured.as_str()) == extension)
        .map(|(locale, _)| *locale)
        .unwrap_or(Locale::En)
}

/// The notification envelope, with only the fields the call model uses.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    event: String,
    timestamp: Option<String>,
    body: SessionBody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    telephony_session_id: Option<String>,
    session_id: Option<String>,
    sequence: Option<i64>,
    event_time: Option<String>,
    #[serde(default)]
    parties: Vec<Party>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Party {
    id: String,
    extension_id: Option<String>,
    from: Option<Endpoint>,
    to: Option<Endpoint>,
    status: PartyStatus,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    phone_number: Option<String>,
    extension_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PartyStatus {
    code: String,
    reason: Option<String>,
}
