//! GET `services` (the service list) and `services/{service_code}` (a
//! service definition).

use axum::http::StatusCode;
use axum::response::Response;
use civic311_domain::Locale;
use civic311_domain::manifest::{AttributeSpec, BoundingBox, ServiceSpec, TenantManifest};

use super::Call;
use super::errors::Open311Error;
use super::format::{Document, Node, Record};
use super::render::non_empty;
use super::requests_post::{MAX_PHOTO_BYTES, MAX_PHOTOS};

/// Lists the tenant's services in manifest order, named in the reply locale.
pub async fn list(call: &Call) -> Result<Response, Open311Error> {
    let tenant = call.tenant()?;
    let locale = call.locale(&tenant);

    let services = tenant
        .manifest
        .services
        .iter()
        .map(|service| service_record(service, locale).into())
        .collect();
    Ok(Document::new("services", Node::list("service", services))
        .into_response(call.format, StatusCode::OK))
}

/// Returns one service's attributes, plus the extension `core_fields`,
/// which lists the standard POST fields and whether this service requires
/// each, so clients learn before submitting that a location is required.
pub async fn definition(call: &Call, code: &str) -> Result<Response, Open311Error> {
    let tenant = call.tenant()?;
    let locale = call.locale(&tenant);
    let service = tenant
        .manifest
        .service(code)
        .ok_or_else(|| Open311Error::ServiceNotFound {
            code: code.to_string(),
            jurisdiction: tenant.manifest.jurisdiction_id.clone(),
        })?;

    let mut attributes: Vec<&AttributeSpec> = service.attributes.iter().collect();
    attributes.sort_by_key(|attribute| attribute.order);
    let attributes = attributes
        .into_iter()
        .map(|attribute| attribute_record(attribute, locale).into())
        .collect();

    let definition = Record::new()
        .field("service_code", service.code.as_str())
        .field("attributes", Node::list("attribute", attributes))
        .field(
            "core_fields",
            Node::list("core_field", core_fields(&tenant.manifest, service)),
        );
    Ok(Document::new("service_definition", definition).into_response(call.format, StatusCode::OK))
}

fn service_record(service: &ServiceSpec, locale: Locale) -> Record {
    Record::new()
        .field("service_code", service.code.as_str())
        .field("service_name", service.name.get(locale))
        .field("description", service.description.get(locale))
        .field("metadata", !service.attributes.is_empty())
        .field("type", service.service_type.as_str())
        .field("keywords", service.keywords.join(","))
        .field("group", service.group.get(locale))
}

fn attribute_record(attribute: &AttributeSpec, locale: Locale) -> Record {
    let record = Record::new()
        .field("variable", attribute.variable)
        .field("code", attribute.code.as_str())
        .field("datatype", attribute.datatype.as_str())
        .field("required", attribute.required)
        .optional(
            "datatype_description",
            non_empty(attribute.datatype_description.get(locale)),
        )
        .field("order", attribute.order)
        .field("description", attribute.description.get(locale));
    if !attribute.datatype.is_list() {
        return record;
    }

    let values = attribute
        .values
        .iter()
        .map(|value| {
            Record::new()
                .field("key", value.key.as_str())
                .field("name", value.name.get(locale))
                .into()
        })
        .collect();
    record.field("values", Node::list("value", values))
}

/// Describes the standard POST fields with this service's requirements.
fn core_fields(manifest: &TenantManifest, service: &ServiceSpec) -> Vec<Node> {
    let mut location = String::from(
        "lat and long (WGS84 decimal degrees, both or neither), or address_string, or address_id",
    );
    if let Some(area) = service.service_area.or(manifest.service_area) {
        location.push_str(&format!(
            "; a point must lie inside the service area {}",
            describe_area(&area)
        ));
    }
    let media = format!(
        "media_url (one URL), or up to {MAX_PHOTOS} image files of at most {} MiB each as \
         multipart/form-data parts named media, media[] or photo1 to photo{MAX_PHOTOS}",
        MAX_PHOTO_BYTES / (1024 * 1024)
    );

    let fields: [(&str, bool, String); 10] = [
        (
            "api_key",
            true,
            "key the city issued to the client application".into(),
        ),
        ("service_code", true, "a code from GET services".into()),
        ("location", service.location_required, location),
        (
            "description",
            false,
            "free text of at most 4,000 characters; line breaks allowed, no HTML".into(),
        ),
        ("media", false, media),
        ("email", false, "contact email, never published".into()),
        (
            "phone",
            false,
            "contact phone number, never published".into(),
        ),
        (
            "first_name",
            false,
            "contact given name, never published".into(),
        ),
        (
            "last_name",
            false,
            "contact family name, never published".into(),
        ),
        (
            "account_id",
            false,
            "the client's account id for the constituent".into(),
        ),
    ];
    fields
        .into_iter()
        .map(|(name, required, description)| {
            Record::new()
                .field("name", name)
                .field("required", required)
                .field("description", description)
                .into()
        })
        .collect()
}

fn describe_area(area: &BoundingBox) -> String {
    format!(
        "lat {} to {}, long {} to {}",
        area.min_lat, area.max_lat, area.min_long, area.max_long
    )
}
