//! POST `requests`: create a service request from an Open311 client.
//!
//! The body is `application/x-www-form-urlencoded` (UTF-8) or
//! `multipart/form-data` with photo parts; parameters in the query string
//! count too, since some clients send `api_key` there.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use civic311_domain::manifest::ServiceType;
use civic311_domain::routing::AttributeValue;
use civic311_domain::{Channel, Locale};
use civic311_store::{ApiKeyRecord, Contact, NewPhoto, ServiceRequest};

use super::errors::Open311Error;
use super::format::{Document, Node, Record};
use super::render::RequestView;
use super::{Call, Params};
use crate::i18n::{self, FluentValue};
use crate::intake::{self, RequestDraft, SubmitOptions};
use crate::tenants::TenantContext;

/// Photos accepted with one request.
pub const MAX_PHOTOS: usize = 5;

/// Size limit of one photo, in bytes (5 MiB).
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// Size limit of the form fields of one POST, in bytes (1 MiB).
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// Body size limit of any Open311 call: five full-size photos plus the form.
pub const MAX_BODY_BYTES: usize = MAX_PHOTOS * MAX_PHOTO_BYTES + MAX_FORM_BYTES;

/// Longest `Idempotency-Key` header accepted, in bytes.
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// Photo types accepted, each with the leading bytes its files start with.
/// SVG is left out on purpose: it can carry script, and photos are served back.
const IMAGE_TYPES: [(&str, &[u8]); 4] = [
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/png", b"\x89PNG\r\n\x1A\n"),
    ("image/gif", b"GIF8"),
    ("image/webp", b"RIFF"),
];

/// Creates the request and replies with a list of one `request`: the
/// `service_request_id` for realtime services, a `token` for batch
/// services and neither for blackbox ones, plus `service_notice` and `account_id`.
pub async fn create(call: &Call, request: Request) -> Result<Response, Open311Error> {
    let (form, photos) = read_body(request).await?;
    let mut params = call.params.clone();
    for (name, value) in form.pairs() {
        params.push(name.to_string(), value.to_string());
    }
    let call = Call {
        state: call.state.clone(),
        format: call.format,
        params,
        headers: call.headers.clone(),
    };

    let tenant = call.tenant()?;
    let api_key = authenticate(&tenant, &call.params).await?;
    let mut draft = build_draft(&call.params, &call.headers, photos)?;
    draft.api_key_id = Some(api_key.id);

    let jurisdiction = tenant.manifest.jurisdiction_id.clone();
    let options = SubmitOptions {
        locale: call.locale(&tenant),
        ..SubmitOptions::default()
    };
    let created = intake::submit_with(&call.state, &tenant, draft, options)
        .await
        .map_err(|error| Open311Error::from_intake(error, &jurisdiction))?;
    tracing::info!(
        tenant.id = tenant.id.0,
        service_request_id = %created.id,
        service_code = %created.service_code,
        channel = %created.channel,
        "service request created over Open311"
    );

    let view = RequestView {
        tenant: &tenant,
        locale: call.locale(&tenant),
        base_url: call.base_url(),
    };
    let reply = reply_record(&view, &tenant, &created);
    Ok(Document::new(
        "service_requests",
        Node::list("request", vec![reply.into()]),
    )
    .into_response(call.format, StatusCode::OK))
}

/// Checks `api_key` against the tenant's keys and returns the matching key;
/// a missing or unknown key is 403.
async fn authenticate(tenant: &TenantContext, params: &Params) -> Result<ApiKeyRecord, Open311Error> {
    let key = params.get("api_key").ok_or(Open311Error::ApiKeyMissing)?;
    match tenant.store.verify_api_key(key).await? {
        Some(record) => Ok(record),
        None => Err(Open311Error::ApiKeyInvalid {
            jurisdiction: tenant.manifest.jurisdiction_id.clone(),
        }),
    }
}

fn reply_record(
    view: &RequestView<'_>,
    tenant: &TenantContext,
    created: &ServiceRequest,
) -> Record {
    let service_type = tenant
        .manifest
        .service(&created.service_code)
        .map(|service| service.service_type)
        .unwrap_or_default();
    let record = match service_type {
        ServiceType::Realtime => Record::new().field("service_request_id", created.id.as_str()),
        ServiceType::Batch => Record::new().optional("token", created.token.as_deref()),
        ServiceType::Blackbox => Record::new(),
    };

    let department = tenant
        .manifest
        .department(&created.department)
        .map(|department| department.name.get(view.locale).to_string())
        .unwrap_or_else(|| created.department.clone());
    let service = tenant
        .manifest
        .service(&created.service_code)
        .map(|service| service.name.get(view.locale).to_string())
        .unwrap_or_else(|| created.service_name.clone());
    let expected = created.expected_at.map(|at| view.instant(at));
    record
        .field(
            "service_notice",
            service_notice(view.locale, &service, &department, expected.as_deref()),
        )
        .optional("account_id", created.contact.account_id.as_deref())
}

/// Writes the notice that informs the constituent where the request went
/// and, when an SLA applies, by when the department aims to act.
fn service_notice(
    locale: Locale,
    service: &str,
    department: &str,
    expected: Option<&str>,
) -> String {
    let mut args = vec![
        ("service", FluentValue::from(service)),
        ("department", FluentValue::from(department)),
    ];
    match expected {
        Some(expected) => {
            args.push(("expected", FluentValue::from(expected)));
            i18n::text(locale, "service-notice-expected", &args)
        }
        None => i18n::text(locale, "service-notice", &args),
    }
}

/// Reads the form fields and photos of the body.
async fn read_body(request: Request) -> Result<(Params, Vec<NewPhoto>), Open311Error> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded")
        .to_ascii_lowercase();

    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|error| {
                Open311Error::invalid("body", format!("invalid multipart/form-data body: {error}"))
            })?;
        return read_multipart(multipart).await;
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(Open311Error::invalid(
            "Content-Type",
            format!(
                "'{content_type}' is not accepted; send application/x-www-form-urlencoded or multipart/form-data"
            ),
        ));
    }

    let bytes = axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            Open311Error::invalid(
                "body",
                format!("form body is larger than {MAX_FORM_BYTES} bytes or was cut off"),
            )
        })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Open311Error::invalid("body", "form body is not UTF-8; encode the form as UTF-8")
    })?;
    Ok((Params::parse(text), Vec::new()))
}

async fn read_multipart(mut multipart: Multipart) -> Result<(Params, Vec<NewPhoto>), Open311Error> {
    let mut params = Params::default();
    let mut photos = Vec::new();
    let malformed = |error: axum::extract::multipart::MultipartError| {
        Open311Error::invalid("body", format!("invalid multipart/form-data body: {error}"))
    };

    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_string();
        let is_file = field.file_name().is_some()
            || field
                .content_type()
                .is_some_and(|kind| !kind.starts_with("text/"));
        if !(is_photo_field(&name) && is_file) {
            let value = field.text().await.map_err(malformed)?;
            params.push(name, value);
            continue;
        }

        if photos.len() == MAX_PHOTOS {
            return Err(Open311Error::invalid(
                &name,
                format!("more than {MAX_PHOTOS} photos; send at most {MAX_PHOTOS}"),
            ));
        }
        let content_type = field.content_type().unwrap_or("").to_ascii_lowercase();
        let file_name = field.file_name().map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if bytes.len() + chunk.len() > MAX_PHOTO_BYTES {
                return Err(Open311Error::invalid(
                    &name,
                    format!(
                        "photo is larger than {} MiB; send a smaller image",
                        MAX_PHOTO_BYTES / (1024 * 1024)
                    ),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        check_image(&name, &content_type, &bytes)?;
        photos.push(NewPhoto {
            content_type,
            file_name,
            bytes,
        });
    }
    Ok((params, photos))
}

/// Photo parts are named `media`, `media[]` or `photo1`, `photo2`, and so on.
fn is_photo_field(name: &str) -> bool {
    match name.strip_prefix("photo") {
        Some(number) => !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit()),
        None => name == "media" || name == "media[]",
    }
}

/// Accepts JPEG, PNG, GIF and WebP whose bytes match the declared type.
fn check_image(field: &str, content_type: &str, bytes: &[u8]) -> Result<(), Open311Error> {
    let Some((_, magic)) = IMAGE_TYPES.iter().find(|(kind, _)| *kind == content_type) else {
        return Err(Open311Error::invalid(
            field,
            format!(
                "content type '{content_type}' is not accepted; send image/jpeg, image/png, image/gif or image/webp"
            ),
        ));
    };
    if !bytes.starts_with(magic) {
        return Err(Open311Error::invalid(
            field,
            format!("the file is not a valid {content_type} image"),
        ));
    }
    Ok(())
}

/// Turns the POST parameters into an intake draft.
fn build_draft(
    params: &Params,
    headers: &HeaderMap,
    photos: Vec<NewPhoto>,
) -> Result<RequestDraft, Open311Error> {
    let service_code = params.get("service_code").ok_or_else(|| {
        Open311Error::invalid(
            "service_code",
            "required parameter is missing; send one of the codes that GET services lists",
        )
    })?;

    Ok(RequestDraft {
        service_code: service_code.to_string(),
        description: params.get("description").map(str::to_string),
        lat: coordinate(params, "lat")?,
        long: coordinate(params, "long")?,
        address: params.get("address_string").map(str::to_string),
        address_id: params.get("address_id").map(str::to_string),
        zipcode: params.get("zipcode").map(str::to_string),
        media_url: params.get("media_url").map(str::to_string),
        attributes: attributes(params),
        contact: contact(params),
        channel: channel(params)?,
        call_id: None,
        idempotency_key: idempotency_key(headers)?,
        api_key_id: None,
        photos,
    })
}

fn coordinate(params: &Params, name: &str) -> Result<Option<f64>, Open311Error> {
    let Some(value) = params.get(name) else {
        return Ok(None);
    };
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(Some(number)),
        _ => Err(Open311Error::invalid(
            name,
            format!("'{value}' is not a decimal number of WGS84 degrees"),
        )),
    }
}

/// Collects `attribute[code]=value` and `attribute[code][]=value` pairs,
/// one answer per code in first-seen order; empty values are dropped.
fn attributes(params: &Params) -> Vec<AttributeValue> {
    let mut answers: Vec<AttributeValue> = Vec::new();
    for (name, value) in params.pairs() {
        let Some(code) = attribute_code(name) else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match answers.iter_mut().find(|answer| answer.code == code) {
            Some(answer) => answer.values.push(value.to_string()),
            None => answers.push(AttributeValue {
                code: code.to_string(),
                values: vec![value.to_string()],
            }),
        }
    }
    answers
}

fn attribute_code(name: &str) -> Option<&str> {
    let inner = name.strip_prefix("attribute[")?;
    let inner = inner.strip_suffix("[]").unwrap_or(inner);
    inner.strip_suffix(']').filter(|code| !code.is_empty())
}

fn contact(params: &Params) -> Contact {
    let text = |name: &str| params.get(name).map(str::to_string);
    Contact {
        first_name: text("first_name"),
        last_name: text("last_name"),
        email: text("email"),
        phone: text("phone"),
        device_id: text("device_id"),
        account_id: text("account_id"),
    }
}

/// Reads the extension parameter `channel`, the way the request reached the
/// client (such as `phone` for a call center writing through Open311).
/// `import` is reserved for `civic311 import requests`.
fn channel(params: &Params) -> Result<Option<Channel>, Open311Error> {
    let Some(value) = params.get("channel") else {
        return Ok(None);
    };
    match value.parse::<Channel>() {
        Ok(Channel::Import) => Err(Open311Error::invalid(
            "channel",
            "'import' is reserved for imported history; use phone, web, mobile_app, email or field_app",
        )),
        Ok(channel) => Ok(Some(channel)),
        Err(error) => Err(Open311Error::invalid("channel", error.to_string())),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Open311Error> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Open311Error::invalid("Idempotency-Key", "the header must be visible ASCII"))?
        .trim();
    if key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
        return Err(Open311Error::invalid(
            "Idempotency-Key",
            format!("the key is longer than {MAX_IDEMPOTENCY_KEY_BYTES} bytes; use a UUID"),
        ));
    }
    Ok((!key.is_empty()).then(|| key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_group_repeated_list_values() {
        let params = Params::parse(
            "attribute[size]=large&attribute[kinds][]=glass&attribute[kinds][]=metal&attribute[empty]=",
        );

        assert_eq!(
            attributes(&params),
            [
                AttributeValue {
                    code: "size".into(),
                    values: vec!["large".into()]
                },
                AttributeValue {
                    code: "kinds".into(),
                    values: vec!["glass".into(), "metal".into()]
                },
            ]
        );
    }

    #[test]
    fn photo_field_names() {
        for name in ["media", "media[]", "photo1", "photo12"] {
            assert!(is_photo_field(name), "{name} should be a photo field");
        }
        for name in ["photo", "photos", "media_url", "photo1a"] {
            assert!(!is_photo_field(name), "{name} should not be a photo field");
        }
    }

    #[test]
    fn image_must_match_its_declared_type() {
        assert!(check_image("media", "image/png", b"\x89PNG\r\n\x1A\nrest").is_ok());
        assert!(check_image("media", "image/png", b"<svg>").is_err());
        assert!(check_image("media", "image/svg+xml", b"<svg>").is_err());
    }

    #[test]
    fn bad_coordinate_names_the_parameter() {
        let error = coordinate(&Params::parse("lat=north"), "lat").unwrap_err();

        assert!(error.to_string().starts_with("lat: 'north'"));
    }
}
