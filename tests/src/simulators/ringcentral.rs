//! A RingCentral simulator: sends the `Validation-Token` handshake and
//! telephony-session notifications for scripted calls, with duplication,
//! reordering and authentication failures on demand.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

/// Which header carries the verification token on each event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHeader {
    /// `Verification-Token`, as the current "Receiving webhooks" page says.
    Verification,
    /// `validation-token`, as a 2024 version of that page says.
    LegacyValidation,
    /// No token at all.
    Missing,
}

/// Failure knobs of the simulator.
#[derive(Clone, Debug)]
pub struct RingCentralKnobs {
    pub token_header: TokenHeader,
    /// Sends this token instead of the right one.
    pub wrong_token: Option<String>,
}

impl Default for RingCentralKnobs {
    fn default() -> RingCentralKnobs {
        RingCentralKnobs { token_header: TokenHeader::Verification, wrong_token: None }
    }
}

/// How the notifications of one call are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    InOrder,
    /// Last notification first.
    Reversed,
    /// Every notification twice in a row.
    Duplicated,
    /// Reversed, and every notification twice.
    ReversedAndDuplicated,
    /// A fixed shuffle: even positions first, then odd positions backwards.
    Shuffled,
}

/// A reply to one delivery.
#[derive(Clone, Debug)]
pub struct DeliveryReply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl DeliveryReply {
    /// Parses the reply's `{ "recorded", "duplicates" }` counts.
    pub fn counts(&self) -> (u64, u64) {
        let json: Value = serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("reply is not JSON ({error}): {}", self.body));
        (json["recorded"].as_u64().unwrap_or(0), json["duplicates"].as_u64().unwrap_or(0))
    }
}

/// How a scripted RingCentral call goes.
#[derive(Clone, Debug)]
pub enum SessionPlan {
    /// The agent with `agent_extension` answers after `wait` seconds and talks for `talk`.
    Answered { agent_extension: String, wait: i64, talk: i64 },
    /// The caller hangs up after `wait` seconds in the queue.
    Abandoned { wait: i64 },
    /// The call goes to voicemail after `wait` seconds.
    Voicemail { wait: i64 },
}

/// One scripted call as a telephony session.
#[derive(Clone, Debug)]
pub struct SessionScript {
    pub session_id: String,
    pub from: String,
    /// The city number dialled.
    pub to: String,
    /// The call queue extension the session rings.
    pub queue_extension: String,
    pub start: DateTime<Utc>,
    /// Seconds from `Setup` to `Proceeding` (entering the queue).
    pub setup_seconds: i64,
    pub plan: SessionPlan,
}

/// The simulator of one webhook subscription pointed at one tenant.
pub struct RingCentralSimulator {
    client: reqwest::Client,
    url: String,
    verification_token: String,
    pub knobs: RingCentralKnobs,
}

impl RingCentralSimulator {
    /// `url` is the webhook address, such as `http://127.0.0.1:4000/telephony/haverhill/ringcentral/webhook`.
    pub fn new(url: &str, verification_token: &str) -> RingCentralSimulator {
        RingCentralSimulator {
            client: reqwest::Client::new(),
            url: url.to_string(),
            verification_token: verification_token.to_string(),
            knobs: RingCentralKnobs::default(),
        }
    }

    /// Sends the subscription handshake: an empty POST with `Validation-Token`.
    pub async fn handshake(&self, token: &str) -> DeliveryReply {
        let request = self.client.post(&self.url).header("Validation-Token", token);
        reply(request.send().await.expect("the simulator reaches the server on loopback")).await
    }

    /// Sends one notification envelope with the configured token header.
    pub async fn send(&self, envelope: &Value) -> DeliveryReply {
        let token = self.knobs.wrong_token.as_deref().unwrap_or(&self.verification_token);
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(envelope.to_string());
        request = match self.knobs.token_header {
            TokenHeader::Verification => request.header("Verification-Token", token),
            TokenHeader::LegacyValidation => request.header("validation-token", token),
            TokenHeader::Missing => request,
        };

        reply(request.send().await.expect("the simulator reaches the server on loopback")).await
    }

    /// Delivers a call's notifications in the order `delivery` asks for, and
    /// returns every reply. Panics when a delivery is not answered with 200.
    pub async fn deliver(&self, envelopes: &[Value], delivery: Delivery) -> Vec<DeliveryReply> {
        let mut replies = Vec::new();
        for envelope in arrange(envelopes, delivery) {
            let reply = self.send(envelope).await;
            assert_eq!(reply.status, 200, "delivery answered {}: {}", reply.status, reply.body);
            replies.push(reply);
        }
        replies
    }
}

async fn reply(response: reqwest::Response) -> DeliveryReply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("reply body is readable");
    DeliveryReply { status, headers, body }
}

/// Orders (and repeats) `envelopes` as `delivery` describes.
pub fn arrange(envelopes: &[Value], delivery: Delivery) -> Vec<&Value> {
    let mut order: Vec<&Value> = envelopes.iter().collect();
    match delivery {
        Delivery::InOrder => {}
        Delivery::Reversed => order.reverse(),
        Delivery::Duplicated => order = order.into_iter().flat_map(|envelope| [envelope, envelope]).collect(),
        Delivery::ReversedAndDuplicated => {
            order.reverse();
            order = order.into_iter().flat_map(|envelope| [envelope, envelope]).collect();
        }
        Delivery::Shuffled => {
            let even = order.iter().copied().step_by(2);
            let odd: Vec<&Value> = order.iter().copied().skip(1).step_by(2).collect();
            order = even.chain(odd.into_iter().rev()).collect();
        }
    }
    order
}

/// Builds the session's notifications in chronological order, each with
/// its `sequence`: `Setup`, `Proceeding` into the queue, then the answer
/// (caller and agent parties together) and the disconnect, or the hang-up
/// or voicemail.
pub fn session_envelopes(script: &SessionScript) -> Vec<Value> {
    let proceeding_at = script.start + Duration::seconds(script.setup_seconds);
    let caller = |status: &str, to_extension: Option<&str>| caller_party(script, status, to_extension);
    let mut bodies = vec![
        (script.start, vec![caller("Setup", None)]),
        (proceeding_at, vec![caller("Proceeding", Some(&script.queue_extension))]),
    ];

    match &script.plan {
        SessionPlan::Answered { agent_extension, wait, talk } => {
            let answered_at = proceeding_at + Duration::seconds(*wait);
            let ended_at = answered_at + Duration::seconds(*talk);
            bodies.push((answered_at, vec![caller("Answered", Some(agent_extension)), agent_party(script, agent_extension, "Answered")]));
            bodies.push((ended_at, vec![caller("Disconnected", Some(agent_extension)), agent_party(script, agent_extension, "Disconnected")]));
        }
        SessionPlan::Abandoned { wait } => {
            bodies.push((proceeding_at + Duration::seconds(*wait), vec![caller("Disconnected", Some(&script.queue_extension))]));
        }
        SessionPlan::Voicemail { wait } => {
            let voicemail_at = proceeding_at + Duration::seconds(*wait);
            bodies.push((voicemail_at, vec![caller("VoiceMail", Some(&script.queue_extension))]));
            bodies.push((voicemail_at + Duration::seconds(40), vec![caller("Disconnected", Some(&script.queue_extension))]));
        }
    }

    bodies
        .into_iter()
        .enumerate()
        .map(|(index, (at, parties))| envelope(script, index as i64 + 1, at, parties))
        .collect()
}

fn envelope(script: &SessionScript, sequence: i64, at: DateTime<Utc>, parties: Vec<Value>) -> Value {
    json!({
        "uuid": format!("{}-{sequence}", script.session_id),
        "event": "/restapi/v1.0/account/~/telephony/sessions",
        "timestamp": at.to_rfc3339(),
        "subscriptionId": "sub-civic311-test",
        "ownerId": "400000001",
        "body": {
            "sequence": sequence,
            "sessionId": format!("legacy-{}", script.session_id),
            "telephonySessionId": script.session_id,
            "serverId": "10.13.20.1.TAM",
            "eventTime": at.to_rfc3339(),
            "origin": { "type": "Call" },
            "parties": parties,
        }
    })
}

fn caller_party(script: &SessionScript, status: &str, to_extension: Option<&str>) -> Value {
    let reason = if status == "Disconnected" { Some("CallFinished") } else { None };
    json!({
        "accountId": "400000001",
        "id": format!("p-{}-1", script.session_id),
        "direction": "Inbound",
        "from": { "phoneNumber": script.from },
        "to": { "phoneNumber": script.to, "extensionId": to_extension },
        "status": { "code": status, "reason": reason },
        "missedCall": false,
        "standAlone": false,
        "muted": false,
    })
}

fn agent_party(script: &SessionScript, extension: &str, status: &str) -> Value {
    json!({
        "accountId": "400000001",
        "extensionId": extension,
        "id": format!("p-{}-agent-{extension}", script.session_id),
        "direction": "Inbound",
        "from": { "phoneNumber": script.from },
        "to": { "phoneNumber": script.to, "extensionId": extension },
        "status": { "code": status },
        "missedCall": false,
        "standAlone": false,
        "muted": false,
    })
}
