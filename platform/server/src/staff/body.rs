//! JSON bodies and query strings of the staff API.

use std::collections::BTreeMap;

use civic311_domain::routing::AttributeValue;
use civic311_domain::Channel;
use civic311_store::{Contact, HistoryEvent, ServiceRequest, Visibility};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::intake::RequestDraft;

/// Parses a JSON body, naming the problem so the client can fix it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // The path names the field whose value has the wrong type, such as
        // `fuel_per_second`; it is `.` when the body as a whole is wrong.
        let path = error.path().to_string();
        let field = if path == "." { "body".to_string() } else { path };
        ApiError::invalid(&field, format!("invalid JSON body: {}", error.into_inner()))
    })
}

/// An attribute value: one string, or several for a multivaluelist.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    One(String),
    Many(Vec<String>),
}

/// Body of `POST requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequestBody {
    pub service_code: String,
    pub description: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub media_url: Option<String>,
    /// Attribute values keyed by attribute code.
    #[serde(default)]
    pub attributes: BTreeMap<String, Answer>,
    #[serde(default)]
    pub contact: Contact,
    /// Defaults to `phone` on the staff API, where call takers enter most requests.
    pub channel: Option<Channel>,
    pub call_id: Option<String>,
}

impl NewRequestBody {
    pub fn into_draft(self, idempotency_key: Option<String>) -> RequestDraft {
        let attributes = self
            .attributes
            .into_iter()
            .map(|(code, answer)| AttributeValue {
                code,
                values: match answer {
                    Answer::One(value) => vec![value],
                    Answer::Many(values) => values,
                },
            })
            .collect();

        RequestDraft {
            service_code: self.service_code,
            description: self.description,
            lat: self.lat,
            long: self.long,
            address: self.address,
            address_id: self.address_id,
            zipcode: self.zipcode,
            media_url: self.media_url,
            attributes,
            contact: self.contact,
            channel: Some(self.channel.unwrap_or(Channel::Phone)),
            call_id: self.call_id,
            idempotency_key,
            api_key_id: None,
            photos: Vec::new(),
        }
    }
}

/// Query of `GET requests`: caller history by phone and text search.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Caller's phone number in any common form; normalized to E.164.
    pub phone: Option<String>,
    /// Text searched case-insensitively in description and address.
    pub q: Option<String>,
    /// 1-based page number; defaults to 1.
    pub page: Option<u64>,
    /// Results per page; defaults to [`DEFAULT_PAGE_SIZE`], at most [`MAX_PAGE_SIZE`].
    pub page_size: Option<u64>,
}

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 500;

/// Body of `POST requests/{id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub sub_status: String,
    pub note: Option<String>,
    /// Visibility of the note. Defaults to public, so the constituent reads the reason for the change.
    pub visibility: Option<Visibility>,
}

/// Body of `POST requests/{id}/notes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub text: String,
    /// Defaults to internal: a note is for staff unless marked public.
    pub visibility: Option<Visibility>,
}

/// Body of `POST requests/{id}/duplicate-of`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateBody {
    pub parent_id: String,
}

/// Query of `GET requests/{id}/duplicate-candidates`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidatesQuery {
    /// Search radius in meters; defaults to [`DEFAULT_RADIUS_METERS`].
    pub radius_meters: Option<f64>,
}

pub const DEFAULT_RADIUS_METERS: f64 = 150.0;
pub const MAX_RADIUS_METERS: f64 = 5_000.0;

/// A request with its full history, internal entries included.
#[derive(Debug, Serialize)]
pub struct RequestWithHistory {
    pub request: ServiceRequest,
    pub history: Vec<HistoryEvent>,
}

/// One page of search results.
#[derive(Debug, Serialize)]
pub struct RequestPage {
    pub items: Vec<ServiceRequest>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
}
