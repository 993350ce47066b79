//! Tenant B must not see or change any row of tenant A through any path.

use civic311_domain::SubStatus;
use civic311_store::{HistoryKind, NewHistoryEvent, NewPhoto, RequestQuery, StoreError, Visibility};
use serde_json::json;

use crate::common::{add_tenant, at, create, fixture, new_request};

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>, path: &str) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("{path}: expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn tenant_b_cannot_reach_tenant_a() {
    let fixture = fixture().await;
    let tenant_a = &fixture.tenant;
    let tenant_b = add_tenant(&fixture.store, "boston", "boston.gov").await;

    // Tenant A: three requests near one point, one with a token and a photo, and an API key.
    let mut with_photo = new_request("pothole", "2024-03-01T10:00:00Z");
    with_photo.with_token = true;
    with_photo.source_id = Some("shared-source".into());
    with_photo.photos = vec![NewPhoto { content_type: "image/jpeg".into(), file_name: None, bytes: vec![1, 2, 3] }];
    let a_first = tenant_a.create_request(with_photo).await.unwrap();
    let a_token = a_first.token.clone().unwrap();
    create(tenant_a, new_request("pothole", "2024-03-02T10:00:00Z")).await;
    create(tenant_a, new_request("pothole", "2024-03-03T10:00:00Z")).await;
    let (_, a_secret) = tenant_a.create_api_key("a key").await.unwrap();
    let a_before = tenant_a.query_requests(&RequestQuery::default()).await.unwrap();

    // Tenant B: one request of the same service at the same point; it is B's 1001.
    let b_first = create(&tenant_b, new_request("pothole", "2024-03-04T10:00:00Z")).await;
    assert_eq!(b_first, "1001");

    // Reads.
    assert_eq!(tenant_b.request("1002").await.unwrap(), None, "request");
    assert_eq!(tenant_b.request_by_token(&a_token).await.unwrap(), None, "request_by_token");
    let b_all = tenant_b.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(b_all.total, 1, "query total");
    assert_eq!(b_all.items[0].tenant_id, tenant_b.tenant_id(), "query item tenant");
    let by_ids = RequestQuery { ids: vec!["1002".into(), "1003".into()], ..Default::default() };
    assert_eq!(tenant_b.query_requests(&by_ids).await.unwrap().total, 0, "query by ids");
    let by_phone = RequestQuery { contact_phone: Some("+19785550100".into()), ..Default::default() };
    assert_eq!(tenant_b.query_requests(&by_phone).await.unwrap().total, 1, "query by phone");
    assert_not_found(tenant_b.history("1002").await, "history");
    assert_eq!(tenant_b.photo("1001", 1).await.unwrap(), None, "photo of B's own 1001");
    assert_eq!(tenant_b.photo("1002", 1).await.unwrap(), None, "photo");
    assert!(tenant_b.duplicate_candidates("1001", 1_000.0).await.unwrap().is_empty(), "duplicate_candidates");
    assert_not_found(tenant_b.duplicate_candidates("1002", 1_000.0).await, "duplicate_candidates of A's id");
    assert_eq!(tenant_b.stats(None, None).await.unwrap().total, 1, "stats");
    assert_eq!(tenant_b.verify_api_key(&a_secret).await.unwrap(), None, "verify_api_key");

    // Writes.
    let note = NewHistoryEvent {
        at: at("2024-03-05T10:00:00Z"),
        kind: HistoryKind::Note,
        visibility: Visibility::Internal,
        summary: "written by B".into(),
        detail: json!({}),
        actor: None,
    };
    assert_not_found(tenant_b.append_history("1002", note).await, "append_history");
    assert_not_found(
        tenant_b.change_status("1002", SubStatus::ClosedResolved, None, None, at("2024-03-05T10:00:00Z")).await,
        "change_status",
    );
    assert_not_found(tenant_b.mark_duplicate("1001", "1002", None, at("2024-03-05T10:00:00Z")).await, "mark_duplicate to A's parent");
    assert_not_found(tenant_b.mark_duplicate("1002", "1001", None, at("2024-03-05T10:00:00Z")).await, "mark_duplicate of A's request");

    let mut same_source = new_request("pothole", "2024-03-06T10:00:00Z");
    same_source.source_id = Some("shared-source".into());
    let imported = tenant_b.import_request(same_source).await.unwrap();
    assert!(matches!(imported, civic311_store::ImportOutcome::Inserted(_)), "import with A's source id: {imported:?}");

    // Tenant A is unchanged.
    let a_after = tenant_a.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(a_after, a_before);
    for id in ["1001", "1002", "1003"] {
        assert_eq!(tenant_a.history(id).await.unwrap().len(), 1, "history of A's {id}");
    }
    assert_eq!(tenant_a.photo("1001", 1).await.unwrap().unwrap().bytes, vec![1, 2, 3]);
    assert!(tenant_a.verify_api_key(&a_secret).await.unwrap().is_some());
    assert_eq!(tenant_a.stats(None, None).await.unwrap().total, 3);
}
