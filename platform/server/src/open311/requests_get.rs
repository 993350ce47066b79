//! GET `requests` (search) and `requests/{service_request_id}` (one request).

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use civic311_domain::{Channel, Status};
use civic311_store::{RequestQuery, ServiceRequest};

use super::errors::Open311Error;
use super::format::{Document, Node};
use super::render::RequestView;
use super::{Call, Params};
use crate::tenants::TenantContext;

/// Longest `start_date`..`end_date` span, and the default window before now.
pub const MAX_SPAN_DAYS: i64 = 90;

/// Page size when `page_size` is absent: the spec's default of 1,000
/// requests, so clients that never page get what GeoReport v2 promises.
pub const DEFAULT_PAGE_SIZE: u64 = 1000;

/// Largest `page_size` accepted; larger values are rejected with 400.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// Searches the tenant's requests. Results are newest `requested_datetime`
/// first with the id as tie-breaker, so pages are stable and deterministic.
/// Headers `page-totalsize`, `page-totalpages`, `page-pagenumber` and
/// `page-size` describe the page, following Libre311.
pub async fn list(call: &Call) -> Result<Response, Open311Error> {
    let tenant = call.tenant()?;
    let query = build_query(&call.params, Utc::now())?;
    let extensions = extensions_requested(&call.params)?;

    let page = tenant.store.query_requests(&query).await?;
    let view = RequestView {
        tenant: &tenant,
        locale: call.locale(&tenant),
        base_url: call.base_url(),
    };
    let body = render_requests(&view, &tenant, &page.items, extensions).await?;

    let mut response =
        Document::new("service_requests", body).into_response(call.format, StatusCode::OK);
    let total_pages = page.total.div_ceil(page.page_size.max(1));
    let headers = [
        ("page-totalsize", page.total),
        ("page-totalpages", total_pages),
        ("page-pagenumber", page.page),
        ("page-size", page.page_size),
    ];
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    Ok(response)
}

/// Returns one request as a list of one; the id is opaque and matched as given.
pub async fn one(call: &Call, id: &str) -> Result<Response, Open311Error> {
    let tenant = call.tenant()?;
    let extensions = extensions_requested(&call.params)?;
    let request = tenant
        .store
        .request(id)
        .await?
        .ok_or_else(|| Open311Error::RequestNotFound {
            id: id.to_string(),
            jurisdiction: tenant.manifest.jurisdiction_id.clone(),
        })?;

    let view = RequestView {
        tenant: &tenant,
        locale: call.locale(&tenant),
        base_url: call.base_url(),
    };
    let body = render_requests(&view, &tenant, std::slice::from_ref(&request), extensions).await?;
    Ok(Document::new("service_requests", body).into_response(call.format, StatusCode::OK))
}

/// Builds the `request` list; with extensions, each request's history is
/// read too (one query per request).
async fn render_requests(
    view: &RequestView<'_>,
    tenant: &TenantContext,
    requests: &[ServiceRequest],
    extensions: bool,
) -> Result<Node, Open311Error> {
    let mut items = Vec::with_capacity(requests.len());
    for request in requests {
        let record = if extensions {
            let history = tenant.store.history(&request.id).await?;
            view.request(request, Some(&history))
        } else {
            view.request(request, None)
        };
        items.push(record.into());
    }
    Ok(Node::list("request", items))
}

fn extensions_requested(params: &Params) -> Result<bool, Open311Error> {
    match params.get("extensions") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Open311Error::invalid(
            "extensions",
            format!("'{other}' is not true or false"),
        )),
    }
}

/// Translates the GET parameters into a store query. `now` anchors the
/// default window of the last 90 days.
pub fn build_query(params: &Params, now: DateTime<Utc>) -> Result<RequestQuery, Open311Error> {
    let (page, page_size) = paging(params)?;
    let ids = params.list("service_request_id");
    if !ids.is_empty() {
        // A list of ids overrides every other filter.
        if ids.len() as u64 > MAX_PAGE_SIZE {
            return Err(Open311Error::invalid(
                "service_request_id",
                format!(
                    "{} ids given; ask for at most {MAX_PAGE_SIZE} at once",
                    ids.len()
                ),
            ));
        }
        return Ok(RequestQuery {
            ids,
            page: 1,
            page_size: MAX_PAGE_SIZE,
            ..RequestQuery::default()
        });
    }

    let updated_after = optional_instant(params, "updated_after")?;
    let updated_before = optional_instant(params, "updated_before")?;
    let (requested_from, requested_to) =
        requested_window(params, now, updated_after.or(updated_before).is_some())?;

    Ok(RequestQuery {
        ids: Vec::new(),
        service_codes: params.list("service_code"),
        statuses: statuses(params)?,
        requested_from,
        requested_to,
        updated_after,
        updated_before,
        bbox: bbox(params)?,
        text: params.get("q").map(str::to_string),
        departments: params.list("department"),
        channels: channels(params)?,
        contact_phone: None,
        page,
        page_size,
    })
}

/// Bounds on the requested time: (from, to), each inclusive and optional.
pub type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Applies `start_date` and `end_date` together (an AND range) on the
/// requested time. One alone extends at most 90 days from it; neither gives
/// the last 90 days, unless an `updated_*` filter already bounds the search.
pub fn requested_window(
    params: &Params,
    now: DateTime<Utc>,
    has_update_filter: bool,
) -> Result<Window, Open311Error> {
    let span = Duration::days(MAX_SPAN_DAYS);
    let start = optional_instant(params, "start_date")?;
    let end = optional_instant(params, "end_date")?;

    match (start, end) {
        (Some(start), Some(end)) if end < start => Err(Open311Error::invalid(
            "end_date",
            "end_date is before start_date; swap them or drop one",
        )),
        (Some(start), Some(end)) if end - start > span => Err(Open311Error::invalid(
            "end_date",
            format!(
                "start_date to end_date spans more than {MAX_SPAN_DAYS} days; query in smaller windows"
            ),
        )),
        (Some(start), Some(end)) => Ok((Some(start), Some(end))),
        // Up to now when that is within the span, so a link built a moment
        // ago from a start date still finds the newest requests.
        (Some(start), None) if start + span > now => Ok((Some(start), None)),
        (Some(start), None) => Ok((Some(start), Some(start + span))),
        (None, Some(end)) => Ok((Some(end - span), Some(end))),
        (None, None) if has_update_filter => Ok((None, None)),
        (None, None) => Ok((Some(now - span), None)),
    }
}

fn optional_instant(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, Open311Error> {
    params
        .get(name)
        .map(|value| parse_instant(name, value))
        .transpose()
}

/// Parses a W3C date-time with a required zone, fractional seconds allowed.
/// A `+` offset that arrived unencoded reads as a space and is restored.
pub fn parse_instant(name: &str, value: &str) -> Result<DateTime<Utc>, Open311Error> {
    let repaired = restore_plus_sign(value);
    if let Ok(parsed) = DateTime::parse_from_rfc3339(&repaired) {
        return Ok(parsed.with_timezone(&Utc));
    }

    let without_zone = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok();
    let problem = if without_zone {
        format!("'{value}' has no time zone; add Z or an offset, as in 2022-01-21T13:47:00-05:00")
    } else {
        format!("'{value}' is not a W3C date-time; use a form such as 2022-01-21T13:47:00Z")
    };
    Err(Open311Error::invalid(name, problem))
}

fn restore_plus_sign(value: &str) -> String {
    let bytes = value.as_bytes();
    let offset_at = bytes.len().saturating_sub(6);
    let looks_like_offset = bytes.len() > 6
        && bytes[offset_at] == b' '
        && bytes[offset_at + 3] == b':'
        && [1, 2, 4, 5]
            .iter()
            .all(|&i| bytes[offset_at + i].is_ascii_digit());
    if looks_like_offset {
        format!("{}+{}", &value[..offset_at], &value[offset_at + 1..])
    } else {
        value.to_string()
    }
}

fn paging(params: &Params) -> Result<(u64, u64), Open311Error> {
    let page = positive(params, "page")?.unwrap_or(1);
    let page_size = positive(params, "page_size")?.unwrap_or(DEFAULT_PAGE_SIZE);
    if page_size > MAX_PAGE_SIZE {
        return Err(Open311Error::invalid(
            "page_size",
            format!("{page_size} is above the maximum of {MAX_PAGE_SIZE}; ask for smaller pages"),
        ));
    }
    Ok((page, page_size))
}

fn positive(params: &Params, name: &str) -> Result<Option<u64>, Open311Error> {
    let Some(value) = params.get(name) else {
        return Ok(None);
    };
    match value.parse::<u64>() {
        Ok(number) if number >= 1 => Ok(Some(number)),
        _ => Err(Open311Error::invalid(
            name,
            format!("'{value}' is not a whole number of 1 or more"),
        )),
    }
}

fn statuses(params: &Params) -> Result<Vec<Status>, Open311Error> {
    params
        .list("status")
        .iter()
        .map(|status| {
            status
                .parse::<Status>()
                .map_err(|error| Open311Error::invalid("status", error.to_string()))
        })
        .collect()
}

fn channels(params: &Params) -> Result<Vec<Channel>, Open311Error> {
    params
        .list("channel")
        .iter()
        .map(|channel| {
            channel
                .parse::<Channel>()
                .map_err(|error| Open311Error::invalid("channel", error.to_string()))
        })
        .collect()
}

/// Reads `bbox=min_long,min_lat,max_long,max_lat` in WGS84 degrees.
fn bbox(params: &Params) -> Result<Option<(f64, f64, f64, f64)>, Open311Error> {
    let Some(value) = params.get("bbox") else {
        return Ok(None);
    };
    let invalid = || {
        Open311Error::invalid(
            "bbox",
            format!(
                "'{value}' is not min_long,min_lat,max_long,max_lat in decimal degrees with min below max"
            ),
        )
    };

    let numbers: Vec<f64> = value
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| invalid())?;
    let [min_long, min_lat, max_long, max_lat] = numbers[..] else {
        return Err(invalid());
    };
    let in_range = (-180.0..=180.0).contains(&min_long)
        && (-180.0..=180.0).contains(&max_long)
        && (-90.0..=90.0).contains(&min_lat)
        && (-90.0..=90.0).contains(&max_lat);
    if !in_range || min_long > max_long || min_lat > max_lat {
        return Err(invalid());
    }
    Ok(Some((min_long, min_lat, max_long, max_lat)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2022-03-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn instants_accept_fractions_and_offsets() {
        let parsed = parse_instant("start_date", "2022-01-21T13:47:00.123-05:00").unwrap();

        assert_eq!(parsed.to_rfc3339(), "2022-01-21T18:47:00.123+00:00");
    }

    #[test]
    fn unencoded_plus_offset_is_restored() {
        let parsed = parse_instant("start_date", "2022-01-21T13:47:00 01:00").unwrap();

        assert_eq!(parsed.to_rfc3339(), "2022-01-21T12:47:00+00:00");
    }

    #[test]
    fn instant_without_zone_is_rejected_naming_it() {
        let error = parse_instant("end_date", "2022-01-21T13:47:00").unwrap_err();

        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert!(
            error
                .to_string()
                .starts_with("end_date: '2022-01-21T13:47:00' has no time zone")
        );
    }

    #[test]
    fn dates_form_an_and_range() {
        let params = Params::parse("start_date=2022-01-01T00:00:00Z&end_date=2022-01-31T00:00:00Z");
        let query = build_query(&params, now()).unwrap();

        assert_eq!(
            query.requested_from.unwrap().to_rfc3339(),
            "2022-01-01T00:00:00+00:00"
        );
        assert_eq!(
            query.requested_to.unwrap().to_rfc3339(),
            "2022-01-31T00:00:00+00:00"
        );
    }

    #[test]
    fn span_above_ninety_days_is_rejected() {
        let params = Params::parse("start_date=2022-01-01T00:00:00Z&end_date=2022-04-02T00:00:00Z");

        assert!(build_query(&params, now()).is_err());
    }

    #[test]
    fn default_window_is_last_ninety_days() {
        let query = build_query(&Params::parse(""), now()).unwrap();

        assert_eq!(query.requested_from, Some(now() - Duration::days(90)));
        assert_eq!(query.requested_to, None);
        assert_eq!((query.page, query.page_size), (1, DEFAULT_PAGE_SIZE));
    }

    #[test]
    fn ids_override_other_filters() {
        let params = Params::parse("service_request_id=101,%20102%20&status=closed&service_code=x");
        let query = build_query(&params, now()).unwrap();

        assert_eq!(query.ids, ["101", "102"]);
        assert!(query.statuses.is_empty());
        assert!(query.service_codes.is_empty());
        assert_eq!(query.requested_from, None);
    }

    #[test]
    fn page_size_above_maximum_is_rejected() {
        let params = Params::parse("page_size=1001");

        assert!(
            build_query(&params, now())
                .unwrap_err()
                .to_string()
                .starts_with("page_size:")
        );
    }

    #[test]
    fn bbox_reads_long_before_lat() {
        let params = Params::parse("bbox=-71.2,42.2,-70.9,42.4");
        let query = build_query(&params, now()).unwrap();

        assert_eq!(query.bbox, Some((-71.2, 42.2, -70.9, 42.4)));
        assert!(build_query(&Params::parse("bbox=42.2,-71.2"), now()).is_err());
    }
}
