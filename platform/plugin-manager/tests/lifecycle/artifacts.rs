use civic311_domain::plugin::Hook;
use civic311_plugin_manager::{ArtifactOrigin, Vault, artifact_key};
use civic311_store::Backend;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, Value};

use crate::{Fixture, active_router, boston_input, bundled, fixture, upload};

/// Overwrites one column of the artifact row `key` through a separate
/// connection, as an attacker with database access could.
async fn overwrite_artifact_column(fixture: &Fixture, column: &str, key: &str, bytes: Vec<u8>) {
    let connection = Database::connect(fixture.database.url.as_str())
        .await
        .expect("connect to test database");
    let (backend, sql) = match fixture.store.backend() {
        Backend::Postgres => (
            DbBackend::Postgres,
            format!("UPDATE plugin_artifacts SET {column} = $1 WHERE \"key\" = $2"),
        ),
        Backend::Sqlite => (
            DbBackend::Sqlite,
            format!("UPDATE plugin_artifacts SET {column} = ? WHERE \"key\" = ?"),
        ),
    };
    let statement = Statement::from_sql_and_values(
        backend,
        sql,
        [Value::from(bytes), Value::from(key.to_string())],
    );

    let result = connection
        .execute_raw(statement)
        .await
        .expect("update artifact row");
    assert_eq!(result.rows_affected(), 1, "artifact row {key} not found");
}

fn flip_middle_byte(mut bytes: Vec<u8>) -> Vec<u8> {
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    bytes
}

#[tokio::test]
async fn upload_stores_signed_artifact() {
    let fixture = fixture().await;
    let uploaded = upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;
    let engine_hash = fixture.manager.host().compatibility_hash();
    let key = artifact_key(&uploaded.version.digest, &engine_hash);

    let stored = fixture
        .store
        .artifact(&key)
        .await
        .unwrap()
        .expect("artifact stored at upload");

    assert_eq!(key, format!("{}-{}", uploaded.version.digest, engine_hash));
    assert_eq!(stored.digest, uploaded.version.digest);
    assert_eq!(stored.engine_hash, engine_hash);
    let vault = Vault::load(fixture.data_dir.path()).unwrap();
    assert!(vault.verify_artifact(&key, &stored.artifact, &stored.mac));
    assert!(!vault.verify_artifact(
        &key,
        &flip_middle_byte(stored.artifact.clone()),
        &stored.mac
    ));
}

#[tokio::test]
async fn stored_artifact_is_loaded() {
    let fixture = fixture().await;
    active_router(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;
    let second = fixture.second_manager().await;

    let origin = second
        .check_artifact(fixture.tenant_a, Hook::Router, "city-router", 1)
        .await
        .unwrap();

    assert_eq!(origin, ArtifactOrigin::Stored);
}

#[tokio::test]
async fn tampered_mac_forces_recompile() {
    let fixture = fixture().await;
    let uploaded = active_router(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;
    let key = artifact_key(
        &uploaded.version.digest,
        &fixture.manager.host().compatibility_hash(),
    );
    let stored = fixture.store.artifact(&key).await.unwrap().unwrap();
    overwrite_artifact_column(&fixture, "mac", &key, flip_middle_byte(stored.mac)).await;

    let origin = fixture
        .manager
        .check_artifact(fixture.tenant_a, Hook::Router, "city-router", 1)
        .await
        .unwrap();
    let second = fixture.second_manager().await;
    let healed = second
        .check_artifact(fixture.tenant_a, Hook::Router, "city-router", 1)
        .await
        .unwrap();

    assert_eq!(origin, ArtifactOrigin::Recompiled);
    assert_eq!(healed, ArtifactOrigin::Stored);
    let router = second
        .registry()
        .router(fixture.tenant_a)
        .expect("router loaded from the recompiled component");
    let decision = second
        .host()
        .route(&router.plugin, &boston_input("parking-enforcement", "BTDT"))
        .unwrap();
    assert_eq!(decision.department, "BTDT");
    assert_eq!(decision.queue.as_deref(), Some("BTDT_Parking Enforcement"));
}

#[tokio::test]
async fn tampered_artifact_is_not_loaded() {
    let fixture = fixture().await;
    let uploaded = active_router(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;
    let key = artifact_key(
        &uploaded.version.digest,
        &fixture.manager.host().compatibility_hash(),
    );
    let stored = fixture.store.artifact(&key).await.unwrap().unwrap();
    overwrite_artifact_column(
        &fixture,
        "artifact",
        &key,
        flip_middle_byte(stored.artifact),
    )
    .await;

    let origin = fixture
        .manager
        .check_artifact(fixture.tenant_a, Hook::Router, "city-router", 1)
        .await
        .unwrap();
    let second = fixture.second_manager().await;
    let healed = second
        .check_artifact(fixture.tenant_a, Hook::Router, "city-router", 1)
        .await
        .unwrap();

    assert_eq!(origin, ArtifactOrigin::Recompiled);
    assert_eq!(healed, ArtifactOrigin::Stored);
    let router = second
        .registry()
        .router(fixture.tenant_a)
        .expect("router loaded from the recompiled component");
    let decision = second
        .host()
        .route(&router.plugin, &boston_input("needle-pickup", "GEN_"))
        .unwrap();
    assert_eq!(decision.department, "GEN_");
    assert_eq!(decision.queue.as_deref(), Some("GEN_Needle_Pickup"));
}
