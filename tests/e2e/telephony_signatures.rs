//! Authentication of telephony webhooks against the real server: Twilio's
//! `X-Twilio-Signature` with its published pitfalls (port, the proxy's
//! scheme, repeated keys, encoded characters), RingCentral's handshake and
//! verification token, and 404 for tenants without telephony.

use crate::telephony_support;

use std::path::Path;

use civic311_tests::simulators::ringcentral::{Delivery, SessionPlan, SessionScript, TokenHeader, session_envelopes};
use civic311_tests::simulators::twilio::{PortStyle, TwilioSimulator, encode_form, sign};
use civic311_tests::{TestServer, copy_tenant, tenants_dir};
use telephony_support::*;

fn voice_params(call_sid: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", "AC00000000000000000000000000000001"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", "+19785554001"),
        ("To", MAIN_LINE),
        ("Timestamp", "Tue, 1 Dec 2026 14:00:00 +0000"),
    ]
    .iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

/// Writes a copy of Haverhill under `parent` with its own slug and
/// jurisdiction id, and `public_base_url` set to `base` or removed.
fn write_variant(parent: &Path, slug: &str, base: Option<&str>) {
    let dir = copy_tenant(&tenants_dir().join("haverhill"), &parent.join("staging"));
    let text = std::fs::read_to_string(dir.join("tenant.toml")).expect("read the copied tenant.toml");
    let mut manifest: toml::Table = text.parse().expect("Haverhill's tenant.toml is valid TOML");
    manifest.insert("slug".into(), slug.into());
    manifest.insert("jurisdiction_id".into(), format!("{slug}.test").into());

    let telephony = manifest["telephony"].as_table_mut().expect("Haverhill has a [telephony] table");
    match base {
        Some(base) => telephony.insert("public_base_url".into(), base.into()),
        None => telephony.remove("public_base_url"),
    };

    let target = parent.join(slug);
    std::fs::create_dir_all(&target).expect("create the variant folder");
    std::fs::copy(dir.join("services.toml"), target.join("services.toml")).expect("copy services.toml");
    std::fs::write(target.join("tenant.toml"), toml::to_string(&manifest).expect("serialize")).expect("write tenant.toml");
    std::fs::remove_dir_all(parent.join("staging")).expect("remove the staging copy");
}

#[tokio::test]
async fn valid_signature_gets_menu() {
    let server = TestServer::start().await;
    let twilio = twilio(&server);

    let reply = twilio.post(&twilio.public_url("voice"), &voice_params("CAsig1")).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(r#"<Gather input="dtmf" numDigits="1""#), "{}", reply.body);
    assert!(
        reply.body.contains(r#"<Say language="en-US">Thank you for calling Haverhill 311. If this is an emergency, hang up and dial 911.</Say>"#),
        "{}",
        reply.body
    );
    assert!(reply.body.contains(r#"<Say language="es-MX">Para español, oprima 2.</Say>"#), "{}", reply.body);
}

#[tokio::test]
async fn wrong_or_missing_signature_rejected() {
    let server = TestServer::start().await;

    let mut twilio = twilio(&server);
    twilio.knobs.wrong_token = Some("dev-some-other-account".into());
    let wrong = twilio.post(&twilio.public_url("voice"), &voice_params("CAsig2")).await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);

    let mut twilio = telephony_support::twilio(&server);
    twilio.knobs.omit_signature = true;
    let missing = twilio.post(&twilio.public_url("voice"), &voice_params("CAsig3")).await;
    assert_eq!(missing.status, 403, "{}", missing.body);

    let tenant = server.tenant("haverhill");
    assert!(tenant.store.call("CAsig2").await.expect("store reads").is_none(), "a rejected request stores nothing");
}

#[tokio::test]
async fn default_port_in_signed_url_accepted() {
    let server = TestServer::start().await;
    let mut twilio = twilio(&server);
    twilio.knobs.port_style = PortStyle::DefaultPortAdded;

    let reply = twilio.post(&twilio.public_url("voice"), &voice_params("CAport1")).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn public_base_with_port_accepted() {
    let folder = tempfile::tempdir().expect("temporary tenants folder");
    write_variant(folder.path(), "porttown", Some("https://311.porttown.test:8443"));
    let server = TestServer::start_with_tenants(folder.path()).await;

    for public_base in ["https://311.porttown.test:8443", "https://311.porttown.test"] {
        let twilio = TwilioSimulator::new(&server.base_url, public_base, "porttown", TWILIO_DEV_TOKEN);
        let reply = twilio.post(&twilio.public_url("voice"), &voice_params("CAport2")).await;
        assert_eq!(reply.status, 200, "signed as {public_base}: {}", reply.body);
    }

    let twilio = TwilioSimulator::new(&server.base_url, "https://311.porttown.test:9999", "porttown", TWILIO_DEV_TOKEN);
    let reply = twilio.post(&twilio.public_url("voice"), &voice_params("CAport3")).await;
    assert_eq!(reply.status, 403, "a different port is a different URL: {}", reply.body);
}

#[tokio::test]
async fn proxy_scheme_needs_public_base() {
    let folder = tempfile::tempdir().expect("temporary tenants folder");
    write_variant(folder.path(), "noproxy", None);
    let server = TestServer::start_with_tenants(folder.path()).await;

    // Twilio calls https://tunnel.test, a TLS proxy forwards plain HTTP to
    // the server, and the server without a public base URL rebuilds http://127.0.0.1:...
    let behind_proxy = TwilioSimulator::new(&server.base_url, "https://tunnel.test", "noproxy", TWILIO_DEV_TOKEN);
    let reply = behind_proxy.post(&behind_proxy.public_url("voice"), &voice_params("CAproxy1")).await;
    assert_eq!(reply.status, 403, "{}", reply.body);

    let direct = TwilioSimulator::new(&server.base_url, &server.base_url, "noproxy", TWILIO_DEV_TOKEN);
    let reply = direct.post(&direct.public_url("voice"), &voice_params("CAproxy2")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(r#"action="/telephony/noproxy/twilio/language""#), "{}", reply.body);

    // Haverhill configures https://311.haverhillma.gov, so the same proxy setup works there.
    let server = TestServer::start().await;
    let configured = twilio(&server);
    let reply = configured.post(&configured.public_url("voice"), &voice_params("CAproxy3")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(r#"action="https://311.haverhillma.gov/telephony/haverhill/twilio/language""#), "{}", reply.body);
}

#[tokio::test]
async fn repeated_keys_sorted_by_value() {
    let server = TestServer::start().await;
    let twilio = twilio(&server);
    let mut params = voice_params("CArepeat1");
    params.push(("Note".into(), "zulu".into()));
    params.push(("Note".into(), "alpha".into()));

    let reply = twilio.post(&twilio.public_url("voice"), &params).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // A signer that sorts by name only keeps the values in body order
    // (zulu before alpha); the server must not accept that signature.
    let url = twilio.public_url("voice");
    let mut by_name_only = params.clone();
    by_name_only.sort_by(|a, b| a.0.cmp(&b.0));
    let mut text = url.clone();
    for (name, value) in &by_name_only {
        text.push_str(name);
        text.push_str(value);
    }
    assert_ne!(sign(TWILIO_DEV_TOKEN, &url, &params), naive_signature(&text), "the two orders must differ for this test");

    let response = server
        .client
        .post(server.url("/telephony/haverhill/twilio/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", naive_signature(&text))
        .body(encode_form(&params))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status().as_u16(), 403);
}

fn naive_signature(text: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};

    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(TWILIO_DEV_TOKEN.as_bytes()).expect("any key length");
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn encoded_characters_validated_raw() {
    let server = TestServer::start().await;
    let twilio = twilio(&server);

    // Twilio signs the URL exactly as registered, %27 and %3F included; a
    // server that decoded or re-encoded the query would compute another string.
    let url = format!("{}?source=it%27s%3Fhere&b=1&a=2", twilio.public_url("voice"));
    let mut params = voice_params("CAencoded1");
    params.push(("Note".into(), "a+b=c&d é'?%".into()));

    let reply = twilio.post(&url, &params).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[tokio::test]
async fn tampered_body_rejected() {
    let server = TestServer::start().await;
    let twilio = twilio(&server);
    let params = voice_params("CAtamper1");
    let signature = sign(TWILIO_DEV_TOKEN, &twilio.public_url("voice"), &params);

    let mut tampered = params.clone();
    tampered[4].1 = "+19785559999".into();
    let response = server
        .client
        .post(server.url("/telephony/haverhill/twilio/voice"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(encode_form(&tampered))
        .send()
        .await
        .expect("request reaches the server");

    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn tenant_without_telephony_404() {
    let server = TestServer::start().await;
    let key = server.api_key("boston").await;

    for path in ["/telephony/boston/twilio/voice", "/telephony/boston/ringcentral/webhook", "/telephony/nowhere/twilio/voice"] {
        let response = server.client.post(server.url(path)).body("CallSid=CA1").send().await.expect("request reaches the server");
        assert_eq!(response.status().as_u16(), 404, "POST {path}");
    }

    let response = server
        .client
        .get(server.url("/telephony/boston/metrics"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(response.status().as_u16(), 404, "GET boston metrics");
}

#[tokio::test]
async fn ringcentral_handshake_echoes_token() {
    let server = TestServer::start().await;
    let ringcentral = ringcentral(&server);
    let token = "c5ae8d7e-1a7b-4c2e-9a4b-0f1e2d3c4b5a";

    let reply = ringcentral.handshake(token).await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["validation-token"], token);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.body, "");
    let size: usize = reply.headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum::<usize>() + reply.body.len();
    assert!(size <= 1024, "reply headers and body take {size} bytes, over RingCentral's 1024");

    let oversized = ringcentral.handshake(&"x".repeat(600)).await;
    assert_eq!(oversized.status, 400, "{}", oversized.body);
}

fn short_session(id: &str) -> SessionScript {
    SessionScript {
        session_id: id.to_string(),
        from: "+19785554100".into(),
        to: MAIN_LINE.into(),
        queue_extension: "3101".into(),
        start: local(13, 0, 0),
        setup_seconds: 3,
        plan: SessionPlan::Abandoned { wait: 12 },
    }
}

#[tokio::test]
async fn ringcentral_token_checked() {
    let server = TestServer::start().await;
    let envelopes = session_envelopes(&short_session("s-token"));

    let mut ringcentral = ringcentral(&server);
    ringcentral.knobs.token_header = TokenHeader::Missing;
    assert_eq!(ringcentral.send(&envelopes[0]).await.status, 403, "missing token");

    ringcentral.knobs.token_header = TokenHeader::Verification;
    ringcentral.knobs.wrong_token = Some("dev-not-the-token".into());
    assert_eq!(ringcentral.send(&envelopes[0]).await.status, 403, "wrong token");

    ringcentral.knobs.wrong_token = None;
    ringcentral.knobs.token_header = TokenHeader::LegacyValidation;
    let legacy = ringcentral.deliver(&envelopes[..1], Delivery::InOrder).await;
    assert_eq!(legacy[0].counts(), (1, 0), "legacy header name accepted");

    ringcentral.knobs.token_header = TokenHeader::Verification;
    let rest = ringcentral.deliver(&envelopes[1..], Delivery::InOrder).await;
    assert_eq!(rest.len(), 2);

    let call = server.tenant("haverhill").store.call("s-token").await.expect("store reads").expect("call stored");
    assert_eq!(call.summary.outcome.as_str(), "abandoned");
    assert_eq!(call.summary.wait_seconds, Some(12));
}
