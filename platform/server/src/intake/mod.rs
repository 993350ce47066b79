//! Intake of new service requests from every channel: validation against the
//! service definition, routing by the tenant's plugin with a safe fallback,
//! the SLA due time, and the history entries written with the request.

use civic311_domain::routing::{AttributeValue, RouteInput};
use civic311_domain::sla::Sla;
use civic311_domain::{Channel, Priority};
use civic311_store::{Contact, NewHistoryEvent, NewPhoto, ServiceRequest};

use crate::app::AppState;
use crate::tenants::TenantContext;

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
    pub photos: Vec<NewPhoto>,
}

/// Why intake rejected a draft. Each variant names the field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("service_code '{code}' not found; GET services lists the codes")]
    UnknownService { code: String },
    #[error("{field}: {problem}")]
    InvalidField { field: String, problem: String },
    #[error(transparent)]
    Store(#[from] civic311_store::StoreError),
}

/// Validates, routes and stores a new service request.
pub async fn submit(state: &AppState, tenant: &TenantContext, draft: RequestDraft) -> Result<ServiceRequest, IntakeError> {
    todo!("{} {} {draft:?}", state.store.backend() == civic311_store::Backend::Sqlite, tenant.id.0)
}

/// Where routing sent a request, and the history entries that explain it.
#[derive(Clone, Debug)]
pub struct RoutingOutcome {
    pub department: String,
    pub priority: Priority,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    /// The SLA that applies: the plugin's override or the service's own.
    pub sla: Sla,
    /// `routed`, or `routing_failed` when the plugin failed and the service's
    /// default department took the request.
    pub history: Vec<NewHistoryEvent>,
}

/// Runs the tenant's router plugin on `input`. Never fails: a plugin error,
/// timeout or unknown department falls back to the service's default department.
pub async fn route(state: &AppState, tenant: &TenantContext, input: RouteInput) -> RoutingOutcome {
    todo!("{} {} {input:?}", state.store.backend() == civic311_store::Backend::Sqlite, tenant.id.0)
}
