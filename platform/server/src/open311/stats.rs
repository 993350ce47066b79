//! GET `stats`: the city's analytics over a date range. Each figure links
//! to the Open311 search that lists the requests behind it.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};
use civic311_store::{CountShare, ServiceStats};

use super::Call;
use super::errors::Open311Error;
use super::format::{Document, Node, Record};
use super::render::encode_component;
use super::requests_get::requested_window;
use crate::tenants::TenantContext;

/// Reports time to close per service and volume per department and per
/// channel. The range is `start_date` to `end_date`, read with the rules and
/// the 90-day limit of GET requests, and is the last 90 days by default.
pub async fn stats(call: &Call) -> Result<Response, Open311Error> {
    let tenant = call.tenant()?;
    let locale = call.locale(&tenant);
    let (from, to) = requested_window(&call.params, Utc::now(), false)?;
    let stats = tenant.store.stats(from, to).await?;
    let links = Links::new(call.base_url(), &tenant, from, to);

    let services = stats
        .by_service
        .iter()
        .map(|service| service_record(service, &links).into())
        .collect();
    let departments = stats
        .by_department
        .iter()
        .map(|share| {
            let name = tenant
                .manifest
                .department(&share.key)
                .map(|department| department.name.get(locale).to_string())
                .unwrap_or_else(|| share.key.clone());
            share_record("department", share, &links.to("department", &share.key))
                .field("agency_responsible", name)
                .into()
        })
        .collect();
    let channels = stats
        .by_channel
        .iter()
        .map(|share| share_record("channel", share, &links.to("channel", &share.key)).into())
        .collect();

    let body = Record::new()
        .field("jurisdiction_id", tenant.manifest.jurisdiction_id.as_str())
        .optional("start_date", from.map(format_instant))
        .optional("end_date", to.map(format_instant))
        .field("total", stats.total)
        .field("requests_url", links.all())
        .field("services", Node::list("service", services))
        .field("departments", Node::list("department", departments))
        .field("channels", Node::list("channel", channels));
    Ok(Document::new("stats", body).into_response(call.format, StatusCode::OK))
}

fn service_record(service: &ServiceStats, links: &Links) -> Record {
    Record::new()
        .field("service_code", service.service_code.as_str())
        .field("service_name", service.service_name.as_str())
        .field("count", service.count)
        .field("closed", service.closed)
        .optional(
            "median_hours_to_close",
            service.median_hours_to_close.map(round_hundredths),
        )
        .optional(
            "mean_hours_to_close",
            service.mean_hours_to_close.map(round_hundredths),
        )
        .field(
            "requests_url",
            links.to("service_code", &service.service_code),
        )
}

fn share_record(key_name: &'static str, share: &CountShare, url: &str) -> Record {
    Record::new()
        .field(key_name, share.key.as_str())
        .field("count", share.count)
        .field("percent", round_hundredths(share.percent))
        .field("requests_url", url)
}

fn round_hundredths(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Writes an instant in UTC with its fractional seconds, so a link's range
/// ends exactly where the figure's range did.
fn format_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Builds GET requests URLs over the same jurisdiction and date range.
struct Links {
    prefix: String,
}

impl Links {
    fn new(
        base_url: String,
        tenant: &TenantContext,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Links {
        let mut prefix = format!(
            "{base_url}/requests.json?jurisdiction_id={}",
            encode_component(&tenant.manifest.jurisdiction_id)
        );
        if let Some(from) = from {
            prefix.push_str(&format!(
                "&start_date={}",
                encode_component(&format_instant(from))
            ));
        }
        if let Some(to) = to {
            prefix.push_str(&format!(
                "&end_date={}",
                encode_component(&format_instant(to))
            ));
        }
        Links { prefix }
    }

    fn all(&self) -> String {
        self.prefix.clone()
    }

    fn to(&self, parameter: &str, value: &str) -> String {
        format!("{}&{parameter}={}", self.prefix, encode_component(value))
    }
}
