//! The start-time load and check of the platform key. A process with
//! another key than the database was set up with would store secrets and
//! artifacts that the other nodes cannot open, and could not open theirs,
//! so it must not start.
//!
//! The database stores the key's fingerprint ([`Vault::key_fingerprint`])
//! under [`KEY_FINGERPRINT`]; the first process to start stores it. Only
//! that first start creates a key file. Once the database has a key, a
//! missing or invalid key file is rejected with advice to restore the
//! original key.

use std::path::{Path, PathBuf};

use chrono::Utc;
use civic311_plugin_host::PluginHost;
use civic311_store::Store;

use crate::artifacts::artifacts_of_other_key;
use crate::error::ManagerError;
use crate::vault::{KeyRecord, KeySource, PlatformKey, Vault, VaultError};

/// Name of the platform metadata value with the platform key's fingerprint.
pub const KEY_FINGERPRINT: &str = "platform_key_fingerprint";

/// Loads the platform key from the environment or `data_dir` and checks it
/// against the database, as [`crate::PluginManager::start`] does.
///
/// The key file is created only when the database has no record of a key:
/// no stored fingerprint and no stored artifacts. Otherwise a missing file
/// fails with [`VaultError::KeyFileMissing`] and an invalid key with
/// [`VaultError::InvalidOriginalKey`], and a key that differs fails with
/// [`VaultError::KeyMismatch`].
///
/// When this start creates the key file but another process stores its
/// fingerprint first, the file is removed again before the mismatch is
/// returned. A key file that existed before this start is never removed.
pub(crate) async fn load_platform_key(store: &Store, host: &PluginHost, data_dir: &Path) -> Result<Vault, ManagerError> {
    let stored = store.platform_value(KEY_FINGERPRINT).await?;
    load_with_stored_fingerprint(store, host, data_dir, stored).await
}

/// Does the work of [`load_platform_key`] with the fingerprint `stored`
/// that was read from the database at the start. Another process may
/// store its fingerprint after that read.
async fn load_with_stored_fingerprint(
    store: &Store,
    host: &PluginHost,
    data_dir: &Path,
    stored: Option<String>,
) -> Result<Vault, ManagerError> {
    let source = KeySource::resolve(data_dir);

    let mut created_file = None;
    let key = match PlatformKey::read(&source) {
        Ok(Some(key)) => key,
        Ok(None) => {
            let (key, created) = create_first_key(store, host, &source, stored.is_some()).await?;
            created_file = created;
            key
        }
        Err(VaultError::InvalidKey { origin, problem }) => {
            return Err(match key_record(store, host, stored.is_some()).await? {
                Some(record) => VaultError::InvalidOriginalKey { origin: source, problem, record },
                None => VaultError::InvalidKey { origin, problem },
            }
            .into());
        }
        Err(error) => return Err(error.into()),
    };

    let vault = Vault::new(&key);
    let checked = check_platform_key(store, host, &vault, source, stored).await;
    if let (Err(ManagerError::Vault(VaultError::KeyMismatch { .. })), Some(path)) = (&checked, &created_file) {
        remove_created_key_file(path);
    }
    checked?;
    Ok(vault)
}

/// Removes the key file that this start created after another process
/// recorded its own key first, so that the next start of this process reads
/// no stale key and reports the missing file with the fix instead.
fn remove_created_key_file(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!(path = %path.display(), "removed the platform key file that this start created, because another process stored its key first"),
        Err(error) => tracing::warn!(path = %path.display(), %error, "failed to remove the platform key file created by this start; delete it by hand"),
    }
}

/// Creates the key file of `source` when the database has no record of a
/// key, and fails naming the missing file otherwise. Returns the key with the
/// file's path when this call created the file, and with `None` when another
/// process created it first.
async fn create_first_key(
    store: &Store,
    host: &PluginHost,
    source: &KeySource,
    fingerprint_stored: bool,
) -> Result<(PlatformKey, Option<PathBuf>), ManagerError> {
    let KeySource::File(path) = source else {
        unreachable!("PlatformKey::read returns a key or an error for the variable");
    };
    if let Some(record) = key_record(store, host, fingerprint_stored).await? {
        return Err(VaultError::KeyFileMissing { path: path.clone(), record }.into());
    }
    let (key, created) = PlatformKey::create_file_reporting(path)?;
    Ok((key, created.then(|| path.clone())))
}

/// Returns the stored value that shows the database was set up with a
/// platform key, or `None` on a database without one.
///
/// A database set up before fingerprints were stored shows its key only
/// through artifact signatures. A random key fails every signature, so the
/// artifacts it fails are the artifacts stored.
async fn key_record(store: &Store, host: &PluginHost, fingerprint_stored: bool) -> Result<Option<KeyRecord>, ManagerError> {
    if fingerprint_stored {
        return Ok(Some(KeyRecord::Fingerprint));
    }
    let random = Vault::new(&PlatformKey::generate()?);
    if artifacts_of_other_key(store, host, &random).await? > 0 {
        return Ok(Some(KeyRecord::ArtifactSignatures));
    }
    Ok(None)
}

/// Checks the key of `vault`, read from `source`, against the fingerprint
/// `stored` in the database, and stores its fingerprint when none is stored yet.
///
/// A database set up before fingerprints were stored may hold artifacts
/// signed by the deployment's key. When every checked artifact fails under
/// this key, the check rejects the key instead of storing its fingerprint,
/// so a stray process cannot lock the real nodes out.
async fn check_platform_key(
    store: &Store,
    host: &PluginHost,
    vault: &Vault,
    source: KeySource,
    stored: Option<String>,
) -> Result<(), ManagerError> {
    let fingerprint = vault.key_fingerprint();
    let mismatch = |record: KeyRecord| VaultError::KeyMismatch { origin: source.clone(), record };

    match stored {
        Some(stored) if stored == fingerprint => return Ok(()),
        Some(_) => return Err(mismatch(KeyRecord::Fingerprint).into()),
        None => {}
    }

    if artifacts_of_other_key(store, host, vault).await? > 0 {
        return Err(mismatch(KeyRecord::ArtifactSignatures).into());
    }

    let stored = store.insert_platform_value_if_absent(KEY_FINGERPRINT, fingerprint, Utc::now()).await?;
    if stored != fingerprint {
        // Another process with another key stored its fingerprint first.
        return Err(mismatch(KeyRecord::Fingerprint).into());
    }
    tracing::info!("stored the platform key's fingerprint in the database");
    Ok(())
}

#[cfg(test)]
mod tests {
    use civic311_plugin_host::HostConfig;
    use civic311_store::test_support::TestDatabase;

    use super::*;

    /// Stores the fingerprint of another key, as the process that wins the
    /// first-start race does after this process read no fingerprint.
    async fn store_winner_fingerprint(store: &Store) {
        let winner = Vault::new(&PlatformKey::from_bytes([9; 32]));
        store.insert_platform_value_if_absent(KEY_FINGERPRINT, winner.key_fingerprint(), Utc::now()).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn race_loser_removes_created_file() {
        let database = TestDatabase::create().await;
        let store = database.store().await;
        let host = PluginHost::new(HostConfig::default()).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let key_file = folder.path().join("platform.key");
        store_winner_fingerprint(&store).await;

        let error = load_with_stored_fingerprint(&store, &host, folder.path(), None).await.unwrap_err();

        assert!(matches!(error, ManagerError::Vault(VaultError::KeyMismatch { record: KeyRecord::Fingerprint, .. })), "{error:?}");
        assert!(!key_file.exists(), "the key file created by the losing start was kept");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn race_loser_keeps_existing_file() {
        let database = TestDatabase::create().await;
        let store = database.store().await;
        let host = PluginHost::new(HostConfig::default()).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let key_file = folder.path().join("platform.key");
        PlatformKey::create_file(&key_file).unwrap();
        let key_text = std::fs::read_to_string(&key_file).unwrap();
        store_winner_fingerprint(&store).await;

        let error = load_with_stored_fingerprint(&store, &host, folder.path(), None).await.unwrap_err();

        assert!(matches!(error, ManagerError::Vault(VaultError::KeyMismatch { .. })), "{error:?}");
        assert!(key_file.exists(), "a key file that existed before the start was removed");
        assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key_text);
    }
}
