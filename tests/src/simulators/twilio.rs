//! A Twilio simulator: signs each webhook request with `X-Twilio-Signature`
//! and plays inbound calls through Civic311's IVR by following the URLs in
//! the TwiML replies, as Twilio's voice engine does.
//!
//! The signature is computed here independently of the server's code: the
//! URL Twilio believes it requested, then each form parameter sorted by
//! name and value, HMAC-SHA1 with the auth token, Base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// How the simulator writes the port of the URL it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortStyle {
    /// As in the public URL, usually without a port.
    AsConfigured,
    /// With the scheme's default port added (`:443` for https), as Twilio
    /// does for some accounts.
    DefaultPortAdded,
}

/// Failure and pitfall knobs of the simulator.
#[derive(Clone, Debug)]
pub struct TwilioKnobs {
    /// Signs with this token instead of the right one.
    pub wrong_token: Option<String>,
    pub port_style: PortStyle,
    /// Sends no `X-Twilio-Signature` header.
    pub omit_signature: bool,
    /// Sends no `Timestamp` parameter, so the server uses its own clock.
    pub omit_timestamp: bool,
}

impl Default for TwilioKnobs {
    fn default() -> TwilioKnobs {
        TwilioKnobs { wrong_token: None, port_style: PortStyle::AsConfigured, omit_signature: false, omit_timestamp: false }
    }
}

/// A reply from the server.
#[derive(Clone, Debug)]
pub struct SimReply {
    pub status: u16,
    pub body: String,
}

/// The simulator of one Twilio account pointed at one tenant.
pub struct TwilioSimulator {
    client: reqwest::Client,
    /// Where requests really go, such as `http://127.0.0.1:41234`.
    server_base: String,
    /// The public base URL Twilio believes it calls, such as
    /// `https://311.haverhillma.gov`; TwiML URLs under it are sent to `server_base`.
    public_base: String,
    slug: String,
    auth_token: String,
    pub knobs: TwilioKnobs,
}

/// How a simulated inbound call goes.
#[derive(Clone, Debug)]
pub enum CallPlan {
    /// An agent answers after `wait` seconds in queue and talks for `talk` seconds.
    Answered { agent: String, location: Option<String>, wait: i64, talk: i64 },
    /// The caller hangs up after `wait` seconds in queue.
    Abandoned { wait: i64 },
    /// The caller hangs up during the menu, `after` seconds into the call.
    HangsUpInMenu { after: i64 },
    /// The call comes outside business hours; the caller leaves a voicemail
    /// of `seconds` when the TwiML offers one.
    AfterHours { voicemail_seconds: Option<i64> },
}

/// One simulated inbound call.
#[derive(Clone, Debug)]
pub struct CallScript {
    pub call_sid: String,
    pub from: String,
    /// The number Twilio reports as called.
    pub to: String,
    /// The department line that forwarded the call, when one did.
    pub forwarded_from: Option<String>,
    pub start: DateTime<Utc>,
    /// The digit pressed in the language menu; `None` waits out the menu.
    pub digit: Option<String>,
    pub plan: CallPlan,
}

/// Seconds between the start of the call and the language choice.
pub const MENU_SECONDS: i64 = 8;

impl TwilioSimulator {
    pub fn new(server_base: &str, public_base: &str, slug: &str, auth_token: &str) -> TwilioSimulator {
        TwilioSimulator {
            client: reqwest::Client::new(),
            server_base: server_base.trim_end_matches('/').to_string(),
            public_base: public_base.trim_end_matches('/').to_string(),
            slug: slug.to_string(),
            auth_token: auth_token.to_string(),
            knobs: TwilioKnobs::default(),
        }
    }

    /// Returns the public URL of a Twilio route of the tenant, such as `voice`.
    pub fn public_url(&self, route: &str) -> String {
        format!("{}/telephony/{}/twilio/{route}", self.public_base, self.slug)
    }

    /// Sends a signed form POST to `url` with `params` in the given order. A
    /// root-relative URL (as TwiML has without a public base URL) is resolved
    /// against the public base, as Twilio resolves it against the document URL.
    pub async fn post(&self, url: &str, params: &[(String, String)]) -> SimReply {
        let public_url = if url.starts_with('/') { format!("{}{url}", self.public_base) } else { url.to_string() };
        let public_url = public_url.as_str();
        let body = encode_form(params);
        let signed_url = self.signed_url(public_url);
        let token = self.knobs.wrong_token.as_deref().unwrap_or(&self.auth_token);
        let signature = sign(token, &signed_url, params);

        let mut request = self
            .client
            .post(self.server_url(public_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if !self.knobs.omit_signature {
            request = request.header("x-twilio-signature", signature);
        }

        let response = request.send().await.expect("the simulator reaches the server on loopback");
        let status = response.status().as_u16();
        SimReply { status, body: response.text().await.expect("reply body is readable") }
    }

    /// Maps a public URL onto the loopback server, keeping path and query as written.
    fn server_url(&self, public_url: &str) -> String {
        let rest = public_url
            .strip_prefix(&self.public_base)
            .unwrap_or_else(|| panic!("TwiML URL {public_url} is not under {}", self.public_base));
        format!("{}{rest}", self.server_base)
    }

    fn signed_url(&self, public_url: &str) -> String {
        match self.knobs.port_style {
            PortStyle::AsConfigured => public_url.to_string(),
            PortStyle::DefaultPortAdded => add_default_port(public_url),
        }
    }

    fn params(&self, script: &CallScript, at: DateTime<Utc>, extra: &[(&str, String)]) -> Vec<(String, String)> {
        let mut params = vec![
            ("AccountSid".to_string(), "AC00000000000000000000000000000001".to_string()),
            ("ApiVersion".to_string(), "2010-04-01".to_string()),
            ("CallSid".to_string(), script.call_sid.clone()),
            ("Direction".to_string(), "inbound".to_string()),
            ("From".to_string(), script.from.clone()),
            ("To".to_string(), script.to.clone()),
        ];
        if let Some(forwarded) = &script.forwarded_from {
            params.push(("ForwardedFrom".to_string(), forwarded.clone()));
        }
        if !self.knobs.omit_timestamp {
            params.push(("Timestamp".to_string(), at.to_rfc2822()));
        }
        params.extend(extra.iter().map(|(name, value)| (name.to_string(), value.clone())));
        params
    }

    /// Plays a whole call and returns the TwiML of each step, in order.
    /// Panics with the step and reply when the server answers unexpectedly.
    pub async fn play_call(&self, script: &CallScript) -> Vec<String> {
        let mut transcript = Vec::new();
        let mut sequence = 0;

        let voice = self.post(&self.public_url("voice"), &self.params(script, script.start, &[("CallStatus", "ringing".into())])).await;
        expect_ok("voice", &voice);
        transcript.push(voice.body.clone());

        if let CallPlan::AfterHours { voicemail_seconds } = &script.plan {
            let end = script.start + Duration::seconds(30 + voicemail_seconds.unwrap_or(0));
            if let (Some(seconds), Some(record_url)) = (voicemail_seconds, attribute(&voice.body, "Record", "action")) {
                let extra = [("RecordingDuration", seconds.to_string()), ("RecordingSid", format!("RE{}", script.call_sid))];
                let reply = self.post(&record_url, &self.params(script, end, &extra)).await;
                expect_ok("voicemail", &reply);
                transcript.push(reply.body);
            }
            self.status(script, end, "completed", &mut sequence, (end - script.start).num_seconds()).await;
            return transcript;
        }

        if let CallPlan::HangsUpInMenu { after } = &script.plan {
            let end = script.start + Duration::seconds(*after);
            self.status(script, end, "completed", &mut sequence, *after).await;
            return transcript;
        }

        let language_url = attribute(&voice.body, "Gather", "action").expect("the voice TwiML has a Gather with an action");
        let enqueued_at = script.start + Duration::seconds(MENU_SECONDS);
        let extra: Vec<(&str, String)> = script.digit.iter().map(|digit| ("Digits", digit.clone())).collect();
        let language = self.post(&language_url, &self.params(script, enqueued_at, &extra)).await;
        expect_ok("language", &language);
        transcript.push(language.body.clone());

        let queue_result_url = attribute(&language.body, "Enqueue", "action").expect("the language TwiML enqueues the caller");
        let wait_url = attribute(&language.body, "Enqueue", "waitUrl").expect("Enqueue has a waitUrl");
        let queue = element_text(&language.body, "Enqueue").expect("Enqueue names a queue");
        let hold = self
            .post(&wait_url, &self.params(script, enqueued_at, &[("QueuePosition", "1".into()), ("QueueTime", "0".into())]))
            .await;
        expect_ok("wait", &hold);
        transcript.push(hold.body);

        match &script.plan {
            CallPlan::Answered { agent, location, wait, talk } => {
                let answered_at = enqueued_at + Duration::seconds(*wait);
                let end = answered_at + Duration::seconds(*talk);
                let dequeue_url = self.agent_dequeues(script, agent, location.as_deref(), &queue).await;
                let extra = [
                    ("QueueTime", wait.to_string()),
                    ("DequeingCallSid", format!("{}-agent", script.call_sid)),
                    ("QueueSid", "QU0001".to_string()),
                ];
                let reply = self.post(&dequeue_url, &self.params(script, answered_at, &extra)).await;
                expect_ok("dequeue", &reply);

                let extra = [("QueueResult", "bridged".to_string()), ("QueueTime", wait.to_string())];
                let reply = self.post(&queue_result_url, &self.params(script, end, &extra)).await;
                expect_ok("queue-result", &reply);
                self.status(script, end, "completed", &mut sequence, (end - script.start).num_seconds()).await;
            }
            CallPlan::Abandoned { wait } => {
                let end = enqueued_at + Duration::seconds(*wait);
                let extra = [("QueueResult", "hangup".to_string()), ("QueueTime", wait.to_string())];
                let reply = self.post(&queue_result_url, &self.params(script, end, &extra)).await;
                expect_ok("queue-result", &reply);
                self.status(script, end, "completed", &mut sequence, (end - script.start).num_seconds()).await;
            }
            CallPlan::HangsUpInMenu { .. } | CallPlan::AfterHours { .. } => unreachable!("handled above"),
        }
        transcript
    }

    /// Plays the agent's softphone call that dequeues a caller, and returns
    /// the `<Queue url>` Twilio would request on the caller's leg.
    async fn agent_dequeues(&self, script: &CallScript, agent: &str, location: Option<&str>, queue: &str) -> String {
        let language = if queue.ends_with("-es") { "es" } else { "en" };
        let mut query = format!("?agent={agent}&lang={language}");
        if let Some(location) = location {
            query.push_str(&format!("&location={location}"));
        }

        let agent_leg = CallScript {
            call_sid: format!("{}-agent", script.call_sid),
            from: format!("client:{agent}"),
            ..script.clone()
        };
        let reply = self.post(&format!("{}{query}", self.public_url("agent")), &self.params(&agent_leg, script.start, &[])).await;
        expect_ok("agent", &reply);
        attribute(&reply.body, "Queue", "url").expect("the agent TwiML dials a queue with a url")
    }

    async fn status(&self, script: &CallScript, at: DateTime<Utc>, status: &str, sequence: &mut i64, duration: i64) {
        let extra = [
            ("CallStatus", status.to_string()),
            ("SequenceNumber", sequence.to_string()),
            ("CallDuration", duration.to_string()),
            ("CallbackSource", "call-progress-events".to_string()),
        ];
        *sequence += 1;
        let reply = self.post(&self.public_url("status"), &self.params(script, at, &extra)).await;
        expect_ok("status", &reply);
    }
}

fn expect_ok(step: &str, reply: &SimReply) {
    assert_eq!(reply.status, 200, "{step} webhook answered {}: {}", reply.status, reply.body);
}

/// Computes `X-Twilio-Signature` for `url` and form `params`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.as_bytes().cmp(b.1.as_bytes())));

    let mut text = url.to_string();
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }

    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Encodes form parameters in the given order, repeats included.
pub fn encode_form(params: &[(String, String)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// Adds `:443` or `:80` after the host of a URL that has no port.
pub fn add_default_port(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("absolute URL");
    let port = if scheme == "https" { 443 } else { 80 };
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    if host.contains(':') { url.to_string() } else { format!("{scheme}://{host}:{port}{tail}") }
}

/// Returns attribute `name` of the first `<element>` in `xml`, unescaped.
pub fn attribute(xml: &str, element: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{element} "))?;
    let tag_end = start + xml[start..].find('>')?;
    let tag = &xml[start..tag_end];
    let marker = format!(" {name}=\"");
    let value_start = tag.find(&marker)? + marker.len();
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(unescape(&tag[value_start..value_end]))
}

/// Returns the text inside the first `<element ...>...</element>` in `xml`, unescaped.
pub fn element_text(xml: &str, element: &str) -> Option<String> {
    let start = xml.find(&format!("<{element}"))?;
    let content_start = start + xml[start..].find('>')? + 1;
    let content_end = content_start + xml[content_start..].find(&format!("</{element}>"))?;
    Some(unescape(&xml[content_start..content_end]))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
