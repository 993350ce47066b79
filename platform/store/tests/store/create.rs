use civic311_domain::Status;
use civic311_store::{ImportOutcome, NewPhoto, RequestQuery, StoreError};

use crate::common::{add_tenant, create, fixture, new_request};

#[tokio::test]
async fn created_request_round_trips() {
    let fixture = fixture().await;
    let mut new = new_request("pothole", "2024-03-01T10:00:00.123456Z");
    new.call_id = Some("call-7".into());
    new.queue = Some("dpw-roads".into());
    new.expected_at = Some(crate::common::at("2024-03-05T16:30:00Z"));

    let created = fixture.tenant.create_request(new.clone()).await.unwrap();

    assert_eq!(created.id, "1001");
    assert_eq!(created.tenant_id, fixture.tenant.tenant_id());
    assert_eq!(created.status, Status::Open);
    assert_eq!(created.description, new.description);
    assert_eq!(created.lat, new.lat);
    assert_eq!(created.long, new.long);
    assert_eq!(created.attributes, new.attributes);
    assert_eq!(created.contact, new.contact);
    assert_eq!(created.requested_at, new.requested_at);
    assert_eq!(created.expected_at, new.expected_at);
    assert_eq!(created.call_id.as_deref(), Some("call-7"));
    assert_eq!(created.queue.as_deref(), Some("dpw-roads"));
    assert_eq!(created.token, None);
    assert_eq!(created.photo_count, 0);
    assert_eq!(fixture.tenant.request("1001").await.unwrap(), Some(created));
}

#[tokio::test]
async fn numbering_starts_at_1001_and_skips_imported() {
    let fixture = fixture().await;

    assert_eq!(create(&fixture.tenant, new_request("pothole", "2024-03-01T10:00:00Z")).await, "1001");

    let mut imported = new_request("pothole", "2020-01-01T10:00:00Z");
    imported.public_id = Some("1003".into());
    imported.source_id = Some("legacy-1003".into());
    let outcome = fixture.tenant.import_request(imported).await.unwrap();
    assert!(matches!(&outcome, ImportOutcome::Inserted(request) if request.id == "1003"), "got {outcome:?}");

    assert_eq!(create(&fixture.tenant, new_request("pothole", "2024-03-02T10:00:00Z")).await, "1002");
    assert_eq!(create(&fixture.tenant, new_request("pothole", "2024-03-03T10:00:00Z")).await, "1004");
}

#[tokio::test]
async fn numbering_is_per_tenant() {
    let fixture = fixture().await;
    let boston = add_tenant(&fixture.store, "boston", "boston.gov").await;

    assert_eq!(create(&fixture.tenant, new_request("pothole", "2024-03-01T10:00:00Z")).await, "1001");
    assert_eq!(create(&fixture.tenant, new_request("pothole", "2024-03-01T11:00:00Z")).await, "1002");
    assert_eq!(create(&boston, new_request("pothole", "2024-03-01T12:00:00Z")).await, "1001");
}

#[tokio::test]
async fn idempotency_key_retry_returns_first() {
    let fixture = fixture().await;
    let first = idempotent_request("retry-1", "api_key:1", "fingerprint-a");
    let mut retry = first.clone();
    retry.requested_at = crate::common::at("2024-03-01T10:00:05Z");

    let created = fixture.tenant.create_request(first).await.unwrap();
    let repeated = fixture.tenant.create_request(retry).await.unwrap();

    assert_eq!(repeated, created);
    assert_eq!(repeated.requested_at, crate::common::at("2024-03-01T10:00:00Z"));
    let all = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 1);
    assert_eq!(fixture.tenant.history(&created.id).await.unwrap().len(), 1);

    // The key did not consume a number: the next request takes 1002.
    assert_eq!(create(&fixture.tenant, new_request("pothole", "2024-03-02T10:00:00Z")).await, "1002");
}

#[tokio::test]
async fn idempotency_key_with_other_payload_fails() {
    let fixture = fixture().await;
    let first = idempotent_request("retry-2", "api_key:1", "fingerprint-a");
    let mut other = first.clone();
    other.description = "A different report under the same key".into();
    other.payload_fingerprint = Some("fingerprint-b".into());

    let created = fixture.tenant.create_request(first).await.unwrap();
    let error = fixture.tenant.create_request(other).await.unwrap_err();

    assert!(matches!(&error, StoreError::IdempotencyKeyReused { key } if key == "retry-2"), "got {error:?}");
    assert!(error.to_string().contains("send a new key for a new request"), "message: {error}");
    let all = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 1);
    assert_eq!(all.items[0].id, created.id);
    assert_eq!(all.items[0].description, "Deep hole near the crosswalk");
}

#[tokio::test]
async fn same_idempotency_key_from_two_clients() {
    let fixture = fixture().await;
    let from_portal = idempotent_request("shared-key", "api_key:1", "fingerprint-a");
    let mut from_app = idempotent_request("shared-key", "api_key:2", "fingerprint-b");
    from_app.description = "Streetlight out".into();

    let portal_request = fixture.tenant.create_request(from_portal).await.unwrap();
    let app_request = fixture.tenant.create_request(from_app).await.unwrap();

    assert_eq!(portal_request.id, "1001");
    assert_eq!(app_request.id, "1002");
    assert_eq!(app_request.description, "Streetlight out");
    let all = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 2);
}

#[tokio::test]
async fn idempotency_lookup_before_insert() {
    let fixture = fixture().await;
    let tenant = &fixture.tenant;

    let before = tenant.request_by_idempotency_key(Some("api_key:1"), "lookup-1", Some("fingerprint-a")).await.unwrap();
    assert_eq!(before, None);

    let created = tenant.create_request(idempotent_request("lookup-1", "api_key:1", "fingerprint-a")).await.unwrap();

    let same = tenant.request_by_idempotency_key(Some("api_key:1"), "lookup-1", Some("fingerprint-a")).await.unwrap();
    assert_eq!(same, Some(created.clone()));
    let other_client = tenant.request_by_idempotency_key(Some("api_key:2"), "lookup-1", Some("fingerprint-a")).await.unwrap();
    assert_eq!(other_client, None);
    let unnamed_client = tenant.request_by_idempotency_key(None, "lookup-1", Some("fingerprint-a")).await.unwrap();
    assert_eq!(unnamed_client, None);
    let other_payload = tenant.request_by_idempotency_key(Some("api_key:1"), "lookup-1", Some("fingerprint-b")).await.unwrap_err();
    assert!(matches!(other_payload, StoreError::IdempotencyKeyReused { .. }), "got {other_payload:?}");
}

#[tokio::test]
async fn idempotency_key_without_client_is_one_client() {
    let fixture = fixture().await;
    let mut first = new_request("pothole", "2024-03-01T10:00:00Z");
    first.idempotency_key = Some("call-CA1".into());

    let created = fixture.tenant.create_request(first.clone()).await.unwrap();
    let repeated = fixture.tenant.create_request(first).await.unwrap();
    let found = fixture.tenant.request_by_idempotency_key(None, "call-CA1", None).await.unwrap();

    assert_eq!(repeated.id, created.id);
    assert_eq!(found.map(|request| request.id), Some(created.id));
    let all = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 1);
}

/// Builds a request carrying an idempotency key, the client that sent it and a payload fingerprint.
fn idempotent_request(key: &str, client: &str, fingerprint: &str) -> civic311_store::NewServiceRequest {
    let mut new = new_request("pothole", "2024-03-01T10:00:00Z");
    new.idempotency_key = Some(key.into());
    new.idempotency_client = Some(client.into());
    new.payload_fingerprint = Some(fingerprint.into());
    new
}

#[tokio::test]
async fn same_idempotency_key_in_two_tenants() {
    let fixture = fixture().await;
    let boston = add_tenant(&fixture.store, "boston", "boston.gov").await;
    let mut new = new_request("pothole", "2024-03-01T10:00:00Z");
    new.idempotency_key = Some("shared-key".into());

    let in_haverhill = fixture.tenant.create_request(new.clone()).await.unwrap();
    let in_boston = boston.create_request(new).await.unwrap();

    assert_eq!(in_haverhill.tenant_id, fixture.tenant.tenant_id());
    assert_eq!(in_boston.tenant_id, boston.tenant_id());
    assert_eq!(boston.query_requests(&RequestQuery::default()).await.unwrap().total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_idempotent_retries_store_one() {
    let fixture = fixture().await;

    for round in 0..5 {
        let mut new = new_request("pothole", "2024-03-01T10:00:00Z");
        new.idempotency_key = Some(format!("concurrent-{round}"));

        let first = tokio::spawn({
            let tenant = fixture.tenant.clone();
            let new = new.clone();
            async move { tenant.create_request(new).await }
        });
        let second = tokio::spawn({
            let tenant = fixture.tenant.clone();
            let new = new.clone();
            async move { tenant.create_request(new).await }
        });
        let first = first.await.unwrap().unwrap();
        let second = second.await.unwrap().unwrap();

        assert_eq!(first.id, second.id, "round {round}");
    }

    let all = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 5);
}

#[tokio::test]
async fn import_is_idempotent_on_source_id() {
    let fixture = fixture().await;
    let mut imported = new_request("pothole", "2022-01-19T11:18:00Z");
    imported.source_id = Some("101004130437".into());
    imported.public_id = Some("101004130437".into());

    let first = fixture.tenant.import_request(imported.clone()).await.unwrap();
    let ImportOutcome::Inserted(inserted) = first else {
        panic!("first import not inserted: {first:?}");
    };
    assert_eq!(inserted.id, "101004130437");
    assert_eq!(inserted.source_id.as_deref(), Some("101004130437"));

    imported.description = "changed in the source system".into();
    let second = fixture.tenant.import_request(imported).await.unwrap();
    assert_eq!(second, ImportOutcome::AlreadyPresent(inserted.clone()));

    let all = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 1);
    assert_eq!(fixture.tenant.history(&inserted.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn import_without_public_id_takes_number() {
    let fixture = fixture().await;
    let mut imported = new_request("pothole", "2022-01-19T11:18:00Z");
    imported.source_id = Some("legacy-7".into());

    let outcome = fixture.tenant.import_request(imported).await.unwrap();

    assert!(matches!(&outcome, ImportOutcome::Inserted(request) if request.id == "1001"), "got {outcome:?}");
}

#[tokio::test]
async fn import_with_taken_public_id_conflicts() {
    let fixture = fixture().await;
    create(&fixture.tenant, new_request("pothole", "2024-03-01T10:00:00Z")).await;
    let mut imported = new_request("pothole", "2022-01-19T11:18:00Z");
    imported.source_id = Some("legacy-1001".into());
    imported.public_id = Some("1001".into());

    let error = fixture.tenant.import_request(imported).await.unwrap_err();

    assert!(matches!(&error, StoreError::Conflict { id, .. } if id == "1001"), "got {error:?}");
    let all = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();
    assert_eq!(all.total, 1);
}

#[tokio::test]
async fn batch_request_gets_token() {
    let fixture = fixture().await;
    let mut new = new_request("graffiti", "2024-03-01T10:00:00Z");
    new.with_token = true;

    let created = fixture.tenant.create_request(new.clone()).await.unwrap();
    let other = fixture.tenant.create_request(new).await.unwrap();

    let token = created.token.clone().expect("token issued");
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "token {token}");
    assert_ne!(other.token, created.token);
    assert_eq!(fixture.tenant.request_by_token(&token).await.unwrap(), Some(created));
    assert_eq!(fixture.tenant.request_by_token("0123456789abcdef").await.unwrap(), None);
}

#[tokio::test]
async fn photos_round_trip() {
    let fixture = fixture().await;
    let mut new = new_request("pothole", "2024-03-01T10:00:00Z");
    let first_photo = NewPhoto {
        content_type: "image/jpeg".into(),
        file_name: Some("hole.jpg".into()),
        bytes: vec![0xFF, 0xD8, 0xFF, 0x00, 0x01, 0x02],
    };
    let second_photo = NewPhoto {
        content_type: "image/png".into(),
        file_name: None,
        bytes: (0..=255).collect(),
    };
    new.photos = vec![first_photo.clone(), second_photo.clone()];

    let created = fixture.tenant.create_request(new).await.unwrap();
    assert_eq!(created.photo_count, 2);

    let first = fixture.tenant.photo(&created.id, 1).await.unwrap().expect("photo 1");
    assert_eq!(first.request_id, created.id);
    assert_eq!(first.index, 1);
    assert_eq!(first.content_type, first_photo.content_type);
    assert_eq!(first.file_name, first_photo.file_name);
    assert_eq!(first.bytes, first_photo.bytes);

    let second = fixture.tenant.photo(&created.id, 2).await.unwrap().expect("photo 2");
    assert_eq!(second.index, 2);
    assert_eq!(second.content_type, "image/png");
    assert_eq!(second.file_name, None);
    assert_eq!(second.bytes, second_photo.bytes);

    assert_eq!(fixture.tenant.photo(&created.id, 3).await.unwrap(), None);
    assert_eq!(fixture.tenant.photo(&created.id, 0).await.unwrap(), None);
    assert_eq!(fixture.tenant.photo("9999", 1).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_take_distinct_numbers() {
    let fixture = fixture().await;

    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let tenant = fixture.tenant.clone();
            tokio::spawn(async move { create(&tenant, new_request("pothole", "2024-03-01T10:00:00Z")).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.sort();

    let expected: Vec<String> = (1001..=1010).map(|number: u32| number.to_string()).collect();
    assert_eq!(ids, expected);
}
