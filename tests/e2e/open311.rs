//! Every Open311 GeoReport v2 endpoint in JSON and XML, the error bodies
//! and statuses, and isolation between the Boston and Haverhill tenants,
//! over real HTTP against the in-process server.

use crate::open311_support as support;

use serde_json::Value;

use support::{Api, BOSTON, HAVERHILL, xml_texts};

/// A point in downtown Haverhill, inside its service area.
const HAVERHILL_POINT: (&str, &str) = ("42.7762", "-71.0773");

/// A point near Boston City Hall, inside Boston's service area.
const BOSTON_POINT: (&str, &str) = ("42.3603", "-71.0580");

async fn post_pothole(api: &Api, extra: &[(&str, &str)]) -> support::Reply {
    let key = api.key(HAVERHILL).await;
    let mut form = vec![
        ("api_key", key.as_str()),
        ("jurisdiction_id", HAVERHILL),
        ("service_code", "pothole"),
        ("lat", HAVERHILL_POINT.0),
        ("long", HAVERHILL_POINT.1),
        ("attribute[size]", "large"),
        ("description", "Deep hole by the bus stop"),
        ("email", "resident@example.org"),
        ("first_name", "Ana"),
        ("phone", "+19785550100"),
    ];
    // A field in `extra` replaces the default one, since the server reads the first value.
    form.retain(|(name, _)| !extra.iter().any(|(replaced, _)| replaced == name));
    form.extend_from_slice(extra);
    api.post_form("requests.json", &form, &[]).await
}

async fn created_id(api: &Api, extra: &[(&str, &str)]) -> String {
    let reply = post_pothole(api, extra).await;
    assert_eq!(reply.status, 200, "POST failed: {}", reply.body);
    reply.json()[0]["service_request_id"]
        .as_str()
        .expect("service_request_id is a string")
        .to_string()
}

#[tokio::test]
async fn discovery_lists_both_formats_and_base_url() {
    let api = Api::start().await;

    let json = api.get("discovery.json").await;
    let xml = api.get("discovery.xml").await;

    assert_eq!(json.status, 200);
    assert_eq!(json.content_type, "application/json; charset=utf-8");
    let endpoint = &json.json()["endpoints"][0];
    assert_eq!(endpoint["type"], "production");
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["url"], Value::String(api.base.clone()));
    assert_eq!(
        endpoint["formats"],
        serde_json::json!(["text/xml", "application/json"])
    );
    assert!(json.json()["changeset"].is_string());

    assert_eq!(xml.status, 200);
    assert_eq!(xml.content_type, "text/xml; charset=utf-8");
    assert!(
        xml.body
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    assert_eq!(
        xml_texts(&xml.body, "format"),
        ["text/xml", "application/json"]
    );
    assert_eq!(xml_texts(&xml.body, "url"), vec![api.base.clone()]);
}

#[tokio::test]
async fn discovery_names_city_contact_with_jurisdiction() {
    let api = Api::start().await;

    let reply = api
        .get(&format!("discovery.json?jurisdiction_id={BOSTON}"))
        .await;

    assert_eq!(
        reply.json()["contact"],
        "Boston 311: dial 311 or +1 617-635-4500"
    );
}

#[tokio::test]
async fn services_list_in_both_formats() {
    let api = Api::start().await;

    let json = api
        .get(&format!("services.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let xml = api
        .get(&format!("services.xml?jurisdiction_id={HAVERHILL}"))
        .await;

    assert_eq!(json.status, 200);
    let services = json.json();
    let services = services.as_array().expect("services is an array");
    assert_eq!(services.len(), 23);
    let pothole = services
        .iter()
        .find(|service| service["service_code"] == "pothole")
        .expect("pothole listed");
    assert_eq!(pothole["service_name"], "Pothole");
    assert_eq!(pothole["metadata"], true);
    assert_eq!(pothole["type"], "realtime");
    assert_eq!(pothole["group"], "streets");
    assert_eq!(
        pothole["keywords"],
        "pothole,road,pavement,bache,calle,pavimento"
    );

    assert_eq!(xml.status, 200);
    assert_eq!(xml_texts(&xml.body, "service_code").len(), 23);
    assert!(xml.body.contains(
        "<service><service_code>pothole</service_code><service_name>Pothole</service_name>"
    ));
    assert!(
        xml.body
            .contains("<metadata>true</metadata><type>realtime</type>")
    );
}

#[tokio::test]
async fn services_named_in_requested_locale() {
    let api = Api::start().await;

    let by_parameter = api
        .get(&format!(
            "services.json?jurisdiction_id={HAVERHILL}&locale=es"
        ))
        .await;
    let by_header = api
        .get_with_headers(
            &format!("services.xml?jurisdiction_id={HAVERHILL}"),
            &[("Accept-Language", "es-MX,es;q=0.9")],
        )
        .await;

    let services = by_parameter.json();
    let pothole = services
        .as_array()
        .unwrap()
        .iter()
        .find(|service| service["service_code"] == "pothole")
        .unwrap();
    assert_eq!(pothole["service_name"], "Bache");
    assert!(
        by_header
            .body
            .contains("<service_name>Bache</service_name>")
    );
}

#[tokio::test]
async fn service_definition_in_both_formats() {
    let api = Api::start().await;

    let json = api
        .get(&format!(
            "services/pothole.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;
    let xml = api
        .get(&format!("services/pothole.xml?jurisdiction_id={HAVERHILL}"))
        .await;

    assert_eq!(json.status, 200);
    let definition = json.json();
    assert_eq!(definition["service_code"], "pothole");
    let size = &definition["attributes"][0];
    assert_eq!(size["code"], "size");
    assert_eq!(size["variable"], true);
    assert_eq!(size["datatype"], "singlevaluelist");
    assert_eq!(size["required"], true);
    assert_eq!(size["order"], 1);
    assert_eq!(size["description"], "How big is the pothole?");
    assert_eq!(size["values"][2]["key"], "large");
    assert_eq!(size["values"][2]["name"], "Large (bigger than a car tire)");
    assert_eq!(definition["attributes"][1]["code"], "hazard");
    assert_eq!(definition["attributes"][1]["required"], false);

    assert_eq!(xml.status, 200);
    assert!(xml.body.contains(
        "<service_definition><service_code>pothole</service_code><attributes><attribute>"
    ));
    assert!(xml.body.contains("<values><value><key>small</key>"));
    assert_eq!(xml_texts(&xml.body, "order"), ["1", "2"]);
}

#[tokio::test]
async fn service_definition_without_list_has_no_values() {
    let api = Api::start().await;

    let reply = api
        .get(&format!(
            "services/streetlight-out.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;

    let attribute = &reply.json()["attributes"][0];
    assert_eq!(attribute["code"], "pole_number");
    assert_eq!(attribute["datatype"], "string");
    assert_eq!(
        attribute["datatype_description"],
        "The number on the metal tag of the pole."
    );
    assert!(attribute.get("values").is_none());
}

#[tokio::test]
async fn post_request_replies_with_id_and_notice() {
    let api = Api::start().await;

    let json = post_pothole(&api, &[("account_id", "acct-77")]).await;
    let key = api.key(HAVERHILL).await;
    let xml = api
        .post_form(
            "requests.xml",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "pothole"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
                ("attribute[size]", "small"),
            ],
            &[],
        )
        .await;

    assert_eq!(json.status, 200, "{}", json.body);
    assert_eq!(json.content_type, "application/json; charset=utf-8");
    let created = &json.json()[0];
    assert!(created["service_request_id"].is_string());
    assert!(created.get("token").is_none());
    assert_eq!(created["account_id"], "acct-77");
    let notice = created["service_notice"].as_str().unwrap();
    assert!(
        notice.starts_with("Thank you. Your Pothole request was sent to "),
        "{notice}"
    );

    assert_eq!(xml.status, 200, "{}", xml.body);
    assert!(
        xml.body
            .contains("<service_requests><request><service_request_id>")
    );
    assert_eq!(xml_texts(&xml.body, "service_request_id").len(), 1);
    assert!(
        xml.body
            .contains("<service_notice>Thank you. Your Pothole request")
    );
}

#[tokio::test]
async fn post_notice_follows_accept_language() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;

    let reply = api
        .post_form(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "pothole"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
                ("attribute[size]", "small"),
            ],
            &[("Accept-Language", "es")],
        )
        .await;

    let notice = reply.json()[0]["service_notice"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        notice.starts_with("Gracias. Su solicitud de Bache fue enviada a "),
        "{notice}"
    );
}

#[tokio::test]
async fn post_error_follows_accept_language() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;

    let reply = api
        .post_form(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "pothole"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
            ],
            &[("Accept-Language", "es-MX,es;q=0.9")],
        )
        .await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    let description = reply.json()[0]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        description,
        "attribute[size]: Responda la pregunta obligatoria 'size': ¿De qué tamaño es el bache?"
    );
}

#[tokio::test]
async fn request_fields_follow_locale() {
    let api = Api::start().await;
    let id = created_id(&api, &[]).await;

    let reply = api
        .get(&format!(
            "requests/{id}.json?jurisdiction_id={HAVERHILL}&locale=es"
        ))
        .await;

    let request = &reply.json()[0];
    assert_eq!(request["service_name"], "Bache");
    assert_eq!(
        request["agency_responsible"],
        "Obras Públicas, División de Calles"
    );
}

#[tokio::test]
async fn xml_escapes_request_text() {
    let api = Api::start().await;
    let description = "Cones & \"barrels\" left by the crew";
    let id = created_id(&api, &[("description", description)]).await;

    let xml = api
        .get(&format!("requests/{id}.xml?jurisdiction_id={HAVERHILL}"))
        .await;
    let json = api
        .get(&format!("requests/{id}.json?jurisdiction_id={HAVERHILL}"))
        .await;

    assert!(
        xml.body.contains(
            "<description>Cones &amp; &quot;barrels&quot; left by the crew</description>"
        )
    );
    assert_eq!(json.json()[0]["description"], description);
}

#[tokio::test]
async fn single_jurisdiction_server_needs_no_jurisdiction_id() {
    let tenants = tempfile::tempdir().unwrap();
    civic311_tests::copy_tenant(&support::tenants_dir().join("haverhill"), tenants.path());
    let api = Api::start_with_tenants(tenants.path()).await;
    let key = api.key(HAVERHILL).await;

    let services = api.get("services.json").await;
    let empty = api.get("services.json?jurisdiction_id=").await;
    let created = api
        .post_form(
            "requests.xml",
            &[
                ("api_key", key.as_str()),
                ("service_code", "streetlight-out"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
            ],
            &[],
        )
        .await;
    let other = api.get("services.json?jurisdiction_id=boston.gov").await;

    assert_eq!(services.status, 200);
    assert_eq!(services.json().as_array().unwrap().len(), 23);
    assert_eq!(empty.body, services.body);
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(xml_texts(&created.body, "service_request_id").len(), 1);
    assert_eq!(other.status, 404);
}

#[tokio::test]
async fn get_request_in_both_formats() {
    let api = Api::start().await;
    let id = created_id(
        &api,
        &[
            ("address_string", "12 Main St, Haverhill"),
            ("media_url", "https://example.org/p.jpg"),
        ],
    )
    .await;

    let json = api
        .get(&format!("requests/{id}.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let xml = api
        .get(&format!("requests/{id}.xml?jurisdiction_id={HAVERHILL}"))
        .await;

    assert_eq!(json.status, 200, "{}", json.body);
    let requests = json.json();
    assert_eq!(requests.as_array().unwrap().len(), 1);
    let request = &requests[0];
    assert_eq!(request["service_request_id"], Value::String(id.clone()));
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "pothole");
    assert_eq!(request["service_name"], "Pothole");
    assert_eq!(request["description"], "Deep hole by the bus stop");
    assert_eq!(request["agency_responsible"], "DPW Highway");
    assert_eq!(request["address"], "12 Main St, Haverhill");
    assert_eq!(request["media_url"], "https://example.org/p.jpg");
    assert_eq!(request["lat"], 42.7762);
    assert_eq!(request["long"], -71.0773);
    assert!(request["requested_datetime"].as_str().unwrap().len() == 25);
    assert!(request["expected_datetime"].is_string());

    assert_eq!(xml.status, 200);
    assert_eq!(xml_texts(&xml.body, "service_request_id"), vec![id.clone()]);
    assert_eq!(xml_texts(&xml.body, "lat"), ["42.7762"]);
    assert_eq!(xml_texts(&xml.body, "status"), ["open"]);
    assert_eq!(xml_texts(&xml.body, "agency_responsible"), ["DPW Highway"]);
}

#[tokio::test]
async fn contact_details_are_never_rendered() {
    let api = Api::start().await;
    let id = created_id(&api, &[]).await;

    for path in [
        format!("requests/{id}.json?jurisdiction_id={HAVERHILL}&extensions=true"),
        format!("requests/{id}.xml?jurisdiction_id={HAVERHILL}&extensions=true"),
        format!("requests.json?jurisdiction_id={HAVERHILL}&extensions=true"),
    ] {
        let reply = api.get(&path).await;
        assert_eq!(reply.status, 200);
        for secret in ["resident@example.org", "Ana", "5550100"] {
            assert!(
                !reply.body.contains(secret),
                "{path} shows contact detail {secret}"
            );
        }
    }
}

#[tokio::test]
async fn get_requests_in_both_formats_with_filters() {
    let api = Api::start().await;
    let first = created_id(&api, &[]).await;
    let second = created_id(&api, &[]).await;

    let all = api
        .get(&format!("requests.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let open_xml = api
        .get(&format!(
            "requests.xml?jurisdiction_id={HAVERHILL}&status=open&service_code=pothole"
        ))
        .await;
    let closed = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&status=closed"
        ))
        .await;
    let other_code = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&service_code=graffiti"
        ))
        .await;

    let ids: Vec<String> = all
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|request| request["service_request_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [second.clone(), first.clone()], "newest first");
    assert_eq!(all.headers.get("page-totalsize").unwrap(), "2");
    assert_eq!(
        xml_texts(&open_xml.body, "service_request_id"),
        [second, first]
    );
    assert_eq!(closed.body, "[]");
    assert_eq!(other_code.body, "[]");
}

#[tokio::test]
async fn search_extensions_filter_requests() {
    let api = Api::start().await;
    let downtown = created_id(&api, &[]).await;
    let north = created_id(
        &api,
        &[
            ("lat", "42.8000"),
            ("long", "-71.0200"),
            ("description", "Cracked CURB near the school"),
            ("channel", "phone"),
        ],
    )
    .await;
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let search = |filter: String| {
        let api = &api;
        async move {
            let reply = api
                .get(&format!(
                    "requests.json?jurisdiction_id={HAVERHILL}&{filter}"
                ))
                .await;
            assert_eq!(reply.status, 200, "{filter}: {}", reply.body);
            reply
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|request| request["service_request_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(
        search("bbox=-71.08,42.77,-71.07,42.78".into()).await,
        vec![downtown.clone()]
    );
    assert_eq!(search("q=curb".into()).await, vec![north.clone()]);
    assert_eq!(search("channel=phone".into()).await, vec![north.clone()]);
    assert_eq!(
        search("department=dpw-highway".into()).await,
        [north.clone(), downtown.clone()]
    );
    assert!(search("department=isd-health".into()).await.is_empty());
    assert!(search(format!("updated_after={soon}")).await.is_empty());
    assert_eq!(
        search(format!("updated_before={soon}")).await,
        [north, downtown]
    );

    let bad_box = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&bbox=42.77,-71.08"
        ))
        .await;
    assert_eq!(bad_box.status, 400);
    assert!(
        bad_box.json()[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("bbox:")
    );
}

#[tokio::test]
async fn extensions_add_channel_notes_and_attributes() {
    let api = Api::start().await;
    let id = created_id(&api, &[("channel", "phone"), ("attribute[hazard]", "yes")]).await;

    let reply = api
        .get(&format!(
            "requests/{id}.json?jurisdiction_id={HAVERHILL}&extensions=true"
        ))
        .await;
    let xml = api
        .get(&format!(
            "requests/{id}.xml?jurisdiction_id={HAVERHILL}&extensions=true"
        ))
        .await;

    let request = &reply.json()[0];
    let extended = &request["extended_attributes"];
    assert_eq!(extended["channel"], "phone");
    assert_eq!(extended["sub_status"], "submitted");
    assert_eq!(extended["department"], "dpw-highway");
    assert_eq!(extended["duplicate"], false);
    assert!(extended["priority"].is_string());
    assert_eq!(extended["photos"], serde_json::json!([]));
    assert_eq!(request["attributes"][0]["code"], "size");
    assert_eq!(
        request["attributes"][0]["values"],
        serde_json::json!(["large"])
    );
    assert_eq!(request["attributes"][1]["code"], "hazard");

    let history = api.history(HAVERHILL, &id).await;
    let public = history
        .iter()
        .filter(|event| event.visibility == civic311_store::Visibility::Public)
        .count();
    let notes = request["notes"].as_array().unwrap();
    assert_eq!(
        notes.len(),
        public,
        "notes are exactly the public history entries"
    );
    assert!(!notes.is_empty());
    assert!(
        notes
            .iter()
            .all(|note| note["datetime"].is_string() && note["summary"].is_string())
    );

    assert!(
        xml.body
            .contains("<extended_attributes><channel>phone</channel>")
    );
    assert!(xml.body.contains(
        "<attributes><attribute><code>size</code><values><value>large</value></values></attribute>"
    ));
}

#[tokio::test]
async fn unknown_token_is_not_found() {
    let api = Api::start().await;

    let json = api
        .get(&format!(
            "tokens/no-such-token.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;
    let xml = api
        .get(&format!(
            "tokens/no-such-token.xml?jurisdiction_id={HAVERHILL}"
        ))
        .await;

    assert_eq!(json.status, 404);
    assert_eq!(json.json()[0]["code"], 404);
    assert!(
        json.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("no-such-token")
    );
    assert_eq!(xml.status, 404);
    assert_eq!(xml_texts(&xml.body, "code"), ["404"]);
}

#[tokio::test]
async fn stats_figures_link_to_their_requests() {
    let api = Api::start().await;
    created_id(&api, &[("channel", "phone")]).await;
    created_id(&api, &[("channel", "web")]).await;
    created_id(&api, &[("channel", "web")]).await;

    let reply = api
        .get(&format!("stats.json?jurisdiction_id={HAVERHILL}"))
        .await;

    assert_eq!(reply.status, 200, "{}", reply.body);
    let stats = reply.json();
    assert_eq!(stats["total"], 3);
    let service = &stats["services"][0];
    assert_eq!(service["service_code"], "pothole");
    assert_eq!(service["count"], 3);
    let web = stats["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|share| share["channel"] == "web")
        .unwrap()
        .clone();
    assert_eq!(web["count"], 2);
    assert_eq!(web["percent"], 66.67);
    let department = &stats["departments"][0];
    assert_eq!(department["department"], "dpw-highway");
    assert_eq!(department["agency_responsible"], "DPW Highway");
    assert_eq!(department["percent"], 100.0);

    let linked = api
        .get_absolute(web["requests_url"].as_str().unwrap())
        .await;
    assert_eq!(
        linked.json().as_array().unwrap().len(),
        2,
        "the link lists the figure's requests"
    );
    let linked = api
        .get_absolute(service["requests_url"].as_str().unwrap())
        .await;
    assert_eq!(linked.json().as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn errors_use_spec_body_and_status() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;

    let cases: Vec<(support::Reply, u16, &str)> = vec![
        (
            api.get(&format!(
                "services/no-such-service.json?jurisdiction_id={HAVERHILL}"
            ))
            .await,
            404,
            "no-such-service",
        ),
        (
            api.get(&format!(
                "requests/999999999.json?jurisdiction_id={HAVERHILL}"
            ))
            .await,
            404,
            "999999999",
        ),
        (
            api.get("services.json?jurisdiction_id=nowhere.example")
                .await,
            404,
            "nowhere.example",
        ),
        (api.get("services.json").await, 400, "jurisdiction_id"),
        (
            api.get(&format!(
                "requests.json?jurisdiction_id={HAVERHILL}&status=pending"
            ))
            .await,
            400,
            "status",
        ),
        (
            api.get(&format!("whatever.json?jurisdiction_id={HAVERHILL}"))
                .await,
            404,
            "whatever.json",
        ),
        (
            api.post_form(
                "requests.json",
                &[("jurisdiction_id", HAVERHILL), ("service_code", "pothole")],
                &[],
            )
            .await,
            403,
            "api_key",
        ),
        (
            api.post_form(
                "requests.json",
                &[
                    ("api_key", "wrong"),
                    ("jurisdiction_id", HAVERHILL),
                    ("service_code", "pothole"),
                ],
                &[],
            )
            .await,
            403,
            "api_key",
        ),
        (
            api.post_form(
                "requests.json",
                &[
                    ("api_key", key.as_str()),
                    ("jurisdiction_id", HAVERHILL),
                    ("service_code", "no-such-service"),
                ],
                &[],
            )
            .await,
            404,
            "no-such-service",
        ),
        (
            api.post_form(
                "requests.json",
                &[
                    ("api_key", key.as_str()),
                    ("jurisdiction_id", HAVERHILL),
                    ("service_code", "pothole"),
                    ("lat", HAVERHILL_POINT.0),
                    ("long", HAVERHILL_POINT.1),
                ],
                &[],
            )
            .await,
            400,
            "size",
        ),
    ];

    for (reply, status, mention) in cases {
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(reply.content_type, "application/json; charset=utf-8");
        let error = &reply.json()[0];
        assert_eq!(error["code"], status, "{}", reply.body);
        let description = error["description"].as_str().unwrap();
        assert!(
            description.contains(mention),
            "'{description}' should mention {mention}"
        );
    }
}

#[tokio::test]
async fn errors_in_xml_use_errors_element() {
    let api = Api::start().await;

    let reply = api
        .post_form(
            "requests.xml",
            &[("jurisdiction_id", HAVERHILL), ("service_code", "pothole")],
            &[],
        )
        .await;

    assert_eq!(reply.status, 403);
    assert_eq!(reply.content_type, "text/xml; charset=utf-8");
    assert!(
        reply
            .body
            .contains("<errors><error><code>403</code><description>api_key is missing")
    );
}

#[tokio::test]
async fn tenants_are_isolated_on_every_path() {
    let api = Api::start().await;
    let boston_key = api.key(BOSTON).await;
    let boston_post = api
        .post_multipart(
            "requests.json",
            &[
                ("api_key", boston_key.as_str()),
                ("jurisdiction_id", BOSTON),
                ("service_code", "request-for-pothole-repair"),
                ("lat", BOSTON_POINT.0),
                ("long", BOSTON_POINT.1),
            ],
            &[("media", "pothole.png", "image/png", support::PNG)],
        )
        .await;
    assert_eq!(boston_post.status, 200, "{}", boston_post.body);
    let boston_id = boston_post.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        api.get(&format!("media/{boston_id}/1?jurisdiction_id={BOSTON}"))
            .await
            .status,
        200
    );

    let under_haverhill = [
        api.get(&format!(
            "requests/{boston_id}.json?jurisdiction_id={HAVERHILL}"
        ))
        .await,
        api.get(&format!(
            "requests/{boston_id}.xml?jurisdiction_id={HAVERHILL}"
        ))
        .await,
        api.get(&format!("media/{boston_id}/1?jurisdiction_id={HAVERHILL}"))
            .await,
    ];
    for reply in under_haverhill {
        assert_eq!(reply.status, 404, "{}", reply.body);
    }

    let search = api
        .get(&format!(
            "requests.json?jurisdiction_id={HAVERHILL}&service_request_id={boston_id}"
        ))
        .await;
    assert_eq!(search.body, "[]");
    let listing = api
        .get(&format!("requests.json?jurisdiction_id={HAVERHILL}"))
        .await;
    assert_eq!(listing.body, "[]");
    let stats = api
        .get(&format!("stats.json?jurisdiction_id={HAVERHILL}"))
        .await;
    assert_eq!(stats.json()["total"], 0);

    let haverhill_key = api.key(HAVERHILL).await;
    let cross_key = api
        .post_form(
            "requests.json",
            &[
                ("api_key", haverhill_key.as_str()),
                ("jurisdiction_id", BOSTON),
                ("service_code", "request-for-pothole-repair"),
                ("lat", BOSTON_POINT.0),
                ("long", BOSTON_POINT.1),
            ],
            &[],
        )
        .await;
    assert_eq!(
        cross_key.status, 403,
        "a Haverhill key must not create Boston requests"
    );

    let boston_code_in_haverhill = api
        .post_form(
            "requests.json",
            &[
                ("api_key", haverhill_key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("service_code", "request-for-pothole-repair"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
            ],
            &[],
        )
        .await;
    assert_eq!(boston_code_in_haverhill.status, 404);
    assert_eq!(
        api.get(&format!(
            "services/request-for-pothole-repair.json?jurisdiction_id={HAVERHILL}"
        ))
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn idempotency_key_returns_first_request() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;
    let form = [
        ("api_key", key.as_str()),
        ("jurisdiction_id", HAVERHILL),
        ("service_code", "pothole"),
        ("lat", HAVERHILL_POINT.0),
        ("long", HAVERHILL_POINT.1),
        ("attribute[size]", "small"),
    ];

    let first = api
        .post_form("requests.json", &form, &[("Idempotency-Key", "retry-7")])
        .await;
    let second = api
        .post_form("requests.json", &form, &[("Idempotency-Key", "retry-7")])
        .await;

    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.json()[0]["service_request_id"],
        second.json()[0]["service_request_id"]
    );
    let listing = api
        .get(&format!("requests.json?jurisdiction_id={HAVERHILL}"))
        .await;
    assert_eq!(listing.json().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn missing_service_code_error_names_it_once() {
    let api = Api::start().await;
    let key = api.key(HAVERHILL).await;

    let reply = api
        .post_form(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", HAVERHILL),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
            ],
            &[],
        )
        .await;

    assert_eq!(reply.status, 400, "{}", reply.body);
    let description = reply.json()[0]["description"]
        .as_str()
        .expect("description is a string")
        .to_string();
    assert_eq!(
        description,
        "service_code: required parameter is missing; send one of the codes that GET services lists"
    );
    assert_eq!(description.matches("service_code").count(), 1, "{description}");
}

#[tokio::test]
async fn request_without_description_omits_it() {
    let api = Api::start().await;
    let id = created_id(&api, &[("description", "")]).await;

    let json = api
        .get(&format!("requests/{id}.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let xml = api
        .get(&format!("requests/{id}.xml?jurisdiction_id={HAVERHILL}"))
        .await;

    assert_eq!(json.status, 200, "{}", json.body);
    let request = &json.json()[0];
    assert_eq!(request["service_request_id"], Value::String(id.clone()));
    assert!(request.get("description").is_none(), "{request}");
    assert_eq!(xml.status, 200, "{}", xml.body);
    assert_eq!(xml_texts(&xml.body, "service_request_id"), vec![id]);
    assert!(!xml.body.contains("<description"), "{}", xml.body);
}

#[tokio::test]
async fn absent_datatype_description_is_omitted() {
    let api = Api::start().await;

    let pothole = api
        .get(&format!("services/pothole.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let pothole_xml = api
        .get(&format!("services/pothole.xml?jurisdiction_id={HAVERHILL}"))
        .await;
    let streetlight = api
        .get(&format!(
            "services/streetlight-out.json?jurisdiction_id={HAVERHILL}"
        ))
        .await;

    let size = &pothole.json()["attributes"][0];
    assert_eq!(size["code"], "size");
    assert!(size.get("datatype_description").is_none(), "{size}");
    assert!(
        !pothole_xml.body.contains("<datatype_description"),
        "{}",
        pothole_xml.body
    );
    assert_eq!(
        streetlight.json()["attributes"][0]["datatype_description"],
        "The number on the metal tag of the pole."
    );
}

#[tokio::test]
async fn jurisdiction_id_ignores_case() {
    let api = Api::start().await;
    let upper = HAVERHILL.to_uppercase();
    let key = api.key(HAVERHILL).await;

    let lower_list = api
        .get(&format!("services.json?jurisdiction_id={HAVERHILL}"))
        .await;
    let upper_list = api
        .get(&format!("services.json?jurisdiction_id={upper}"))
        .await;
    let created = api
        .post_form(
            "requests.json",
            &[
                ("api_key", key.as_str()),
                ("jurisdiction_id", upper.as_str()),
                ("service_code", "pothole"),
                ("lat", HAVERHILL_POINT.0),
                ("long", HAVERHILL_POINT.1),
                ("attribute[size]", "small"),
            ],
            &[],
        )
        .await;

    assert_eq!(upper, "HAVERHILLMA.GOV");
    assert_eq!(upper_list.status, 200, "{}", upper_list.body);
    assert_eq!(upper_list.json(), lower_list.json());
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.json()[0]["service_request_id"]
        .as_str()
        .expect("service_request_id is a string")
        .to_string();
    let fetched = api
        .get(&format!("requests/{id}.json?jurisdiction_id={HAVERHILL}"))
        .await;
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert_eq!(fetched.json()[0]["service_code"], "pothole");
}
