//! Imports the 100-row sample of Boston's 311 export and checks the store's
//! figures against counts taken straight from the CSV.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, Utc};
use civic311_domain::{Channel, Status, SubStatus};
use civic311_store::{ImportOutcome, NewServiceRequest, RequestQuery, TenantStore};

use crate::common::{fixture, new_request};

/// One row of the sample with the columns this test uses.
struct Row {
    case_enquiry_id: String,
    open_dt: DateTime<Utc>,
    closed_dt: Option<DateTime<Utc>>,
    closed: bool,
    case_title: String,
    service_type: String,
    department: String,
    latitude: f64,
    longitude: f64,
    channel: Channel,
}

/// Returns `../shared/data/boston311-100.csv` beside the workspace root.
fn sample_path() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace_root = manifest_dir
        .ancestors()
        .find(|folder| folder.join("Cargo.lock").exists())
        .expect("workspace root with Cargo.lock above the store crate");
    workspace_root.join("../shared/data/boston311-100.csv")
}

/// Parses Boston's `2022-01-21 13:47:00`. The export is in Boston local
/// time, but this test reads it as UTC because the store only compares instants.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok().map(|naive| naive.and_utc())
}

fn channel_of(source: &str) -> Channel {
    match source {
        "Constituent Call" => Channel::Phone,
        "Citizens Connect App" => Channel::MobileApp,
        "City Worker App" => Channel::FieldApp,
        "Self Service" => Channel::Web,
        other => panic!("unexpected source '{other}' in the Boston sample"),
    }
}

fn read_sample() -> Vec<Row> {
    let path = sample_path();
    let mut reader = csv::Reader::from_path(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));

    reader
        .deserialize::<BTreeMap<String, String>>()
        .map(|record| {
            let record = record.expect("valid CSV record");
            let field = |name: &str| record.get(name).cloned().unwrap_or_default();
            Row {
                case_enquiry_id: field("case_enquiry_id"),
                open_dt: parse_instant(&field("open_dt")).expect("open_dt"),
                closed_dt: parse_instant(&field("closed_dt")),
                closed: field("case_status") == "Closed",
                case_title: field("case_title"),
                service_type: field("type"),
                department: field("department"),
                latitude: field("latitude").parse().expect("latitude"),
                longitude: field("longitude").parse().expect("longitude"),
                channel: channel_of(&field("source")),
            }
        })
        .collect()
}

fn to_new_request(row: &Row) -> NewServiceRequest {
    let mut new = new_request(&row.service_type, "2022-01-01T00:00:00Z");
    new.service_name = row.service_type.clone();
    new.description = row.case_title.clone();
    new.department = row.department.clone();
    new.channel = row.channel;
    new.lat = Some(row.latitude);
    new.long = Some(row.longitude);
    new.address = None;
    new.contact = Default::default();
    new.requested_at = row.open_dt;
    new.updated_at = row.closed_dt.unwrap_or(row.open_dt);
    new.closed_at = row.closed_dt;
    new.sub_status = if row.closed { SubStatus::ClosedResolved } else { SubStatus::Submitted };
    new.source_id = Some(row.case_enquiry_id.clone());
    new.public_id = Some(row.case_enquiry_id.clone());
    new.history = Vec::new();
    new
}

async fn import_all(tenant: &TenantStore, rows: &[Row]) -> (usize, usize) {
    let (mut inserted, mut present) = (0, 0);
    for row in rows {
        match tenant.import_request(to_new_request(row)).await.unwrap() {
            ImportOutcome::Inserted(_) => inserted += 1,
            ImportOutcome::AlreadyPresent(_) => present += 1,
        }
    }
    (inserted, present)
}

fn count_by(rows: &[Row], key: impl Fn(&Row) -> String) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(key(row)).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn boston_sample_imports_once() {
    let rows = read_sample();
    assert_eq!(rows.len(), 100);
    let fixture = fixture().await;

    assert_eq!(import_all(&fixture.tenant, &rows).await, (100, 0), "first import");
    assert_eq!(import_all(&fixture.tenant, &rows).await, (0, 100), "second import");

    let first = &rows[0];
    let stored = fixture.tenant.request(&first.case_enquiry_id).await.unwrap().expect("first row stored");
    assert_eq!(stored.source_id.as_deref(), Some(first.case_enquiry_id.as_str()));
    assert_eq!(stored.requested_at, first.open_dt);
    assert_eq!(stored.lat, Some(first.latitude));
}

#[tokio::test]
async fn boston_sample_figures_match_csv() {
    let rows = read_sample();
    let fixture = fixture().await;
    import_all(&fixture.tenant, &rows).await;

    let stats = fixture.tenant.stats(None, None).await.unwrap();
    assert_eq!(stats.total, 100);

    let departments: BTreeMap<String, u64> = stats.by_department.iter().map(|share| (share.key.clone(), share.count)).collect();
    assert_eq!(departments, count_by(&rows, |row| row.department.clone()));

    let channels: BTreeMap<String, u64> = stats.by_channel.iter().map(|share| (share.key.clone(), share.count)).collect();
    assert_eq!(channels, count_by(&rows, |row| row.channel.as_str().to_string()));

    for service in &stats.by_service {
        let of_service: Vec<&Row> = rows.iter().filter(|row| row.service_type == service.service_code).collect();
        let closed_hours: Vec<f64> = of_service
            .iter()
            .filter(|row| row.closed)
            .filter_map(|row| row.closed_dt.map(|closed| (closed - row.open_dt).num_seconds() as f64 / 3600.0))
            .filter(|hours| *hours >= 0.0)
            .collect();
        let expected_mean = (!closed_hours.is_empty()).then(|| closed_hours.iter().sum::<f64>() / closed_hours.len() as f64);

        assert_eq!(service.count, of_service.len() as u64, "count of {}", service.service_code);
        assert_eq!(service.closed, of_service.iter().filter(|row| row.closed).count() as u64, "closed of {}", service.service_code);
        match (service.mean_hours_to_close, expected_mean) {
            (Some(mean), Some(expected)) => assert!((mean - expected).abs() < 1e-9, "mean of {}: {mean} != {expected}", service.service_code),
            (mean, expected) => assert_eq!(mean, expected, "mean of {}", service.service_code),
        }
    }

    let open = RequestQuery { statuses: vec![Status::Open], page_size: 1000, ..Default::default() };
    let open_total = fixture.tenant.query_requests(&open).await.unwrap().total;
    assert_eq!(open_total, rows.iter().filter(|row| !row.closed).count() as u64);

    let public_works = RequestQuery { departments: vec!["PWDx".into()], ..Default::default() };
    let public_works_total = fixture.tenant.query_requests(&public_works).await.unwrap().total;
    assert_eq!(public_works_total, rows.iter().filter(|row| row.department == "PWDx").count() as u64);
}
