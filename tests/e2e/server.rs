//! The server core over real HTTP: intake validation, SLA due times, the
//! staff API's authentication and tenant isolation, and request ids.

use chrono::{DateTime, Utc};
use civic311_domain::{Channel, Locale};
use civic311_server::intake::{self, IntakeError, RequestDraft, SubmitOptions};
use civic311_store::ApiKeyScope;
use civic311_tests::{history_entry, TestServer};
use serde_json::{json, Value};

fn pothole() -> Value {
    json!({
        "service_code": "pothole",
        "description": "Deep pothole in the right lane",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "medium", "hazard": "no" },
    })
}

/// Returns `pothole()` with `change` applied to its JSON object.
fn pothole_with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut body = pothole();
    change(body.as_object_mut().expect("the pothole body is an object"));
    body
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("valid RFC 3339").with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_rejects_each_invalid_field() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown service",
            pothole_with(|body| {
                body.insert("service_code".into(), json!("pothole "));
            }),
            "service_code",
        ),
        (
            "description over 4000 characters",
            pothole_with(|body| {
                body.insert("description".into(), json!("x".repeat(4001)));
            }),
            "description",
        ),
        (
            "lat without long",
            pothole_with(|body| {
                body.remove("long");
            }),
            "long",
        ),
        (
            "long without lat",
            pothole_with(|body| {
                body.remove("lat");
            }),
            "lat",
        ),
        (
            "lat out of range",
            pothole_with(|body| {
                body.insert("lat".into(), json!(95.0));
            }),
            "lat",
        ),
        (
            "long out of range",
            pothole_with(|body| {
                body.insert("long".into(), json!(-200.0));
            }),
            "long",
        ),
        (
            "no location for a service that needs one",
            pothole_with(|body| {
                body.remove("lat");
                body.remove("long");
            }),
            "lat",
        ),
        (
            "point outside Haverhill",
            pothole_with(|body| {
                body.insert("lat".into(), json!(42.3601));
                body.insert("long".into(), json!(-71.0589));
            }),
            "lat",
        ),
        (
            "required attribute missing",
            pothole_with(|body| {
                body.insert("attributes".into(), json!({ "hazard": "yes" }));
            }),
            "attribute[size]",
        ),
        (
            "list value not among the keys",
            pothole_with(|body| {
                body.insert("attributes".into(), json!({ "size": "huge" }));
            }),
            "attribute[size]",
        ),
        (
            "singlevaluelist with two values",
            pothole_with(|body| {
                body.insert("attributes".into(), json!({ "size": ["small", "large"] }));
            }),
            "attribute[size]",
        ),
        (
            "attribute the service does not have",
            pothole_with(|body| {
                body.insert("attributes".into(), json!({ "size": "small", "colour": "red" }));
            }),
            "attribute[colour]",
        ),
        (
            "media_url not http",
            pothole_with(|body| {
                body.insert("media_url".into(), json!("ftp://example.org/photo.jpg"));
            }),
            "media_url",
        ),
        (
            "number attribute that does not parse",
            json!({
                "service_code": "bulk-item-pickup",
                "address": "4 Summer Street",
                "attributes": { "items": "sofa", "item_count": "three" },
            }),
            "attribute[item_count]",
        ),
    ];

    for (case, body, field) in cases {
        let (status, reply) = server.staff_post("haverhill", &key, "/requests", &body).await;
        assert_eq!(status, 422, "{case}: {reply}");
        assert_eq!(reply["error"]["code"], "invalid_field", "{case}: {reply}");
        assert_eq!(reply["error"]["field"], field, "{case}: {reply}");
        let message = reply["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{case}: the error has no message");
    }

    let (status, page) = server.staff_get("haverhill", &key, "/requests").await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 0, "no rejected draft was stored: {page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_area_error_names_the_area() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let body = pothole_with(|body| {
        body.insert("lat".into(), json!(42.3601));
        body.insert("long".into(), json!(-71.0589));
    });

    let (_, reply) = server.staff_post("haverhill", &key, "/requests", &body).await;

    let message = reply["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("42.3601"), "{message}");
    assert!(message.contains("City of Haverhill"), "{message}");
    assert!(message.contains("42.73"), "the message gives the box: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_message_follows_locale() {
    let server = TestServer::start().await;
    let tenant = server.tenant("haverhill");
    let draft = RequestDraft {
        service_code: "pothole".into(),
        lat: Some(42.7762),
        ..RequestDraft::default()
    };
    let options = SubmitOptions {
        locale: Locale::Es,
        received_at: None,
    };

    let error = intake::submit_with(&server.state, &tenant, draft, options).await.unwrap_err();

    match error {
        IntakeError::InvalidField { field, problem } => {
            assert_eq!(field, "long");
            assert_eq!(problem, "Indique lat y long juntos, o ninguno de los dos.");
        }
        other => panic!("expected an invalid field, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sla_due_time_counts_business_hours() {
    let server = TestServer::start().await;
    let tenant = server.tenant("haverhill");
    let draft = RequestDraft {
        service_code: "pothole".into(),
        description: Some("Pothole by the library".into()),
        lat: Some(42.7762),
        long: Some(-71.0773),
        attributes: vec![civic311_domain::routing::AttributeValue {
            code: "size".into(),
            values: vec!["small".into()],
        }],
        channel: Some(Channel::Phone),
        ..RequestDraft::default()
    };
    // Friday 2026-12-04 15:00 EST. The pothole SLA is 24 business hours of
    // 08:00-16:00 days: 1 h on Friday, 8 h Monday, 8 h Tuesday, and the last
    // 7 h end Wednesday 2026-12-09 at 15:00 EST, which is 20:00 UTC.
    let options = SubmitOptions {
        locale: Locale::En,
        received_at: Some(utc("2026-12-04T20:00:00Z")),
    };

    let stored = intake::submit_with(&server.state, &tenant, draft, options).await.expect("the draft is valid");

    assert_eq!(stored.requested_at, utc("2026-12-04T20:00:00Z"));
    assert_eq!(stored.expected_at, Some(utc("2026-12-09T20:00:00Z")));
    assert_eq!(stored.channel, Channel::Phone);
    assert_eq!(stored.department, "dpw-highway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_api_requires_the_tenants_key() {
    let server = TestServer::start().await;
    let haverhill_key = server.api_key("haverhill").await;
    let boston_key = server.api_key("boston").await;

    let without_key = server
        .client
        .post(server.staff_url("haverhill", "/requests"))
        .json(&pothole())
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(without_key.status().as_u16(), 401);
    let (_, body) = civic311_tests::read_json(without_key).await;
    assert_eq!(body["error"]["code"], "unauthorized");

    let (status, body) = server.staff_post("haverhill", "c311_not-a-real-key", "/requests", &pothole()).await;
    assert_eq!(status, 401, "{body}");

    let (status, body) = server.staff_post("haverhill", &boston_key, "/requests", &pothole()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");

    let (status, body) = server.staff_post("springfield", &haverhill_key, "/requests", &pothole()).await;
    assert_eq!(status, 404, "{body}");

    let (status, created) = server.staff_post("haverhill", &haverhill_key, "/requests", &pothole()).await;
    assert_eq!(status, 201, "{created}");
}

/// Checks a 403 reply to an `open311` key: it names the scope needed and the command that creates such a key.
fn assert_needs_staff_scope(route: &str, status: u16, body: &Value) {
    assert_eq!(status, 403, "{route}: {body}");
    assert_eq!(body["error"]["code"], "forbidden", "{route}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("has scope open311"), "{route}: {message}");
    assert!(message.contains("needs scope staff"), "{route}: {message}");
    assert!(
        message.contains("civic311 api-key create --tenant haverhill --name <label> --scope staff"),
        "{route}: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_key_rejected_by_staff_api() {
    let server = TestServer::start().await;
    let staff_key = server.api_key("haverhill").await;
    let portal_key = server.api_key_with_scope("haverhill", ApiKeyScope::Open311).await;
    let (status, created) = server.staff_post("haverhill", &staff_key, "/requests", &pothole()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["request"]["id"].as_str().expect("request id").to_string();

    let gets = [
        format!("/requests/{id}"),
        "/requests?q=pothole".to_string(),
        format!("/requests/{id}/duplicate-candidates?radius_meters=100"),
    ];
    for path in &gets {
        let (status, body) = server.staff_get("haverhill", &portal_key, path).await;
        assert_needs_staff_scope(&format!("GET {path}"), status, &body);
    }

    let posts = [
        ("/requests".to_string(), pothole()),
        (format!("/requests/{id}/status"), json!({ "sub_status": "closed_resolved", "note": "Filled today." })),
        (format!("/requests/{id}/notes"), json!({ "text": "crew sent", "visibility": "internal" })),
        (format!("/requests/{id}/duplicate-of"), json!({ "parent_id": id })),
    ];
    for (path, body) in &posts {
        let (status, reply) = server.staff_post("haverhill", &portal_key, path, body).await;
        assert_needs_staff_scope(&format!("POST {path}"), status, &reply);
    }

    let (status, page) = server.staff_get("haverhill", &staff_key, "/requests").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 1, "a rejected POST created a request: {page}");
    let (_, stored) = server.staff_get("haverhill", &staff_key, &format!("/requests/{id}")).await;
    assert_eq!(stored["request"]["status"], "open", "a rejected status change closed the request: {stored}");
    assert_eq!(stored["history"], created["history"], "a rejected POST wrote history");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_scopes_submit_open311_requests() {
    let server = TestServer::start().await;

    for scope in ApiKeyScope::ALL {
        let key = server.api_key_with_scope("haverhill", scope).await;
        let form = [
            ("api_key", key.as_str()),
            ("jurisdiction_id", "haverhillma.gov"),
            ("service_code", "pothole"),
            ("lat", "42.7762"),
            ("long", "-71.0773"),
            ("attribute[size]", "medium"),
            ("attribute[hazard]", "no"),
        ];
        let response = server
            .client
            .post(server.url("/open311/v2/requests.json"))
            .form(&form)
            .send()
            .await
            .expect("Open311 POST reaches the server");

        let (status, reply) = civic311_tests::read_json(response).await;
        assert_eq!(status, 200, "{scope} key: {reply}");
        assert!(reply[0]["service_request_id"].is_string(), "{scope} key: {reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_cannot_see_each_others_requests() {
    let server = TestServer::start().await;
    let haverhill_key = server.api_key("haverhill").await;
    let boston_key = server.api_key("boston").await;

    let (status, created) = server.staff_post("haverhill", &haverhill_key, "/requests", &pothole()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["request"]["id"].as_str().expect("request id").to_string();

    let (status, _) = server.staff_get("boston", &boston_key, &format!("/requests/{id}")).await;
    assert_eq!(status, 404, "Boston's key finds Haverhill's request {id}");

    let (status, _) = server.staff_get("haverhill", &boston_key, &format!("/requests/{id}")).await;
    assert_eq!(status, 403);

    let (status, page) = server.staff_get("boston", &boston_key, "/requests?q=pothole").await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 0, "Boston's search sees Haverhill's request: {page}");

    let note = json!({ "text": "crew sent", "visibility": "internal" });
    let (status, _) = server.staff_post("boston", &boston_key, &format!("/requests/{id}/notes"), &note).await;
    assert_eq!(status, 404);

    let (status, stored) = server.staff_get("haverhill", &haverhill_key, &format!("/requests/{id}")).await;
    assert_eq!(status, 200);
    assert!(history_entry(&stored, "note").is_none(), "Boston's note reached Haverhill: {stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_request_shows_contact_and_internal_history() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let body = pothole_with(|body| {
        body.insert("contact".into(), json!({ "first_name": "Ana", "phone": "(978) 555-0101" }));
        body.insert("call_id".into(), json!("CA123"));
    });

    let (status, created) = server.staff_post("haverhill", &key, "/requests", &body).await;
    assert_eq!(status, 201, "{created}");
    let request = &created["request"];

    assert_eq!(request["channel"], "phone", "the staff API defaults to the phone channel");
    assert_eq!(request["contact"]["first_name"], "Ana");
    assert_eq!(request["contact"]["phone"], "+19785550101");
    assert_eq!(request["call_id"], "CA123");
    assert_eq!(request["sub_status"], "submitted");
    let created_entry = history_entry(&created, "created").expect("a created entry");
    assert_eq!(created_entry["visibility"], "public");
    let routed = history_entry(&created, "routed").expect("a routed entry");
    assert_eq!(routed["visibility"], "internal");
    assert_eq!(routed["detail"]["plugin"], "haverhill-router");
    assert_eq!(routed["detail"]["version"], 1, "the manifest's router is version 1: {routed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_returns_first_request() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;

    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = server
            .client
            .post(server.staff_url("haverhill", "/requests"))
            .bearer_auth(&key)
            .header("Idempotency-Key", "call-CA999-1")
            .json(&pothole())
            .send()
            .await
            .expect("request reaches the server");
        let (status, created) = civic311_tests::read_json(response).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["request"]["id"].clone());
    }

    assert_eq!(ids[0], ids[1]);
    let (_, page) = server.staff_get("haverhill", &key, "/requests").await;
    assert_eq!(page["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_history_finds_phone_in_any_form() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;

    for phone in ["978-555-0101", "+1 (978) 555-0101", "978 555 0199"] {
        let body = pothole_with(|body| {
            body.insert("contact".into(), json!({ "phone": phone }));
        });
        let (status, created) = server.staff_post("haverhill", &key, "/requests", &body).await;
        assert_eq!(status, 201, "{created}");
    }

    let (status, page) = server.staff_get("haverhill", &key, "/requests?phone=9785550101").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2, "{page}");
    for item in page["items"].as_array().expect("items") {
        assert_eq!(item["contact"]["phone"], "+19785550101");
    }

    let (status, body) = server.staff_get("haverhill", &key, "/requests?page_size=501").await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "page_size");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_change_keeps_internal_note_internal() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let (_, created) = server.staff_post("haverhill", &key, "/requests", &pothole()).await;
    let id = created["request"]["id"].as_str().expect("request id").to_string();

    let change = json!({ "sub_status": "in_progress", "note": "crew 4 assigned", "visibility": "internal" });
    let (status, changed) = server.staff_post("haverhill", &key, &format!("/requests/{id}/status"), &change).await;

    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["request"]["sub_status"], "in_progress");
    assert_eq!(changed["request"]["status"], "open");
    let note = history_entry(&changed, "note").expect("the internal note is its own entry");
    assert_eq!(note["visibility"], "internal");
    assert_eq!(note["summary"], "crew 4 assigned");
    assert!(history_entry(&changed, "status_changed").is_some(), "{changed}");

    let bad = json!({ "sub_status": "fixed" });
    let (status, body) = server.staff_post("haverhill", &key, &format!("/requests/{id}/status"), &bad).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "sub_status");

    let closed = json!({ "sub_status": "closed_resolved", "note": "Filled today." });
    let (status, body) = server.staff_post("haverhill", &key, &format!("/requests/{id}/status"), &closed).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["request"]["status"], "closed");
    assert!(body["request"]["closed_at"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_closes_request_with_parent() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let (_, first) = server.staff_post("haverhill", &key, "/requests", &pothole()).await;
    let nearby = pothole_with(|body| {
        body.insert("lat".into(), json!(42.77625));
    });
    let (_, second) = server.staff_post("haverhill", &key, "/requests", &nearby).await;
    let first_id = first["request"]["id"].as_str().expect("first id").to_string();
    let second_id = second["request"]["id"].as_str().expect("second id").to_string();

    let (status, candidates) = server
        .staff_get("haverhill", &key, &format!("/requests/{second_id}/duplicate-candidates?radius_meters=100"))
        .await;
    assert_eq!(status, 200, "{candidates}");
    let candidate_ids: Vec<&str> = candidates
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|candidate| candidate["id"].as_str())
        .collect();
    assert_eq!(candidate_ids, vec![first_id.as_str()]);

    let (status, body) = server
        .staff_post("haverhill", &key, &format!("/requests/{second_id}/duplicate-of"), &json!({ "parent_id": second_id }))
        .await;
    assert_eq!(status, 422, "{body}");

    let (status, closed) = server
        .staff_post("haverhill", &key, &format!("/requests/{second_id}/duplicate-of"), &json!({ "parent_id": first_id }))
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["request"]["sub_status"], "closed_duplicate");
    assert_eq!(closed["request"]["parent_request_id"], first_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_echoed_or_generated() {
    let server = TestServer::start().await;

    let echoed = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .expect("healthz reaches the server");
    assert_eq!(echoed.status().as_u16(), 200);
    assert_eq!(echoed.headers()["x-request-id"], "trace-42");
    assert_eq!(echoed.text().await.expect("body"), "ok");

    let generated = server.client.get(server.url("/healthz")).send().await.expect("healthz reaches the server");
    let id = generated.headers()["x-request-id"].to_str().expect("ASCII id");
    assert_eq!(id.len(), 36, "a UUID is generated: {id}");

    server.stop().await.expect("the server stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reapplied_tenant_replaces_its_context() {
    let folder = tempfile::tempdir().expect("temporary tenants folder");
    let haverhill = civic311_tests::copy_tenant(&civic311_tests::tenants_dir().join("haverhill"), folder.path());
    civic311_tests::copy_tenant(&civic311_tests::tenants_dir().join("boston"), folder.path());
    let server = TestServer::start_with_tenants(folder.path()).await;
    let before = server.tenant("haverhill");
    let boston_before = server.tenant("boston");

    let tenant_file = haverhill.join("tenant.toml");
    let text = std::fs::read_to_string(&tenant_file).expect("read tenant.toml");
    std::fs::write(&tenant_file, text.replace("name = \"City of Haverhill\"", "name = \"City of Haverhill, MA\""))
        .expect("write tenant.toml");
    let state = &server.state;
    let applied = civic311_server::tenants::apply_dir(&state.store, &state.manager, &state.tenants, &haverhill)
        .await
        .expect("the changed manifest applies");

    assert_eq!(applied.outcome, civic311_store::ApplyOutcome::Updated);
    let after = server.tenant("haverhill");
    assert_eq!(after.manifest.name, "City of Haverhill, MA");
    assert_eq!(after.id, before.id);
    assert!(state.manager.registry().router(after.id).is_some(), "the router install is still active");
    assert_eq!(before.manifest.name, "City of Haverhill", "a request in flight keeps its snapshot");
    assert!(std::sync::Arc::ptr_eq(&boston_before, &server.tenant("boston")), "Boston's context is untouched");
    assert_eq!(server.state.tenants.by_jurisdiction("haverhillma.gov").map(|tenant| tenant.manifest.name.clone()).as_deref(), Some("City of Haverhill, MA"));
}
