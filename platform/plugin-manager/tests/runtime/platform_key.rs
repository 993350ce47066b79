//! The platform key check at start: the first manager stores the key's
//! fingerprint in the database, and a manager with another key is rejected.

use std::sync::Arc;

use civic311_domain::plugin::Grants;
use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_plugin_manager::platform_key::KEY_FINGERPRINT;
use civic311_plugin_manager::{ManagerConfig, ManagerError, PluginManager, Vault, VaultError};
use civic311_store::Store;
use sea_orm::{ConnectionTrait, Database};

use crate::{Fixture, active_router, fixture, test_plugin};

const MISMATCH: &str = "differs from the key this database was set up with";

/// Starts a manager whose key file is in `data_dir`, returning its error.
async fn try_start(store: &Store, data_dir: &std::path::Path) -> Result<PluginManager, ManagerError> {
    let host = Arc::new(PluginHost::new(HostConfig::default()).expect("create plugin host"));
    let config = ManagerConfig { data_dir: data_dir.to_path_buf(), ..ManagerConfig::default() };
    PluginManager::start(store.clone(), host, config).await
}

/// Starts a manager with a new key of its own, as a command run in another
/// folder would, and returns its start error.
async fn start_with_other_key(fixture: &Fixture) -> ManagerError {
    let other_folder = tempfile::tempdir().expect("create another data folder");
    match try_start(&fixture.store, other_folder.path()).await {
        Ok(_) => panic!("a manager with another platform key started"),
        Err(error) => error,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_stores_fingerprint() {
    let fixture = fixture().await;
    let vault = Vault::load(fixture.data_dir.path()).expect("load the fixture's key");

    let stored = fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap();

    assert_eq!(stored.as_deref(), Some(vault.key_fingerprint()));
    let key_text = std::fs::read_to_string(fixture.data_dir.path().join("platform.key")).unwrap();
    assert!(!stored.unwrap().contains(key_text.trim()), "the stored fingerprint contains the key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_key_starts_again() {
    let fixture = fixture().await;
    let before = fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap();

    let second = try_start(&fixture.store, fixture.data_dir.path()).await;

    assert!(second.is_ok(), "{:?}", second.err());
    assert_eq!(fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_key_rejected_at_start() {
    let fixture = fixture().await;
    let before = fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap();

    let error = start_with_other_key(&fixture).await;

    assert!(matches!(error, ManagerError::Vault(VaultError::KeyMismatch { .. })), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(MISMATCH), "{message}");
    assert!(message.contains("platform.key"), "{message}");
    assert!(message.contains("CIVIC311_PLATFORM_KEY"), "{message}");
    assert!(message.contains("to the original key"), "{message}");
    assert_eq!(fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_key_rejected_by_artifacts() {
    let fixture = fixture().await;
    active_router(&fixture.manager, fixture.tenant_a, "city-router", test_plugin("fault-injector"), Grants::default()).await;
    delete_fingerprint(&fixture).await;

    let error = start_with_other_key(&fixture).await;

    assert!(matches!(error, ManagerError::Vault(VaultError::KeyMismatch { .. })), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("differs from the key that signed the plugin artifacts"), "{message}");
    assert_eq!(fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_database_gets_fingerprint() {
    let fixture = fixture().await;
    active_router(&fixture.manager, fixture.tenant_a, "city-router", test_plugin("fault-injector"), Grants::default()).await;
    delete_fingerprint(&fixture).await;
    let vault = Vault::load(fixture.data_dir.path()).expect("load the fixture's key");

    let second = try_start(&fixture.store, fixture.data_dir.path()).await;

    assert!(second.is_ok(), "{:?}", second.err());
    let stored = fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap();
    assert_eq!(stored.as_deref(), Some(vault.key_fingerprint()));
}

/// Deletes the stored fingerprint through a separate connection, which
/// leaves the database as one set up before fingerprints were stored.
async fn delete_fingerprint(fixture: &Fixture) {
    let connection = Database::connect(fixture._database.url.as_str()).await.expect("connect to test database");
    let sql = format!("DELETE FROM platform_metadata WHERE name = '{KEY_FINGERPRINT}'");
    let result = connection.execute_unprepared(&sql).await.expect("delete the stored fingerprint");
    assert_eq!(result.rows_affected(), 1, "no fingerprint was stored");
}
