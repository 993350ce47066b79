//! One sync of a routed service request to Maintstar: look the work order
//! up by external reference, and create it only when it is missing, so that
//! a retried call never files a second work order.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::api;
use crate::config::{self, WorkOrderPlan};
use crate::model::{Capabilities, HttpRequest, HttpResponse, LogLevel, RoutedRequest, SyncFailure, SyncedRecord};

/// Syncs `request`: returns the work order created or found, or an empty
/// list when the install does not sync this request.
pub fn sync_request(request: &RoutedRequest, capabilities: &impl Capabilities) -> Result<Vec<SyncedRecord>, SyncFailure> {
    let Some(plan) = config::plan(request)? else {
        let message = format!("{} not synced: department {} and service code {} are not configured", request.id, request.department, request.service_code);
        capabilities.log(LogLevel::Debug, &message);
        return Ok(Vec::new());
    };

    let Some(api_key) = capabilities.secret(&plan.api_key_secret) else {
        let message = format!("the install has no secret {}; set it to the Maintstar API key", plan.api_key_secret);
        capabilities.log(LogLevel::Error, &message);
        return Err(SyncFailure::Retry(message));
    };

    let result = find_or_create(&plan, &api_key, capabilities);
    log_outcome(request, &result, capabilities);
    result.map(|record| vec![record])
}

fn find_or_create(plan: &WorkOrderPlan, api_key: &str, capabilities: &impl Capabilities) -> Result<SyncedRecord, SyncFailure> {
    let external_ref = &plan.work_order.external_ref;

    let lookup = api::lookup_request(&plan.base_url, api_key, external_ref);
    let response = send(capabilities, &lookup, "looking up the work order")?;
    if let Some(found) = api::read_lookup(&response)? {
        return Ok(found);
    }

    let create = api::create_request(&plan.base_url, api_key, &plan.work_order);
    let response = send(capabilities, &create, "creating the work order")?;
    api::read_create(&response)
}

fn send(capabilities: &impl Capabilities, request: &HttpRequest, action: &str) -> Result<HttpResponse, SyncFailure> {
    capabilities
        .send(request)
        .map_err(|error| api::transport_failure(action, error))
}

/// Logs what the sync did. The lines name request and work order ids only:
/// no secret and no description, which may quote a constituent.
fn log_outcome(request: &RoutedRequest, result: &Result<SyncedRecord, SyncFailure>, capabilities: &impl Capabilities) {
    let (level, message) = match result {
        Ok(record) if record.created => (LogLevel::Info, format!("{}: created Maintstar work order {}", request.id, record.remote_id)),
        Ok(record) => (LogLevel::Info, format!("{}: found existing Maintstar work order {}", request.id, record.remote_id)),
        Err(SyncFailure::Retry(reason)) => (LogLevel::Warn, format!("{}: will retry: {reason}", request.id)),
        Err(SyncFailure::Rejected(reason)) => (LogLevel::Error, format!("{}: rejected: {reason}", request.id)),
    };
    capabilities.log(level, &message);
}
