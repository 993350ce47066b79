//! Acceptance check: replays the 100 real Boston requests of January 2022
//! through the Open311 API and checks that the Boston router plugin sends
//! them to the department the city itself chose.

use crate::open311_support as support;

use std::collections::HashMap;

use civic311_store::HistoryKind;
use serde_json::Value;

use support::{Api, BOSTON, boston_csv};

/// Share of rows that must reach the city's own department, in percent.
const MIN_MATCH_PERCENT: usize = 95;

/// One row of the city's export, with the columns the replay uses.
struct Row {
    case_id: String,
    case_title: String,
    service_name: String,
    department: String,
    lat: String,
    long: String,
    source: String,
}

/// Reads `boston311-100.csv` from the shared data folder beside the repository.
fn read_rows() -> Vec<Row> {
    let path = boston_csv();
    let mut reader = csv::Reader::from_path(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let headers = reader.headers().expect("CSV header").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (id, title, kind, department, lat, long, source) = (
        column("case_enquiry_id"),
        column("case_title"),
        column("type"),
        column("department"),
        column("latitude"),
        column("longitude"),
        column("source"),
    );

    reader
        .records()
        .map(|record| {
            let record = record.expect("CSV row");
            Row {
                case_id: record[id].to_string(),
                case_title: record[title].trim().to_string(),
                service_name: record[kind].to_string(),
                department: record[department].trim().to_string(),
                lat: record[lat].trim().to_string(),
                long: record[long].trim().to_string(),
                source: record[source].trim().to_string(),
            }
        })
        .collect()
}

/// Maps the export's `source` to the channel sent in the `channel` extension.
fn channel_of(source: &str) -> &'static str {
    match source {
        "Citizens Connect App" => "mobile_app",
        "Constituent Call" => "phone",
        "City Worker App" => "field_app",
        "Self Service" => "web",
        other => panic!("unknown source '{other}' in the Boston export"),
    }
}

#[tokio::test]
async fn boston_sample_routes_to_city_departments() {
    let api = Api::start().await;
    let key = api.key(BOSTON).await;
    let rows = read_rows();
    assert_eq!(rows.len(), 100);

    let services = api
        .get(&format!("services.json?jurisdiction_id={BOSTON}"))
        .await
        .json();
    let code_by_name: HashMap<String, String> = services
        .as_array()
        .expect("services is a list")
        .iter()
        .map(|service| {
            (
                service["service_name"].as_str().unwrap().to_string(),
                service["service_code"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    let mut created = Vec::new();
    for row in &rows {
        let code = code_by_name.get(&row.service_name).unwrap_or_else(|| {
            panic!(
                "case {}: no Boston service named '{}'",
                row.case_id, row.service_name
            )
        });
        let reply = api
            .post_form(
                "requests.json",
                &[
                    ("api_key", key.as_str()),
                    ("jurisdiction_id", BOSTON),
                    ("service_code", code.as_str()),
                    ("lat", row.lat.as_str()),
                    ("long", row.long.as_str()),
                    ("description", row.case_title.as_str()),
                    ("channel", channel_of(&row.source)),
                ],
                &[],
            )
            .await;
        assert_eq!(
            reply.status, 200,
            "case {} ({}) was rejected: {}",
            row.case_id, row.service_name, reply.body
        );
        let id = reply.json()[0]["service_request_id"]
            .as_str()
            .expect("realtime id")
            .to_string();
        created.push((row, code.clone(), id));
    }

    let tenant = api.state.tenants.by_jurisdiction(BOSTON).unwrap();
    let mut misses = Vec::new();
    for (row, code, id) in &created {
        let reply = api
            .get(&format!(
                "requests/{id}.json?jurisdiction_id={BOSTON}&extensions=true"
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let request = &reply.json()[0];
        check_fields(request, row, code);

        let department = request["extended_attributes"]["department"]
            .as_str()
            .unwrap()
            .to_string();
        let expected_agency = tenant
            .manifest
            .department(&department)
            .map(|spec| spec.name.get(civic311_domain::Locale::En).to_string());
        assert_eq!(
            request["agency_responsible"].as_str(),
            expected_agency.as_deref(),
            "case {}",
            row.case_id
        );
        if department != row.department {
            misses.push(format!(
                "case {} '{}': routed to {department}, city chose {}",
                row.case_id, row.service_name, row.department
            ));
        }

        let history = tenant.store.history(id).await.unwrap();
        let routed = history
            .iter()
            .find(|event| event.kind == HistoryKind::Routed);
        let routed = routed.unwrap_or_else(|| {
            panic!("case {}: no routed history entry: {history:?}", row.case_id)
        });
        let names_plugin = routed
            .actor
            .as_deref()
            .is_some_and(|actor| actor.contains("boston-router"))
            || routed.detail.to_string().contains("boston-router");
        assert!(
            names_plugin,
            "case {}: routed entry does not name boston-router: {routed:?}",
            row.case_id
        );
    }

    let matched = rows.len() - misses.len();
    println!(
        "{matched} of {} Boston requests reached the city's department",
        rows.len()
    );
    for miss in &misses {
        println!("miss: {miss}");
    }
    assert!(
        matched * 100 >= MIN_MATCH_PERCENT * rows.len(),
        "only {matched} of {} requests reached the city's department; misses:\n{}",
        rows.len(),
        misses.join("\n")
    );
}

/// Checks the public fields of one replayed request against its CSV row.
fn check_fields(request: &Value, row: &Row, code: &str) {
    let case = &row.case_id;
    assert_eq!(request["service_code"], code, "case {case}");
    assert_eq!(
        request["service_name"].as_str(),
        Some(row.service_name.as_str()),
        "case {case}"
    );
    assert_eq!(
        request["description"].as_str(),
        Some(row.case_title.as_str()),
        "case {case}"
    );
    assert_eq!(request["status"], "open", "case {case}");
    assert_eq!(
        request["lat"].as_f64(),
        row.lat.parse::<f64>().ok(),
        "case {case}"
    );
    assert_eq!(
        request["long"].as_f64(),
        row.long.parse::<f64>().ok(),
        "case {case}"
    );
    assert_eq!(
        request["extended_attributes"]["channel"],
        channel_of(&row.source),
        "case {case}"
    );
}
