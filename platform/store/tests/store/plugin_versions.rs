//! Plugin versions and artifacts: numbering, idempotent upload, hooks,
//! visibility of private and catalogue versions.

use civic311_domain::plugin::{Capability, Hook};
use civic311_store::{AuditAction, AuditFilter, Backend, NewArtifact, StoreError};
use sea_orm::{ConnectionTrait, Database};

use crate::common::{add_tenant, at, fixture, new_version, Fixture};

#[tokio::test]
async fn versions_number_from_one() {
    let fixture = fixture().await;

    let mut numbers = Vec::new();
    for bytes in [b"v1".as_slice(), b"v2", b"v3"] {
        let (version, created) = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, bytes)).await.unwrap();
        assert!(created, "upload of {bytes:?} created a version");
        numbers.push(version.version);
    }

    assert_eq!(numbers, vec![1, 2, 3]);
    let listed = fixture.tenant.plugin_versions(Some("router-a")).await.unwrap();
    assert_eq!(listed.iter().map(|version| version.version).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(listed[0].owner, Some(fixture.tenant.tenant_id()));
    assert_eq!(listed[0].size_bytes, 2);
    assert_eq!(listed[0].capabilities, vec![Capability::Logs]);
}

#[tokio::test]
async fn same_bytes_return_existing_version() {
    let fixture = fixture().await;
    let upload = new_version("router-a", Hook::Router, b"same bytes");

    let (first, first_created) = fixture.tenant.insert_plugin_version(upload.clone()).await.unwrap();
    let (second, second_created) = fixture.tenant.insert_plugin_version(upload).await.unwrap();

    assert!(first_created);
    assert!(!second_created, "the second upload of the same bytes created a version");
    assert_eq!(second, first);
    assert_eq!(fixture.tenant.plugin_versions(Some("router-a")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn same_bytes_under_another_name_are_new() {
    let fixture = fixture().await;

    let (first, _) = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, b"bytes")).await.unwrap();
    let (other, created) = fixture.tenant.insert_plugin_version(new_version("router-b", Hook::Router, b"bytes")).await.unwrap();

    assert!(created);
    assert_ne!(other.id, first.id);
    assert_eq!(other.version, 1);
}

#[tokio::test]
async fn upload_of_other_hook_rejected() {
    let fixture = fixture().await;
    fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, b"v1")).await.unwrap();

    let result = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Integration, b"v2")).await;

    match result {
        Err(StoreError::Invalid(message)) => {
            assert!(message.contains("router-a"), "{message}");
            assert!(message.contains("another plugin name"), "{message}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_get_distinct_numbers() {
    let fixture = fixture().await;

    let mut uploads = Vec::new();
    for index in 0..6 {
        let tenant = fixture.tenant.clone();
        let bytes = format!("build {index}").into_bytes();
        uploads.push(tokio::spawn(async move { tenant.insert_plugin_version(new_version("router-a", Hook::Router, &bytes)).await }));
    }
    let mut numbers = Vec::new();
    for upload in uploads {
        numbers.push(upload.await.unwrap().unwrap().0.version);
    }

    numbers.sort_unstable();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn catalogue_versions_visible_to_every_tenant() {
    let fixture = fixture().await;
    let boston = add_tenant(&fixture.store, "boston", "boston.gov").await;

    let (catalogue, created) = fixture
        .store
        .insert_plugin_version(None, new_version("viewpermit", Hook::Integration, b"vp1"))
        .await
        .unwrap();
    let (private, _) = fixture.tenant.insert_plugin_version(new_version("viewpermit", Hook::Integration, b"vp1")).await.unwrap();

    assert!(created);
    assert_eq!(catalogue.owner, None);
    assert_eq!(catalogue.version, 1);
    assert_ne!(private.id, catalogue.id, "a private plugin with the catalogue's name is a separate line");
    assert_eq!(fixture.store.catalogue_versions(None).await.unwrap(), vec![catalogue.clone()]);
    assert_eq!(fixture.store.catalogue_version("viewpermit", 1).await.unwrap(), Some(catalogue.clone()));

    for tenant in [&fixture.tenant, &boston] {
        assert_eq!(tenant.plugin_version(None, "viewpermit", 1).await.unwrap(), Some(catalogue.clone()));
        assert_eq!(tenant.plugin_version_by_id(catalogue.id).await.unwrap(), Some(catalogue.clone()));
        assert_eq!(tenant.plugin_wasm(catalogue.id).await.unwrap(), b"vp1".to_vec());
    }
    assert_eq!(fixture.tenant.plugin_versions(Some("viewpermit")).await.unwrap(), vec![catalogue.clone(), private]);
    assert_eq!(boston.plugin_versions(None).await.unwrap(), vec![catalogue]);
}

#[tokio::test]
async fn private_versions_hidden_from_other_tenants() {
    let fixture = fixture().await;
    let boston = add_tenant(&fixture.store, "boston", "boston.gov").await;
    let haverhill = fixture.tenant.tenant_id();
    let (private, _) = fixture.tenant.insert_plugin_version(new_version("router-a", Hook::Router, b"secret rules")).await.unwrap();

    assert_eq!(boston.plugin_versions(None).await.unwrap(), Vec::new(), "plugin_versions");
    assert_eq!(boston.plugin_version(Some(haverhill), "router-a", 1).await.unwrap(), None, "plugin_version");
    assert_eq!(boston.plugin_version(None, "router-a", 1).await.unwrap(), None, "plugin_version as catalogue");
    assert_eq!(boston.plugin_version_by_id(private.id).await.unwrap(), None, "plugin_version_by_id");
    assert!(
        matches!(boston.plugin_wasm(private.id).await, Err(StoreError::NotFound { .. })),
        "plugin_wasm of another tenant's version"
    );
    assert_eq!(fixture.store.catalogue_versions(None).await.unwrap(), Vec::new(), "catalogue_versions");
    assert_eq!(fixture.tenant.plugin_wasm(private.id).await.unwrap(), b"secret rules".to_vec());
}

#[tokio::test]
async fn artifact_keeps_first_row_per_key() {
    let fixture = fixture().await;
    let artifact = |bytes: &[u8]| NewArtifact {
        key: "abc-123".to_string(),
        digest: "abc".to_string(),
        engine_hash: "123".to_string(),
        artifact: bytes.to_vec(),
        mac: vec![7; 32],
    };

    assert_eq!(fixture.store.artifact("abc-123").await.unwrap(), None);
    fixture.store.insert_artifact(artifact(b"first")).await.unwrap();
    fixture.store.insert_artifact(artifact(b"second")).await.unwrap();

    let stored = fixture.store.artifact("abc-123").await.unwrap().expect("artifact stored");
    assert_eq!(stored.artifact, b"first".to_vec());
    assert_eq!(stored.mac, vec![7; 32]);
    assert_eq!(stored.engine_hash, "123");
    assert_eq!(fixture.store.artifact("abc-456").await.unwrap(), None);
}

#[tokio::test]
async fn artifact_replaced_by_key() {
    let fixture = fixture().await;
    let artifact = |bytes: &[u8], mac: u8| NewArtifact {
        key: "abc-123".to_string(),
        digest: "abc".to_string(),
        engine_hash: "123".to_string(),
        artifact: bytes.to_vec(),
        mac: vec![mac; 32],
    };
    fixture.store.insert_artifact(artifact(b"tampered", 1)).await.unwrap();

    fixture.store.replace_artifact(artifact(b"recompiled", 2)).await.unwrap();

    let stored = fixture.store.artifact("abc-123").await.unwrap().expect("artifact stored");
    assert_eq!(stored.artifact, b"recompiled".to_vec());
    assert_eq!(stored.mac, vec![2; 32]);
}

#[tokio::test]
async fn upload_writes_version_and_audit_entry() {
    let fixture = fixture().await;

    let (version, created) = fixture.tenant.upload_plugin_version(new_version("router-a", Hook::Router, b"v1")).await.unwrap();

    assert!(created);
    let audit = fixture.tenant.audit_log(&AuditFilter::default()).await.unwrap();
    assert_eq!(audit.len(), 1);
    let entry = &audit[0];
    assert_eq!(entry.action, AuditAction::Upload);
    assert_eq!(entry.hook, Hook::Router);
    assert_eq!(entry.plugin_name, "router-a");
    assert_eq!(entry.actor, "admin@example.org");
    assert_eq!(entry.install, None);
    assert_eq!(entry.from_version, None);
    assert_eq!(entry.to_version, Some(version.version));
    assert_eq!(entry.detail.as_deref(), Some(format!("2 bytes, sha256 {}", version.digest).as_str()));
    assert_eq!(entry.at, at("2026-12-01T10:00:00Z"));
}

#[tokio::test]
async fn upload_of_same_bytes_adds_no_audit_entry() {
    let fixture = fixture().await;
    let upload = new_version("router-a", Hook::Router, b"same bytes");

    fixture.tenant.upload_plugin_version(upload.clone()).await.unwrap();
    let (_, created) = fixture.tenant.upload_plugin_version(upload).await.unwrap();

    assert!(!created);
    assert_eq!(fixture.tenant.audit_log(&AuditFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn failed_audit_insert_leaves_no_version() {
    let fixture = fixture().await;
    reject_audit_inserts(&fixture).await;

    let result = fixture.tenant.upload_plugin_version(new_version("router-a", Hook::Router, b"v1")).await;

    let error = result.expect_err("the upload succeeded although its audit entry was rejected");
    assert!(error.to_string().contains("audit insert rejected by test"), "{error}");
    assert!(fixture.tenant.plugin_versions(Some("router-a")).await.unwrap().is_empty());
    assert!(fixture.tenant.audit_log(&AuditFilter::default()).await.unwrap().is_empty());
}

/// Adds a trigger that makes the database reject every insert into
/// `plugin_audit`, through a separate connection.
async fn reject_audit_inserts(fixture: &Fixture) {
    let connection = Database::connect(fixture._database.url.as_str()).await.expect("connect to test database");
    let statements: &[&str] = match fixture.store.backend() {
        Backend::Sqlite => &["CREATE TRIGGER reject_audit BEFORE INSERT ON plugin_audit \
             BEGIN SELECT RAISE(ABORT, 'audit insert rejected by test'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION reject_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'audit insert rejected by test'; END $$",
            "CREATE TRIGGER reject_audit BEFORE INSERT ON plugin_audit FOR EACH ROW EXECUTE FUNCTION reject_audit()",
        ],
    };
    for statement in statements {
        connection.execute_unprepared(statement).await.unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
}
