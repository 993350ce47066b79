//! Maintstar's API as agreed for Civic311: the requests the plugin sends
//! and how it reads each response. See `docs/integrations/maintstar.md`.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use civic311_plugin_sdk::integration::failures;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::config::NewWorkOrder;
use crate::model::{HttpError, HttpRequest, HttpResponse, Method, RecordKind, SyncFailure, SyncedRecord};

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "X-API-Key";

/// Characters left as they are in query values: the unreserved set of RFC 3986.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Maintstar's work order, as far as the plugin reads it.
#[derive(Deserialize)]
struct WorkOrder {
    id: String,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct WorkOrderList {
    work_orders: Vec<WorkOrder>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Default, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    existing_id: Option<String>,
}

/// Builds `GET /api/v2/work-orders?external_ref=<id>`.
pub fn lookup_request(base_url: &str, api_key: &str, external_ref: &str) -> HttpRequest {
    let encoded = utf8_percent_encode(external_ref, QUERY_VALUE);
    HttpRequest {
        method: Method::Get,
        url: format!("{base_url}/api/v2/work-orders?external_ref={encoded}"),
        headers: headers(api_key),
        body: None,
    }
}

/// Builds `POST /api/v2/work-orders` with the work order as JSON.
pub fn create_request(base_url: &str, api_key: &str, work_order: &NewWorkOrder) -> HttpRequest {
    let mut headers = headers(api_key);
    headers.push(("Content-Type".to_string(), "application/json".to_string()));
    HttpRequest {
        method: Method::Post,
        url: format!("{base_url}/api/v2/work-orders"),
        headers,
        body: Some(serde_json::to_vec(work_order).expect("a work order always serializes")),
    }
}

fn headers(api_key: &str) -> Vec<(String, String)> {
    vec![
        (API_KEY_HEADER.to_string(), api_key.to_string()),
        ("Accept".to_string(), "application/json".to_string()),
    ]
}

/// Reads a lookup response: the first work order found, or `None`.
pub fn read_lookup(response: &HttpResponse) -> Result<Option<SyncedRecord>, SyncFailure> {
    if response.status != 200 {
        return Err(failure("looking up the work order", response));
    }
    let list: WorkOrderList = serde_json::from_slice(&response.body)
        .map_err(|error| SyncFailure::Retry(format!("Maintstar returned an unreadable work order list: {error}")))?;

    Ok(list.work_orders.into_iter().next().map(|order| record(order, false)))
}

/// Reads a create response: 201 with the new work order, or 409 naming the
/// work order that already has this external reference.
pub fn read_create(response: &HttpResponse) -> Result<SyncedRecord, SyncFailure> {
    match response.status {
        200 | 201 => {
            let order: WorkOrder = serde_json::from_slice(&response.body)
                .map_err(|error| SyncFailure::Retry(format!("Maintstar returned an unreadable work order: {error}")))?;
            Ok(record(order, true))
        }
        409 => match error_detail(&response.body).existing_id {
            Some(id) => Ok(SyncedRecord { kind: RecordKind::WorkOrder, remote_id: id, remote_status: None, created: false }),
            None => Err(failure("creating the work order", response)),
        },
        _ => Err(failure("creating the work order", response)),
    }
}

fn record(order: WorkOrder, created: bool) -> SyncedRecord {
    SyncedRecord { kind: RecordKind::WorkOrder, remote_id: order.id, remote_status: order.status, created }
}

fn error_detail(body: &[u8]) -> ErrorDetail {
    serde_json::from_slice::<ErrorBody>(body).map(|body| body.error).unwrap_or_default()
}

/// Classifies an unexpected status. 408, 429 and 5xx are transient. 401 and
/// 403 are retried too, because the admin can fix the secret and later
/// tries then succeed. Any other status rejects the work order.
pub fn failure(action: &str, response: &HttpResponse) -> SyncFailure {
    let detail = error_detail(&response.body);
    let status = response.status;
    let code = detail.code.unwrap_or_else(|| "unknown".to_string());
    let message = detail.message.unwrap_or_default();

    match status {
        408 | 429 | 500..=599 => SyncFailure::Retry(format!("Maintstar answered {status} ({code}) when {action}: {message}")),
        401 | 403 => SyncFailure::Retry(format!(
            "Maintstar refused the API key ({status} {code}) when {action}; check the install secret that holds it"
        )),
        _ => {
            let field = detail.field.map(|field| format!(" on field {field}")).unwrap_or_default();
            SyncFailure::Rejected(format!("Maintstar rejected the work order{field} ({status} {code}): {message}"))
        }
    }
}

/// Classifies a request that got no response: a denied host or an invalid
/// URL is rejected, and the rest is retried.
pub fn transport_failure(action: &str, error: HttpError) -> SyncFailure {
    failures::transport_failure("Maintstar", "base_url", action, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Location;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn lookup_request_encodes_reference() {
        let request = lookup_request("https://ms.example.gov", "key-1", "HAV-1 1/2");

        assert_eq!(request.method, Method::Get);
        assert_eq!(request.url, "https://ms.example.gov/api/v2/work-orders?external_ref=HAV-1%201%2F2");
        assert!(request.headers.contains(&("X-API-Key".to_string(), "key-1".to_string())));
        assert_eq!(request.body, None);
    }

    #[test]
    fn create_request_sends_json_work_order() {
        let work_order = NewWorkOrder {
            external_ref: "HAV-1".into(),
            work_type: "ROAD-PATCH".into(),
            description: "Pothole: deep".into(),
            location: Location { address: Some("12 Main St".into()), latitude: None, longitude: None },
            priority: "HIGH".into(),
            department: "HWY".into(),
            requested_at: "2026-12-01T09:30:00-05:00".into(),
        };

        let request = create_request("https://ms.example.gov", "key-1", &work_order);

        assert_eq!(request.method, Method::Post);
        assert_eq!(request.url, "https://ms.example.gov/api/v2/work-orders");
        let body: serde_json::Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["external_ref"], "HAV-1");
        assert_eq!(body["location"]["address"], "12 Main St");
        assert_eq!(body["location"]["latitude"], serde_json::Value::Null);
    }

    #[test]
    fn lookup_reads_found_and_missing() {
        let found = read_lookup(&response(200, r#"{"work_orders":[{"id":"WO-000007","status":"OPEN"}]}"#)).unwrap();
        assert_eq!(
            found,
            Some(SyncedRecord { kind: RecordKind::WorkOrder, remote_id: "WO-000007".into(), remote_status: Some("OPEN".into()), created: false })
        );

        assert_eq!(read_lookup(&response(200, r#"{"work_orders":[]}"#)).unwrap(), None);
    }

    #[test]
    fn create_reads_created_and_conflict() {
        let created = read_create(&response(201, r#"{"id":"WO-000001","status":"OPEN"}"#)).unwrap();
        assert!(created.created);
        assert_eq!(created.remote_id, "WO-000001");

        let existing = read_create(&response(409, r#"{"error":{"code":"duplicate_external_ref","existing_id":"WO-000001"}}"#)).unwrap();
        assert!(!existing.created);
        assert_eq!(existing.remote_id, "WO-000001");
    }

    #[test]
    fn statuses_map_to_retry_or_rejected() {
        for status in [408, 429, 500, 502, 503, 401, 403] {
            assert!(matches!(failure("creating", &response(status, "{}")), SyncFailure::Retry(_)), "{status}");
        }

        let body = r#"{"error":{"code":"validation_failed","message":"Unknown work type","field":"work_type"}}"#;
        let SyncFailure::Rejected(message) = failure("creating", &response(400, body)) else {
            panic!("400 is rejected");
        };
        assert!(message.contains("on field work_type"), "{message}");
        assert!(message.contains("Unknown work type"), "{message}");
    }

    #[test]
    fn unreadable_success_body_is_retried() {
        assert!(matches!(read_lookup(&response(200, "<html>")), Err(SyncFailure::Retry(_))));
        assert!(matches!(read_create(&response(201, "")), Err(SyncFailure::Retry(_))));
    }

    #[test]
    fn transport_errors_map_to_retry_or_rejected() {
        assert!(matches!(transport_failure("x", HttpError::Timeout), SyncFailure::Retry(_)));
        assert!(matches!(transport_failure("x", HttpError::Failed("reset".into())), SyncFailure::Retry(_)));
        assert!(matches!(transport_failure("x", HttpError::Denied("ms.example.gov".into())), SyncFailure::Rejected(_)));
        assert!(matches!(transport_failure("x", HttpError::InvalidUrl("no host".into())), SyncFailure::Rejected(_)));
    }
}
