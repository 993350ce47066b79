//! Verification of Twilio's `X-Twilio-Signature` header.
//!
//! Twilio signs the URL it requested (scheme, host, optional port, path and
//! query, exactly as sent) followed by every POST form parameter. Names come
//! in byte order, a repeated name contributes every value in byte order, and
//! each name is directly followed by its value. The signature is the Base64 HMAC-SHA1 of
//! that string keyed with the account's auth token. A JSON body is not
//! appended; its SHA-256 travels in the `bodySHA256` query parameter instead.
//! Source: twilio-python `twilio/request_validator.py` and Twilio's
//! "Webhooks security" page.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Everything about one received request that the signature covers.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// Path and query exactly as the client sent them, still percent-encoded.
    pub target: &'a str,
    /// The `Host` header.
    pub host: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    pub signature: Option<&'a str>,
}

/// Failure of a signature check.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Twilio-Signature header is missing")]
    Missing,
    #[error("X-Twilio-Signature does not match any accepted form of the request URL")]
    Mismatch,
    #[error("bodySHA256 query parameter does not match the SHA-256 of the body")]
    BodyHashMismatch,
    #[error("cannot rebuild the request URL: no public_base_url is configured and the Host header is missing")]
    NoHost,
}

/// Checks `request` against `auth_token`, trying the URL with and without the
/// scheme's default port.
///
/// NOTE: Twilio's newer Webhook Rules (header
/// `X-Twilio-Webhooks-Signature-Settings`, HMAC-SHA256 with a separate key)
/// are not supported, so such requests fail with `Mismatch`.
///
/// With `public_base_url` set (`https://311.example.gov`), the signed URL is
/// that base followed by the request target, so the check stays valid behind a
/// TLS-terminating proxy. Without it the URL is `http://{Host}{target}`.
pub fn verify(auth_token: &str, public_base_url: Option<&str>, request: &SignedRequest<'_>) -> Result<(), SignatureError> {
    let signature = request.signature.ok_or(SignatureError::Missing)?;
    let url = request_url(public_base_url, request)?;

    let params = if is_json(request.content_type) {
        check_body_hash(&url, request.body)?;
        Vec::new()
    } else if is_form(request.content_type) {
        form_params(request.body)
    } else {
        Vec::new()
    };

    let accepted = port_variants(&url)
        .iter()
        .any(|candidate| signature_matches(auth_token, candidate, &params, signature));

    if accepted { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// Computes the signature Twilio sends for `url` and form `params`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(signing_string(url, params).as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Builds the string to sign: the URL, then each name and value sorted by
/// name and then by value, so repeated names keep every value.
pub fn signing_string(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();

    let mut text = String::from(url);
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }
    text
}

/// Decodes an `application/x-www-form-urlencoded` body into its pairs, keeping repeats.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn signature_matches(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let expected = sign(auth_token, url, params);
    expected.as_bytes().ct_eq(signature.trim().as_bytes()).into()
}

fn request_url(public_base_url: Option<&str>, request: &SignedRequest<'_>) -> Result<String, SignatureError> {
    match public_base_url {
        Some(base) => Ok(format!("{}{}", base.trim_end_matches('/'), request.target)),
        None => {
            let host = request.host.ok_or(SignatureError::NoHost)?;
            Ok(format!("http://{host}{}", request.target))
        }
    }
}

/// Returns the URL as given, without its default port, and with it added.
fn port_variants(url: &str) -> Vec<String> {
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        None => return vec![url.to_string()],
    };
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return vec![url.to_string()],
    };

    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = strip_port(authority);

    let mut variants = vec![url.to_string()];
    for authority in [host.to_string(), format!("{host}:{default_port}")] {
        let candidate = format!("{scheme}://{authority}{tail}");
        if !variants.contains(&candidate) {
            variants.push(candidate);
        }
    }
    variants
}

/// Removes the `:port` of `host:port`, leaving a bracketed IPv6 address intact.
fn strip_port(authority: &str) -> &str {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map(|end| end + 1).unwrap_or(authority.len())
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, port) = authority.split_at(host_end);

    let is_port = port.strip_prefix(':').is_some_and(|digits| digits.chars().all(|c| c.is_ascii_digit()));
    if is_port { host } else { authority }
}

fn check_body_hash(url: &str, body: &[u8]) -> Result<(), SignatureError> {
    let query = url.split_once('?').map(|(_, query)| query).unwrap_or("");
    let claimed = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned())
        .ok_or(SignatureError::BodyHashMismatch)?;

    let actual = hex::encode(Sha256::digest(body));
    if bool::from(actual.as_bytes().ct_eq(claimed.to_ascii_lowercase().as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::BodyHashMismatch)
    }
}

fn media_type(content_type: Option<&str>) -> String {
    content_type
        .and_then(|value| value.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_form(content_type: Option<&str>) -> bool {
    media_type(content_type) == "application/x-www-form-urlencoded"
}

fn is_json(content_type: Option<&str>) -> bool {
    media_type(content_type) == "application/json"
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    // The example from Twilio's "Webhooks security" page, whose published
    // signature for auth token 12345 is 0/KCTR6DLpKmkAf8muzZqo1nDgQ=.
    #[test]
    fn published_example_matches() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);

        let signature = sign(TOKEN, "https://mycompany.com/myapp.php?foo=1&bar=2", &params);

        assert_eq!(signature, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    }

    #[test]
    fn repeated_keys_sorted_by_value() {
        let params = pairs(&[("b", "2"), ("a", "z"), ("a", "y")]);

        assert_eq!(signing_string("https://x.test/", &params), "https://x.test/ayazb2");
    }

    #[test]
    fn port_variants_cover_default_port() {
        assert_eq!(
            port_variants("https://x.test:443/a?b=1"),
            vec!["https://x.test:443/a?b=1", "https://x.test/a?b=1"]
        );
        assert_eq!(port_variants("https://x.test/a"), vec!["https://x.test/a", "https://x.test:443/a"]);
        assert_eq!(
            port_variants("https://x.test:8443/a"),
            vec!["https://x.test:8443/a", "https://x.test/a", "https://x.test:443/a"]
        );
    }

    #[test]
    fn form_body_verifies_and_tampering_fails() {
        let body = b"To=%2B18005551212&From=%2B12349013030&CallSid=CA1";
        let url = "https://311.example.gov/telephony/t/twilio/voice";
        let signature = sign(TOKEN, url, &form_params(body));
        let mut request = SignedRequest {
            target: "/telephony/t/twilio/voice",
            host: Some("127.0.0.1:8080"),
            content_type: Some("application/x-www-form-urlencoded"),
            body,
            signature: Some(&signature),
        };

        assert_eq!(verify(TOKEN, Some("https://311.example.gov"), &request), Ok(()));
        assert_eq!(verify(TOKEN, None, &request), Err(SignatureError::Mismatch));

        request.body = b"To=%2B18005551212&From=%2B19999999999&CallSid=CA1";
        assert_eq!(verify(TOKEN, Some("https://311.example.gov"), &request), Err(SignatureError::Mismatch));
    }

    #[test]
    fn json_body_checked_by_hash() {
        let body = br#"{"CallSid":"CA1"}"#;
        let hash = hex::encode(Sha256::digest(body));
        let target = format!("/hook?bodySHA256={hash}");
        let signature = sign(TOKEN, &format!("https://h.test{target}"), &[]);
        let request = SignedRequest {
            target: &target,
            host: None,
            content_type: Some("application/json"),
            body,
            signature: Some(&signature),
        };

        assert_eq!(verify(TOKEN, Some("https://h.test"), &request), Ok(()));

        let tampered = SignedRequest { body: br#"{"CallSid":"CA2"}"#, ..request };
        assert_eq!(verify(TOKEN, Some("https://h.test"), &tampered), Err(SignatureError::BodyHashMismatch));
    }
}
