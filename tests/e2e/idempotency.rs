//! `Idempotency-Key` on Open311 POST, on the staff API and on requests
//! created on a call, over real HTTP against the in-process server. A retry from the same API key returns the
//! first request without routing again. The same key with another payload
//! is rejected with 422, and the same key from another API key creates a
//! request of its own.

use crate::telephony_support;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

use civic311_store::ApiKeyScope;
use civic311_tests::{TestServer, read_json};
use serde_json::{Value, json};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

const HAVERHILL: &str = "haverhillma.gov";

/// Target of the log events that the routing step writes for every request
/// it routes, whether the plugin decides or the fallback does.
const ROUTING_TARGET: &str = "civic311_server::intake::routing";

/// Starts a server after installing the routing event counter, so that no
/// test hits a log call site before the counter is registered.
async fn start() -> TestServer {
    routing_event_counts();
    TestServer::start().await
}

/// Creates an `open311` API key of Haverhill, as a city issues to one app.
async fn app_key(server: &TestServer, name: &str) -> String {
    let (_, secret) = server
        .tenant("haverhill")
        .store
        .create_api_key_with_scope(name, ApiKeyScope::Open311)
        .await
        .unwrap_or_else(|error| panic!("cannot create API key {name}: {error}"));
    secret
}

fn pothole_form<'a>(api_key: &'a str, description: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("api_key", api_key),
        ("jurisdiction_id", HAVERHILL),
        ("service_code", "pothole"),
        ("lat", "42.7762"),
        ("long", "-71.0773"),
        ("attribute[size]", "small"),
        ("attribute[hazard]", "no"),
        ("description", description),
    ]
}

/// POSTs an Open311 request with `Idempotency-Key: key` and returns the status and JSON reply.
async fn open311_post(server: &TestServer, form: &[(&str, &str)], key: &str) -> (u16, Value) {
    let response = server
        .client
        .post(server.url("/open311/v2/requests.json"))
        .header("Idempotency-Key", key)
        .form(form)
        .send()
        .await
        .expect("Open311 POST reaches the server");
    read_json(response).await
}

fn staff_pothole(description: &str) -> Value {
    json!({
        "service_code": "pothole",
        "description": description,
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "medium", "hazard": "no" },
    })
}

/// POSTs a staff API request with `Idempotency-Key: key` and returns the status and JSON reply.
async fn staff_post(server: &TestServer, api_key: &str, body: &Value, key: &str) -> (u16, Value) {
    let response = server
        .client
        .post(server.staff_url("haverhill", "/requests"))
        .bearer_auth(api_key)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("staff API POST reaches the server");
    read_json(response).await
}

/// Returns the descriptions of Haverhill's stored requests, oldest first.
async fn stored_descriptions(server: &TestServer) -> Vec<String> {
    let page = server
        .tenant("haverhill")
        .store
        .query_requests(&civic311_store::RequestQuery::default())
        .await
        .expect("query Haverhill's requests");
    page.items.into_iter().rev().map(|request| request.description).collect()
}

fn open311_id(reply: &Value) -> String {
    reply[0]["service_request_id"]
        .as_str()
        .unwrap_or_else(|| panic!("reply has no service_request_id: {reply}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_retry_returns_first_request() {
    let server = start().await;
    let portal = app_key(&server, "portal").await;
    let form = pothole_form(&portal, "Deep hole by the library");

    let (first_status, first) = open311_post(&server, &form, "retry-1").await;
    let (retry_status, retry) = open311_post(&server, &form, "retry-1").await;

    assert_eq!(first_status, 200, "{first}");
    assert_eq!(retry_status, 200, "{retry}");
    assert_eq!(retry, first);
    assert_eq!(stored_descriptions(&server).await, ["Deep hole by the library"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_same_key_other_payload_is_422() {
    let server = start().await;
    let portal = app_key(&server, "portal").await;

    let (first_status, first) = open311_post(&server, &pothole_form(&portal, "Deep hole by the library"), "retry-2").await;
    let (status, reply) = open311_post(&server, &pothole_form(&portal, "Streetlight out on Main St"), "retry-2").await;

    assert_eq!(first_status, 200, "{first}");
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply[0]["code"], 422, "{reply}");
    let description = reply[0]["description"].as_str().expect("error description");
    assert!(description.contains("Idempotency-Key 'retry-2'"), "{description}");
    assert!(description.contains("send a new key for a new request"), "{description}");
    assert_eq!(stored_descriptions(&server).await, ["Deep hole by the library"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_same_key_from_two_apps() {
    let server = start().await;
    let portal = app_key(&server, "portal").await;
    let mobile = app_key(&server, "mobile app").await;

    let (portal_status, from_portal) = open311_post(&server, &pothole_form(&portal, "Deep hole by the library"), "1").await;
    let (mobile_status, from_mobile) = open311_post(&server, &pothole_form(&mobile, "Hole at Summer and Main"), "1").await;

    assert_eq!(portal_status, 200, "{from_portal}");
    assert_eq!(mobile_status, 200, "{from_mobile}");
    assert_ne!(open311_id(&from_portal), open311_id(&from_mobile));
    assert_eq!(stored_descriptions(&server).await, ["Deep hole by the library", "Hole at Summer and Main"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_api_key_scoped_to_api_key() {
    let server = start().await;
    let desk = server.api_key("haverhill").await;
    let field_office = server.api_key("haverhill").await;

    let (status, first) = staff_post(&server, &desk, &staff_pothole("Deep hole by the library"), "call-CA1").await;
    assert_eq!(status, 201, "{first}");
    let (status, retry) = staff_post(&server, &desk, &staff_pothole("Deep hole by the library"), "call-CA1").await;
    assert_eq!(status, 201, "{retry}");
    assert_eq!(retry["request"]["id"], first["request"]["id"]);

    let (status, reused) = staff_post(&server, &desk, &staff_pothole("Streetlight out on Main St"), "call-CA1").await;
    assert_eq!(status, 422, "{reused}");
    assert_eq!(reused["error"]["field"], "Idempotency-Key", "{reused}");
    let message = reused["error"]["message"].as_str().expect("error message");
    assert!(message.contains("send a new key for a new request"), "{message}");

    let (status, other) = staff_post(&server, &field_office, &staff_pothole("Hole at Summer and Main"), "call-CA1").await;
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["request"]["id"], first["request"]["id"]);

    assert_eq!(stored_descriptions(&server).await, ["Deep hole by the library", "Hole at Summer and Main"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_compared_after_normalizing() {
    let server = start().await;
    let portal = app_key(&server, "portal").await;
    let form = pothole_form(&portal, "Deep hole by the library");
    let mut respelled = pothole_form(&portal, "  Deep hole by the library ");
    respelled.reverse();
    respelled.push(("phone", "(978) 555-0100"));
    let mut with_phone = form.clone();
    with_phone.push(("phone", "+19785550100"));

    let (first_status, first) = open311_post(&server, &with_phone, "retry-3").await;
    let (retry_status, retry) = open311_post(&server, &respelled, "retry-3").await;

    assert_eq!(first_status, 200, "{first}");
    assert_eq!(retry_status, 200, "{retry}");
    assert_eq!(open311_id(&retry), open311_id(&first));
    assert_eq!(stored_descriptions(&server).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_request_key_scoped_to_api_key() {
    let server = start().await;
    let desk = server.api_key("haverhill").await;
    let supervisor = server.api_key("haverhill").await;
    let call = telephony_support::answered_call("CAidem1", "+19785556010", telephony_support::local(9, 0, 0));
    telephony_support::twilio(&server).play_call(&call).await;
    let body = |description: &str| {
        json!({
            "service_code": "pothole",
            "description": description,
            "lat": 42.7765,
            "long": -71.0770,
            "attributes": [{ "code": "size", "values": ["large"] }],
            "idempotency_key": "CAidem1-1",
        })
    };

    let (status, first) = telephony_support::staff_post(&server, &desk, "/calls/CAidem1/requests", &body("Deep hole by the library")).await;
    assert_eq!(status, 201, "{first}");
    let (status, retry) = telephony_support::staff_post(&server, &desk, "/calls/CAidem1/requests", &body("Deep hole by the library")).await;
    assert_eq!(status, 201, "{retry}");
    assert_eq!(retry["request"]["id"], first["request"]["id"]);

    let (status, reused) = telephony_support::staff_post(&server, &desk, "/calls/CAidem1/requests", &body("Streetlight out")).await;
    assert_eq!(status, 422, "{reused}");
    assert_eq!(reused["error"]["field"], "Idempotency-Key", "{reused}");

    let (status, other) = telephony_support::staff_post(&server, &supervisor, "/calls/CAidem1/requests", &body("Hole at Summer and Main")).await;
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["request"]["id"], first["request"]["id"]);

    assert_eq!(stored_descriptions(&server).await, ["Deep hole by the library", "Hole at Summer and Main"]);
}

/// Returns the routing step's log event counts per thread, installing the
/// process-wide subscriber that keeps them on the first call.
///
/// The subscriber is global because a thread-local one misses events when
/// tests in the same process register the same call sites concurrently.
/// Counting per thread keeps the tests apart: a current-thread runtime runs
/// the server's handlers on the test's own thread.
fn routing_event_counts() -> &'static Mutex<HashMap<ThreadId, usize>> {
    static COUNTS: OnceLock<&'static Mutex<HashMap<ThreadId, usize>>> = OnceLock::new();
    COUNTS.get_or_init(|| {
        let counts: &'static Mutex<HashMap<ThreadId, usize>> = Box::leak(Box::default());
        tracing_subscriber::registry().with(RoutingEvents(counts)).init();
        counts
    })
}

fn routing_events_on_this_thread() -> usize {
    let counts = routing_event_counts().lock().expect("no test panics while holding the counts");
    counts.get(&std::thread::current().id()).copied().unwrap_or(0)
}

/// Counts log events of the routing step per thread; routing writes at least one per request.
struct RoutingEvents(&'static Mutex<HashMap<ThreadId, usize>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RoutingEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() == ROUTING_TARGET {
            let mut counts = self.0.lock().expect("no test panics while holding the counts");
            *counts.entry(std::thread::current().id()).or_default() += 1;
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn retry_skips_routing() {
    let server = start().await;
    let portal = app_key(&server, "portal").await;
    let form = pothole_form(&portal, "Deep hole by the library");

    let (first_status, first) = open311_post(&server, &form, "retry-4").await;
    let after_first = routing_events_on_this_thread();
    let (retry_status, retry) = open311_post(&server, &form, "retry-4").await;
    let after_retry = routing_events_on_this_thread();
    let (reused_status, _) = open311_post(&server, &pothole_form(&portal, "Streetlight out"), "retry-4").await;
    let after_reuse = routing_events_on_this_thread();

    assert_eq!(first_status, 200, "{first}");
    assert_eq!(retry_status, 200, "{retry}");
    assert_eq!(reused_status, 422);
    assert!(after_first > 0, "the first POST wrote no routing event, so this test cannot see routing");
    assert_eq!(after_retry, after_first, "the retry ran the routing step again");
    assert_eq!(after_reuse, after_first, "the rejected POST ran the routing step");
}
