use civic311_domain::{Status, SubStatus};
use civic311_store::{HistoryKind, StoreError, TenantStore, Visibility};

use crate::common::{at, create, fixture, new_request};

const ORIGIN: (f64, f64) = (42.7762, -71.0773);
/// Meters per degree of latitude on the 6371.0088 km sphere.
const METERS_PER_DEGREE: f64 = 111_195.08;

/// Returns the point `north` meters north and `east` meters east of ORIGIN.
fn offset(north: f64, east: f64) -> (f64, f64) {
    let lat = ORIGIN.0 + north / METERS_PER_DEGREE;
    let long = ORIGIN.1 + east / (METERS_PER_DEGREE * ORIGIN.0.to_radians().cos());
    (lat, long)
}

async fn create_at(tenant: &TenantStore, service_code: &str, point: Option<(f64, f64)>, sub_status: SubStatus) -> String {
    let mut new = new_request(service_code, "2024-03-01T10:00:00Z");
    new.lat = point.map(|(lat, _)| lat);
    new.long = point.map(|(_, long)| long);
    new.sub_status = sub_status;
    create(tenant, new).await
}

/// Creates 1001 at ORIGIN and neighbours 1002 to 1007 around it.
async fn seed(tenant: &TenantStore) {
    create_at(tenant, "pothole", Some(ORIGIN), SubStatus::Submitted).await; // 1001
    create_at(tenant, "pothole", Some(offset(50.0, 0.0)), SubStatus::Submitted).await; // 1002: 50 m
    create_at(tenant, "pothole", Some(offset(0.0, 200.0)), SubStatus::InProgress).await; // 1003: 200 m
    create_at(tenant, "pothole", Some(offset(-600.0, 0.0)), SubStatus::Submitted).await; // 1004: 600 m
    create_at(tenant, "streetlight", Some(offset(10.0, 0.0)), SubStatus::Submitted).await; // 1005: other service
    create_at(tenant, "pothole", Some(offset(0.0, -20.0)), SubStatus::ClosedResolved).await; // 1006: closed
    create_at(tenant, "pothole", None, SubStatus::Submitted).await; // 1007: no point
}

fn ids(requests: &[civic311_store::ServiceRequest]) -> Vec<&str> {
    requests.iter().map(|request| request.id.as_str()).collect()
}

#[tokio::test]
async fn candidates_nearest_first_within_radius() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;

    let within_500 = fixture.tenant.duplicate_candidates("1001", 500.0).await.unwrap();
    assert_eq!(ids(&within_500), ["1002", "1003"]);

    let within_100 = fixture.tenant.duplicate_candidates("1001", 100.0).await.unwrap();
    assert_eq!(ids(&within_100), ["1002"]);

    let within_700 = fixture.tenant.duplicate_candidates("1001", 700.0).await.unwrap();
    assert_eq!(ids(&within_700), ["1002", "1003", "1004"]);
}

#[tokio::test]
async fn candidates_of_request_without_point_empty() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;

    assert!(fixture.tenant.duplicate_candidates("1007", 10_000.0).await.unwrap().is_empty());

    let error = fixture.tenant.duplicate_candidates("9999", 500.0).await.unwrap_err();
    assert!(matches!(&error, StoreError::NotFound { id, .. } if id == "9999"), "got {error:?}");
}

#[tokio::test]
async fn mark_duplicate_closes_and_links() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;

    let closed = fixture
        .tenant
        .mark_duplicate("1002", "1001", Some("clerk@haverhill".into()), at("2024-03-02T09:00:00Z"))
        .await
        .unwrap();

    assert_eq!(closed.parent_request_id.as_deref(), Some("1001"));
    assert_eq!(closed.sub_status, SubStatus::ClosedDuplicate);
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(closed.closed_at, Some(at("2024-03-02T09:00:00Z")));
    assert_eq!(fixture.tenant.request("1002").await.unwrap(), Some(closed));

    let child_history = fixture.tenant.history("1002").await.unwrap();
    let child_last = child_history.last().unwrap();
    assert_eq!(child_last.kind, HistoryKind::StatusChanged);
    assert_eq!(child_last.visibility, Visibility::Public);
    assert_eq!(child_last.detail["parent_request_id"], "1001");
    assert_eq!(child_last.actor.as_deref(), Some("clerk@haverhill"));

    let parent_history = fixture.tenant.history("1001").await.unwrap();
    let parent_last = parent_history.last().unwrap();
    assert_eq!(parent_last.kind, HistoryKind::Note);
    assert_eq!(parent_last.detail["duplicate_request_id"], "1002");

    let parent = fixture.tenant.request("1001").await.unwrap().unwrap();
    assert_eq!(parent.status, Status::Open);
    assert_eq!(parent.parent_request_id, None);

    let candidates = fixture.tenant.duplicate_candidates("1001", 500.0).await.unwrap();
    assert_eq!(ids(&candidates), ["1003"]);
}

#[tokio::test]
async fn mark_duplicate_rejects_bad_pairs() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;
    let tenant = &fixture.tenant;
    let when = at("2024-03-02T09:00:00Z");

    let itself = tenant.mark_duplicate("1001", "1001", None, when).await.unwrap_err();
    assert!(matches!(itself, StoreError::Invalid(_)), "got {itself:?}");

    let missing_parent = tenant.mark_duplicate("1001", "9999", None, when).await.unwrap_err();
    assert!(matches!(&missing_parent, StoreError::NotFound { id, .. } if id == "9999"), "got {missing_parent:?}");

    let missing_request = tenant.mark_duplicate("9999", "1001", None, when).await.unwrap_err();
    assert!(matches!(&missing_request, StoreError::NotFound { id, .. } if id == "9999"), "got {missing_request:?}");

    tenant.mark_duplicate("1002", "1001", None, when).await.unwrap();
    let chained = tenant.mark_duplicate("1003", "1002", None, when).await.unwrap_err();
    assert!(matches!(chained, StoreError::Invalid(_)), "got {chained:?}");
    assert!(chained.to_string().contains("'1001'"), "message names the parent's parent: {chained}");

    let untouched = tenant.request("1003").await.unwrap().unwrap();
    assert_eq!(untouched.sub_status, SubStatus::InProgress);
    assert_eq!(untouched.parent_request_id, None);
    assert_eq!(tenant.history("1003").await.unwrap().len(), 1);
}

#[tokio::test]
async fn duplicates_move_to_new_parent() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;
    let tenant = &fixture.tenant;
    let when = at("2024-03-02T09:00:00Z");

    tenant.mark_duplicate("1002", "1003", None, when).await.unwrap();
    tenant.mark_duplicate("1003", "1001", Some("clerk".into()), when).await.unwrap();

    let moved = tenant.request("1002").await.unwrap().unwrap();
    assert_eq!(moved.parent_request_id.as_deref(), Some("1001"));
    assert_eq!(moved.sub_status, SubStatus::ClosedDuplicate);

    let moved_history = tenant.history("1002").await.unwrap();
    let last = moved_history.last().unwrap();
    assert_eq!(last.kind, HistoryKind::Note);
    assert_eq!(last.visibility, Visibility::Internal);
    assert_eq!(last.detail["from_parent_request_id"], "1003");
    assert_eq!(last.detail["parent_request_id"], "1001");
    assert_eq!(last.actor.as_deref(), Some("clerk"));
}

#[tokio::test]
async fn reopening_duplicate_clears_parent() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;
    let tenant = &fixture.tenant;
    tenant.mark_duplicate("1002", "1001", None, at("2024-03-02T09:00:00Z")).await.unwrap();

    let reopened = tenant
        .change_status("1002", SubStatus::InProgress, None, None, at("2024-03-03T09:00:00Z"))
        .await
        .unwrap();

    assert_eq!(reopened.parent_request_id, None);
    assert_eq!(reopened.status, Status::Open);
    assert_eq!(reopened.closed_at, None);
}
