//! Twilio-style voice webhooks. Each handler verifies `X-Twilio-Signature`,
//! records what the request reports as a call event, and returns TwiML.
//!
//! The call flow: `voice` plays the intro with the 911 notice and offers
//! Spanish. `language` enqueues the caller in that language's queue, and
//! `queue-result` records how the caller left the queue. An agent's softphone
//! calls `agent`, which dequeues the oldest caller, and Twilio then requests
//! `dequeue` on the caller's leg, which records who answered and where.
//! Outside business hours `voice` plays the hours message and, when the
//! tenant allows it, records a voicemail.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Path, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use civic311_domain::Locale;
use civic311_store::telephony::{CallEventDetail, CallEventKind, CallProvider, NewCallEvent};

use super::config::{TelephonyConfig, normalize_number};
use super::signature::{self, SignedRequest};
use super::twiml::Response as Twiml;
use super::{TelephonyTenant, WebhookError, parse_timestamp, telephony_tenant};
use crate::app::AppState;
use crate::i18n::{self, FluentValue};

/// Twilio `CallStatus` values after which the call is over.
const TERMINAL_STATUSES: [&str; 5] = ["completed", "busy", "failed", "no-answer", "canceled"];

/// Maximum voicemail length, in seconds.
const VOICEMAIL_MAX_SECONDS: u32 = 120;

/// A verified Twilio request: the tenant, its settings and the form parameters.
struct TwilioRequest {
    tenant: TelephonyTenant,
    params: Vec<(String, String)>,
    query: HashMap<String, String>,
}

impl TwilioRequest {
    /// Returns the first value of form parameter `name`.
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    fn call_sid(&self) -> Result<String, WebhookError> {
        self.param("CallSid")
            .map(str::to_string)
            .ok_or_else(|| WebhookError::BadRequest("CallSid parameter is missing".into()))
    }

    /// Returns the time the request reports (`Timestamp`, RFC 2822), or now.
    /// Twilio sends `Timestamp` on status callbacks only.
    fn occurred_at(&self) -> DateTime<Utc> {
        self.param("Timestamp").and_then(parse_timestamp).unwrap_or_else(Utc::now)
    }

    fn config(&self) -> &TelephonyConfig {
        &self.tenant.config
    }

    /// Builds the URL of another telephony route of this tenant, absolute when
    /// a public base URL is configured and root-relative otherwise.
    fn url(&self, route: &str) -> String {
        let base = self.config().public_base_url.as_deref().unwrap_or("");
        format!("{base}{}/{}/twilio/{route}", super::MOUNT_PATH, self.tenant.context.manifest.slug)
    }

    async fn record(&self, call_id: &str, key: &str, kind: CallEventKind, detail: CallEventDetail) -> Result<(), WebhookError> {
        self.record_at(call_id, key, kind, detail, None).await
    }

    async fn record_at(
        &self,
        call_id: &str,
        key: &str,
        kind: CallEventKind,
        detail: CallEventDetail,
        sequence: Option<i64>,
    ) -> Result<(), WebhookError> {
        let event = NewCallEvent {
            provider: CallProvider::Twilio,
            call_id: call_id.to_string(),
            dedup_key: format!("twilio:{call_id}:{key}"),
            sequence,
            occurred_at: self.occurred_at(),
            kind,
            detail,
        };

        let outcome = self.tenant.context.store.record_call_event(event).await?;
        tracing::debug!(
            tenant.id = self.tenant.context.id.0,
            call.id = call_id,
            event.kind = kind.as_str(),
            duplicate = matches!(outcome, civic311_store::telephony::RecordOutcome::Duplicate(_)),
            "Twilio call event recorded"
        );
        Ok(())
    }
}

/// A Twilio webhook request whose `X-Twilio-Signature` has been checked.
///
/// The extractor reads the tenant slug, target and body. A failed path or
/// body extraction returns axum's rejection, and a failed tenant lookup or
/// signature check returns the [`WebhookError`] response.
pub struct VerifiedTwilio(TwilioRequest);

impl FromRequest<AppState> for VerifiedTwilio {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Path(slug) = Path::<String>::from_request_parts(&mut parts, state).await.map_err(IntoResponse::into_response)?;
        let Ok(uri) = OriginalUri::from_request_parts(&mut parts, state).await;
        let target = uri.0.path_and_query().map(|target| target.as_str().to_string()).unwrap_or_else(|| "/".into());
        let headers = parts.headers.clone();

        let request = Request::from_parts(parts, body);
        let body = Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;

        let raw = RawRequest { slug, target, headers, body };
        verified(state, raw).await.map(VerifiedTwilio).map_err(IntoResponse::into_response)
    }
}

/// The parts of an HTTP request every Twilio handler reads.
struct RawRequest {
    slug: String,
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

async fn verified(state: &AppState, raw: RawRequest) -> Result<TwilioRequest, WebhookError> {
    let tenant = telephony_tenant(state, &raw.slug).await?;
    let source = tenant.config.twilio.as_ref().ok_or_else(|| WebhookError::NotConfigured {
        tenant: raw.slug.clone(),
        what: "Twilio telephony",
    })?;
    let token = source.resolve()?;

    let header_text = |name: &str| raw.headers.get(name).and_then(|value| value.to_str().ok());
    let request = SignedRequest {
        target: &raw.target,
        host: header_text(header::HOST.as_str()),
        content_type: header_text(header::CONTENT_TYPE.as_str()),
        body: &raw.body,
        signature: header_text("x-twilio-signature"),
    };

    if let Err(error) = signature::verify(token.expose(), tenant.config.public_base_url.as_deref(), &request) {
        tracing::warn!(
            tenant.id = tenant.context.id.0,
            tenant.slug = %raw.slug,
            path = %raw.target.split('?').next().unwrap_or(""),
            dev_token = token.is_dev,
            %error,
            "Twilio webhook rejected: bad signature"
        );
        return Err(WebhookError::Forbidden(format!("invalid Twilio signature: {error}")));
    }

    let query = raw
        .target
        .split_once('?')
        .map(|(_, query)| url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
        .unwrap_or_default();

    Ok(TwilioRequest { tenant, params: signature::form_params(&raw.body), query })
}

fn twiml_response(twiml: Twiml) -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], twiml.render()).into_response()
}

/// Voice webhook: records the call and the line it came in on, then plays
/// the intro and language menu, or the after-hours message.
pub async fn voice(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let call_sid = request.call_sid()?;

    let detail = dialled_line(&request);
    request.record(&call_sid, "voice", CallEventKind::Started, detail).await?;

    let open = request.tenant.context.calendar.is_open(request.occurred_at());
    if !open {
        request.record(&call_sid, "after-hours", CallEventKind::AfterHours, CallEventDetail::default()).await?;
        return Ok(twiml_response(after_hours_twiml(&request)));
    }

    Ok(twiml_response(menu_twiml(&request)))
}

/// Finds which line the caller dialled: a forwarding department line first
/// (`ForwardedFrom`), then the number called (`To`).
fn dialled_line(request: &TwilioRequest) -> CallEventDetail {
    let config = request.config();
    let forwarded = request.param("ForwardedFrom").and_then(|number| config.line(number));
    let called = request.param("To").and_then(|number| config.line(number));

    let (line, department) = match forwarded.or(called) {
        Some(line) => (Some(line.number.clone()), line.department.clone()),
        None => (request.param("To").map(normalize_number), None),
    };

    CallEventDetail {
        from: request.param("From").map(normalize_number),
        line,
        department,
        forwarded: forwarded.is_some(),
        provider_status: request.param("CallStatus").map(str::to_string),
        ..Default::default()
    }
}

fn menu_twiml(request: &TwilioRequest) -> Twiml {
    let config = request.config();
    let mut prompts = vec![(Locale::En, config.menu_for(Locale::En).intro.as_str())];
    if config.offers_spanish()
        && let Some(option) = config.menu_for(Locale::Es).language_option.as_deref()
    {
        prompts.push((Locale::Es, option));
    }

    let language_url = request.url("language");
    Twiml::new().gather_digit(&language_url, &prompts).redirect(&language_url)
}

fn after_hours_twiml(request: &TwilioRequest) -> Twiml {
    let config = request.config();
    let mut twiml = Twiml::new();
    for locale in [Locale::En, Locale::Es] {
        if locale == Locale::Es && !config.menu.contains_key(&Locale::Es) {
            continue;
        }
        twiml = twiml.say(locale, &after_hours_text(request, locale));
    }

    if config.after_hours_voicemail {
        twiml.record(&request.url("voicemail"), VOICEMAIL_MAX_SECONDS).hangup()
    } else {
        twiml.hangup()
    }
}

/// Returns the tenant's after-hours text, or the product's translated
/// fallback that names the web portal.
fn after_hours_text(request: &TwilioRequest, locale: Locale) -> String {
    if let Some(text) = request.config().menu.get(&locale).and_then(|menu| menu.after_hours.clone()) {
        return text;
    }

    let manifest = &request.tenant.context.manifest;
    let portal = manifest.portal_url.clone().unwrap_or_else(|| manifest.jurisdiction_id.clone());
    i18n::text(locale, "telephony-after-hours", &[("city", FluentValue::from(manifest.name.as_str())), ("portal", FluentValue::from(portal))])
}

/// Language choice: `Digits=2` picks Spanish where offered; no input or any
/// other digit keeps English. Enqueues the caller in that language's queue.
pub async fn language(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let call_sid = request.call_sid()?;

    let config = request.config();
    let chosen = match request.param("Digits") {
        Some("2") if config.offers_spanish() => Locale::Es,
        _ => Locale::En,
    };
    let (locale, queue) = config.queue_for(chosen);

    let language = CallEventDetail { language: Some(locale), ..Default::default() };
    request.record(&call_sid, "language", CallEventKind::LanguageSelected, language).await?;
    let enqueued = CallEventDetail { language: Some(locale), queue: Some(queue.to_string()), ..Default::default() };
    request.record(&call_sid, "enqueued", CallEventKind::Enqueued, enqueued).await?;

    let query = format!("?lang={}", locale.as_str());
    let twiml = Twiml::new().enqueue(
        queue,
        &format!("{}{query}", request.url("queue-result")),
        &format!("{}{query}", request.url("wait")),
    );
    Ok(twiml_response(twiml))
}

/// Hold content played while the caller waits (`waitUrl`); records nothing.
pub async fn wait(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let locale = request_locale(&request);

    let mut twiml = Twiml::new();
    if let Some(hold) = request.config().menu_for(locale).hold.as_deref() {
        twiml = twiml.say(locale, hold);
    }
    Ok(twiml_response(twiml.pause(20)))
}

fn request_locale(request: &TwilioRequest) -> Locale {
    match request.query.get("lang").map(String::as_str) {
        Some("es") => Locale::Es,
        _ => Locale::En,
    }
}

/// `<Enqueue>` action: records `QueueResult` and `QueueTime`. A caller the
/// queue could not take hears an apology and may leave a voicemail.
pub async fn queue_result(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let call_sid = request.call_sid()?;
    let result = request.param("QueueResult").unwrap_or("unknown").to_string();

    let detail = CallEventDetail {
        queue_result: Some(result.clone()),
        wait_seconds: request.param("QueueTime").and_then(|value| value.parse().ok()),
        ..Default::default()
    };
    request.record(&call_sid, "queue-result", CallEventKind::LeftQueue, detail).await?;

    let caller_gone = matches!(result.as_str(), "hangup" | "bridged" | "bridging-in-process" | "redirected-from-bridged");
    if caller_gone {
        return Ok(twiml_response(Twiml::new()));
    }

    let locale = request_locale(&request);
    let twiml = Twiml::new().say(locale, &i18n::text(locale, "telephony-queue-unavailable", &[]));
    let twiml = if request.config().after_hours_voicemail {
        twiml.record(&request.url("voicemail"), VOICEMAIL_MAX_SECONDS).hangup()
    } else {
        twiml.hangup()
    };
    Ok(twiml_response(twiml))
}

/// Status callback: records `CallStatus` with its `SequenceNumber`; a
/// terminal status ends the call.
///
/// Callbacks for a `CallSid` the voice webhook never saw (such as an agent's
/// own leg) are acknowledged and not stored, because Twilio answers every
/// inbound call through the voice webhook before any status callback.
pub async fn status(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let call_sid = request.call_sid()?;

    if request.tenant.context.store.call(&call_sid).await?.is_none() {
        tracing::debug!(tenant.id = request.tenant.context.id.0, call.id = %call_sid, "status callback for an unknown call ignored");
        return Ok(twiml_response(Twiml::new()));
    }

    let status = request.param("CallStatus").unwrap_or("unknown").to_string();
    let sequence: Option<i64> = request.param("SequenceNumber").and_then(|value| value.parse().ok());
    let kind = if TERMINAL_STATUSES.contains(&status.as_str()) { CallEventKind::Ended } else { CallEventKind::Status };
    let detail = CallEventDetail {
        duration_seconds: request.param("CallDuration").and_then(|value| value.parse().ok()),
        provider_status: Some(status.clone()),
        ..Default::default()
    };

    let key = match sequence {
        Some(sequence) => format!("status:{sequence}"),
        None => format!("status:{status}"),
    };
    request.record_at(&call_sid, &key, kind, detail, sequence).await?;
    Ok(twiml_response(Twiml::new()))
}

/// Agent softphone webhook, with `agent` and optional `location` in the
/// query: dials the oldest caller of the agent's queue (`lang` picks it).
pub async fn agent(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let (agent, location) = agent_and_location(&request)?;
    let (_, queue) = request.config().queue_for(request_locale(&request));

    let dequeue_url = format!(
        "{}?{}",
        request.url("dequeue"),
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("agent", &agent)
            .append_pair("location", &location)
            .finish()
    );
    Ok(twiml_response(Twiml::new().dial_queue(queue, &dequeue_url)))
}

fn agent_and_location(request: &TwilioRequest) -> Result<(String, String), WebhookError> {
    let code = request
        .query
        .get("agent")
        .ok_or_else(|| WebhookError::BadRequest("agent query parameter is missing; add ?agent=CODE to the softphone URL".into()))?;
    let agent = request.config().agent(code).ok_or_else(|| {
        WebhookError::BadRequest(format!("agent '{code}' is not configured; add it under [[telephony.agents]]"))
    })?;

    let location = request.query.get("location").cloned().unwrap_or_else(|| agent.location.clone());
    if request.config().location(&location).is_none() {
        return Err(WebhookError::BadRequest(format!(
            "location '{location}' is not configured; add it under [[telephony.locations]]"
        )));
    }

    Ok((agent.code.clone(), location))
}

/// `<Queue url>` callback on the caller's leg when an agent dequeues it:
/// records the answer with agent, location and `QueueTime`.
pub async fn dequeue(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let call_sid = request.call_sid()?;
    let (agent, location) = agent_and_location(&request)?;

    let detail = CallEventDetail {
        agent: Some(agent),
        location: Some(location),
        wait_seconds: request.param("QueueTime").and_then(|value| value.parse().ok()),
        provider_status: request.param("DequeingCallSid").map(|_| "dequeued".to_string()),
        ..Default::default()
    };
    request.record(&call_sid, "answered", CallEventKind::Answered, detail).await?;
    Ok(twiml_response(Twiml::new()))
}

/// `<Record>` action: records that the caller left a voicemail. The
/// recording URL is not stored.
pub async fn voicemail(VerifiedTwilio(request): VerifiedTwilio) -> Result<Response, WebhookError> {
    let call_sid = request.call_sid()?;

    let detail = CallEventDetail {
        duration_seconds: request.param("RecordingDuration").and_then(|value| value.parse().ok()),
        ..Default::default()
    };
    request.record(&call_sid, "voicemail", CallEventKind::Voicemail, detail).await?;

    let locale = request_locale(&request);
    let thanks = i18n::text(locale, "telephony-voicemail-thanks", &[]);
    Ok(twiml_response(Twiml::new().say(locale, &thanks).hangup()))
}
