//! A Maintstar simulator: the public-works work-order system, speaking the
//! interface agreed for Civic311 and documented in
//! `docs/integrations/maintstar.md`.
//!
//! It checks the `X-API-Key` header, stores work orders in memory, finds
//! them by external reference and injects the failures of [`Fault`](backend::Fault) on
//! demand. Tests read the stored work orders, the requests received and the
//! last API key sent, so they can check that the secret arrived without
//! printing it.

#![allow(clippy::result_large_err, reason = "a handler step returns the error response to send, once per request")]

use std::collections::BTreeSet;
use std::ops::Deref;
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

use super::backend::{self, Backend, BackendRecord, BackendState, FaultResponses, RecordStore};

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

impl BackendRecord for WorkOrder {
    fn id(&self) -> &str {
        &self.id
    }

    fn reference(&self) -> &str {
        &self.external_ref
    }

    fn set_status(&mut self, status: &str) {
        self.status = status.to_string();
    }
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
    work_orders: RecordStore<WorkOrder>,
    last_api_key: Option<String>,
}

struct Shared {
    api_key: String,
    work_types: BTreeSet<String>,
    records: Mutex<Records>,
    backend: Arc<BackendState<MaintstarOperation>>,
}

/// Maintstar's error responses to injected faults.
const FAULT_RESPONSES: FaultResponses = FaultResponses {
    error,
    internal_error_code: "internal_error",
    unavailable_code: "service_unavailable",
    maintenance_message: "Maintstar is under maintenance.",
    rate_limited_message: "Too many requests for this API key.",
    validation_code: "validation_failed",
};

/// A running Maintstar simulator on a loopback port. Dropping it stops the
/// server. Its [`Backend`] methods return its URL and requests received and
/// schedule faults.
pub struct MaintstarSim {
    backend: Backend<MaintstarOperation>,
    shared: Arc<Shared>,
}

impl Deref for MaintstarSim {
    type Target = Backend<MaintstarOperation>;

    fn deref(&self) -> &Backend<MaintstarOperation> {
        &self.backend
    }
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
            backend: Arc::new(BackendState::default()),
        });
        let router = Router::new()
            .route("/api/v2/work-orders", get(lookup_work_orders).post(create_work_order))
            .route("/api/v2/work-orders/{id}", get(get_work_order))
            .with_state(shared.clone());

        let backend = Backend::start(router, shared.backend.clone()).await;
        MaintstarSim { backend, shared }
    }

    /// Returns the API key the simulator accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Returns every stored work order, oldest first.
    pub fn work_orders(&self) -> Vec<WorkOrder> {
        self.records().work_orders.all()
    }

    /// Returns the work orders whose external reference is `external_ref`.
    pub fn work_orders_for(&self, external_ref: &str) -> Vec<WorkOrder> {
        self.records().work_orders.with_reference(external_ref)
    }

    /// Sets the status of work order `id`, as a crew would in Maintstar.
    /// Panics when there is no such work order.
    pub fn set_status(&self, id: &str, status: &str) {
        self.records().work_orders.set_status(id, status, "work order");
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

        self.backend.log_request(method, uri);
        let mut records = self.records();
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
    let fault = match shared.backend.take_fault(MaintstarOperation::Lookup, &FAULT_RESPONSES).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };

    let Some(external_ref) = query.external_ref else {
        return error(StatusCode::BAD_REQUEST, "validation_failed", "The external_ref query parameter is required.");
    };
    let found = shared.records().work_orders.with_reference(&external_ref);

    backend::lose_response_on(&fault);
    Json(json!({ "work_orders": found })).into_response()
}

async fn create_work_order(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = shared.receive(&method, &uri, &headers) {
        return response;
    }
    let fault = match shared.backend.take_fault(MaintstarOperation::Create, &FAULT_RESPONSES).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };

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

    backend::lose_response_on(&fault);
    let location = format!("/api/v2/work-orders/{}", stored.id);
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(stored)).into_response()
}

/// Stores a new work order, or returns the existing id when its external reference is taken.
fn store_work_order(shared: &Shared, order: NewWorkOrder) -> Result<WorkOrder, String> {
    let external_ref = order.external_ref.clone();
    let build = |number: usize| WorkOrder {
        id: format!("WO-{number:06}"),
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
    shared.records().work_orders.insert(&external_ref, build)
}

async fn get_work_order(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(response) = shared.receive(&method, &uri, &headers) {
        return response;
    }
    let fault = match shared.backend.take_fault(MaintstarOperation::Get, &FAULT_RESPONSES).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };

    let found = shared.records().work_orders.get(&id);

    backend::lose_response_on(&fault);
    match found {
        Some(order) => Json(order).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", &format!("No work order {id}.")),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
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
