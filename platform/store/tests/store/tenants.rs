use civic311_domain::LocalizedText;
use civic311_store::test_support::{sample_manifest, TestDatabase};
use civic311_store::{ApplyOutcome, Backend, Store, StoreError};

#[tokio::test]
async fn apply_tenant_created_unchanged_updated() {
    let database = TestDatabase::create().await;
    let store = database.store().await;
    let manifest = sample_manifest("haverhill", "haverhillma.gov");

    let (created, outcome) = store.apply_tenant(&manifest).await.unwrap();
    assert_eq!(outcome, ApplyOutcome::Created);
    assert_eq!(created.slug, "haverhill");
    assert_eq!(created.jurisdiction_id, "haverhillma.gov");
    assert_eq!(created.manifest, manifest);
    assert_eq!(created.manifest.services.len(), 3);

    let (unchanged, outcome) = store.apply_tenant(&manifest).await.unwrap();
    assert_eq!(outcome, ApplyOutcome::Unchanged);
    assert_eq!(unchanged, created);

    let mut changed = manifest.clone();
    changed.name = "City of Haverhill".into();
    changed.services[0].name = LocalizedText::english("Road pothole");
    let (updated, outcome) = store.apply_tenant(&changed).await.unwrap();
    assert_eq!(outcome, ApplyOutcome::Updated);
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.manifest, changed);
    assert!(updated.updated_at >= created.updated_at);

    let (again, outcome) = store.apply_tenant(&changed).await.unwrap();
    assert_eq!(outcome, ApplyOutcome::Unchanged);
    assert_eq!(again, updated);
}

#[tokio::test]
async fn tenant_lookups_by_slug_and_jurisdiction() {
    let database = TestDatabase::create().await;
    let store = database.store().await;
    let (haverhill, _) = store.apply_tenant(&sample_manifest("haverhill", "haverhillma.gov")).await.unwrap();
    let (boston, _) = store.apply_tenant(&sample_manifest("boston", "boston.gov")).await.unwrap();

    assert_eq!(store.tenant_by_slug("boston").await.unwrap(), Some(boston.clone()));
    assert_eq!(store.tenant_by_jurisdiction("haverhillma.gov").await.unwrap(), Some(haverhill.clone()));
    assert_eq!(store.tenant_by_slug("lowell").await.unwrap(), None);
    assert_eq!(store.tenant_by_jurisdiction("lowellma.gov").await.unwrap(), None);

    let slugs: Vec<String> = store.tenants().await.unwrap().into_iter().map(|tenant| tenant.slug).collect();
    assert_eq!(slugs, ["boston", "haverhill"]);
}

#[tokio::test]
async fn jurisdiction_of_another_tenant_rejected() {
    let database = TestDatabase::create().await;
    let store = database.store().await;
    store.apply_tenant(&sample_manifest("haverhill", "haverhillma.gov")).await.unwrap();

    let error = store
        .apply_tenant(&sample_manifest("bradford", "haverhillma.gov"))
        .await
        .unwrap_err();

    assert!(matches!(error, StoreError::Invalid(_)), "got {error:?}");
    assert!(error.to_string().contains("haverhillma.gov"), "message: {error}");
    assert_eq!(store.tenant_by_slug("bradford").await.unwrap(), None);
}

#[tokio::test]
async fn backend_matches_url() {
    let database = TestDatabase::create().await;
    let store = database.store().await;

    let expected = if database.url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
    assert_eq!(store.backend(), expected);
}

#[tokio::test]
async fn sqlite_connect_creates_folder_in_wal_mode() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("nested").join("data").join("civic311.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());

    let store = Store::connect(&url).await.unwrap();
    store.apply_tenant(&sample_manifest("haverhill", "haverhillma.gov")).await.unwrap();

    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(file.exists(), "database file {} missing", file.display());
    let wal = file.with_extension("db-wal");
    assert!(wal.exists(), "WAL file {} missing, so journal mode is not WAL", wal.display());

    // Connecting again finds the migrations applied and the tenant kept.
    drop(store);
    let reopened = Store::connect(&url).await.unwrap();
    assert_eq!(reopened.tenants().await.unwrap().len(), 1);
}

#[tokio::test]
async fn connect_rejects_unknown_scheme() {
    let error = Store::connect("mysql://root@127.0.0.1/civic311").await.err().expect("mysql URL rejected");
    assert!(matches!(error, StoreError::Connect { .. }), "got {error:?}");
    assert!(error.to_string().contains("postgres://"), "message: {error}");
}
