//! A day at the Haverhill 311 center, played by the Twilio and RingCentral
//! simulators against the real server, with the call-centre metrics checked
//! against figures computed by hand.

use crate::telephony_support;

use civic311_tests::TestServer;
use civic311_tests::simulators::ringcentral::{Delivery, SessionPlan, SessionScript, session_envelopes};
use civic311_tests::simulators::twilio::{CallPlan, CallScript};
use serde_json::{Value, json};
use telephony_support::*;

// Haverhill's settings: short abandon under 10 s; service level 80 % within
// 30 s; abandons count as misses ("offered").
//
// The day, Tuesday 1 December 2026, local time:
//
// | call | vendor | start | line            | lang | outcome                          | wait | talk |
// |------|--------|-------|-----------------|------|----------------------------------|------|------|
// | T1   | Twilio | 09:00 | main            | en   | agent-1 at center                | 12   | 240  |
// | T2   | Twilio | 09:05 | main            | es   | agent-3 at dpw-office            | 45   | 300  |
// | T3   | Twilio | 09:10 | DPW Highway fwd | en   | abandoned (short)                | 6    |      |
// | T4   | Twilio | 09:20 | DPW Parks fwd   | en   | abandoned                        | 70   |      |
// | R1   | RC     | 09:30 | main            | en   | ext 201 = agent-1 at center      | 20   | 120  |
// | R2   | RC     | 09:45 | Health          | es   | ext 203 = agent-3 at dpw-office  | 40   | 360  |
// | T5   | Twilio | 10:02 | main            | en   | agent-2 answering at dpw-office  | 25   | 180  |
// | T6   | Twilio | 10:15 | main            |      | hangs up in the menu             |      |      |
// | R3   | RC     | 10:30 | main            | en   | abandoned                        | 15   |      |
// | R4   | RC     | 11:00 | main            | en   | ext 202 = agent-2 at center      | 5    | 60   |
// | T7   | Twilio | 17:30 | main            |      | after hours, voicemail           |      |      |
//
// T1 creates a request on the call and R2 links that request after looking it up.
const CALLS: u64 = 11;
// Every call but T6 (menu) and T7 (after hours) entered a queue.
const OFFERED: u64 = 9;
// T1, T2, T5, R1, R2, R4.
const ANSWERED: u64 = 6;
// T3, T4, R3; T3 waited 6 s < 10 s.
const ABANDONED: u64 = 3;
const SHORT_ABANDONED: u64 = 1;
// (3 − 1) ÷ (9 − 1) × 100
const ABANDONMENT_RATE: f64 = 25.0;
// (12 + 45 + 20 + 40 + 25 + 5) ÷ 6 = 147 ÷ 6
const ASA_SECONDS: f64 = 24.5;
// Waits ≤ 30 s: 12, 20, 25, 5.
const ANSWERED_WITHIN_30S: u64 = 4;
// 4 ÷ 9 × 100, abandons counted as misses.
const SERVICE_LEVEL: f64 = 400.0 / 9.0;
// (240 + 300 + 120 + 360 + 180 + 60) ÷ 6 = 1260 ÷ 6
const AHT_SECONDS: f64 = 210.0;
const MAX_WAIT_SECONDS: i64 = 70;
const CALLS_WITH_REQUEST: u64 = 2;

// By location. center: T1, R1, R4 with waits 12, 20, 5 and talks 240, 120, 60.
const CENTER_ASA: f64 = 37.0 / 3.0;
const CENTER_AHT: f64 = 140.0;
// dpw-office: T2, R2, T5 with waits 45, 40, 25 and talks 300, 360, 180.
const DPW_OFFICE_ASA: f64 = 110.0 / 3.0;
const DPW_OFFICE_AHT: f64 = 280.0;
// Unanswered calls have no location: T3, T4, T6, R3, T7.
const NO_LOCATION_CALLS: u64 = 5;

// By language. en offered T1, T3, T4, T5, R1, R3, R4: answered 4, abandoned 3 (1 short).
const ENGLISH_OFFERED: u64 = 7;
const ENGLISH_ABANDONMENT_RATE: f64 = 200.0 / 6.0;
// es offered T2, R2, both answered: waits 45, 40, none within 30 s.
const SPANISH_SERVICE_LEVEL: f64 = 0.0;

fn assert_close(actual: &Value, expected: f64, what: &str) {
    let actual = actual.as_f64().unwrap_or_else(|| panic!("{what} is not a number: {actual}"));
    assert!((actual - expected).abs() < 1e-9, "{what}: expected {expected}, got {actual}");
}

fn twilio_calls() -> Vec<CallScript> {
    let call = |sid: &str, from: &str, start, digit: Option<&str>, plan| CallScript {
        call_sid: sid.to_string(),
        from: from.to_string(),
        to: MAIN_LINE.to_string(),
        forwarded_from: None,
        start,
        digit: digit.map(str::to_string),
        plan,
    };
    let answered = |agent: &str, location: Option<&str>, wait, talk| CallPlan::Answered {
        agent: agent.to_string(),
        location: location.map(str::to_string),
        wait,
        talk,
    };

    vec![
        call("CAT1", "+19785551001", local(9, 0, 0), None, answered("agent-1", None, 12, 240)),
        call("CAT2", "+19785551002", local(9, 5, 0), Some("2"), answered("agent-3", None, 45, 300)),
        CallScript {
            forwarded_from: Some(DPW_HIGHWAY_LINE.into()),
            ..call("CAT3", "+19785551003", local(9, 10, 0), None, CallPlan::Abandoned { wait: 6 })
        },
        CallScript {
            forwarded_from: Some(DPW_PARKS_LINE.into()),
            ..call("CAT4", "+19785551004", local(9, 20, 0), Some("1"), CallPlan::Abandoned { wait: 70 })
        },
        call("CAT5", "+19785551005", local(10, 2, 0), None, answered("agent-2", Some("dpw-office"), 25, 180)),
        call("CAT6", "+19785551006", local(10, 15, 0), None, CallPlan::HangsUpInMenu { after: 4 }),
        call("CAT7", "+19785551007", local(17, 30, 0), None, CallPlan::AfterHours { voicemail_seconds: Some(20) }),
    ]
}

fn ringcentral_calls() -> Vec<(SessionScript, Delivery)> {
    let session = |id: &str, from: &str, to: &str, queue: &str, start, plan| SessionScript {
        session_id: id.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        queue_extension: queue.to_string(),
        start,
        setup_seconds: 6,
        plan,
    };
    let answered = |extension: &str, wait, talk| SessionPlan::Answered { agent_extension: extension.to_string(), wait, talk };

    vec![
        (session("s-R1", "+19785552001", MAIN_LINE, "3101", local(9, 30, 0), answered("201", 20, 120)), Delivery::ReversedAndDuplicated),
        (session("s-R2", "+19785552002", HEALTH_LINE, "3102", local(9, 45, 0), answered("203", 40, 360)), Delivery::Shuffled),
        (session("s-R3", "+19785552003", MAIN_LINE, "3101", local(10, 30, 0), SessionPlan::Abandoned { wait: 15 }), Delivery::Duplicated),
        (session("s-R4", "+19785552004", MAIN_LINE, "3101", local(11, 0, 0), answered("202", 5, 60)), Delivery::Reversed),
    ]
}

async fn play_day(server: &TestServer, key: &str) {
    let twilio = twilio(server);
    for script in twilio_calls() {
        twilio.play_call(&script).await;
    }

    let ringcentral = ringcentral(server);
    for (script, delivery) in ringcentral_calls() {
        let envelopes = session_envelopes(&script);
        let replies = ringcentral.deliver(&envelopes, delivery).await;
        let duplicates: u64 = replies.iter().map(|reply| reply.counts().1).sum();
        let expected_duplicates = match delivery {
            Delivery::Duplicated | Delivery::ReversedAndDuplicated => {
                envelopes.iter().map(|envelope| envelope["body"]["parties"].as_array().map_or(0, Vec::len) as u64).sum()
            }
            _ => 0,
        };
        assert_eq!(duplicates, expected_duplicates, "duplicates reported for {}", script.session_id);
    }

    let (status, created) = staff_post(
        server,
        key,
        "/calls/CAT1/requests",
        &json!({
            "service_code": "pothole",
            "description": "Deep pothole in front of 12 Main Street",
            "lat": 42.7762,
            "long": -71.0773,
            "address": "12 Main Street",
            "attributes": [{ "code": "size", "values": ["medium"] }]
        }),
    )
    .await;
    assert_eq!(status, 201, "create on call: {created}");

    let request_id = created["request"]["id"].as_str().expect("created request has an id");
    let (status, link) = staff_post(server, key, "/calls/s-R2/links", &json!({ "request_id": request_id })).await;
    assert_eq!(status, 201, "link on call: {link}");
}

async fn metrics(server: &TestServer, key: &str, group_by: Option<&str>) -> Value {
    let mut path = "/metrics?from=2026-12-01&to=2026-12-01".to_string();
    if let Some(group_by) = group_by {
        path.push_str(&format!("&group_by={group_by}"));
    }
    let (status, report) = staff_get(server, key, &path).await;
    assert_eq!(status, 200, "metrics: {report}");
    report
}

fn group<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .expect("groups is a list")
        .iter()
        .find(|row| row["key"] == key)
        .unwrap_or_else(|| panic!("no group {key} in {report}"))
}

#[tokio::test]
async fn day_of_calls_metrics() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    play_day(&server, &key).await;

    let report = metrics(&server, &key, None).await;
    let total = &report["total"];

    assert_eq!(total["calls"], CALLS);
    assert_eq!(total["offered"], OFFERED);
    assert_eq!(total["answered"], ANSWERED);
    assert_eq!(total["abandoned"], ABANDONED);
    assert_eq!(total["short_abandoned"], SHORT_ABANDONED);
    assert_eq!(total["voicemails"], 1);
    assert_eq!(total["after_hours"], 1);
    assert_eq!(total["answered_within_threshold"], ANSWERED_WITHIN_30S);
    assert_eq!(total["max_wait_seconds"], MAX_WAIT_SECONDS);
    assert_eq!(total["calls_with_request"], CALLS_WITH_REQUEST);
    assert_close(&total["abandonment_rate_percent"], ABANDONMENT_RATE, "abandonment rate");
    assert_close(&total["average_speed_of_answer_seconds"], ASA_SECONDS, "ASA");
    assert_close(&total["service_level_percent"], SERVICE_LEVEL, "service level");
    assert_close(&total["average_handle_time_seconds"], AHT_SECONDS, "AHT");
    assert_eq!(report["settings"]["abandon_treatment"], "offered");
    assert_eq!(report["settings"]["service_level_seconds"], 30);
}

#[tokio::test]
async fn day_of_calls_grouped() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    play_day(&server, &key).await;

    let by_location = metrics(&server, &key, Some("location")).await;
    let center = group(&by_location, "center");
    assert_eq!(center["answered"], 3);
    assert_close(&center["average_speed_of_answer_seconds"], CENTER_ASA, "center ASA");
    assert_close(&center["average_handle_time_seconds"], CENTER_AHT, "center AHT");
    let office = group(&by_location, "dpw-office");
    assert_eq!(office["answered"], 3);
    assert_close(&office["average_speed_of_answer_seconds"], DPW_OFFICE_ASA, "DPW office ASA");
    assert_close(&office["average_handle_time_seconds"], DPW_OFFICE_AHT, "DPW office AHT");
    assert_eq!(group(&by_location, "none")["calls"], NO_LOCATION_CALLS);

    let by_language = metrics(&server, &key, Some("language")).await;
    let english = group(&by_language, "en");
    assert_eq!(english["offered"], ENGLISH_OFFERED);
    assert_close(&english["abandonment_rate_percent"], ENGLISH_ABANDONMENT_RATE, "English abandonment rate");
    let spanish = group(&by_language, "es");
    assert_eq!(spanish["answered"], 2);
    assert_close(&spanish["service_level_percent"], SPANISH_SERVICE_LEVEL, "Spanish service level");

    let by_line = metrics(&server, &key, Some("line")).await;
    assert_eq!(group(&by_line, DPW_HIGHWAY_LINE)["short_abandoned"], 1);
    assert_eq!(group(&by_line, DPW_PARKS_LINE)["abandoned"], 1);
    assert_eq!(group(&by_line, HEALTH_LINE)["answered"], 1);
    assert_eq!(group(&by_line, MAIN_LINE)["calls"], 8);

    let by_agent = metrics(&server, &key, Some("agent")).await;
    assert_eq!(group(&by_agent, "agent-1")["answered"], 2);
    assert_eq!(group(&by_agent, "agent-2")["answered"], 2);
    assert_eq!(group(&by_agent, "agent-3")["answered"], 2);

    let by_hour = metrics(&server, &key, Some("hour")).await;
    assert_eq!(group(&by_hour, "2026-12-01T09")["calls"], 6);
    assert_eq!(group(&by_hour, "2026-12-01T10")["calls"], 3);
    assert_eq!(group(&by_hour, "2026-12-01T11")["calls"], 1);
    assert_eq!(group(&by_hour, "2026-12-01T17")["calls"], 1);

    let by_day = metrics(&server, &key, Some("day")).await;
    assert_eq!(group(&by_day, "2026-12-01")["offered"], OFFERED);
}

#[tokio::test]
async fn day_of_calls_csv_export() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    play_day(&server, &key).await;

    let response = server
        .client
        .get(server.url("/telephony/haverhill/metrics.csv?from=2026-12-01&to=2026-12-01&group_by=location"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("CSV export reaches the server");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));

    let text = response.text().await.expect("CSV body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("CSV header").clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.expect("CSV row")).collect();
    let column = |name: &str| headers.iter().position(|header| header == name).unwrap_or_else(|| panic!("no column {name}"));

    let total = &rows[0];
    assert_eq!(&total[column("key")], "total");
    assert_eq!(&total[column("offered")], OFFERED.to_string());
    assert_eq!(&total[column("abandonment_rate_percent")], "25.00");
    assert_eq!(&total[column("service_level_percent")], "44.44");
    assert_eq!(&total[column("average_handle_time_seconds")], "210.00");

    let center = rows.iter().find(|row| &row[column("key")] == "center").expect("center row");
    assert_eq!(&center[column("group_by")], "location");
    assert_eq!(&center[column("average_speed_of_answer_seconds")], "12.33");
}

#[tokio::test]
async fn reordered_events_same_state() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let ringcentral = ringcentral(&server);

    let in_order = SessionScript {
        session_id: "s-ordered".into(),
        from: "+19785553001".into(),
        to: DPW_HIGHWAY_LINE.into(),
        queue_extension: "3102".into(),
        start: local(14, 0, 0),
        setup_seconds: 4,
        plan: SessionPlan::Answered { agent_extension: "203".into(), wait: 33, talk: 95 },
    };
    let shuffled = SessionScript { session_id: "s-shuffled".into(), ..in_order.clone() };
    ringcentral.deliver(&session_envelopes(&in_order), Delivery::InOrder).await;
    ringcentral.deliver(&session_envelopes(&shuffled), Delivery::Shuffled).await;
    ringcentral.deliver(&session_envelopes(&shuffled), Delivery::ReversedAndDuplicated).await;

    let (_, first) = staff_get(&server, &key, "/calls/s-ordered").await;
    let (_, second) = staff_get(&server, &key, "/calls/s-shuffled").await;
    let mut first_call = first["call"].clone();
    let mut second_call = second["call"].clone();
    first_call["id"] = Value::Null;
    second_call["id"] = Value::Null;

    assert_eq!(first_call, second_call);
    assert_eq!(first_call["outcome"], "completed");
    assert_eq!(first_call["wait_seconds"], 33);
    assert_eq!(first_call["handle_seconds"], 95);
    assert_eq!(first_call["language"], "es");
    assert_eq!(first_call["location"], "dpw-office");
    assert_eq!(first_call["department"], "dpw-highway");
    assert_eq!(second["events"].as_array().map(Vec::len), first["events"].as_array().map(Vec::len));
}

#[tokio::test]
async fn concurrent_duplicates_same_state() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let script = SessionScript {
        session_id: "s-sequential".into(),
        from: "+19785553002".into(),
        to: MAIN_LINE.into(),
        queue_extension: "3101".into(),
        start: local(15, 0, 0),
        setup_seconds: 2,
        plan: SessionPlan::Answered { agent_extension: "202".into(), wait: 18, talk: 75 },
    };
    ringcentral(&server).deliver(&session_envelopes(&script), Delivery::InOrder).await;

    // Every notification of a second, identical session three times at once.
    let concurrent = SessionScript { session_id: "s-concurrent".into(), ..script };
    let mut tasks = Vec::new();
    for envelope in session_envelopes(&concurrent) {
        for _ in 0..3 {
            let simulator = ringcentral(&server);
            let envelope = envelope.clone();
            tasks.push(tokio::spawn(async move { simulator.send(&envelope).await }));
        }
    }
    let mut recorded = 0;
    for task in tasks {
        let reply = task.await.expect("delivery task");
        assert_eq!(reply.status, 200, "{}", reply.body);
        recorded += reply.counts().0;
    }

    let (_, sequential) = staff_get(&server, &key, "/calls/s-sequential").await;
    let (_, parallel) = staff_get(&server, &key, "/calls/s-concurrent").await;
    let events = sequential["events"].as_array().map(Vec::len).expect("events list");
    assert_eq!(recorded, events as u64, "each party event is recorded once");
    assert_eq!(parallel["events"].as_array().map(Vec::len), Some(events));

    let mut sequential_call = sequential["call"].clone();
    let mut parallel_call = parallel["call"].clone();
    sequential_call["id"] = Value::Null;
    parallel_call["id"] = Value::Null;
    assert_eq!(parallel_call, sequential_call);
    assert_eq!(parallel_call["wait_seconds"], 18);
}

#[tokio::test]
async fn metrics_unknown_group_by_is_json_error() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;

    let (status, error) = staff_get(&server, &key, "/metrics?group_by=ward").await;
    let (csv_status, csv_error) = staff_get(&server, &key, "/metrics.csv?group_by=ward").await;
    let grouped = metrics(&server, &key, Some("line")).await;

    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "invalid_field");
    assert_eq!(error["error"]["field"], "group_by");
    assert_eq!(
        error["error"]["message"],
        "'ward' is not a valid group_by; use one of line, location, agent, language, hour, day"
    );
    assert_eq!(csv_status, 422, "{csv_error}");
    assert_eq!(csv_error["error"]["field"], "group_by");
    assert_eq!(grouped["group_by"], "line");
}
