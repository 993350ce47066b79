//! Helpers shared by the telephony end-to-end tests.

use chrono::{DateTime, TimeZone, Utc};
use civic311_tests::TestServer;
use civic311_tests::simulators::ringcentral::RingCentralSimulator;
use civic311_tests::simulators::twilio::{CallPlan, CallScript, TwilioSimulator};

/// Haverhill's public base URL, as configured in its `[telephony]` table.
pub const PUBLIC_BASE: &str = "https://311.haverhillma.gov";
/// Haverhill's development Twilio token (`dev_auth_token`).
pub const TWILIO_DEV_TOKEN: &str = "dev-haverhill-twilio-token";
/// Haverhill's development RingCentral token (`dev_verification_token`).
pub const RINGCENTRAL_DEV_TOKEN: &str = "dev-haverhill-ringcentral-token";

pub const MAIN_LINE: &str = "+19785550100";
pub const DPW_HIGHWAY_LINE: &str = "+19785550110";
pub const DPW_PARKS_LINE: &str = "+19785550120";
pub const HEALTH_LINE: &str = "+19785550130";

pub fn twilio(server: &TestServer) -> TwilioSimulator {
    TwilioSimulator::new(&server.base_url, PUBLIC_BASE, "haverhill", TWILIO_DEV_TOKEN)
}

pub fn ringcentral(server: &TestServer) -> RingCentralSimulator {
    RingCentralSimulator::new(&server.url("/telephony/haverhill/ringcentral/webhook"), RINGCENTRAL_DEV_TOKEN)
}

/// Converts a local Eastern Standard Time (UTC−5) on Tuesday 1 December
/// 2026, an ordinary business day in Haverhill, to UTC.
pub fn local(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, hour + 5, minute, second).unwrap()
}

/// An English caller on the main line whose call an agent answers.
pub fn answered_call(call_sid: &str, from: &str, start: DateTime<Utc>) -> CallScript {
    CallScript {
        call_sid: call_sid.to_string(),
        from: from.to_string(),
        to: MAIN_LINE.to_string(),
        forwarded_from: None,
        start,
        digit: None,
        plan: CallPlan::Answered { agent: "agent-1".into(), location: None, wait: 10, talk: 60 },
    }
}

/// Sends a staff GET under `/telephony/haverhill` and returns status and JSON.
pub async fn staff_get(server: &TestServer, key: &str, path: &str) -> (u16, serde_json::Value) {
    let response = server
        .client
        .get(server.url(&format!("/telephony/haverhill{path}")))
        .bearer_auth(key)
        .send()
        .await
        .expect("staff GET reaches the server");
    civic311_tests::read_json(response).await
}

/// Sends a staff POST under `/telephony/haverhill` and returns status and JSON.
pub async fn staff_post(server: &TestServer, key: &str, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let response = server
        .client
        .post(server.url(&format!("/telephony/haverhill{path}")))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .expect("staff POST reaches the server");
    civic311_tests::read_json(response).await
}
