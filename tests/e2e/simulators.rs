//! Tests of the Maintstar and ViewPermit simulators themselves, over real
//! HTTP with reqwest, so that the integration plugin tests can trust them.
//!
//! Checks of credentials compare without printing the value.

use std::time::Duration;

use civic311_tests::simulators::backend::Fault;
use civic311_tests::simulators::maintstar::{self, MaintstarOperation, MaintstarSim};
use civic311_tests::simulators::viewpermit::{self, ViewPermitOperation, ViewPermitSim};
use serde_json::{Value, json};

fn work_order(external_ref: &str) -> Value {
    json!({
        "external_ref": external_ref,
        "work_type": "ROAD-PATCH",
        "description": "Deep pothole in the right lane",
        "location": { "address": "12 Main St, Haverhill, MA", "latitude": 42.7762, "longitude": -71.0773 },
        "priority": "HIGH",
        "department": "DPW-HWY",
        "requested_at": "2026-12-01T09:30:00-05:00",
    })
}

fn inspection_request(source_id: &str) -> Value {
    json!({
        "source_system": "civic311",
        "source_system_id": source_id,
        "inspection_type": "FOOD-COMPLAINT",
        "establishment": { "name": "Merrimack Diner", "address": "40 Washington St, Haverhill, MA" },
        "notes": "Raw chicken stored above salads",
        "priority": "routine",
        "requested_date": "2026-12-01",
    })
}

async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("simulator reply body is readable");
    let json = serde_json::from_str(&text).unwrap_or_else(|error| panic!("simulator reply {status} is not JSON ({error}): {text}"));
    (status, json)
}

async fn maintstar_post(sim: &MaintstarSim, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v2/work-orders", sim.base_url()))
        .header(maintstar::API_KEY_HEADER, sim.api_key())
        .json(body)
        .send()
        .await
        .expect("the Maintstar simulator answers");
    status_and_json(response).await
}

async fn maintstar_lookup(sim: &MaintstarSim, external_ref: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v2/work-orders", sim.base_url()))
        .query(&[("external_ref", external_ref)])
        .header(maintstar::API_KEY_HEADER, sim.api_key())
        .send()
        .await
        .expect("the Maintstar simulator answers");
    status_and_json(response).await
}

#[tokio::test]
async fn maintstar_rejects_missing_and_wrong_keys() {
    let sim = MaintstarSim::start().await;
    let url = format!("{}/api/v2/work-orders?external_ref=HAV-1", sim.base_url());

    let (status, body) = status_and_json(reqwest::get(&url).await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "missing_api_key");

    let wrong = reqwest::Client::new().get(&url).header(maintstar::API_KEY_HEADER, "not-the-key").send().await.unwrap();
    let (status, body) = status_and_json(wrong).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert!(sim.last_api_key().as_deref() == Some("not-the-key"), "the simulator records the wrong key it received");

    let (status, _) = maintstar_lookup(&sim, "HAV-1").await;
    assert_eq!(status, 200);
    assert!(sim.last_api_key().as_deref() == Some(maintstar::TEST_API_KEY), "the simulator records the right key it received");
    assert_eq!(sim.requests_received(), 3);
}

#[tokio::test]
async fn maintstar_creates_and_finds_work_order() {
    let sim = MaintstarSim::start().await;

    let (status, created) = maintstar_post(&sim, &work_order("HAV-2026-000123")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "WO-000001");
    assert_eq!(created["status"], "OPEN");
    assert_eq!(created["work_type"], "ROAD-PATCH");
    assert_eq!(created["location"]["address"], "12 Main St, Haverhill, MA");

    let (status, found) = maintstar_lookup(&sim, "HAV-2026-000123").await;
    assert_eq!(status, 200);
    assert_eq!(found["work_orders"].as_array().unwrap().len(), 1);
    assert_eq!(found["work_orders"][0]["id"], "WO-000001");

    let (status, missing) = maintstar_lookup(&sim, "HAV-2026-999999").await;
    assert_eq!(status, 200);
    assert_eq!(missing["work_orders"], json!([]));

    sim.set_status("WO-000001", "IN_PROGRESS");
    let response = reqwest::Client::new()
        .get(format!("{}/api/v2/work-orders/WO-000001", sim.base_url()))
        .header(maintstar::API_KEY_HEADER, sim.api_key())
        .send()
        .await
        .unwrap();
    let (status, order) = status_and_json(response).await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "IN_PROGRESS");
}

#[tokio::test]
async fn maintstar_rejects_duplicate_external_ref() {
    let sim = MaintstarSim::start().await;
    maintstar_post(&sim, &work_order("HAV-7")).await;

    let (status, body) = maintstar_post(&sim, &work_order("HAV-7")).await;

    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "duplicate_external_ref");
    assert_eq!(body["error"]["existing_id"], "WO-000001");
    assert_eq!(sim.work_orders_for("HAV-7").len(), 1);
}

#[tokio::test]
async fn maintstar_validates_work_orders() {
    let sim = MaintstarSim::start().await;
    let cases = [
        ("work_type", json!("POTHOLE")),
        ("priority", json!("P1")),
        ("description", json!("  ")),
        ("department", json!("")),
        ("location", json!({ "latitude": 42.7 })),
    ];

    for (field, value) in cases {
        let mut body = work_order("HAV-8");
        body[field] = value;
        let (status, reply) = maintstar_post(&sim, &body).await;
        assert_eq!(status, 400, "{field}: {reply}");
        assert_eq!(reply["error"]["code"], "validation_failed", "{field}");
        assert_eq!(reply["error"]["field"], field);
    }

    let (status, reply) = maintstar_post(&sim, &json!({ "external_ref": "HAV-8" })).await;
    assert_eq!(status, 400);
    assert_eq!(reply["error"]["code"], "invalid_json");
    assert!(sim.work_orders().is_empty());
}

#[tokio::test]
async fn maintstar_injects_status_faults_in_order() {
    let sim = MaintstarSim::start().await;
    sim.fail_next(1, Fault::InternalError);
    sim.fail_next(1, Fault::Unavailable);
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::RateLimited);
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::Invalid("work_type ROAD-PATCH is closed for the season".into()));

    let (status, body) = maintstar_post(&sim, &work_order("HAV-9")).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["code"], "internal_error");

    let (status, _) = maintstar_lookup(&sim, "HAV-9").await;
    assert_eq!(status, 503);

    let (status, body) = maintstar_post(&sim, &work_order("HAV-9")).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "rate_limited");

    let (status, body) = maintstar_post(&sim, &work_order("HAV-9")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "work_type ROAD-PATCH is closed for the season");
    assert!(sim.work_orders().is_empty(), "no fault stores a work order");

    let (status, _) = maintstar_post(&sim, &work_order("HAV-9")).await;
    assert_eq!(status, 201);
    assert_eq!(sim.work_orders_for("HAV-9").len(), 1);
}

#[tokio::test]
async fn maintstar_sends_retry_after_on_429() {
    let sim = MaintstarSim::start().await;
    sim.fail_next(1, Fault::RateLimited);

    let response = reqwest::Client::new()
        .get(format!("{}/api/v2/work-orders?external_ref=HAV-1", sim.base_url()))
        .header(maintstar::API_KEY_HEADER, sim.api_key())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test]
async fn maintstar_hang_outlasts_client_timeout() {
    let sim = MaintstarSim::start().await;
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::Hang(Duration::from_secs(30)));
    let client = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();

    let error = client
        .post(format!("{}/api/v2/work-orders", sim.base_url()))
        .header(maintstar::API_KEY_HEADER, sim.api_key())
        .json(&work_order("HAV-10"))
        .send()
        .await
        .expect_err("the hung request times out");

    assert!(error.is_timeout(), "{error}");
    assert!(sim.work_orders().is_empty());
}

#[tokio::test]
async fn maintstar_lost_response_still_stores() {
    let sim = MaintstarSim::start().await;
    sim.fail_next_on(MaintstarOperation::Create, 1, Fault::LoseResponse);

    let error = reqwest::Client::new()
        .post(format!("{}/api/v2/work-orders", sim.base_url()))
        .header(maintstar::API_KEY_HEADER, sim.api_key())
        .json(&work_order("HAV-11"))
        .send()
        .await
        .expect_err("the connection closes without a response");
    assert!(!error.is_timeout(), "{error}");
    assert_eq!(sim.work_orders_for("HAV-11").len(), 1);

    let (status, found) = maintstar_lookup(&sim, "HAV-11").await;
    assert_eq!(status, 200);
    assert_eq!(found["work_orders"][0]["id"], "WO-000001");

    let (status, _) = maintstar_post(&sim, &work_order("HAV-11")).await;
    assert_eq!(status, 409);
    assert_eq!(sim.work_orders().len(), 1);
}

async fn viewpermit_token(sim: &ViewPermitSim, client_id: &str, client_secret: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", client_secret)])
        .send()
        .await
        .expect("the ViewPermit simulator answers");
    status_and_json(response).await
}

async fn viewpermit_access_token(sim: &ViewPermitSim) -> String {
    let credentials = sim.credentials().clone();
    let (status, body) = viewpermit_token(sim, &credentials.client_id, &credentials.client_secret).await;
    assert_eq!(status, 200, "token request failed: {}", body["error"]);
    body["access_token"].as_str().expect("an access token").to_string()
}

async fn viewpermit_post(sim: &ViewPermitSim, token: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/inspection-requests", sim.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("the ViewPermit simulator answers");
    status_and_json(response).await
}

async fn viewpermit_lookup(sim: &ViewPermitSim, token: &str, source_id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/api/v1/inspection-requests", sim.base_url()))
        .query(&[("source_system_id", source_id)])
        .bearer_auth(token)
        .send()
        .await
        .expect("the ViewPermit simulator answers")
}

#[tokio::test]
async fn viewpermit_issues_tokens_for_valid_clients() {
    let sim = ViewPermitSim::start().await;

    let (status, body) = viewpermit_token(&sim, viewpermit::TEST_CLIENT_ID, viewpermit::TEST_CLIENT_SECRET).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["access_token"].as_str().is_some_and(|token| !token.is_empty()));
    let last = sim.last_credentials().expect("credentials recorded");
    assert!(last.client_secret == viewpermit::TEST_CLIENT_SECRET, "the simulator records the secret it received");

    let (status, body) = viewpermit_token(&sim, viewpermit::TEST_CLIENT_ID, "wrong-secret").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(sim.tokens_issued(), 1);

    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[("grant_type", "password"), ("client_id", viewpermit::TEST_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(response).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn viewpermit_files_and_finds_inspection() {
    let sim = ViewPermitSim::start().await;
    let token = viewpermit_access_token(&sim).await;

    let (status, created) = viewpermit_post(&sim, &token, &inspection_request("HAV-2026-000200")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["id"], "IR-000001");
    assert_eq!(created["data"]["status"], "REQUESTED");
    assert_eq!(created["data"]["establishment"]["name"], "Merrimack Diner");

    let (status, found) = status_and_json(viewpermit_lookup(&sim, &token, "HAV-2026-000200").await).await;
    assert_eq!(status, 200);
    assert_eq!(found["total"], 1);
    assert_eq!(found["data"][0]["id"], "IR-000001");

    let (status, duplicate) = viewpermit_post(&sim, &token, &inspection_request("HAV-2026-000200")).await;
    assert_eq!(status, 409);
    assert_eq!(duplicate["errors"][0]["existing_id"], "IR-000001");
    assert_eq!(sim.inspections().len(), 1);
    assert!(sim.last_bearer_token().as_deref() == Some(token.as_str()), "the simulator records the bearer token");
}

#[tokio::test]
async fn viewpermit_rejects_missing_invalid_expired_tokens() {
    let sim = ViewPermitSim::start().await;

    let response = reqwest::get(format!("{}/api/v1/inspection-requests?source_system_id=HAV-1", sim.base_url())).await.unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let response = viewpermit_lookup(&sim, "made-up-token", "HAV-1").await;
    assert_eq!(response.status().as_u16(), 401);
    let (_, body) = status_and_json(response).await;
    assert_eq!(body["errors"][0]["code"], "invalid_token");

    let token = viewpermit_access_token(&sim).await;
    assert_eq!(viewpermit_lookup(&sim, &token, "HAV-1").await.status().as_u16(), 200);

    sim.expire_tokens();
    let response = viewpermit_lookup(&sim, &token, "HAV-1").await;
    assert_eq!(response.status().as_u16(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("expired"), "{challenge}");

    let renewed = viewpermit_access_token(&sim).await;
    assert!(renewed != token, "the renewed token differs from the expired one");
    assert_eq!(viewpermit_lookup(&sim, &renewed, "HAV-1").await.status().as_u16(), 200);
    assert_eq!(sim.tokens_issued(), 2);
}

#[tokio::test]
async fn viewpermit_zero_lifetime_token_is_expired() {
    let sim = ViewPermitSim::start().await;
    sim.set_token_lifetime(Duration::ZERO);

    let token = viewpermit_access_token(&sim).await;

    assert_eq!(viewpermit_lookup(&sim, &token, "HAV-1").await.status().as_u16(), 401);
}

#[tokio::test]
async fn viewpermit_validates_inspection_requests() {
    let sim = ViewPermitSim::start().await;
    let token = viewpermit_access_token(&sim).await;
    let cases = [
        ("inspection_type", "inspection_type", json!("RESTAURANT")),
        ("priority", "priority", json!("high")),
        ("requested_date", "requested_date", json!("12/01/2026")),
        ("establishment", "establishment.address", json!({ "address": " " })),
        ("source_system_id", "source_system_id", json!("")),
    ];

    for (key, field, value) in cases {
        let mut body = inspection_request("HAV-3");
        body[key] = value;
        let (status, reply) = viewpermit_post(&sim, &token, &body).await;
        assert_eq!(status, 400, "{field}: {reply}");
        assert_eq!(reply["errors"][0]["code"], "validation", "{field}");
        assert_eq!(reply["errors"][0]["field"], field);
    }
    assert!(sim.inspections().is_empty());
}

#[tokio::test]
async fn viewpermit_injects_faults_per_operation() {
    let sim = ViewPermitSim::start().await;
    sim.fail_next_on(ViewPermitOperation::Token, 1, Fault::Unavailable);

    let credentials = sim.credentials().clone();
    let (status, _) = viewpermit_token(&sim, &credentials.client_id, &credentials.client_secret).await;
    assert_eq!(status, 503);
    assert_eq!(sim.tokens_issued(), 0);

    let token = viewpermit_access_token(&sim).await;
    sim.fail_next_on(ViewPermitOperation::Create, 2, Fault::InternalError);
    sim.fail_next_on(ViewPermitOperation::Lookup, 1, Fault::RateLimited);

    assert_eq!(viewpermit_lookup(&sim, &token, "HAV-4").await.status().as_u16(), 429);
    assert_eq!(viewpermit_post(&sim, &token, &inspection_request("HAV-4")).await.0, 500);
    assert_eq!(viewpermit_post(&sim, &token, &inspection_request("HAV-4")).await.0, 500);
    assert_eq!(viewpermit_post(&sim, &token, &inspection_request("HAV-4")).await.0, 201);
    assert_eq!(sim.inspections_for("HAV-4").len(), 1);

    sim.fail_next(1, Fault::Invalid("notes contain an unsupported character".into()));
    let (status, body) = viewpermit_post(&sim, &token, &inspection_request("HAV-5")).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["detail"], "notes contain an unsupported character");
}

#[tokio::test]
async fn viewpermit_lost_response_still_stores() {
    let sim = ViewPermitSim::start().await;
    let token = viewpermit_access_token(&sim).await;
    sim.fail_next_on(ViewPermitOperation::Create, 1, Fault::LoseResponse);

    let error = reqwest::Client::new()
        .post(format!("{}/api/v1/inspection-requests", sim.base_url()))
        .bearer_auth(&token)
        .json(&inspection_request("HAV-6"))
        .send()
        .await
        .expect_err("the connection closes without a response");
    assert!(!error.is_timeout(), "{error}");

    let (status, found) = status_and_json(viewpermit_lookup(&sim, &token, "HAV-6").await).await;
    assert_eq!(status, 200);
    assert_eq!(found["total"], 1);
    assert_eq!(sim.inspections().len(), 1);
}

#[tokio::test]
async fn simulators_log_every_request() {
    let sim = ViewPermitSim::start().await;
    let token = viewpermit_access_token(&sim).await;
    viewpermit_lookup(&sim, &token, "HAV-12").await;

    let requests = sim.requests();

    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/oauth/token");
    assert_eq!(requests[1].method, "GET");
    assert_eq!(requests[1].path, "/api/v1/inspection-requests");
    assert_eq!(requests[1].query.as_deref(), Some("source_system_id=HAV-12"));
}
