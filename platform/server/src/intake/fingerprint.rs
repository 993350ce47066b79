//! Fingerprints of submitted payloads. A retry with the same idempotency key
//! must carry the same fingerprint, so a key reused for a different report
//! is rejected instead of returning the first report.

use civic311_domain::Channel;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::RequestDraft;

/// The draft in normal form: text trimmed with blank text absent, attribute
/// values sorted, and photos reduced to their type and SHA-256 digest.
/// Serde writes the fields in declaration order, so equal payloads encode to
/// the same JSON bytes.
#[derive(Serialize)]
struct Payload<'a> {
    service_code: &'a str,
    description: Option<&'a str>,
    lat: Option<f64>,
    long: Option<f64>,
    address: Option<&'a str>,
    address_id: Option<&'a str>,
    zipcode: Option<&'a str>,
    media_url: Option<&'a str>,
    attributes: Vec<(&'a str, Vec<&'a str>)>,
    contact: [Option<&'a str>; 6],
    channel: &'a str,
    call_id: Option<&'a str>,
    photos: Vec<(&'a str, String)>,
}

/// Returns the SHA-256 of the normalized draft as lowercase hex.
///
/// `service_code` is the code as the manifest spells it and `channel` the
/// channel the request is stored with. The phone number must already be
/// normalized, so that two spellings of one number give one fingerprint.
///
/// NOTE: a change to this normal form changes the fingerprints, so a retry
/// sent across an upgrade that changes it is rejected as a different payload.
pub(super) fn fingerprint(draft: &RequestDraft, service_code: &str, channel: Channel) -> String {
    let contact = &draft.contact;
    let payload = Payload {
        service_code,
        description: text(&draft.description),
        lat: draft.lat,
        long: draft.long,
        address: text(&draft.address),
        address_id: text(&draft.address_id),
        zipcode: text(&draft.zipcode),
        media_url: text(&draft.media_url),
        attributes: attributes(draft),
        contact: [
            text(&contact.first_name),
            text(&contact.last_name),
            text(&contact.email),
            text(&contact.phone),
            text(&contact.device_id),
            text(&contact.account_id),
        ],
        channel: channel.as_str(),
        call_id: text(&draft.call_id),
        photos: draft
            .photos
            .iter()
            .map(|photo| (photo.content_type.as_str(), hex::encode(Sha256::digest(&photo.bytes))))
            .collect(),
    };

    // serde_json fails only on maps with non-string keys and on custom
    // serializers that fail, and this payload has neither.
    let encoded = serde_json::to_vec(&payload).expect("a payload of strings and numbers encodes as JSON");
    hex::encode(Sha256::digest(&encoded))
}

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

/// Returns the attribute values sorted by code and value, without blank
/// values or attributes left with none, because their order carries no meaning.
fn attributes(draft: &RequestDraft) -> Vec<(&str, Vec<&str>)> {
    let mut answers: Vec<(&str, Vec<&str>)> = draft
        .attributes
        .iter()
        .map(|answer| {
            let mut values: Vec<&str> = answer.values.iter().map(|value| value.trim()).filter(|value| !value.is_empty()).collect();
            values.sort_unstable();
            (answer.code.trim(), values)
        })
        .filter(|(_, values)| !values.is_empty())
        .collect();
    answers.sort_unstable();
    answers
}

#[cfg(test)]
mod tests {
    use civic311_domain::routing::AttributeValue;
    use civic311_store::{Contact, NewPhoto};

    use super::*;

    fn draft() -> RequestDraft {
        RequestDraft {
            service_code: "pothole".into(),
            description: Some("Deep hole near the crosswalk".into()),
            lat: Some(42.7762),
            long: Some(-71.0773),
            address: Some("4 Summer St".into()),
            attributes: vec![
                AttributeValue { code: "size".into(), values: vec!["large".into()] },
                AttributeValue { code: "kinds".into(), values: vec!["metal".into(), "glass".into()] },
            ],
            contact: Contact { phone: Some("+19785550100".into()), ..Contact::default() },
            photos: vec![NewPhoto { content_type: "image/png".into(), file_name: Some("a.png".into()), bytes: b"\x89PNG\r\n\x1A\none".to_vec() }],
            ..RequestDraft::default()
        }
    }

    /// A named change to one field of the draft.
    type Change = (&'static str, fn(&mut RequestDraft));

    fn of(draft: &RequestDraft) -> String {
        fingerprint(draft, "pothole", Channel::Web)
    }

    #[test]
    fn fingerprint_is_sha256_hex() {
        let value = of(&draft());

        assert_eq!(value.len(), 64);
        assert!(value.bytes().all(|byte| byte.is_ascii_hexdigit()), "{value}");
    }

    #[test]
    fn fingerprint_ignores_layout_differences() {
        let mut reordered = draft();
        reordered.attributes.reverse();
        reordered.attributes[0].values.reverse();
        reordered.description = Some("  Deep hole near the crosswalk ".into());
        reordered.zipcode = Some(" ".into());
        reordered.photos[0].file_name = Some("renamed.png".into());
        reordered.idempotency_key = Some("retry-1".into());
        reordered.api_key_id = Some(7);

        assert_eq!(of(&reordered), of(&draft()));
    }

    #[test]
    fn fingerprint_changes_with_each_field() {
        let base = of(&draft());
        let changes: Vec<Change> = vec![
            ("description", |draft| draft.description = Some("Streetlight out".into())),
            ("lat", |draft| draft.lat = Some(42.7763)),
            ("long", |draft| draft.long = None),
            ("address", |draft| draft.address = Some("5 Summer St".into())),
            ("address_id", |draft| draft.address_id = Some("A-1".into())),
            ("zipcode", |draft| draft.zipcode = Some("01830".into())),
            ("media_url", |draft| draft.media_url = Some("https://example.org/a.jpg".into())),
            ("attribute value", |draft| draft.attributes[0].values = vec!["small".into()]),
            ("attribute removed", |draft| draft.attributes.truncate(1)),
            ("contact email", |draft| draft.contact.email = Some("ada@example.org".into())),
            ("contact phone", |draft| draft.contact.phone = Some("+19785550101".into())),
            ("call_id", |draft| draft.call_id = Some("CA1".into())),
            ("photo bytes", |draft| draft.photos[0].bytes.push(0)),
            ("photo removed", |draft| draft.photos.clear()),
        ];

        for (field, change) in changes {
            let mut changed = draft();
            change(&mut changed);
            assert_ne!(of(&changed), base, "changing {field} must change the fingerprint");
        }
        assert_ne!(fingerprint(&draft(), "streetlight", Channel::Web), base, "service code");
        assert_ne!(fingerprint(&draft(), "pothole", Channel::Phone), base, "channel");
    }
}
