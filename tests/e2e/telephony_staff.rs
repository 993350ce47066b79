//! The call takers' telephony API against the real server: live calls with
//! the dialled line, requests created on a call, links, caller history and
//! authentication.

use crate::telephony_support;

use civic311_store::ApiKeyScope;
use civic311_tests::TestServer;
use civic311_tests::simulators::twilio::{CallPlan, CallScript};
use serde_json::json;
use telephony_support::*;

fn pothole() -> serde_json::Value {
    json!({
        "service_code": "pothole",
        "description": "Pothole at the corner of Main and Winter Street",
        "lat": 42.7765,
        "long": -71.0770,
        "attributes": [{ "code": "size", "values": ["large"] }]
    })
}

#[tokio::test]
async fn live_view_shows_dialled_line() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let twilio = twilio(&server);

    let script = CallScript {
        forwarded_from: Some(DPW_HIGHWAY_LINE.into()),
        ..answered_call("CAlive1", "+19785556001", chrono::Utc::now())
    };
    let params = |extra: &[(&str, &str)]| {
        let mut params = vec![
            ("CallSid".to_string(), script.call_sid.clone()),
            ("From".to_string(), script.from.clone()),
            ("To".to_string(), script.to.clone()),
            ("ForwardedFrom".to_string(), DPW_HIGHWAY_LINE.to_string()),
        ];
        params.extend(extra.iter().map(|(name, value)| (name.to_string(), value.to_string())));
        params
    };
    // Without Timestamp the server uses its clock, so the call is live now.
    assert_eq!(twilio.post(&twilio.public_url("voice"), &params(&[])).await.status, 200);
    let enqueue = twilio.post(&twilio.public_url("language"), &params(&[("Digits", "2")])).await;
    assert_eq!(enqueue.status, 200);
    assert!(enqueue.body.contains(">haverhill-311-es</Enqueue>"), "{}", enqueue.body);

    let (status, calls) = staff_get(&server, &key, "/calls").await;
    assert_eq!(status, 200, "{calls}");
    let call = calls
        .as_array()
        .expect("a list of calls")
        .iter()
        .find(|call| call["id"] == "CAlive1")
        .unwrap_or_else(|| panic!("CAlive1 is not live: {calls}"));
    assert_eq!(call["line"], DPW_HIGHWAY_LINE);
    assert_eq!(call["line_label"], "DPW Highway (forwarded)");
    assert_eq!(call["department"], "dpw-highway");
    assert_eq!(call["department_name"], "DPW Highway");
    assert_eq!(call["forwarded"], true);
    assert_eq!(call["language"], "es");
    assert_eq!(call["outcome"], "queued");
    assert_eq!(call["from"], "+19785556001");
}

#[tokio::test]
async fn request_on_call_is_phone_channel() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    twilio(&server).play_call(&answered_call("CAreq1", "+19785556002", local(9, 0, 0))).await;

    let (status, created) = staff_post(&server, &key, "/calls/CAreq1/requests", &pothole()).await;

    assert_eq!(status, 201, "{created}");
    assert_eq!(created["request"]["channel"], "phone");
    assert_eq!(created["request"]["call_id"], "CAreq1");
    assert_eq!(created["request"]["contact"]["phone"], "+19785556002");
    assert_eq!(created["link"]["relation"], "created");

    let request_id = created["request"]["id"].as_str().expect("request id");
    let history = server.tenant("haverhill").store.history(request_id).await.expect("history reads");
    assert!(history.iter().any(|entry| entry.kind.as_str() == "call_linked"), "history: {history:?}");

    let (_, detail) = staff_get(&server, &key, "/calls/CAreq1").await;
    assert_eq!(detail["call"]["linked_requests"], 1);
    assert_eq!(detail["links"][0]["request_id"], request_id);
    assert_eq!(detail["call"]["outcome"], "completed");
    assert_eq!(detail["call"]["agent_name"], "Call taker 1");
    assert_eq!(detail["call"]["location_name"], "311 Center, City Hall");
}

#[tokio::test]
async fn linking_is_idempotent() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let twilio = twilio(&server);
    twilio.play_call(&answered_call("CAlink1", "+19785556003", local(9, 0, 0))).await;
    twilio.play_call(&answered_call("CAlink2", "+19785556004", local(9, 10, 0))).await;
    let (_, created) = staff_post(&server, &key, "/calls/CAlink1/requests", &pothole()).await;
    let request_id = created["request"]["id"].clone();

    for _ in 0..2 {
        let (status, link) = staff_post(&server, &key, "/calls/CAlink2/links", &json!({ "request_id": request_id })).await;
        assert_eq!(status, 201, "{link}");
        assert_eq!(link["relation"], "looked_up");
    }

    let (_, detail) = staff_get(&server, &key, "/calls/CAlink2").await;
    assert_eq!(detail["call"]["linked_requests"], 1);
    assert_eq!(detail["links"].as_array().map(Vec::len), Some(1));

    let (status, missing) = staff_post(&server, &key, "/calls/CAlink2/links", &json!({ "request_id": "999999" })).await;
    assert_eq!(status, 404, "{missing}");
    let (status, missing) = staff_post(&server, &key, "/calls/CAnone/links", &json!({ "request_id": request_id })).await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn caller_history_by_number() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let twilio = twilio(&server);
    twilio.play_call(&answered_call("CAhist1", "+19785556005", local(9, 0, 0))).await;
    let (_, created) = staff_post(&server, &key, "/calls/CAhist1/requests", &pothole()).await;

    twilio.play_call(&answered_call("CAhist2", "+1 978 555 6005", local(11, 0, 0))).await;
    let stranger = CallScript {
        plan: CallPlan::Abandoned { wait: 3 },
        ..answered_call("CAhist3", "+19785556999", local(11, 5, 0))
    };
    twilio.play_call(&stranger).await;

    let (status, history) = staff_get(&server, &key, "/calls/CAhist2/caller-history").await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["caller_known"], true);
    assert_eq!(history["total"], 1);
    assert_eq!(history["requests"][0]["id"], created["request"]["id"]);

    let (_, none) = staff_get(&server, &key, "/calls/CAhist3/caller-history").await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn staff_api_requires_key() {
    let server = TestServer::start().await;
    let boston_key = server.api_key("boston").await;

    let response = server.client.get(server.url("/telephony/haverhill/calls")).send().await.expect("reaches the server");
    assert_eq!(response.status().as_u16(), 401);

    let (status, body) = staff_get(&server, &boston_key, "/calls").await;
    assert_eq!(status, 403, "another tenant's key: {body}");
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("another tenant"), "{body}");

    let (status, body) = staff_get(&server, "not-a-key", "/metrics").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("--scope staff"), "{body}");

    // The key is checked before the body, so a stranger learns nothing from a malformed body.
    let response = server
        .client
        .post(server.url("/telephony/haverhill/calls/CAnone/links"))
        .body("not JSON")
        .send()
        .await
        .expect("reaches the server");
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn open311_key_rejected_by_call_routes() {
    let server = TestServer::start().await;
    let portal_key = server.api_key_with_scope("haverhill", ApiKeyScope::Open311).await;
    twilio(&server).play_call(&answered_call("CAscope1", "+19785556010", local(9, 0, 0))).await;

    let gets = ["/calls", "/calls/CAscope1", "/calls/CAscope1/caller-history", "/metrics", "/metrics.csv"];
    let posts = [
        ("/calls/CAscope1/requests", pothole()),
        ("/calls/CAscope1/links", json!({ "request_id": "1001" })),
    ];
    let mut replies = Vec::new();
    for path in gets {
        replies.push((format!("GET {path}"), staff_get(&server, &portal_key, path).await));
    }
    for (path, body) in &posts {
        replies.push((format!("POST {path}"), staff_post(&server, &portal_key, path, body).await));
    }

    for (route, (status, body)) in &replies {
        assert_eq!(*status, 403, "{route}: {body}");
        assert_eq!(body["error"]["code"], "forbidden", "{route}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("needs scope staff"), "{route}: {message}");
        assert!(message.contains("--scope staff"), "{route}: {message}");
    }
    let stored = server.tenant("haverhill").store.call("CAscope1").await.expect("call reads").expect("call is stored");
    assert_eq!(stored.linked_requests, 0, "a rejected POST linked a request");
}
