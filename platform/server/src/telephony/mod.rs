//! Telephony hooks, nested at `/telephony`: Twilio-style voice webhooks that
//! return TwiML, RingCentral-style webhooks, and the staff API for live
//! calls, call-to-request links, caller history and call-centre metrics.
//!
//! Every route starts with the tenant slug. A tenant whose manifest has no
//! `[telephony]` table answers 404 on all of them.

pub mod config;
pub mod metrics;
pub mod ringcentral;
pub mod signature;
pub mod staff;
pub mod twilio;
pub mod twiml;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use civic311_store::StoreError;
use civic311_store::telephony::{CallAgent, CallLocation};

use crate::app::AppState;
use crate::tenants::TenantContext;
use config::TelephonyConfig;

/// Path the server nests [`router`] under.
pub const MOUNT_PATH: &str = "/telephony";

/// Builds the telephony routes, to be nested at [`MOUNT_PATH`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/twilio/voice", post(twilio::voice))
        .route("/{tenant}/twilio/language", post(twilio::language))
        .route("/{tenant}/twilio/wait", post(twilio::wait))
        .route("/{tenant}/twilio/queue-result", post(twilio::queue_result))
        .route("/{tenant}/twilio/status", post(twilio::status))
        .route("/{tenant}/twilio/agent", post(twilio::agent))
        .route("/{tenant}/twilio/dequeue", post(twilio::dequeue))
        .route("/{tenant}/twilio/voicemail", post(twilio::voicemail))
        .route("/{tenant}/ringcentral/webhook", post(ringcentral::webhook))
        .route("/{tenant}/calls", get(staff::live_calls))
        .route("/{tenant}/calls/{call_id}", get(staff::call_detail))
        .route("/{tenant}/calls/{call_id}/links", post(staff::link_request))
        .route("/{tenant}/calls/{call_id}/requests", post(staff::create_request))
        .route("/{tenant}/calls/{call_id}/caller-history", get(staff::caller_history))
        .route("/{tenant}/metrics", get(metrics::metrics_json))
        .route("/{tenant}/metrics.csv", get(metrics::metrics_csv))
}

/// Errors of the telephony webhooks. Each variant names its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// 404: unknown tenant, or a tenant without this telephony provider.
    #[error("tenant '{tenant}' is unknown or has no {what} configured; a tenant turns it on in the [telephony] table of its tenant.toml")]
    NotConfigured { tenant: String, what: &'static str },
    /// 503: the secret that authenticates the vendor is not set.
    #[error("telephony secret unavailable: {0}")]
    SecretMissing(#[from] config::SecretMissing),
    /// 403: the signature or verification token did not match.
    #[error("{0}")]
    Forbidden(String),
    /// 400: a required parameter is missing or malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 500: the call could not be stored; the cause is logged.
    #[error("cannot store call event: {0}")]
    Store(#[from] StoreError),
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebhookError::NotConfigured { .. } => StatusCode::NOT_FOUND,
            WebhookError::SecretMissing(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebhookError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebhookError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebhookError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };

        let message = match &self {
            WebhookError::Store(error) => {
                tracing::error!(%error, "telephony webhook failed to store an event");
                "internal server error; the cause is in the server log".to_string()
            }
            WebhookError::SecretMissing(error) => {
                tracing::error!(%error, "telephony webhook rejected: secret not configured");
                self.to_string()
            }
            other => other.to_string(),
        };
        (status, message).into_response()
    }
}

/// A tenant together with its parsed telephony settings.
pub struct TelephonyTenant {
    pub context: Arc<TenantContext>,
    pub config: Arc<TelephonyConfig>,
}

/// Looks up the tenant and its telephony settings, or 404 when either is missing.
///
/// Parsed settings are cached per tenant context; a re-applied tenant gets a
/// new context and so a fresh parse. The first parse of a context also
/// copies its agents and locations into the store.
pub async fn telephony_tenant(state: &AppState, slug: &str) -> Result<TelephonyTenant, WebhookError> {
    let not_configured = || WebhookError::NotConfigured { tenant: slug.to_string(), what: "telephony" };
    let context = state.tenants.by_slug(slug).ok_or_else(not_configured)?;

    if let Some(config) = cached_config(&context) {
        return Ok(TelephonyTenant { context, config });
    }

    let config = match config::from_manifest(&context.manifest) {
        Ok(Some(config)) => Arc::new(config),
        Ok(None) => return Err(not_configured()),
        Err(error) => {
            tracing::error!(tenant.id = context.id.0, tenant.slug = slug, %error, "telephony settings invalid; its routes return 404");
            return Err(not_configured());
        }
    };

    sync_directory(&context, &config).await?;
    cache_config(&context, &config);
    Ok(TelephonyTenant { context, config })
}

type ConfigCache = Mutex<HashMap<String, (Weak<TenantContext>, Arc<TelephonyConfig>)>>;

fn config_cache() -> &'static ConfigCache {
    static CACHE: std::sync::OnceLock<ConfigCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn cached_config(context: &Arc<TenantContext>) -> Option<Arc<TelephonyConfig>> {
    let cache = config_cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let (owner, config) = cache.get(&cache_key(context))?;
    let same_context = owner.upgrade().is_some_and(|owner| Arc::ptr_eq(&owner, context));
    same_context.then(|| Arc::clone(config))
}

fn cache_config(context: &Arc<TenantContext>, config: &Arc<TelephonyConfig>) {
    let mut cache = config_cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.insert(cache_key(context), (Arc::downgrade(context), Arc::clone(config)));
}

/// Keys the cache by tenant id and slug. Tests run several registries with
/// equal ids in one process, which is why a hit also compares the context.
fn cache_key(context: &TenantContext) -> String {
    format!("{}:{}", context.id.0, context.manifest.slug)
}

async fn sync_directory(context: &TenantContext, config: &TelephonyConfig) -> Result<(), StoreError> {
    let locations: Vec<CallLocation> = config
        .locations
        .iter()
        .map(|location| CallLocation { code: location.code.clone(), name: location.name.clone() })
        .collect();
    let agents: Vec<CallAgent> = config
        .agents
        .iter()
        .map(|agent| CallAgent {
            code: agent.code.clone(),
            name: agent.name.clone(),
            location: agent.location.clone(),
            ringcentral_extension: agent.ringcentral_extension.clone(),
        })
        .collect();

    context.store.replace_call_directory(&locations, &agents).await
}

/// Parses a vendor timestamp: RFC 2822 (Twilio `Timestamp`) or RFC 3339
/// (RingCentral `eventTime`).
pub fn parse_timestamp(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value)
        .or_else(|_| DateTime::parse_from_rfc3339(value))
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::WebhookError;

    #[test]
    fn not_configured_message_names_what_is_missing() {
        let error = WebhookError::NotConfigured { tenant: "boston".into(), what: "telephony" };
        assert_eq!(
            error.to_string(),
            "tenant 'boston' is unknown or has no telephony configured; a tenant turns it on in the [telephony] table of its tenant.toml"
        );
    }
}
