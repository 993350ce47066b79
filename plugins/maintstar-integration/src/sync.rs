//! One sync of a routed service request to Maintstar: look the work order
//! up by external reference, and create it only when it is missing, so that
//! a retried call never files a second work order.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use civic311_plugin_sdk::integration::logging::{log_not_selected, log_outcome};

use crate::api;
use crate::config::{self, WorkOrderPlan};
use crate::model::{Capabilities, HttpRequest, HttpResponse, LogLevel, RoutedRequest, SyncFailure, SyncedRecord};

/// Syncs `request`: returns the work order created or found, or an empty
/// list when the install does not sync this request.
pub fn sync_request(request: &RoutedRequest, capabilities: &impl Capabilities) -> Result<Vec<SyncedRecord>, SyncFailure> {
    let Some(plan) = config::plan(request)? else {
        log_not_selected(request, capabilities);
        return Ok(Vec::new());
    };

    let Some(api_key) = capabilities.secret(&plan.api_key_secret) else {
        let message = format!("the install has no secret {}; set it to the Maintstar API key", plan.api_key_secret);
        capabilities.log(LogLevel::Error, &message);
        return Err(SyncFailure::Retry(message));
    };

    let result = find_or_create(&plan, &api_key, capabilities);
    log_outcome(request, &result, "Maintstar work order", capabilities);
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
