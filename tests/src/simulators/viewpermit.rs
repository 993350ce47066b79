//! A ViewPermit simulator: the health department's inspection system,
//! speaking the interface agreed for Civic311 and documented in
//! `docs/integrations/viewpermit.md`.
//!
//! A client first exchanges its client id and secret for a bearer token at
//! `POST /oauth/token` (OAuth 2.0 client-credentials grant), then files and
//! looks up inspection requests with that token. Tests can expire every
//! token, inject the failures of [`Fault`](backend::Fault), and read the stored inspection
//! requests, the requests received and the credentials last sent, so they
//! can check that the secret arrived without printing it.

#![allow(clippy::result_large_err, reason = "a handler step returns the error response to send, once per request")]

use std::collections::{BTreeSet, HashMap};
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::backend::{self, Backend, BackendRecord, BackendState, FaultResponses, RecordStore};

/// The client id the simulator accepts unless a test chooses another.
pub const TEST_CLIENT_ID: &str = "civic311-haverhill";

/// The client secret the simulator accepts unless a test chooses another.
pub const TEST_CLIENT_SECRET: &str = "vp-secret-93e1c4a0d7b6";

/// Token lifetime unless a test chooses another.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Inspection types the simulator accepts unless a test chooses others. Any
/// other type is rejected with 400.
pub const DEFAULT_INSPECTION_TYPES: &[&str] = &[
    "FOOD-COMPLAINT",
    "FOODBORNE-ILLNESS",
    "HOUSING-CODE",
    "NUISANCE",
    "PEST",
    "POOL",
    "GENERAL",
];

/// Priorities of an inspection request.
pub const PRIORITIES: &[&str] = &["urgent", "routine"];

/// The simulator's operations, which faults can target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewPermitOperation {
    /// `POST /oauth/token`
    Token,
    /// `GET /api/v1/inspection-requests?source_system_id=...`
    Lookup,
    /// `POST /api/v1/inspection-requests`
    Create,
    /// `GET /api/v1/inspection-requests/{id}`
    Get,
}

/// The establishment to inspect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Establishment {
    #[serde(default)]
    pub name: Option<String>,
    pub address: String,
}

/// An inspection request as the simulator stores and returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InspectionRequest {
    /// ViewPermit's id, such as `IR-000001`.
    pub id: String,
    /// The filing system, `civic311`.
    pub source_system: String,
    /// The filing system's id: Civic311's service request id.
    pub source_system_id: String,
    pub inspection_type: String,
    pub establishment: Establishment,
    pub notes: String,
    pub priority: String,
    /// `REQUESTED` when filed. Tests change it with [`ViewPermitSim::set_status`].
    pub status: String,
    /// The date the complaint was received, `YYYY-MM-DD`.
    pub requested_date: String,
    pub created_at: DateTime<Utc>,
}

impl BackendRecord for InspectionRequest {
    fn id(&self) -> &str {
        &self.id
    }

    fn reference(&self) -> &str {
        &self.source_system_id
    }

    fn set_status(&mut self, status: &str) {
        self.status = status.to_string();
    }
}

/// The body of `POST /api/v1/inspection-requests`.
#[derive(Debug, Deserialize)]
struct NewInspectionRequest {
    source_system: String,
    source_system_id: String,
    inspection_type: String,
    establishment: Establishment,
    #[serde(default)]
    notes: String,
    priority: String,
    requested_date: String,
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Deserialize)]
struct LookupQuery {
    source_system_id: Option<String>,
}

/// The client credentials of the last token request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Default)]
struct Records {
    inspections: RecordStore<InspectionRequest>,
    /// Issued tokens and when each expires.
    tokens: HashMap<String, Instant>,
    tokens_issued: usize,
    last_credentials: Option<ClientCredentials>,
    last_bearer_token: Option<String>,
}

struct Shared {
    credentials: ClientCredentials,
    inspection_types: BTreeSet<String>,
    token_lifetime: Mutex<Duration>,
    records: Mutex<Records>,
    backend: Arc<BackendState<ViewPermitOperation>>,
}

/// ViewPermit's error responses to injected faults.
const FAULT_RESPONSES: FaultResponses = FaultResponses {
    error: |status, code, detail| api_error(status, code, None, detail),
    internal_error_code: "server_error",
    unavailable_code: "unavailable",
    maintenance_message: "ViewPermit is under maintenance.",
    rate_limited_message: "Too many requests for this client.",
    validation_code: "validation",
};

/// A running ViewPermit simulator on a loopback port. Dropping it stops the
/// server. Its [`Backend`] methods return its URL and requests received and
/// schedule faults.
pub struct ViewPermitSim {
    backend: Backend<ViewPermitOperation>,
    shared: Arc<Shared>,
}

impl Deref for ViewPermitSim {
    type Target = Backend<ViewPermitOperation>;

    fn deref(&self) -> &Backend<ViewPermitOperation> {
        &self.backend
    }
}

impl ViewPermitSim {
    /// Starts a simulator that accepts [`TEST_CLIENT_ID`] with
    /// [`TEST_CLIENT_SECRET`] and [`DEFAULT_INSPECTION_TYPES`].
    pub async fn start() -> ViewPermitSim {
        ViewPermitSim::start_with(TEST_CLIENT_ID, TEST_CLIENT_SECRET, DEFAULT_INSPECTION_TYPES).await
    }

    /// Starts a simulator that accepts the given client and inspection types.
    pub async fn start_with(client_id: &str, client_secret: &str, inspection_types: &[&str]) -> ViewPermitSim {
        let shared = Arc::new(Shared {
            credentials: ClientCredentials { client_id: client_id.to_string(), client_secret: client_secret.to_string() },
            inspection_types: inspection_types.iter().map(|kind| kind.to_string()).collect(),
            token_lifetime: Mutex::new(DEFAULT_TOKEN_LIFETIME),
            records: Mutex::new(Records::default()),
            backend: Arc::new(BackendState::default()),
        });
        let router = Router::new()
            .route("/oauth/token", post(issue_token))
            .route("/api/v1/inspection-requests", get(lookup_inspections).post(create_inspection))
            .route("/api/v1/inspection-requests/{id}", get(get_inspection))
            .with_state(shared.clone());

        let backend = Backend::start(router, shared.backend.clone()).await;
        ViewPermitSim { backend, shared }
    }

    /// Returns the client credentials the simulator accepts.
    pub fn credentials(&self) -> &ClientCredentials {
        &self.shared.credentials
    }

    /// Sets the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        *self.shared.token_lifetime.lock().expect("token lifetime lock") = lifetime;
    }

    /// Expires every token issued so far, so that the next API call with one gets 401.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for expiry in self.records().tokens.values_mut() {
            *expiry = now;
        }
    }

    /// Returns how many tokens the simulator issued.
    pub fn tokens_issued(&self) -> usize {
        self.records().tokens_issued
    }

    /// Returns every stored inspection request, oldest first.
    pub fn inspections(&self) -> Vec<InspectionRequest> {
        self.records().inspections.all()
    }

    /// Returns the inspection requests filed for `source_system_id`.
    pub fn inspections_for(&self, source_system_id: &str) -> Vec<InspectionRequest> {
        self.records().inspections.with_reference(source_system_id)
    }

    /// Sets the status of inspection request `id`, as an inspector would.
    /// Panics when there is no such inspection request.
    pub fn set_status(&self, id: &str, status: &str) {
        self.records().inspections.set_status(id, status, "inspection request");
    }

    /// Returns the client credentials of the last token request, right or wrong.
    pub fn last_credentials(&self) -> Option<ClientCredentials> {
        self.records().last_credentials.clone()
    }

    /// Returns the last bearer token sent to the API, valid or not.
    pub fn last_bearer_token(&self) -> Option<String> {
        self.records().last_bearer_token.clone()
    }

    fn records(&self) -> std::sync::MutexGuard<'_, Records> {
        self.shared.records.lock().expect("ViewPermit simulator lock")
    }
}

impl Shared {
    fn records(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock().expect("ViewPermit simulator lock")
    }

    /// Logs an API request and checks its bearer token. Returns the 401 to send
    /// when the token is missing, unknown or expired.
    fn receive_api(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), Response> {
        self.backend.log_request(method, uri);
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::to_string);

        let mut records = self.records();
        let Some(token) = token else {
            return Err(unauthorized("invalid_request", "Send a bearer token in the Authorization header."));
        };
        records.last_bearer_token = Some(token.clone());

        match records.tokens.get(&token) {
            Some(expiry) if Instant::now() < *expiry => Ok(()),
            Some(_) => Err(unauthorized("invalid_token", "The access token expired.")),
            None => Err(unauthorized("invalid_token", "The access token is not valid.")),
        }
    }

    /// Validates a new inspection request and returns the 400 to send when it is invalid.
    fn validate(&self, request: &NewInspectionRequest) -> Result<(), Response> {
        let invalid = |field: &str, message: String| Err(api_error(StatusCode::BAD_REQUEST, "validation", Some(field), &message));

        if request.source_system.is_empty() {
            return invalid("source_system", "source_system is required.".into());
        }
        if request.source_system_id.is_empty() || request.source_system_id.len() > 64 {
            return invalid("source_system_id", "source_system_id must be 1 to 64 characters.".into());
        }
        if !self.inspection_types.contains(&request.inspection_type) {
            return invalid("inspection_type", format!("Unknown inspection type {:?}.", request.inspection_type));
        }
        if request.establishment.address.trim().is_empty() {
            return invalid("establishment.address", "The establishment's address is required.".into());
        }
        if request.notes.len() > 2000 {
            return invalid("notes", "notes must be at most 2000 characters.".into());
        }
        if !PRIORITIES.contains(&request.priority.as_str()) {
            return invalid("priority", format!("Unknown priority {:?}; use urgent or routine.", request.priority));
        }
        if chrono::NaiveDate::parse_from_str(&request.requested_date, "%Y-%m-%d").is_err() {
            return invalid("requested_date", format!("requested_date {:?} is not a YYYY-MM-DD date.", request.requested_date));
        }
        Ok(())
    }

    /// Issues a token for valid credentials, or returns the OAuth error response.
    fn grant(&self, form: TokenForm) -> Result<(String, Duration), Response> {
        let oauth_error = |status: StatusCode, code: &str, description: &str| {
            (status, Json(json!({ "error": code, "error_description": description }))).into_response()
        };
        if form.grant_type.as_deref() != Some("client_credentials") {
            return Err(oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Use grant_type=client_credentials."));
        }

        let credentials = ClientCredentials {
            client_id: form.client_id.unwrap_or_default(),
            client_secret: form.client_secret.unwrap_or_default(),
        };
        let mut records = self.records();
        records.last_credentials = Some(credentials.clone());
        if credentials != self.credentials {
            return Err(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client id or wrong client secret."));
        }

        records.tokens_issued += 1;
        let token = format!("vp-at-{:04}-{}", records.tokens_issued, Utc::now().timestamp_nanos_opt().unwrap_or_default());
        let lifetime = *self.token_lifetime.lock().expect("token lifetime lock");
        records.tokens.insert(token.clone(), Instant::now() + lifetime);
        Ok((token, lifetime))
    }
}

async fn issue_token(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, body: Bytes) -> Response {
    shared.backend.log_request(&method, &uri);
    let fault = match shared.backend.take_fault(ViewPermitOperation::Token, &FAULT_RESPONSES).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };

    let form: TokenForm = match parse_token_form(&body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    let (token, lifetime) = match shared.grant(form) {
        Ok(granted) => granted,
        Err(response) => return response,
    };

    backend::lose_response_on(&fault);
    let body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "scope": "inspections",
    });
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// Parses an `application/x-www-form-urlencoded` token request body.
fn parse_token_form(body: &[u8]) -> Result<TokenForm, Response> {
    let mut form = TokenForm { grant_type: None, client_id: None, client_secret: None };
    for (name, value) in url::form_urlencoded::parse(body) {
        match name.as_ref() {
            "grant_type" => form.grant_type = Some(value.into_owned()),
            "client_id" => form.client_id = Some(value.into_owned()),
            "client_secret" => form.client_secret = Some(value.into_owned()),
            _ => {}
        }
    }
    if form.grant_type.is_none() && form.client_id.is_none() {
        let body = json!({ "error": "invalid_request", "error_description": "Send a form-encoded body with grant_type, client_id and client_secret." });
        return Err((StatusCode::BAD_REQUEST, Json(body)).into_response());
    }
    Ok(form)
}

async fn lookup_inspections(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<LookupQuery>,
) -> Response {
    if let Err(response) = shared.receive_api(&method, &uri, &headers) {
        return response;
    }
    let fault = match shared.backend.take_fault(ViewPermitOperation::Lookup, &FAULT_RESPONSES).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };

    let Some(source_system_id) = query.source_system_id else {
        return api_error(StatusCode::BAD_REQUEST, "validation", Some("source_system_id"), "The source_system_id query parameter is required.");
    };
    let found = shared.records().inspections.with_reference(&source_system_id);

    backend::lose_response_on(&fault);
    Json(json!({ "data": found, "total": found.len() })).into_response()
}

async fn create_inspection(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = shared.receive_api(&method, &uri, &headers) {
        return response;
    }
    let fault = match shared.backend.take_fault(ViewPermitOperation::Create, &FAULT_RESPONSES).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };

    let request: NewInspectionRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(parse_error) => {
            return api_error(StatusCode::BAD_REQUEST, "invalid_json", None, &format!("The body is not a valid inspection request: {parse_error}."));
        }
    };
    if let Err(response) = shared.validate(&request) {
        return response;
    }

    let stored = match store_inspection(&shared, request) {
        Ok(stored) => stored,
        Err(existing_id) => {
            let body = json!({ "errors": [{
                "code": "duplicate",
                "detail": format!("Inspection request {existing_id} already has this source_system_id."),
                "existing_id": existing_id,
            }] });
            return (StatusCode::CONFLICT, Json(body)).into_response();
        }
    };

    backend::lose_response_on(&fault);
    let location = format!("/api/v1/inspection-requests/{}", stored.id);
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(json!({ "data": stored }))).into_response()
}

/// Stores a new inspection request, or returns the existing id when its source id is taken.
fn store_inspection(shared: &Shared, request: NewInspectionRequest) -> Result<InspectionRequest, String> {
    let source_system_id = request.source_system_id.clone();
    let build = |number: usize| InspectionRequest {
        id: format!("IR-{number:06}"),
        source_system: request.source_system,
        source_system_id: request.source_system_id,
        inspection_type: request.inspection_type,
        establishment: request.establishment,
        notes: request.notes,
        priority: request.priority,
        status: "REQUESTED".to_string(),
        requested_date: request.requested_date,
        created_at: Utc::now(),
    };
    shared.records().inspections.insert(&source_system_id, build)
}

async fn get_inspection(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(response) = shared.receive_api(&method, &uri, &headers) {
        return response;
    }
    let fault = match shared.backend.take_fault(ViewPermitOperation::Get, &FAULT_RESPONSES).await {
        Ok(fault) => fault,
        Err(response) => return response,
    };

    let found = shared.records().inspections.get(&id);

    backend::lose_response_on(&fault);
    match found {
        Some(inspection) => Json(json!({ "data": inspection })).into_response(),
        None => api_error(StatusCode::NOT_FOUND, "not_found", None, &format!("No inspection request {id}.")),
    }
}

fn api_error(status: StatusCode, code: &str, field: Option<&str>, detail: &str) -> Response {
    (status, Json(json!({ "errors": [{ "code": code, "field": field, "detail": detail }] }))).into_response()
}

fn unauthorized(code: &str, detail: &str) -> Response {
    let mut response = api_error(StatusCode::UNAUTHORIZED, code, None, detail);
    let challenge = format!("Bearer realm=\"viewpermit\", error=\"{code}\", error_description=\"{detail}\"");
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge.parse().expect("a valid header value"));
    response
}
