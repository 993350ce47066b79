//! The pitfalls real Open311 servers hit, one test per behaviour, against
//! the in-process server over real HTTP.

use crate::open311_support as support;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, Utc};
use civic311_domain::SubStatus;
use serde_json::Value;

use support::{Api, BOSTON, HAVERHILL, PNG, Reply, copy_tenants, xml_texts};

const HAVERHILL_POINT: (&str, &str) = ("42.7762", "-71.0773");

async fn post(api: &Api, service_code: &str, extra: &[(&str, &str)]) -> Reply {
    let key = api.key(HAVERHILL).await;
    let mut form = vec![
        ("api_key", key.as_str()),
        ("jurisdiction_id", HAVERHILL),
        ("service_code", service_code),
        ("lat", HAVERHILL_POINT.0),
        ("long", HAVERHILL_POINT.1),
    ];
    form.extend_from_slice(extra);
    api.post_form("requests.json", &form, &[]).await
}

async fn create(api: &Api, service_code: &str, extra: &[(&str, &str)]) -> String {
    let reply = post(api, service_code, extra).await;
    assert_eq!(
        reply.status, 200,
        "POST {service_code} failed: {}",
        reply.body
    );
    reply.json()[0]["service_request_id"]
        .as_str()
        .expect("id is a string")
        .to_string()
}

fn ids(reply: &Reply) -> Vec<String> {
    reply
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("expected a list: {}", reply.body))
        .iter()
        .map(|request| {
            request["service_request_id"]
                .as_str()
                .expect("id is a string")
                .to_string()
        })
        .collect()
}

fn encoded(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn pages_are_stable_and_cover_every_request_once() {
    let api = Api::start().await;
    let mut created = BTreeSet::new();
    for _ in 0..7 {
        created.insert(create(&api, "streetlight-out", &[]).await);
    }

    let mut seen = Vec::new();
    for page in 1..=3 {
        let path = format!("requests.json?jurisdiction_id={HAVERHILL}&page={page}&page_size=3");
        let first = api.get(&path).await;
        let again = api.get(&path).await;
        assert_eq!(
            ids(&first),
            ids(&again),
            "page {page} changed between two reads"
        );
        assert_eq!(first.headers.get("page-totalsize").unwrap(), "7");
        assert_eq!(first.headers.get("page-totalpages").unwrap(), "3");
        seen.extend(ids(&first));
    }

    assert_eq!(seen.len(), 7, "pages overlap or miss requests: {seen:?}");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), created);
    let beyond = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&page=4&page_size=3"
        ))
        .await;
    assert_eq!(beyond.body, "[]");
}

#[tokio::test]
async fn page_size_above_maximum_is_rejected() {
    let api = Api::start().await;

    let too_big = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&page_size=1001"
        ))
        .await;
    let zero = api
        .get(&format!("requests.xml?jurisdiction_id={HAVERHILL}&page=0"))
        .await;

    assert_eq!(too_big.status, 400);
    assert!(
        too_big.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("maximum of 1000")
    );
    assert_eq!(zero.status, 400);
    assert!(xml_texts(&zero.body, "description")[0].starts_with("page:"));
}

#[tokio::test]
async fn comma_lists_are_or_and_empty_parameters_are_absent() {
    let api = Api::start().await;
    let light = create(&api, "streetlight-out", &[]).await;
    let sign = create(&api, "catch-basin", &[]).await;
    create(&api, "sidewalk-repair", &[]).await;

    let either = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&service_code=streetlight-out,catch-basin"
        ))
        .await;
    let repeated = api
        .get(&format!("requests.json?jurisdiction_id={HAVERHILL}&service_code=streetlight-out&service_code=catch-basin"))
        .await;
    let empty = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&service_request_id=&service_code=&status="
        ))
        .await;
    let by_ids = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&service_request_id={light},{sign}"
        ))
        .await;

    assert_eq!(ids(&either), [sign.clone(), light.clone()]);
    assert_eq!(ids(&repeated), [sign.clone(), light.clone()]);
    assert_eq!(ids(&empty).len(), 3, "empty parameters must not filter");
    assert_eq!(
        ids(&by_ids).into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([light, sign])
    );
}

#[tokio::test]
async fn start_and_end_dates_form_an_and_range() {
    let api = Api::start().await;
    create(&api, "streetlight-out", &[]).await;
    let now = Utc::now();

    let around = format!(
        "requests.json?jurisdiction_id={HAVERHILL}&start_date={}&end_date={}",
        encoded(now - Duration::hours(1)),
        encoded(now + Duration::hours(1))
    );
    // An OR of the two bounds would match: the request is after start_date.
    let ended_before = format!(
        "requests.json?jurisdiction_id={HAVERHILL}&start_date={}&end_date={}",
        encoded(now - Duration::days(2)),
        encoded(now - Duration::days(1))
    );
    // And here it is before end_date.
    let starts_after = format!(
        "requests.json?jurisdiction_id={HAVERHILL}&start_date={}&end_date={}",
        encoded(now + Duration::days(1)),
        encoded(now + Duration::days(2))
    );

    assert_eq!(ids(&api.get(&around).await).len(), 1);
    assert_eq!(api.get(&ended_before).await.body, "[]");
    assert_eq!(api.get(&starts_after).await.body, "[]");
}

#[tokio::test]
async fn date_range_above_ninety_days_is_rejected() {
    let api = Api::start().await;

    let reply = api
        .get(&format!("requests.json?jurisdiction_id={HAVERHILL}&start_date=2022-01-01T00:00:00Z&end_date=2022-06-01T00:00:00Z"))
        .await;

    assert_eq!(reply.status, 400);
    assert!(
        reply.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("90 days")
    );
}

#[tokio::test]
async fn fractional_seconds_accepted_and_bad_dates_get_error_body() {
    let api = Api::start().await;
    create(&api, "streetlight-out", &[]).await;
    let start = (Utc::now() - Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Millis, true);

    let fractional = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&start_date={start}"
        ))
        .await;
    let no_zone = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&start_date=2022-01-21T13:47:00"
        ))
        .await;
    let malformed = api
        .get(&format!(
            "requests.xml?jurisdiction_id={HAVERHILL}&end_date=yesterday"
        ))
        .await;
    let bad_update = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&updated_after=2022-13-01T00:00:00Z"
        ))
        .await;

    assert_eq!(fractional.status, 200, "{}", fractional.body);
    assert_eq!(ids(&fractional).len(), 1);

    assert_eq!(no_zone.status, 400);
    assert_eq!(no_zone.content_type, "application/json; charset=utf-8");
    let description = no_zone.json()[0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(description.starts_with("start_date:"), "{description}");
    assert!(description.contains("no time zone"), "{description}");

    assert_eq!(malformed.status, 400);
    assert_eq!(xml_texts(&malformed.body, "code"), ["400"]);
    assert!(xml_texts(&malformed.body, "description")[0].starts_with("end_date: 'yesterday'"));

    assert_eq!(bad_update.status, 400);
    assert!(
        bad_update.json()[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("updated_after:")
    );
}

#[tokio::test]
async fn instants_carry_offset_of_tenant_zone() {
    let api = Api::start().await;
    let id = create(&api, "streetlight-out", &[]).await;
    let tenant = api.state.tenants.by_jurisdiction(HAVERHILL).unwrap();
    let stored = tenant.store.request(&id).await.unwrap().unwrap();

    let reply = api
        .get(&format!("requests/{id}.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let request = &reply.json()[0];

    for field in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        let text = request[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} missing"));
        let parsed = DateTime::<FixedOffset>::parse_from_rfc3339(text).unwrap();
        let offset = parsed.offset().local_minus_utc();
        assert!(
            offset == -5 * 3600 || offset == -4 * 3600,
            "{field} {text} is not in America/New_York"
        );
    }
    let requested = DateTime::<FixedOffset>::parse_from_rfc3339(
        request["requested_datetime"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(requested.timestamp(), stored.requested_at.timestamp());
}

#[tokio::test]
async fn closed_request_updated_time_is_close_time() {
    let api = Api::start().await;
    let id = create(&api, "streetlight-out", &[]).await;
    let tenant = api.state.tenants.by_jurisdiction(HAVERHILL).unwrap();
    let closed_at: DateTime<Utc> = Utc::now() + Duration::minutes(5);
    tenant
        .store
        .change_status(
            &id,
            SubStatus::ClosedResolved,
            Some("Lamp replaced".into()),
            None,
            closed_at,
        )
        .await
        .unwrap();

    let reply = api
        .get(&format!("requests/{id}.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let request = &reply.json()[0];

    assert_eq!(request["status"], "closed");
    let updated =
        DateTime::<FixedOffset>::parse_from_rfc3339(request["updated_datetime"].as_str().unwrap())
            .unwrap();
    assert_eq!(updated.timestamp(), closed_at.timestamp());
}

#[tokio::test]
async fn empty_jurisdiction_id_is_absent_and_empty_lists_are_valid() {
    let api = Api::start().await;

    let empty = api.get("services.json?jurisdiction_id=").await;
    let absent = api.get("services.json").await;
    let no_requests_json = api
        .get(&format!("requests.json?jurisdiction_id={BOSTON}"))
        .await;
    let no_requests_xml = api
        .get(&format!("requests.xml?jurisdiction_id={BOSTON}"))
        .await;

    assert_eq!(
        empty.status, 400,
        "this server hosts two jurisdictions, so one must be named"
    );
    assert_eq!(empty.body, absent.body);
    assert!(
        empty.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains(HAVERHILL)
    );
    assert_eq!(no_requests_json.status, 200);
    assert_eq!(no_requests_json.body, "[]");
    assert!(
        no_requests_xml
            .body
            .ends_with("<service_requests></service_requests>")
    );
}

#[tokio::test]
async fn ids_and_codes_are_opaque_and_trimmed_at_ends_only() {
    let api = Api::start().await;
    let id = create(&api, "streetlight-out", &[]).await;

    let padded_code = api
        .get(&format!(
            "services/%20streetlight-out%20.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;
    let inner_space = api
        .get(&format!(
            "services/street%20light-out.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;
    let padded_id = api
        .get(&format!(
            "requests/%20{id}%20.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;
    let post_inner_space = post(&api, "street light-out", &[]).await;

    assert_eq!(padded_code.status, 200);
    assert_eq!(padded_code.json()["service_code"], "streetlight-out");
    assert_eq!(inner_space.status, 404);
    assert!(
        inner_space.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("'street light-out'")
    );
    assert_eq!(ids(&padded_id), [id]);
    assert_eq!(post_inner_space.status, 404);
    assert!(
        post_inner_space.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("'street light-out'")
    );
}

#[tokio::test]
async fn definitions_publish_required_core_fields() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;

    let definition = api
        .get(&format!(
            "services/streetlight-out.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;
    let without_location = api
        .post_form(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "streetlight-out"),
            ],
            &[],
        )
        .await;

    let core_fields = definition.json()["core_fields"].as_array().unwrap().clone();
    let location = core_fields
        .iter()
        .find(|field| field["name"] == "location")
        .expect("location listed");
    assert_eq!(location["required"], true);
    assert!(
        location["description"]
            .as_str()
            .unwrap()
            .contains("lat 42.73 to 42.84")
    );
    let description = core_fields
        .iter()
        .find(|field| field["name"] == "description")
        .unwrap();
    assert_eq!(description["required"], false);

    assert_eq!(without_location.status, 400, "{}", without_location.body);
    let problem = without_location.json()[0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        problem.contains("lat") || problem.contains("location") || problem.contains("address"),
        "{problem}"
    );
}

#[tokio::test]
async fn photos_are_stored_with_request_and_served() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;
    let jpeg: &[u8] = b"\xFF\xD8\xFF\xE0-jpeg-test-bytes";

    let reply = api
        .post_multipart(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "streetlight-out"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
                ("description", "Two photos"),
            ],
            &[
                ("media[]", "a.png", "image/png", PNG),
                ("photo2", "b.jpg", "image/jpeg", jpeg),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();

    let first = api
        .get(&format!("media/{id}/1?jurisdiction_id={HAVERHILL}"))
        .await;
    let second_raw = reqwest::get(format!(
        "{}/media/{id}/2?jurisdiction_id={HAVERHILL}",
        api.base
    ))
    .await
    .unwrap();
    let third = api
        .get(&format!("media/{id}/3?jurisdiction_id={HAVERHILL}"))
        .await;

    assert_eq!(first.status, 200);
    assert_eq!(first.content_type, "image/png");
    assert_eq!(
        second_raw.headers().get("content-type").unwrap(),
        "image/jpeg"
    );
    assert_eq!(second_raw.bytes().await.unwrap().as_ref(), jpeg);
    assert_eq!(third.status, 404);
}

#[tokio::test]
async fn rejected_photos_store_no_request() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;
    let fields = [
        ("api_key", key.as_str()),
        ("jurisdiction_id", HAVERHILL),
        ("service_code", "streetlight-out"),
        ("lat", HAVERHILL_POINT.0),
        ("long", HAVERHILL_POINT.1),
    ];
    let six: Vec<(&str, &str, &str, &[u8])> =
        ["photo1", "photo2", "photo3", "photo4", "photo5", "photo6"]
            .into_iter()
            .map(|name| (name, "p.png", "image/png", PNG))
            .collect();
    let big = [PNG, &vec![0u8; 5 * 1024 * 1024][..]].concat();

    let too_many = api.post_multipart("requests.json", &fields, &six).await;
    let too_large = api
        .post_multipart(
            "requests.json",
            &fields,
            &[("media", "big.png", "image/png", &big)],
        )
        .await;
    let not_image = api
        .post_multipart(
            "requests.json",
            &fields,
            &[("media", "page.html", "text/html", b"<script>")],
        )
        .await;
    let svg = api
        .post_multipart(
            "requests.json",
            &fields,
            &[("media", "x.svg", "image/svg+xml", b"<svg/>")],
        )
        .await;

    for (reply, mention) in [
        (too_many, "at most 5"),
        (too_large, "5 MiB"),
        (not_image, "not accepted"),
        (svg, "not accepted"),
    ] {
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(
            reply.json()[0]["description"]
                .as_str()
                .unwrap()
                .contains(mention),
            "{}",
            reply.body
        );
    }
    let listing = api
        .get(&format!("requests.json?jurisdiction_id={HAVERHILL}"))
        .await;
    assert_eq!(
        listing.body, "[]",
        "a rejected upload must not leave a request behind"
    );
}

#[tokio::test]
async fn media_url_stays_single_url_with_extra_photos_in_extension() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;

    let with_url = api
        .post_multipart(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "streetlight-out"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
                ("media_url", "https://example.org/lamp.jpg"),
            ],
            &[
                ("media", "a.png", "image/png", PNG),
                ("media", "b.png", "image/png", PNG),
            ],
        )
        .await;
    assert_eq!(with_url.status, 200, "{}", with_url.body);
    let id = with_url.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let uploads_only = api
        .post_multipart(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "streetlight-out"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
            ],
            &[("photo1", "a.png", "image/png", PNG)],
        )
        .await;
    let uploaded_id = uploads_only.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();

    let request = api
        .get(&format!(
            "requests/{id}.json?jurisdiction_id={HAVERHILL}&extensions=true"
        ))
        .await
        .json()[0]
        .clone();
    let uploaded = api
        .get(&format!(
            "requests/{uploaded_id}.json?jurisdiction_id={HAVERHILL}"
        ))
        .await
        .json()[0]
        .clone();

    assert_eq!(request["media_url"], "https://example.org/lamp.jpg");
    let photos = request["extended_attributes"]["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    assert_eq!(
        photos[1]["media_url"],
        Value::String(format!(
            "{}/media/{id}/2?jurisdiction_id={HAVERHILL}",
            api.base
        ))
    );
    assert_eq!(
        uploaded["media_url"],
        Value::String(format!(
            "{}/media/{uploaded_id}/1?jurisdiction_id={HAVERHILL}",
            api.base
        ))
    );
}

#[tokio::test]
async fn closed_is_not_fixed_and_keeps_sub_status() {
    let api = Api::start().await;
    let id = create(&api, "streetlight-out", &[]).await;
    let tenant = api.state.tenants.by_jurisdiction(HAVERHILL).unwrap();
    tenant
        .store
        .change_status(
            &id,
            SubStatus::ClosedReferred,
            Some("National Grid owns this pole".into()),
            None,
            Utc::now(),
        )
        .await
        .unwrap();

    let closed = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&status=closed&extensions=true"
        ))
        .await;
    let open = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&status=open"
        ))
        .await;

    let request = &closed.json()[0];
    assert_eq!(request["status"], "closed");
    assert_eq!(
        request["extended_attributes"]["sub_status"],
        "closed_referred"
    );
    assert_eq!(open.body, "[]");
}

#[tokio::test]
async fn duplicates_expose_parent_request() {
    let api = Api::start().await;
    let parent = create(&api, "streetlight-out", &[]).await;
    let child = create(&api, "streetlight-out", &[]).await;
    let tenant = api.state.tenants.by_jurisdiction(HAVERHILL).unwrap();
    tenant
        .store
        .mark_duplicate(&child, &parent, Some("staff".into()), Utc::now())
        .await
        .unwrap();

    let reply = api
        .get(&format!(
            "requests/{child}.xml?jurisdiction_id={HAVERHILL}&extensions=true"
        ))
        .await;

    assert_eq!(
        xml_texts(&reply.body, "parent_service_request_id"),
        [parent]
    );
    assert_eq!(xml_texts(&reply.body, "duplicate"), ["true"]);
    assert_eq!(xml_texts(&reply.body, "sub_status"), ["closed_duplicate"]);
    assert_eq!(xml_texts(&reply.body, "status"), ["closed"]);
}

#[tokio::test]
async fn replies_have_validator_types() {
    let api = Api::start().await;
    let id = create(&api, "streetlight-out", &[]).await;

    let services = api
        .get(&format!("services.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let requests = api
        .get(&format!("requests.json?jurisdiction_id={HAVERHILL}"))
        .await;

    assert_eq!(services.content_type, "application/json; charset=utf-8");
    for service in services.json().as_array().unwrap() {
        assert!(service["service_code"].is_string());
        assert!(
            service["metadata"].is_boolean(),
            "metadata must be a boolean: {service}"
        );
        assert!(
            service["keywords"].is_string(),
            "keywords must be a string: {service}"
        );
    }
    let request = &requests.json()[0];
    assert_eq!(request["service_request_id"], Value::String(id));
    assert!(request["lat"].is_f64(), "lat must be a number: {request}");
    assert!(request["long"].is_f64(), "long must be a number: {request}");
}

#[tokio::test]
async fn scalars_are_never_wrapped_in_arrays() {
    let api = Api::start().await;
    let id = create(&api, "pothole", &[("attribute[size]", "medium")]).await;

    let requests = api
        .get(&format!(
            "requests/{id}.json?jurisdiction_id={HAVERHILL}&extensions=true"
        ))
        .await
        .json();
    let definition = api
        .get(&format!(
            "services/pothole.json?jurisdiction_id={HAVERHILL}"
        ))
        .await
        .json();
    let discovery = api.get("discovery.json").await.json();

    let lists = [
        "notes",
        "attributes",
        "photos",
        "values",
        "endpoints",
        "formats",
        "core_fields",
    ];
    fn check(value: &Value, name: &str, lists: &[&str]) {
        match value {
            Value::Array(items) => {
                assert!(
                    lists.contains(&name),
                    "{name} is an array but is not a repeated element"
                );
                for item in items {
                    check(item, name, lists);
                }
            }
            Value::Object(fields) => {
                for (field, inner) in fields {
                    check(inner, field, lists);
                }
            }
            _ => {}
        }
    }
    for request in requests.as_array().unwrap() {
        check(request, "request", &lists);
    }
    check(&definition, "service_definition", &lists);
    check(&discovery, "discovery", &lists);
}

#[tokio::test]
async fn point_outside_service_area_is_rejected() {
    let api = Api::start().await;

    let boston_point = post(&api, "streetlight-out", &[]).await;
    let key = api.key(HAVERHILL).await;
    let outside = api
        .post_form(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "streetlight-out"),
                ("lat", "42.3603"),
                ("long", "-71.0580"),
            ],
            &[],
        )
        .await;

    assert_eq!(boston_point.status, 200);
    assert_eq!(outside.status, 400);
    let problem = outside.json()[0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        problem.starts_with("lat") || problem.starts_with("long") || problem.contains("outside"),
        "{problem}"
    );
}

#[tokio::test]
async fn stats_report_volume_share_and_time_to_close() {
    let api = Api::start().await;
    let first = create(&api, "streetlight-out", &[("channel", "phone")]).await;
    create(&api, "streetlight-out", &[("channel", "mobile_app")]).await;
    create(&api, "catch-basin", &[("channel", "mobile_app")]).await;
    create(&api, "rodents", &[("channel", "mobile_app")]).await;
    let tenant = api.state.tenants.by_jurisdiction(HAVERHILL).unwrap();
    let stored = tenant.store.request(&first).await.unwrap().unwrap();
    tenant
        .store
        .change_status(
            &first,
            SubStatus::ClosedResolved,
            None,
            None,
            stored.requested_at + Duration::hours(6),
        )
        .await
        .unwrap();

    let xml = api
        .get(&format!("stats.xml?jurisdiction_id={HAVERHILL}"))
        .await;
    let stats = api
        .get(&format!("stats.json?jurisdiction_id={HAVERHILL}"))
        .await
        .json();

    assert_eq!(stats["total"], 4);
    let lights = stats["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|service| service["service_code"] == "streetlight-out")
        .unwrap();
    assert_eq!(lights["count"], 2);
    assert_eq!(lights["closed"], 1);
    assert_eq!(lights["median_hours_to_close"], 6.0);
    let app = stats["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|share| share["channel"] == "mobile_app")
        .unwrap();
    assert_eq!(app["percent"], 75.0);
    let percents: f64 = stats["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|share| share["percent"].as_f64().unwrap())
        .sum();
    assert!(
        (percents - 100.0).abs() < 0.1,
        "department shares sum to {percents}"
    );

    let linked = api
        .get_absolute(app["requests_url"].as_str().unwrap())
        .await;
    assert_eq!(ids(&linked).len(), 3);
    assert_eq!(xml_texts(&xml.body, "total"), ["4"]);
}

/// Starts a server whose Haverhill manifest makes `streetlight-out` a batch
/// service and `catch-basin` a blackbox service.
async fn start_with_service_types() -> (Api, tempfile::TempDir) {
    let tenants = copy_tenants();
    let services = tenants.path().join("haverhill").join("services.toml");
    let text = std::fs::read_to_string(&services).unwrap();
    let text = text
        .replacen(
            "code = \"streetlight-out\"\n",
            "code = \"streetlight-out\"\ntype = \"batch\"\n",
            1,
        )
        .replacen(
            "code = \"catch-basin\"\n",
            "code = \"catch-basin\"\ntype = \"blackbox\"\n",
            1,
        );
    std::fs::write(&services, text).unwrap();
    (Api::start_with_tenants(tenants.path()).await, tenants)
}

#[tokio::test]
async fn batch_services_reply_with_token_and_blackbox_with_neither() {
    let (api, _tenants) = start_with_service_types().await;

    let listed = api
        .get(&format!("services.json?jurisdiction_id={HAVERHILL}"))
        .await
        .json();
    let batch = post(&api, "streetlight-out", &[]).await;
    let blackbox = post(&api, "catch-basin", &[]).await;

    let types: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|service| service["type"] != "realtime")
        .map(|service| {
            (
                service["service_code"].as_str().unwrap().into(),
                service["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("streetlight-out".into(), "batch".into()),
            ("catch-basin".into(), "blackbox".into())
        ]
    );

    assert_eq!(batch.status, 200, "{}", batch.body);
    let created = &batch.json()[0];
    assert!(created.get("service_request_id").is_none());
    let token = created["token"]
        .as_str()
        .expect("batch reply has a token")
        .to_string();

    let blackbox = &blackbox.json()[0];
    assert!(blackbox.get("service_request_id").is_none());
    assert!(blackbox.get("token").is_none());
    assert!(blackbox["service_notice"].is_string());

    let json = api
        .get(&format!("tokens/{token}.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let xml = api
        .get(&format!("tokens/{token}.xml?jurisdiction_id={HAVERHILL}"))
        .await;
    let elsewhere = api
        .get(&format!("tokens/{token}.json?jurisdiction_id={BOSTON}"))
        .await;
    assert_eq!(json.status, 200, "{}", json.body);
    let found = &json.json()[0];
    assert_eq!(found["token"], Value::String(token.clone()));
    let id = found["service_request_id"].as_str().unwrap().to_string();
    assert_eq!(xml_texts(&xml.body, "service_request_id"), vec![id.clone()]);
    assert_eq!(xml_texts(&xml.body, "token"), [token]);
    assert_eq!(
        elsewhere.status, 404,
        "a token is only found under its own jurisdiction"
    );

    let request = api
        .get(&format!("requests/{id}.json?jurisdiction_id={HAVERHILL}"))
        .await;
    assert_eq!(request.json()[0]["service_code"], "streetlight-out");
}
