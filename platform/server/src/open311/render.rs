//! Service requests as Open311 `request` elements.
//!
//! Ids and codes are always strings and lat/long numbers. Instants carry an
//! offset and are written in the tenant's time zone. Contact details are
//! never rendered.

use chrono::{DateTime, SecondsFormat, Utc};
use civic311_domain::{Locale, Status};
use civic311_store::{HistoryEvent, ServiceRequest, Visibility};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::format::{Node, Record};
use crate::tenants::TenantContext;

/// Characters percent-encoded in a path segment or query value: all but
/// the RFC 3986 unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes an opaque id or code for a URL path segment or query value.
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Context for rendering requests: tenant, reply locale and base URL.
pub struct RequestView<'a> {
    pub tenant: &'a TenantContext,
    pub locale: Locale,
    /// Absolute URL of the Open311 API, for photo links.
    pub base_url: String,
}

impl RequestView<'_> {
    /// Writes `at` in the tenant's time zone with its offset, such as
    /// `2022-01-21T13:47:00-05:00`.
    pub fn instant(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tenant.calendar.time_zone)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Returns the public URL of photo `index` (from 1) of a request.
    pub fn photo_url(&self, request_id: &str, index: u32) -> String {
        format!(
            "{}/media/{}/{index}?jurisdiction_id={}",
            self.base_url,
            encode_component(request_id),
            encode_component(&self.tenant.manifest.jurisdiction_id)
        )
    }

    /// Builds the `request` element. `history` is given only for
    /// `extensions=true` and adds `extended_attributes`, `notes` and `attributes`.
    pub fn request(&self, request: &ServiceRequest, history: Option<&[HistoryEvent]>) -> Record {
        let record = self.core_fields(request);
        match history {
            Some(history) => record
                .field("extended_attributes", self.extended_attributes(request))
                .field("notes", notes(self, history))
                .field("attributes", attributes(request)),
            None => record,
        }
    }

    fn core_fields(&self, request: &ServiceRequest) -> Record {
        // A closed request's update time is its close time, even when a
        // later internal note touched the row.
        let updated = match (request.status, request.closed_at) {
            (Status::Closed, Some(closed_at)) => closed_at,
            _ => request.updated_at,
        };
        // media_url stays one URL: the client's own, else the first upload.
        // Further photos appear only in extended_attributes.photos.
        let media_url = request
            .media_url
            .clone()
            .or_else(|| (request.photo_count > 0).then(|| self.photo_url(&request.id, 1)));

        Record::new()
            .field("service_request_id", request.id.as_str())
            .field("status", request.status.as_str())
            .optional("status_notes", request.status_notes.as_deref())
            .field("service_name", self.service_name(request))
            .field("service_code", request.service_code.as_str())
            .optional("description", non_empty(&request.description))
            .field(
                "agency_responsible",
                self.department_name(&request.department),
            )
            .field("requested_datetime", self.instant(request.requested_at))
            .field("updated_datetime", self.instant(updated))
            .optional(
                "expected_datetime",
                request.expected_at.map(|at| self.instant(at)),
            )
            .optional("address", request.address.as_deref())
            .optional("address_id", request.address_id.as_deref())
            .optional("zipcode", request.zipcode.as_deref())
            .optional("lat", request.lat)
            .optional("long", request.long)
            .optional("media_url", media_url)
    }

    fn extended_attributes(&self, request: &ServiceRequest) -> Record {
        let photos = (1..=request.photo_count)
            .map(|index| {
                Record::new()
                    .field("media_url", self.photo_url(&request.id, index))
                    .field("index", index)
                    .into()
            })
            .collect();

        Record::new()
            .field("channel", request.channel.as_str())
            .field("sub_status", request.sub_status.as_str())
            .field("department", request.department.as_str())
            .field("priority", request.priority.as_str())
            .optional("queue", request.queue.as_deref())
            .optional(
                "parent_service_request_id",
                request.parent_request_id.as_deref(),
            )
            .field("duplicate", request.parent_request_id.is_some())
            .field("photos", Node::list("photo", photos))
    }

    /// Names the service in the reply locale, falling back to the name
    /// stored with the request when the manifest no longer has the service.
    fn service_name(&self, request: &ServiceRequest) -> String {
        match self.tenant.manifest.service(&request.service_code) {
            Some(service) => service.name.get(self.locale).to_string(),
            None => request.service_name.clone(),
        }
    }

    fn department_name(&self, code: &str) -> String {
        match self.tenant.manifest.department(code) {
            Some(department) => department.name.get(self.locale).to_string(),
            None => code.to_string(),
        }
    }
}

/// Returns `text` unless it is empty, for optional fields that the reply
/// leaves out when they have no value.
pub fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// Public history entries only; internal entries never leave the staff API.
fn notes(view: &RequestView<'_>, history: &[HistoryEvent]) -> Node {
    let notes = history
        .iter()
        .filter(|event| event.visibility == Visibility::Public)
        .map(|event| {
            let description = event.detail.get("note").and_then(|note| note.as_str());
            Record::new()
                .field("datetime", view.instant(event.at))
                .field("summary", event.summary.as_str())
                .field("type", event.kind.as_str())
                .optional("description", description)
                .into()
        })
        .collect();
    Node::list("note", notes)
}

/// The answers to the service definition, each with its list of values.
fn attributes(request: &ServiceRequest) -> Node {
    let answers = request
        .attributes
        .iter()
        .map(|answer| {
            let values = answer
                .values
                .iter()
                .map(|value| Node::from(value.as_str()))
                .collect();
            Record::new()
                .field("code", answer.code.as_str())
                .field("values", Node::list("value", values))
                .into()
        })
        .collect();
    Node::list("attribute", answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_encoding_keeps_unreserved_characters() {
        assert_eq!(
            encode_component("street light/out 7"),
            "street%20light%2Fout%207"
        );
        assert_eq!(encode_component("a-b_c.d~e"), "a-b_c.d~e");
    }
}
