//! ViewPermit's API as agreed for Civic311: the token request, the
//! inspection-request calls, and how the plugin reads each response. See
//! `docs/integrations/viewpermit.md`.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use civic311_plugin_sdk::integration::failures;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::config::NewInspectionRequest;
use crate::model::{HttpError, HttpRequest, HttpResponse, Method, RecordKind, SyncFailure, SyncedRecord};

/// Characters left as they are in form and query values: the unreserved set of RFC 3986.
const FORM_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// ViewPermit's inspection request, as far as the plugin reads it.
#[derive(Deserialize)]
struct Inspection {
    id: String,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct InspectionList {
    data: Vec<Inspection>,
}

#[derive(Deserialize)]
struct InspectionEnvelope {
    data: Inspection,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(Default, Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ErrorList {
    errors: Vec<ErrorDetail>,
}

#[derive(Default, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    existing_id: Option<String>,
}

/// Builds the client-credentials token request, form-encoded.
pub fn token_request(token_url: &str, client_id: &str, client_secret: &str) -> HttpRequest {
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        utf8_percent_encode(client_id, FORM_VALUE),
        utf8_percent_encode(client_secret, FORM_VALUE),
    );
    HttpRequest {
        method: Method::Post,
        url: token_url.to_string(),
        headers: vec![
            ("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ],
        body: Some(body.into_bytes()),
    }
}

/// Reads a token response and returns the access token. Bad client
/// credentials (400 `invalid_client`, 401 or 403) are retried, because the admin
/// can fix the secret and later tries then succeed.
pub fn read_token(response: &HttpResponse) -> Result<String, SyncFailure> {
    let status = response.status;
    if status == 200 {
        let token: TokenResponse = serde_json::from_slice(&response.body)
            .map_err(|error| SyncFailure::Retry(format!("ViewPermit returned an unreadable token response: {error}")))?;
        if token.token_type.as_deref().is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer")) {
            return Err(SyncFailure::Rejected("ViewPermit issued a token that is not a bearer token".to_string()));
        }
        return Ok(token.access_token);
    }

    let code = serde_json::from_slice::<OAuthError>(&response.body).unwrap_or_default().error.unwrap_or_else(|| "unknown".to_string());
    match (status, code.as_str()) {
        (401 | 403, _) | (400, "invalid_client") => Err(SyncFailure::Retry(format!(
            "ViewPermit refused the client credentials ({status} {code}); check install config client_id and the client secret"
        ))),
        (408 | 429 | 500..=599, _) => Err(SyncFailure::Retry(format!("ViewPermit's token endpoint answered {status} ({code})"))),
        _ => Err(SyncFailure::Rejected(format!("ViewPermit's token endpoint rejected the request ({status} {code})"))),
    }
}

/// Builds `GET /api/v1/inspection-requests?source_system_id=<id>`.
pub fn lookup_request(base_url: &str, token: &str, source_system_id: &str) -> HttpRequest {
    let encoded = utf8_percent_encode(source_system_id, FORM_VALUE);
    HttpRequest {
        method: Method::Get,
        url: format!("{base_url}/api/v1/inspection-requests?source_system_id={encoded}"),
        headers: headers(token),
        body: None,
    }
}

/// Builds `POST /api/v1/inspection-requests` with the inspection request as JSON.
pub fn create_request(base_url: &str, token: &str, inspection: &NewInspectionRequest) -> HttpRequest {
    let mut headers = headers(token);
    headers.push(("Content-Type".to_string(), "application/json".to_string()));
    HttpRequest {
        method: Method::Post,
        url: format!("{base_url}/api/v1/inspection-requests"),
        headers,
        body: Some(serde_json::to_vec(inspection).expect("an inspection request always serializes")),
    }
}

fn headers(token: &str) -> Vec<(String, String)> {
    vec![
        ("Authorization".to_string(), format!("Bearer {token}")),
        ("Accept".to_string(), "application/json".to_string()),
    ]
}

/// Reads a lookup response: the first inspection request found, or `None`.
pub fn read_lookup(response: &HttpResponse) -> Result<Option<SyncedRecord>, SyncFailure> {
    if response.status != 200 {
        return Err(failure("looking up the inspection request", response));
    }
    let list: InspectionList = serde_json::from_slice(&response.body)
        .map_err(|error| SyncFailure::Retry(format!("ViewPermit returned an unreadable inspection list: {error}")))?;

    Ok(list.data.into_iter().next().map(|inspection| record(inspection, false)))
}

/// Reads a create response: 201 with the new inspection request, or 409
/// naming the one that already has this source id.
pub fn read_create(response: &HttpResponse) -> Result<SyncedRecord, SyncFailure> {
    match response.status {
        200 | 201 => {
            let envelope: InspectionEnvelope = serde_json::from_slice(&response.body)
                .map_err(|error| SyncFailure::Retry(format!("ViewPermit returned an unreadable inspection request: {error}")))?;
            Ok(record(envelope.data, true))
        }
        409 => match first_error(&response.body).existing_id {
            Some(id) => Ok(SyncedRecord { kind: RecordKind::Inspection, remote_id: id, remote_status: None, created: false }),
            None => Err(failure("creating the inspection request", response)),
        },
        _ => Err(failure("creating the inspection request", response)),
    }
}

fn record(inspection: Inspection, created: bool) -> SyncedRecord {
    SyncedRecord { kind: RecordKind::Inspection, remote_id: inspection.id, remote_status: inspection.status, created }
}

fn first_error(body: &[u8]) -> ErrorDetail {
    serde_json::from_slice::<ErrorList>(body)
        .ok()
        .and_then(|list| list.errors.into_iter().next())
        .unwrap_or_default()
}

/// Classifies an unexpected API status. 401 and 403 are retried, because
/// the sync has already renewed the token once on 401. 408, 429 and 5xx are
/// transient. Any other status rejects the inspection request.
pub fn failure(action: &str, response: &HttpResponse) -> SyncFailure {
    let detail = first_error(&response.body);
    let status = response.status;
    let code = detail.code.unwrap_or_else(|| "unknown".to_string());
    let message = detail.detail.unwrap_or_default();

    match status {
        408 | 429 | 500..=599 => SyncFailure::Retry(format!("ViewPermit answered {status} ({code}) when {action}: {message}")),
        401 | 403 => SyncFailure::Retry(format!("ViewPermit refused the access token ({status} {code}) when {action}")),
        _ => {
            let field = detail.field.map(|field| format!(" on field {field}")).unwrap_or_default();
            SyncFailure::Rejected(format!("ViewPermit rejected the inspection request{field} ({status} {code}): {message}"))
        }
    }
}

/// Classifies a request that got no response: a denied host or an invalid
/// URL is rejected, and the rest is retried.
pub fn transport_failure(action: &str, error: HttpError) -> SyncFailure {
    failures::transport_failure("ViewPermit", "base_url and token_url", action, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Establishment;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn token_request_is_form_encoded() {
        let request = token_request("https://vp.example.gov/oauth/token", "civic311 haverhill", "s3cr&t=1");

        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url, "https://vp.example.gov/oauth/token");
        let body = String::from_utf8(request.body.unwrap()).unwrap();
        assert_eq!(body, "grant_type=client_credentials&client_id=civic311%20haverhill&client_secret=s3cr%26t%3D1");
        assert!(request.headers.contains(&("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string())));
    }

    #[test]
    fn token_response_reads_bearer_token() {
        let body = r#"{"access_token":"vp-at-1","token_type":"Bearer","expires_in":3600}"#;
        assert_eq!(read_token(&response(200, body)).unwrap(), "vp-at-1");

        let mac = r#"{"access_token":"vp-at-1","token_type":"mac"}"#;
        assert!(matches!(read_token(&response(200, mac)), Err(SyncFailure::Rejected(_))));
    }

    #[test]
    fn token_errors_map_to_retry_or_rejected() {
        assert!(matches!(read_token(&response(401, r#"{"error":"invalid_client"}"#)), Err(SyncFailure::Retry(_))));
        assert!(matches!(read_token(&response(400, r#"{"error":"invalid_client"}"#)), Err(SyncFailure::Retry(_))));
        assert!(matches!(read_token(&response(403, "")), Err(SyncFailure::Retry(_))));
        assert!(matches!(read_token(&response(503, "")), Err(SyncFailure::Retry(_))));
        assert!(matches!(read_token(&response(400, r#"{"error":"unsupported_grant_type"}"#)), Err(SyncFailure::Rejected(_))));
    }

    #[test]
    fn api_requests_carry_bearer_token() {
        let lookup = lookup_request("https://vp.example.gov", "tok", "HAV-1");
        assert_eq!(lookup.url, "https://vp.example.gov/api/v1/inspection-requests?source_system_id=HAV-1");
        assert!(lookup.headers.contains(&("Authorization".to_string(), "Bearer tok".to_string())));

        let inspection = NewInspectionRequest {
            source_system: "civic311".into(),
            source_system_id: "HAV-1".into(),
            inspection_type: "PEST".into(),
            establishment: Establishment { name: None, address: "1 Main St".into() },
            notes: "Rats".into(),
            priority: "routine".into(),
            requested_date: "2026-12-01".into(),
        };
        let create = create_request("https://vp.example.gov", "tok", &inspection);
        assert_eq!(create.method, Method::Post);
        let body: serde_json::Value = serde_json::from_slice(create.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["establishment"]["address"], "1 Main St");
        assert_eq!(body["establishment"]["name"], serde_json::Value::Null);
    }

    #[test]
    fn lookup_and_create_read_records() {
        let found = read_lookup(&response(200, r#"{"data":[{"id":"IR-000003","status":"SCHEDULED"}],"total":1}"#)).unwrap().unwrap();
        assert_eq!(found.remote_id, "IR-000003");
        assert_eq!(found.remote_status.as_deref(), Some("SCHEDULED"));
        assert!(!found.created);
        assert_eq!(read_lookup(&response(200, r#"{"data":[],"total":0}"#)).unwrap(), None);

        let created = read_create(&response(201, r#"{"data":{"id":"IR-000004","status":"REQUESTED"}}"#)).unwrap();
        assert!(created.created);
        assert_eq!(created.kind, RecordKind::Inspection);

        let existing = read_create(&response(409, r#"{"errors":[{"code":"duplicate","existing_id":"IR-000004"}]}"#)).unwrap();
        assert!(!existing.created);
        assert_eq!(existing.remote_id, "IR-000004");
    }

    #[test]
    fn validation_error_is_rejected_with_field() {
        let body = r#"{"errors":[{"code":"validation","field":"inspection_type","detail":"Unknown inspection type"}]}"#;

        let SyncFailure::Rejected(message) = failure("creating", &response(400, body)) else {
            panic!("400 is rejected");
        };

        assert!(message.contains("on field inspection_type"), "{message}");
        assert!(message.contains("Unknown inspection type"), "{message}");
    }

    #[test]
    fn transient_statuses_are_retried() {
        for status in [401, 403, 408, 429, 500, 503] {
            assert!(matches!(failure("creating", &response(status, "")), SyncFailure::Retry(_)), "{status}");
        }
        assert!(matches!(transport_failure("x", HttpError::Timeout), SyncFailure::Retry(_)));
        assert!(matches!(transport_failure("x", HttpError::Denied("vp".into())), SyncFailure::Rejected(_)));
    }
}
