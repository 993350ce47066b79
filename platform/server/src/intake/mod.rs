//! Intake of new service requests from every channel: validation against the
//! service definition, routing by the tenant's plugin with a safe fallback,
//! the SLA due time, and the history entries written with the request.

use civic311_domain::routing::AttributeValue;
use civic311_domain::Channel;
use civic311_store::{Contact, NewPhoto, ServiceRequest};

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
