//! The platform key check at start: the first manager creates the key file
//! and stores the key's fingerprint in the database. Later, a manager with
//! another key, a missing key file or an invalid one is rejected, and no
//! key file is created.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_plugin_manager::platform_key::KEY_FINGERPRINT;
use civic311_plugin_manager::vault::{KeyRecord, KeySource};
use civic311_plugin_manager::{ManagerConfig, ManagerError, PlatformKey, PluginManager, SecretState, Vault, VaultError};
use civic311_store::Store;
use sea_orm::{ConnectionTrait, Database};

use crate::{Fixture, active_router, fixture, test_plugin};

const MISMATCH: &str = "differs from the key this database was set up with";

/// Starts a manager whose key file is in `data_dir`, returning its error.
async fn try_start(store: &Store, data_dir: &Path) -> Result<PluginManager, ManagerError> {
    let host = Arc::new(PluginHost::new(HostConfig::default()).expect("create plugin host"));
    let config = ManagerConfig { data_dir: data_dir.to_path_buf(), ..ManagerConfig::default() };
    PluginManager::start(store.clone(), host, config).await
}

/// Starts a manager on the fixture's database from `data_dir` and returns
/// its start error.
async fn start_error(fixture: &Fixture, data_dir: &Path) -> ManagerError {
    match try_start(&fixture.store, data_dir).await {
        Ok(_) => panic!("a manager started with the key folder {}", data_dir.display()),
        Err(error) => error,
    }
}

/// Starts a manager with a new key file of its own in another folder, and
/// returns its start error and the key file's path.
async fn start_with_other_key(fixture: &Fixture) -> (ManagerError, PathBuf) {
    let other_folder = tempfile::tempdir().expect("create another data folder");
    let key_file = other_folder.path().join("platform.key");
    PlatformKey::create_file(&key_file).expect("create another key file");

    (start_error(fixture, other_folder.path()).await, key_file)
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

    let (error, key_file) = start_with_other_key(&fixture).await;

    let ManagerError::Vault(VaultError::KeyMismatch { origin, record }) = &error else {
        panic!("expected a key mismatch, got {error:?}");
    };
    assert_eq!(origin, &KeySource::File(key_file.clone()));
    assert_eq!(*record, KeyRecord::Fingerprint);
    let message = error.to_string();
    assert!(message.contains(MISMATCH), "{message}");
    assert!(message.contains(&key_file.display().to_string()), "{message}");
    assert!(message.contains("CIVIC311_PLATFORM_KEY"), "{message}");
    assert!(message.contains("the original key"), "{message}");
    assert!(message.contains("A lost key cannot be recovered"), "{message}");
    assert_eq!(fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_key_rejected_by_artifacts() {
    let fixture = fixture().await;
    active_router(&fixture.manager, fixture.tenant_a, "city-router", test_plugin("fault-injector"), Grants::default()).await;
    delete_fingerprint(&fixture).await;

    let (error, _) = start_with_other_key(&fixture).await;

    assert!(matches!(error, ManagerError::Vault(VaultError::KeyMismatch { record: KeyRecord::ArtifactSignatures, .. })), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("differs from the key that signed the plugin artifacts"), "{message}");
    assert_eq!(fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_file_not_created() {
    let fixture = fixture().await;
    let before = fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap();
    let empty_folder = tempfile::tempdir().expect("create an empty data folder");
    let key_file = empty_folder.path().join("platform.key");

    let error = start_error(&fixture, empty_folder.path()).await;

    let ManagerError::Vault(VaultError::KeyFileMissing { path, record }) = &error else {
        panic!("expected a missing key file, got {error:?}");
    };
    assert_eq!(path, &key_file);
    assert_eq!(*record, KeyRecord::Fingerprint);
    let message = error.to_string();
    assert!(message.contains(&format!("platform key file {} not found", key_file.display())), "{message}");
    assert!(message.contains("this database was set up with a platform key"), "{message}");
    assert!(message.contains("CIVIC311_PLATFORM_KEY"), "{message}");
    assert!(message.contains("CIVIC311_DATA_DIR"), "{message}");
    assert!(!message.contains("differs"), "{message}");
    assert!(!key_file.exists(), "a new key file was created");
    assert_eq!(fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_file_named_absolute() {
    let fixture = fixture().await;
    let relative = PathBuf::from(format!("missing-key-folder-{}", std::process::id()));
    let key_file = std::path::absolute(relative.join("platform.key")).unwrap();

    let error = start_error(&fixture, &relative).await;

    assert!(matches!(&error, ManagerError::Vault(VaultError::KeyFileMissing { path, .. }) if path == &key_file), "{error:?}");
    assert!(error.to_string().contains(&key_file.display().to_string()), "{error}");
    assert!(!relative.exists(), "the relative data folder was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_file_rejected_by_artifacts() {
    let fixture = fixture().await;
    active_router(&fixture.manager, fixture.tenant_a, "city-router", test_plugin("fault-injector"), Grants::default()).await;
    delete_fingerprint(&fixture).await;
    let empty_folder = tempfile::tempdir().expect("create an empty data folder");

    let error = start_error(&fixture, empty_folder.path()).await;

    assert!(matches!(error, ManagerError::Vault(VaultError::KeyFileMissing { record: KeyRecord::ArtifactSignatures, .. })), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("artifacts stored in this database were signed with a platform key"), "{message}");
    assert!(!empty_folder.path().join("platform.key").exists(), "a new key file was created");
    assert_eq!(fixture.store.platform_value(KEY_FINGERPRINT).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_key_file_advises_restore() {
    let fixture = fixture().await;
    let other_folder = tempfile::tempdir().expect("create another data folder");
    let key_file = other_folder.path().join("platform.key");
    std::fs::write(&key_file, "not a key\n").expect("write an invalid key file");

    let error = start_error(&fixture, other_folder.path()).await;

    let ManagerError::Vault(VaultError::InvalidOriginalKey { origin, record, .. }) = &error else {
        panic!("expected an invalid original key, got {error:?}");
    };
    assert_eq!(origin, &KeySource::File(key_file.clone()));
    assert_eq!(*record, KeyRecord::Fingerprint);
    let message = error.to_string();
    assert!(message.contains("not valid base64"), "{message}");
    assert!(message.contains(&format!("Restore the original {} from a backup", key_file.display())), "{message}");
    assert!(!message.contains("/dev/urandom"), "{message}");
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), "not a key\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_key_file_on_new_database() {
    let database = civic311_store::test_support::TestDatabase::create().await;
    let store = database.store().await;
    let folder = tempfile::tempdir().expect("create a data folder");
    std::fs::write(folder.path().join("platform.key"), "not a key\n").expect("write an invalid key file");

    let error = match try_start(&store, folder.path()).await {
        Ok(_) => panic!("a manager started with an invalid key file"),
        Err(error) => error,
    };

    assert!(matches!(error, ManagerError::Vault(VaultError::InvalidKey { .. })), "{error:?}");
    assert!(error.to_string().contains("head -c 32 /dev/urandom | base64"), "{error}");
    assert_eq!(store.platform_value(KEY_FINGERPRINT).await.unwrap(), None);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_of_lost_key_unreadable() {
    let fixture = fixture().await;
    let tenant = fixture.tenant_a;
    active_router(&fixture.manager, tenant, "city-router", test_plugin("fault-injector"), Grants::default()).await;
    fixture.manager.set_secret(tenant, Hook::Router, "city-router", "api_key", "value-under-old-key", "test").await.unwrap();
    let before = fixture.manager.secret_names(tenant, Hook::Router, "city-router").await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].state, SecretState::Set);

    move_to_new_key(&fixture).await;
    let new_folder = tempfile::tempdir().expect("create the new key's data folder");
    let new_manager = try_start(&fixture.store, new_folder.path()).await.expect("start with the new key");
    let after = new_manager.secret_names(tenant, Hook::Router, "city-router").await.unwrap();

    assert_eq!(after.len(), 1);
    assert_eq!(after[0].name, "api_key");
    assert_eq!(after[0].updated_at, before[0].updated_at);
    assert_eq!(after[0].state, SecretState::Unreadable);
    assert!(!format!("{after:?}").contains("value-under-old-key"), "{after:?}");
    assert!(!serde_json::to_string(&after).unwrap().contains("value-under-old-key"));
    assert_eq!(serde_json::to_value(after[0].state).unwrap(), "unreadable");

    new_manager.set_secret(tenant, Hook::Router, "city-router", "api_key", "value-under-new-key", "test").await.unwrap();
    let set_again = new_manager.secret_names(tenant, Hook::Router, "city-router").await.unwrap();
    assert_eq!(set_again.len(), 1);
    assert_eq!(set_again[0].state, SecretState::Set);
}

/// Follows the README's lost-key steps: deletes the key's fingerprint and
/// the precompiled artifacts, so that a new key can start.
async fn move_to_new_key(fixture: &Fixture) {
    delete_fingerprint(fixture).await;
    let connection = Database::connect(fixture._database.url.as_str()).await.expect("connect to test database");
    connection.execute_unprepared("DELETE FROM plugin_artifacts").await.expect("delete the artifacts");
}

/// Deletes the stored fingerprint through a separate connection, which
/// leaves the database as one set up before fingerprints were stored.
async fn delete_fingerprint(fixture: &Fixture) {
    let connection = Database::connect(fixture._database.url.as_str()).await.expect("connect to test database");
    let sql = format!("DELETE FROM platform_metadata WHERE name = '{KEY_FINGERPRINT}'");
    let result = connection.execute_unprepared(&sql).await.expect("delete the stored fingerprint");
    assert_eq!(result.rows_affected(), 1, "no fingerprint was stored");
}
