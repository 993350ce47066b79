//! The input of an integration plugin, built from a stored service request.

use std::collections::BTreeMap;

use civic311_domain::plugin::IntegrationRequest;
use civic311_store::ServiceRequest;

use crate::tenants::TenantContext;

/// Builds the integration plugin's view of `request`: no contact details,
/// the received time in the tenant's time zone, and the install's `config`.
pub fn integration_request(tenant: &TenantContext, request: &ServiceRequest, config: BTreeMap<String, String>) -> IntegrationRequest {
    let answers = request
        .attributes
        .iter()
        .map(|attribute| (attribute.code.clone(), attribute.values.clone()))
        .collect();
    let requested_at = request
        .requested_at
        .with_timezone(&tenant.calendar.time_zone)
        .fixed_offset();

    IntegrationRequest {
        id: request.id.clone(),
        service_code: request.service_code.clone(),
        service_name: request.service_name.clone(),
        description: request.description.clone(),
        address: request.address.clone(),
        lat: request.lat,
        long: request.long,
        answers,
        department: request.department.clone(),
        priority: request.priority,
        queue: request.queue.clone(),
        requested_at,
        config,
    }
}
