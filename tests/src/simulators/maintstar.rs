//! A Maintstar simulator: the public-works work-order system, speaking the
//! interface agreed for Civic311 and documented in
//! `docs/integrations/maintstar.md`.
//!
//! It checks the `X-API-Key` header, stores work orders in memory, finds
//! them by external reference and injects the failures of [`Fault`] on
//! demand. Tests read the stored work orders, the requests received and the
//! last API key sent, so they can check that the secret arrived without
//! printing it.

#![allow(clippy::result_large_err, reason = "a handler step returns the error response to send, once per request")]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::backend::{self, Fault, FaultSchedule, LoopbackServer, ReceivedRequest};

/// The API key the simulator accepts unless a test chooses another.
pub const TEST_API_KEY: &str = "mst-test-4b1d7e0c9a2f";

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Work types the simulator accepts unless a test chooses others. A work
/// order of any other type is rejected with 400, as Maintstar rejects a
/// type the city has not set up.
pub const DEFAULT_WORK_TYPES: &[&str] = &[
    "ROAD-PATCH",
    "SIDEWALK-REPAIR",
    "TREE-TRIM",
    "TREE-REMOVAL",
    "SNOW-PLOW",
    "STREETLIGHT",
    "SIGN-REPAIR",
    "GRAFFITI-REMOVAL",
    "GENERAL",
];

/// Priorities of a work order, most urgent first.
pub const PRIORITIES: &[&str] = &["EMERGENCY", "HIGH", "ROUTINE", "LOW"];

/// The simulator's operations, which faults can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaintstarOperation {
    /// `GET /api/v2/work-orders?external_ref=...`
    Lookup,
    /// `POST /api/v2/work-orders`
    Create,
    /// `GET /api/v2/work-orders/{id}`
    Get,
}

/// Where a work order is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkOrderLocation {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// A work order as the simulator stores and returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkOrder {
    /// Maintstar's id, such as `WO-000001`.
    pub id: String,
    /// The caller's reference: Civic311's service request id.
    pub external_ref: String,
    pub work_type: String,
    pub description: String,
    pub location: WorkOrderLocation,
    pub priority: String,
    pub department: String,
    /// `OPEN` when created. Tests change it with [`MaintstarSim::set_status`].
    pub status: String,
    #[serde(default)]
    pub requested_at: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /api/v2/work-orders`.
#[derive(Debug, Deserialize)]
struct NewWorkOrder {
    external_ref: String,
    work_type: String,
    description: String,
    location: WorkOrderLocation,
    priority: String,
    department: String,
    #[serde(default)]
    requested_at: Option<String>,
}

#[derive(Deserialize)]
struct LookupQuery {
    external_ref: Option<String>,
}

#[derive(Default)]
struct Records {
    work_orders: Vec<WorkOrder>,
    requests: Vec<ReceivedRequest>,
    last_api_key: Option<String>,
}

struct Shared {
    api_key: String,
    work_types: BTreeSet<String>,
    records: Mutex<Records>,
    faults: FaultSchedule<MaintstarOperation>,
}

/// A running Maintstar simulator on a loopback port. Dropping it stops the server.
pub struct MaintstarSim {
    server: LoopbackServer,
    shared: Arc<Shared>,
}

impl MaintstarSim {
    /// Starts a simulator that accepts [`TEST_API_KEY`] and [`DEFAULT_WORK_TYPES`].
    pub async fn start() -> MaintstarSim {
        MaintstarSim::start_with(TEST_API_KEY, DEFAULT_WORK_TYPES).await
    }

    /// Starts a simulator that accepts `api_key` and the given work types.
    pub async fn start_with(api_key: &str, work_types: &[&str]) -> MaintstarSim {
        let shared = Arc::new(Shared {
            api_key: api_key.to_string(),
            work_types: work_types.iter().map(|work_type| work_type.to_string()).collect(),
            records: Mutex::new(Records::default()),
            faults: FaultSchedule::default(),
        });
        let router = Router::new()
            .route("/api/v2/work-orders", get(lookup_work_orders).post(create_work_order))
            .route("/api/v2/work-orders/{id}", get(get_work_order))
            .with_state(shared.clone());

        MaintstarSim { server: LoopbackServer::start(router).await, shared }
    }

    /// Base URL such as `http://127.0.0.1:41234`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.server.base_url
    }

    /// Returns the host and port, such as `127.0.0.1:41234`, for an HTTP allow-list.
    pub fn host(&self) -> &str {
        self.server.base_url.trim_start_matches("http://")
    }

    /// Returns the API key the simulator accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Injects `fault` into the next `count` requests of any operation.
    pub fn fail_next(&self, count: u32, fault: Fault) {
        self.shared.faults.schedule(None, count, fault);
    }

    /// Injects `fault` into the next `count` requests of `operation`.
    pub fn fail_next_on(&self, operation: MaintstarOperation, count: u32, fault: Fault) {
        self.shared.faults.schedule(Some(operation), count, fault);
    }

    /// Removes every fault not yet injected.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Returns every stored work order, oldest first.
    pub fn work_orders(&self) -> Vec<WorkOrder> {
        self.records().work_orders.clone()
    }

    /// Returns the work orders whose external reference is `external_ref`.
    pub fn work_orders_for(&self, external_ref: &str) -> Vec<WorkOrder> {
        self.records()
            .work_orders
            .iter()
            .filter(|order| order.external_ref == external_ref)
            .cloned()
            .collect()
    }

    /// Sets the status of work order `id`, as a crew would in Maintstar.
    /// Panics when there is no such work order.
    pub fn set_status(&self, id: &str, status: &str) {
        let mut records = self.records();
        let order = records
            .work_orders
            .iter_mut()
            .find(|order| order.id == id)
            .unwrap_or_else(|| panic!("the simulator has no work order {id}"));
        order.status = status.to_string();
    }

    /// Returns every request received, in arrival order, including rejected ones.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.records().requests.clone()
    }

    /// Returns how many requests the simulator received.
    pub fn requests_received(&self) -> usize {
        self.records().requests.len()
    }

    /// Returns the value of the last `X-API-Key` header received, right or wrong.
    pub fn last_api_key(&self) -> Option<String> {
        self.records().last_api_key.clone()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, Records> {
        self.shared.records.lock().expect("Maintstar simulator lock")
    }
}

impl Shared {
    fn records(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock().expect("Maintstar simulator lock")
    }

    /// Logs the request and checks its API key. Returns the 401 to send when the key is missing or wrong.
    fn receive(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), Response> {
        let api_key = headers.get(API_KEY_HEADER).and_then(|value| value.to_str().ok()).map(str::to_string);

        let mut records = self.records();
        records.requests.push(ReceivedRequest {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
        });
        if api_key.is_some() {
            records.last_api_key = api_key.clone();
        }
        drop(records);

        match api_key {
            Some(key) if key == self.api_key => Ok(()),
            Some(_) => Err(error(StatusCode::UNAUTHORIZED, "invalid_api_key", "The X-API-Key header does not match an active API key.")),
            None => Err(error(StatusCode::UNAUTHORIZED, "missing_api_key", "Send the API key in the X-API-Key header.")),
        }
    }

    /// Returns the response of a fault injected before the operation runs, if any.
    async fn fault_before(&self, fault: &Option<Fault>) -> Option<Response> {
        match fault.as_ref()? {
            Fault::InternalError => Some(error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "An unexpected error occurred.")),
            Fault::Unavailable => Some(retry_later(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "Maintstar is under maintenance.")),
            Fault::RateLimited => Some(retry_later(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests for this API key.")),
            Fault::Hang(duration) => {
                backend::hang(*duration).await;
                Some(retry_later(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "The request timed out upstream."))
            }
            Fault::Invalid(message) => Some(error(StatusCode::BAD_REQUEST, "validation_failed", message)),
            Fault::LoseResponse => None,
        }
    }

    /// Validates a new work order and returns the 400 to send when it is invalid.
    fn validate(&self, order: &NewWorkOrder) -> Result<(), Response> {
        let invalid = |field: &str, message: String| {
            let body = json!({ "error": { "code": "validation_failed", "message": message, "field": field } });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        };

        if order.external_ref.is_empty() || order.external_ref.len() > 64 {
            return Err(invalid("external_ref", "external_ref must be 1 to 64 characters.".into()));
        }
        if !self.work_types.contains(&order.work_type) {
            return Err(invalid("work_type", format!("Unknown work type {:?}; use one set up for this city.", order.work_type)));
        }
        if order.description.trim().is_empty() || order.description.len() > 4000 {
            return Err(invalid("description", "description must be 1 to 4000 characters.".into()));
        }
        if !PRIORITIES.contains(&order.priority.as_str()) {
            return Err(invalid("priority", format!("Unknown priority {:?}; use EMERGENCY, HIGH, ROUTINE or LOW.", order.priority)));
        }
        if order.department.is_empty() {
            return Err(invalid("department", "department is required.".into()));
        }

        let location = &order.location;
        let has_point = location.latitude.is_some() && location.longitude.is_some();
        if location.address.as_deref().is_none_or(str::is_empty) && !has_point {
            return Err(invalid("location", "location needs an address or both latitude and longitude.".into()));
        }
        Ok(())
    }
}

async fn lookup_work_orders(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<LookupQuery>,
) -> Response {
    if let Err(response) = shared.receive(&method, &uri, &headers) {
        return response;
    }
    let fault = shared.faults.take(MaintstarOperation::Lookup);
    if let Some(response) = shared.fault_before(&fault).await {
        return response;
    }

    let Some(external_ref) = query.external_ref else {
        return error(StatusCode::BAD_REQUEST, "validation_failed", "The external_ref query parameter is required.");
    };
    let found: Vec<WorkOrder> = shared
        .records()
        .work_orders
        .iter()
        .filter(|order| order.external_ref == external_ref)
        .cloned()
        .collect();

    if fault == Some(Fault::LoseResponse) {
        backend::drop_connection();
    }
    Json(json!({ "work_orders": found })).into_response()
}

async fn create_work_order(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = shared.receive(&method, &uri, &headers) {
        return response;
    }
    let fault = shared.faults.take(MaintstarOperation::Create);
    if let Some(response) = shared.fault_before(&fault).await {
        return response;
    }

    let order: NewWorkOrder = match serde_json::from_slice(&body) {
        Ok(order) => order,
        Err(parse_error) => {
            return error(StatusCode::BAD_REQUEST, "invalid_json", &format!("The body is not a valid work order: {parse_error}."));
        }
    };
    if let Err(response) = shared.validate(&order) {
        return response;
    }

    let stored = match store_work_order(&shared, order) {
        Ok(stored) => stored,
        Err(existing_id) => return duplicate(&existing_id),
    };

    if fault == Some(Fault::LoseResponse) {
        backend::drop_connection();
    }
    let location = format!("/api/v2/work-orders/{}", stored.id);
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(stored)).into_response()
}

/// Stores a new work order, or returns the existing id when its external reference is taken.
fn store_work_order(shared: &Shared, order: NewWorkOrder) -> Result<WorkOrder, String> {
    let mut records = shared.records();
    if let Some(existing) = records.work_orders.iter().find(|stored| stored.external_ref == order.external_ref) {
        return Err(existing.id.clone());
    }

    let stored = WorkOrder {
        id: format!("WO-{:06}", records.work_orders.len() + 1),
        external_ref: order.external_ref,
        work_type: order.work_type,
        description: order.description,
        location: order.location,
        priority: order.priority,
        department: order.department,
        status: "OPEN".to_string(),
        requested_at: order.requested_at,
        created_at: Utc::now(),
    };
    records.work_orders.push(stored.clone());
    Ok(stored)
}

async fn get_work_order(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(response) = shared.receive(&method, &uri, &headers) {
        return response;
    }
    let fault = shared.faults.take(MaintstarOperation::Get);
    if let Some(response) = shared.fault_before(&fault).await {
        return response;
    }

    let found = shared.records().work_orders.iter().find(|order| order.id == id).cloned();

    if fault == Some(Fault::LoseResponse) {
        backend::drop_connection();
    }
    match found {
        Some(order) => Json(order).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", &format!("No work order {id}.")),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

fn retry_later(status: StatusCode, code: &str, message: &str) -> Response {
    let mut response = error(status, code, message);
    response.headers_mut().insert(header::RETRY_AFTER, "1".parse().expect("a valid header value"));
    response
}

fn duplicate(existing_id: &str) -> Response {
    let body: Value = json!({
        "error": {
            "code": "duplicate_external_ref",
            "message": format!("Work order {existing_id} already has this external_ref."),
            "existing_id": existing_id,
        }
    });
    (StatusCode::CONFLICT, Json(body)).into_response()
}
