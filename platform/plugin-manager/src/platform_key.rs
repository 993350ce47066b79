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

use std::path::Path;

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
pub(crate) async fn load_platform_key(store: &Store, host: &PluginHost, data_dir: &Path) -> Result<Vault, ManagerError> {
    let source = KeySource::resolve(data_dir);
    let stored = store.platform_value(KEY_FINGERPRINT).await?;

    let key = match PlatformKey::read(&source) {
        Ok(Some(key)) => key,
        Ok(None) => create_first_key(store, host, &source, stored.is_some()).await?,
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
    check_platform_key(store, host, &vault, source, stored).await?;
    Ok(vault)
}

/// Creates the key file of `source` when the database has no record of a
/// key, and fails naming the missing file otherwise.
async fn create_first_key(store: &Store, host: &PluginHost, source: &KeySource, fingerprint_stored: bool) -> Result<PlatformKey, ManagerError> {
    let KeySource::File(path) = source else {
        unreachable!("PlatformKey::read returns a key or an error for the variable");
    };
    if let Some(record) = key_record(store, host, fingerprint_stored).await? {
        return Err(VaultError::KeyFileMissing { path: path.clone(), record }.into());
    }
    Ok(PlatformKey::create_file(path)?)
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
