//! GET `discovery`: where the API lives and which formats it speaks.

use axum::http::StatusCode;
use axum::response::Response;

use super::Call;
use super::errors::Open311Error;
use super::format::{Document, Format, Node, Record};

/// Date of the last change to the shape of this API; clients compare it to
/// notice changes, so bump it with every change to fields or endpoints.
pub const CHANGESET: &str = "2026-12-04T00:00:00Z";

const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// Describes the production endpoint. With a `jurisdiction_id` (or on a
/// server with one tenant), `contact` and `key_service` are the city's own.
pub async fn discovery(call: &Call) -> Result<Response, Open311Error> {
    let tenant = match call.tenant() {
        Ok(tenant) => Some(tenant),
        Err(Open311Error::JurisdictionRequired { .. }) => None,
        Err(other) => return Err(other),
    };

    let contact = tenant
        .as_ref()
        .and_then(|tenant| tenant.manifest.contact.clone())
        .unwrap_or_else(|| String::from("Contact the 311 center of your city."));
    let key_service = match tenant
        .as_ref()
        .and_then(|tenant| tenant.manifest.portal_url.clone())
    {
        Some(portal) => {
            format!("API keys are issued by the city's 311 administrators; ask through {portal}")
        }
        None => String::from("API keys are issued by the city's 311 administrators."),
    };

    let formats = [Format::Xml, Format::Json]
        .into_iter()
        .map(|format| Node::from(format.mime_type()))
        .collect();
    let endpoint = Record::new()
        .field("specification", SPECIFICATION)
        .field("url", call.base_url())
        .field("changeset", CHANGESET)
        .field("type", "production")
        .field("formats", Node::list("format", formats));

    let discovery = Record::new()
        .field("changeset", CHANGESET)
        .field("contact", contact)
        .field("key_service", key_service)
        .field("endpoints", Node::list("endpoint", vec![endpoint.into()]));
    Ok(Document::new("discovery", discovery).into_response(call.format, StatusCode::OK))
}
