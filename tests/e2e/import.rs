//! `civic311 import requests` against a real store: the Boston sample with
//! the shipped mapping, a second run of the same file, and rows that must
//! be skipped.
//!
//! Expected values are computed here from the CSV with chrono-tz, not with
//! the import code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use civic311_domain::{Channel, Status, SubStatus};
use civic311_server::app::{build_state_with, AppState, PlatformOptions};
use civic311_server::import::{import_requests, ImportError, ImportOptions, ImportReport};
use civic311_server::tenants::TenantContext;
use civic311_store::test_support::TestDatabase;
use civic311_store::{HistoryEvent, HistoryKind, RequestQuery, ServiceRequest, Visibility};

const SAMPLE_ROWS: u64 = 100;
const CITY_HALL: (f64, f64) = (42.3594, -71.0587);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("a folder above the tests crate holds Cargo.lock")
        .to_path_buf()
}

fn boston_sample() -> PathBuf {
    workspace_root().join("../shared/data/boston311-100.csv")
}

fn boston_mapping() -> PathBuf {
    workspace_root().join("tenants/boston/import-mapping.toml")
}

const NO_PROGRESS: ImportOptions = ImportOptions { reroute: false, show_progress: false };

/// Builds the server state on `database` with every shipped tenant applied,
/// and returns it with the Boston tenant.
async fn boston(database: &TestDatabase) -> (AppState, Arc<TenantContext>) {
    // The platform key goes to a temporary folder: with PostgreSQL the
    // default folder is ./data under the working directory, the source tree.
    let key_folder = tempfile::tempdir().expect("temporary folder");
    let options = PlatformOptions {
        data_dir: key_folder.path().to_path_buf(),
        redis_url: None,
        node_id: "import-test".to_string(),
        config_file: None,
    };
    let state = build_state_with(&database.url, &workspace_root().join("tenants"), &options)
        .await
        .unwrap_or_else(|error| panic!("cannot build the server state: {error}"));
    let tenant = state.tenants.by_slug("boston").expect("the boston tenant is applied");
    (state, tenant)
}

/// One CSV row as the test reads it, independent of the import code.
struct ExpectedRequest {
    source_id: String,
    requested_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    expected_at: Option<DateTime<Utc>>,
    status: Status,
    sub_status: SubStatus,
    channel: Channel,
    department: String,
    queue: String,
    service_name: String,
    point: Option<(f64, f64)>,
    address: Option<String>,
}

fn boston_time(cell: &str) -> Option<DateTime<Utc>> {
    let cell = cell.trim();
    if cell.is_empty() {
        return None;
    }
    let local = NaiveDateTime::parse_from_str(cell, "%Y-%m-%d %H:%M:%S").unwrap();
    let instant = chrono_tz::America::New_York.from_local_datetime(&local).single().unwrap();
    Some(instant.with_timezone(&Utc))
}

fn expected_requests() -> Vec<ExpectedRequest> {
    let mut reader = csv::Reader::from_path(boston_sample()).expect("boston311-100.csv beside the repository");
    reader
        .deserialize::<BTreeMap<String, String>>()
        .map(|record| {
            let row = record.unwrap();
            let closure = row["closure_reason"].to_lowercase();
            let sub_status = match row["case_status"].as_str() {
                "Open" => SubStatus::Acknowledged,
                "Closed" if closure.contains("duplicate") => SubStatus::ClosedDuplicate,
                "Closed" if closure.contains("case invalid") || closure.contains("not enough information") => SubStatus::ClosedNoAction,
                "Closed" => SubStatus::ClosedResolved,
                other => panic!("unexpected case_status {other}"),
            };
            let channel = match row["source"].as_str() {
                "Citizens Connect App" => Channel::MobileApp,
                "Constituent Call" => Channel::Phone,
                "City Worker App" => Channel::FieldApp,
                "Self Service" => Channel::Web,
                other => panic!("unexpected source {other}"),
            };
            let lat: f64 = row["latitude"].parse().unwrap();
            let long: f64 = row["longitude"].parse().unwrap();
            let address = Some(row["location"].trim().to_string()).filter(|address| !address.is_empty());

            ExpectedRequest {
                source_id: row["case_enquiry_id"].clone(),
                requested_at: boston_time(&row["open_dt"]).unwrap(),
                closed_at: boston_time(&row["closed_dt"]).filter(|_| sub_status.status() == Status::Closed),
                expected_at: boston_time(&row["target_dt"]),
                status: sub_status.status(),
                sub_status,
                channel,
                department: row["department"].clone(),
                queue: row["queue"].clone(),
                service_name: row["type"].clone(),
                point: Some((lat, long)).filter(|point| *point != CITY_HALL),
                address,
            }
        })
        .collect()
}

/// Collects every request of the tenant with its history, ordered by id.
async fn snapshot(tenant: &TenantContext) -> Vec<(ServiceRequest, Vec<HistoryEvent>)> {
    let page = tenant
        .store
        .query_requests(&RequestQuery { page: 1, page_size: 1000, ..RequestQuery::default() })
        .await
        .unwrap();
    assert_eq!(page.total, page.items.len() as u64, "the snapshot holds every request");

    let mut requests = page.items;
    requests.sort_by(|a, b| a.id.cmp(&b.id));
    let mut snapshot = Vec::new();
    for request in requests {
        let history = tenant.store.history(&request.id).await.unwrap();
        snapshot.push((request, history));
    }
    snapshot
}

#[tokio::test]
async fn boston_sample_imports_every_row() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;

    let report = import_requests(&state, &tenant, &boston_mapping(), &boston_sample(), NO_PROGRESS)
        .await
        .unwrap();

    assert_eq!(report.skipped, vec![], "{report}");
    assert_eq!(report.rows, SAMPLE_ROWS);
    assert_eq!(report.inserted, SAMPLE_ROWS);
    assert_eq!(report.already_present, 0);
    assert_eq!(snapshot(&tenant).await.len() as u64, SAMPLE_ROWS);
}

#[tokio::test]
async fn boston_sample_matches_csv_values() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;
    import_requests(&state, &tenant, &boston_mapping(), &boston_sample(), NO_PROGRESS)
        .await
        .unwrap();

    let expected = expected_requests();
    assert_eq!(expected.len() as u64, SAMPLE_ROWS);

    for row in &expected {
        let id = &row.source_id;
        let request = tenant
            .store
            .request(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("request {id} was not imported under its source id"));

        assert_eq!(request.source_id.as_deref(), Some(id.as_str()), "{id} source_id");
        assert_eq!(request.requested_at, row.requested_at, "{id} requested_at");
        assert_eq!(request.closed_at, row.closed_at, "{id} closed_at");
        assert_eq!(request.expected_at, row.expected_at, "{id} expected_at");
        assert_eq!(request.status, row.status, "{id} status");
        assert_eq!(request.sub_status, row.sub_status, "{id} sub_status");
        assert_eq!(request.channel, row.channel, "{id} channel");
        assert_eq!(request.department, row.department, "{id} department");
        assert_eq!(request.queue.as_deref(), Some(row.queue.as_str()), "{id} queue");
        assert_eq!(request.service_name, row.service_name, "{id} service_name");
        assert_eq!(request.lat.zip(request.long), row.point, "{id} point");
        assert_eq!(request.address, row.address, "{id} address");
        assert_eq!(request.updated_at, row.closed_at.unwrap_or(row.requested_at), "{id} updated_at");
    }
}

#[tokio::test]
async fn boston_sample_spot_checks() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;
    import_requests(&state, &tenant, &boston_mapping(), &boston_sample(), NO_PROGRESS)
        .await
        .unwrap();
    let request = |id: &'static str| {
        let store = tenant.store.clone();
        async move { store.request(id).await.unwrap().unwrap() }
    };

    // Opened 2022-01-21 13:47 EST, no address, City Hall placeholder point.
    let open = request("101004143000").await;
    assert_eq!(open.requested_at, Utc.with_ymd_and_hms(2022, 1, 21, 18, 47, 0).unwrap());
    assert_eq!(open.sub_status, SubStatus::Acknowledged);
    assert_eq!(open.closed_at, None);
    assert_eq!(open.lat, None);
    assert_eq!(open.address, None);
    assert_eq!(open.service_code, "general-comments-for-a-program-or-policy");

    // Graffiti on a signal box: the city routed this PWD Graffiti to BTDT.
    let graffiti = request("101004113934").await;
    assert_eq!(graffiti.service_code, "pwd-graffiti");
    assert_eq!(graffiti.department, "BTDT");
    assert_eq!(graffiti.queue.as_deref(), Some("BTDT_Traffic Signal_Graffiti"));
    assert_eq!(graffiti.sub_status, SubStatus::ClosedDuplicate);

    // An intersection at the placeholder point keeps its address.
    let pothole = request("101004114715").await;
    assert_eq!(pothole.lat, None);
    assert_eq!(pothole.address.as_deref(), Some("INTERSECTION of Seaver St & Blue Hill Ave  Dorchester  MA"));
    assert!(pothole.status_notes.as_deref().unwrap_or_default().contains("Pot hole repaired"));

    let history = tenant.store.history(&pothole.id).await.unwrap();
    let kinds: Vec<HistoryKind> = history.iter().map(|event| event.kind).collect();
    assert_eq!(kinds, [HistoryKind::Imported, HistoryKind::StatusChanged]);
    assert_eq!(history[0].at, pothole.requested_at);
    assert_eq!(history[0].visibility, Visibility::Internal);
    assert_eq!(history[1].at, pothole.closed_at.unwrap());
    assert_eq!(history[1].visibility, Visibility::Public);

    let open_history = tenant.store.history(&open.id).await.unwrap();
    let open_kinds: Vec<HistoryKind> = open_history.iter().map(|event| event.kind).collect();
    assert_eq!(open_kinds, [HistoryKind::Imported]);
}

#[tokio::test]
async fn second_import_changes_nothing() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;
    import_requests(&state, &tenant, &boston_mapping(), &boston_sample(), NO_PROGRESS)
        .await
        .unwrap();
    let before = snapshot(&tenant).await;

    let again = import_requests(&state, &tenant, &boston_mapping(), &boston_sample(), NO_PROGRESS)
        .await
        .unwrap();

    assert_eq!(again.rows, SAMPLE_ROWS);
    assert_eq!(again.already_present, SAMPLE_ROWS);
    assert_eq!(again.inserted, 0);
    assert_eq!(again.skipped, vec![]);
    assert_eq!(snapshot(&tenant).await, before);
}

#[tokio::test]
async fn reroute_runs_boston_router() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;
    let options = ImportOptions { reroute: true, show_progress: false };

    let report = import_requests(&state, &tenant, &boston_mapping(), &boston_sample(), options)
        .await
        .unwrap();
    assert_eq!(report.inserted, SAMPLE_ROWS, "{report}");

    // The plugin decided every request: one `routed` entry after `imported`,
    // and no fallback to the default department.
    for row in expected_requests() {
        let history = tenant.store.history(&row.source_id).await.unwrap();
        let kinds: Vec<HistoryKind> = history.iter().map(|event| event.kind).collect();
        assert_eq!(kinds.first(), Some(&HistoryKind::Imported), "{} history {kinds:?}", row.source_id);
        assert_eq!(kinds.iter().filter(|kind| **kind == HistoryKind::Routed).count(), 1, "{} history {kinds:?}", row.source_id);
        assert!(!kinds.contains(&HistoryKind::RoutingFailed), "{} history {kinds:?}", row.source_id);
    }

    // Needle Pickup: the router's high priority and queue, and a due time
    // from the service's one-calendar-day SLA (January, so no DST change).
    let needle = tenant.store.request("101004130437").await.unwrap().unwrap();
    assert_eq!(needle.department, "GEN_");
    assert_eq!(needle.priority, civic311_domain::Priority::High);
    assert_eq!(needle.queue.as_deref(), Some("GEN_Needle_Pickup"));
    assert_eq!(needle.expected_at, Some(needle.requested_at + chrono::Duration::days(1)));

    // The city sent this PWD Graffiti to BTDT; with no surface answer and a
    // title that names neither a signal nor a bike lane, the router keeps it
    // with Public Works.
    let graffiti = tenant.store.request("101004113934").await.unwrap().unwrap();
    assert_eq!(graffiti.department, "PWDx");
    assert_eq!(graffiti.queue.as_deref(), Some("PWDx_Graffiti"));

    let again = import_requests(&state, &tenant, &boston_mapping(), &boston_sample(), options)
        .await
        .unwrap();
    assert_eq!(again.already_present, SAMPLE_ROWS, "{again}");
    assert_eq!(again.inserted, 0, "{again}");
}

/// Writes `rows` under the Boston export header to a temporary file.
fn boston_csv(rows: &[&str]) -> tempfile::NamedTempFile {
    let header = std::fs::read_to_string(boston_sample())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    file
}

/// Formats a Boston export row with the given id, open date, type and case title.
fn boston_row(id: &str, open_dt: &str, type_name: &str, case_title: &str) -> String {
    format!(
        "{id},{open_dt},,,ONTIME,Open, ,{case_title},Public Works Department,Highway Maintenance,{type_name},\
         PWDx_District 03: North Dorchester,PWDx,,,1 Main St  Dorchester  MA  02125, , , , , , , , , ,02125,42.3159,-71.0582,Constituent Call"
    )
}

#[tokio::test]
async fn crlf_file_reports_true_line_numbers() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;

    let header = std::fs::read_to_string(boston_sample())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let rows = [
        header,
        boston_row("900000000011", "2022-01-03 08:00:00", "Request for Pothole Repair", "Pothole"),
        boston_row("900000000012", "2022-01-32 08:00:00", "Request for Pothole Repair", "Pothole"),
        boston_row("900000000013", "2022-01-03 08:00:00", "Pothole Repairs", "Pothole"),
    ];
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(file.path(), format!("{}\r\n", rows.join("\r\n"))).unwrap();

    let report = import_requests(&state, &tenant, &boston_mapping(), file.path(), NO_PROGRESS)
        .await
        .unwrap();

    assert_eq!(report.inserted, 1, "{report}");
    let lines: Vec<u64> = report.skipped.iter().map(|skipped| skipped.row).collect();
    assert_eq!(lines, [3, 4], "{report}");
    let history = tenant.store.history("900000000011").await.unwrap();
    assert_eq!(history[0].detail["line"], 2, "{history:?}");
}

#[tokio::test]
async fn bad_rows_are_skipped_with_line_and_reason() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;

    let rows = [
        boston_row("900000000001", "2022-01-03 08:00:00", "Request for Pothole Repair", "Pothole"),
        boston_row("900000000002", "2022-01-32 08:00:00", "Request for Pothole Repair", "Pothole"),
        boston_row("900000000003", "2022-01-03 08:00:00", "Pothole Repairs", "Pothole"),
        // A quoted title over two lines: the next row starts on line 7.
        boston_row("900000000004", "2022-03-13 02:30:00", "Request for Pothole Repair", "\"Pothole\nnear the school\""),
        boston_row(" ", "2022-01-03 08:00:00", "Request for Pothole Repair", "Pothole"),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = boston_csv(&rows);

    let report = import_requests(&state, &tenant, &boston_mapping(), file.path(), NO_PROGRESS)
        .await
        .unwrap();

    assert_eq!(report.rows, 5, "{report}");
    assert_eq!(report.inserted, 2, "{report}");
    let lines: Vec<u64> = report.skipped.iter().map(|skipped| skipped.row).collect();
    assert_eq!(lines, [3, 4, 7], "{report}");
    assert!(report.skipped[0].reason.contains("'2022-01-32 08:00:00'"), "{report}");
    assert!(report.skipped[0].reason.contains("column 'open_dt'"), "{report}");
    assert!(report.skipped[1].reason.contains("service 'Pothole Repairs'"), "{report}");
    assert!(report.skipped[1].reason.contains("column 'type'"), "{report}");
    assert!(report.skipped[2].reason.contains("source id"), "{report}");
    assert!(report.skipped[2].reason.contains("column 'case_enquiry_id'"), "{report}");

    // The good rows are stored; 02:30 on the spring-forward day reads as EST.
    let first = tenant.store.request("900000000001").await.unwrap().unwrap();
    assert_eq!(first.requested_at, Utc.with_ymd_and_hms(2022, 1, 3, 13, 0, 0).unwrap());
    let spring = tenant.store.request("900000000004").await.unwrap().unwrap();
    assert_eq!(spring.requested_at, Utc.with_ymd_and_hms(2022, 3, 13, 7, 30, 0).unwrap());
    assert_eq!(spring.description, "Pothole\nnear the school");
}

#[tokio::test]
async fn mapping_with_unknown_column_is_rejected() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;

    let mapping = std::fs::read_to_string(boston_mapping())
        .unwrap()
        .replace("queue = \"queue\"", "queue = \"work_queue\"");
    let mapping_file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(mapping_file.path(), mapping).unwrap();

    let error = import_requests(&state, &tenant, mapping_file.path(), &boston_sample(), NO_PROGRESS)
        .await
        .unwrap_err();

    match &error {
        ImportError::InvalidMapping { field, problem, .. } => {
            assert_eq!(field, "routing.queue");
            assert!(problem.contains("'work_queue'"), "{problem}");
            assert!(problem.contains("case_enquiry_id"), "the message lists the header: {problem}");
        }
        other => panic!("expected an invalid mapping, got {other}"),
    }
    assert_eq!(snapshot(&tenant).await.len(), 0, "nothing is imported");
}

#[tokio::test]
async fn missing_csv_names_the_file() {
    let database = TestDatabase::create().await;
    let (state, tenant) = boston(&database).await;
    let missing = workspace_root().join("no-such-export.csv");

    let error = import_requests(&state, &tenant, &boston_mapping(), &missing, NO_PROGRESS)
        .await
        .unwrap_err();

    assert!(matches!(error, ImportError::ReadCsv { .. }), "{error}");
    assert!(error.to_string().contains("no-such-export.csv"), "{error}");
}

#[test]
fn report_lists_each_skipped_line() {
    let report = ImportReport {
        rows: 3,
        inserted: 1,
        already_present: 1,
        skipped: vec![civic311_server::import::SkippedRow { row: 4, reason: "service 'x' in column 'type' matches no service".into() }],
    };
    assert_eq!(
        report.to_string(),
        "3 rows: 1 inserted, 1 already present, 1 skipped\n  line 4: service 'x' in column 'type' matches no service"
    );
}
