//! The start-time check that this process uses the platform key that the
//! database was set up with. A process with another key would store
//! secrets and artifacts that the other nodes cannot open, and could not
//! open theirs, so it must not start.
//!
//! The database stores the key's fingerprint ([`Vault::key_fingerprint`])
//! under [`KEY_FINGERPRINT`]; the first process to start stores it.

use std::path::Path;

use chrono::Utc;
use civic311_plugin_host::PluginHost;
use civic311_store::Store;

use crate::artifacts::artifacts_of_other_key;
use crate::error::ManagerError;
use crate::vault::{PlatformKey, Vault, VaultError};

/// Name of the platform metadata value with the platform key's fingerprint.
pub const KEY_FINGERPRINT: &str = "platform_key_fingerprint";

/// The key that a mismatch error compares with: the one whose fingerprint
/// is stored, or the one that signed the stored artifacts.
const SET_UP_WITH: &str = "this database was set up with";
const SIGNED_ARTIFACTS: &str = "that signed the plugin artifacts stored in this database";

/// Checks the key of `vault`, loaded from `data_dir` or the environment,
/// against the fingerprint stored in the database, and stores its
/// fingerprint when none is stored yet.
///
/// A database set up before fingerprints were stored may hold artifacts
/// signed by the deployment's key. When every checked artifact fails under
/// this key, the check rejects the key instead of storing its fingerprint,
/// so a stray process cannot lock the real nodes out.
pub(crate) async fn check_platform_key(store: &Store, host: &PluginHost, vault: &Vault, data_dir: &Path) -> Result<(), ManagerError> {
    let fingerprint = vault.key_fingerprint();
    let mismatch = |reference: &'static str| VaultError::KeyMismatch { origin: PlatformKey::origin(data_dir), reference };

    match store.platform_value(KEY_FINGERPRINT).await? {
        Some(stored) if stored == fingerprint => return Ok(()),
        Some(_) => return Err(mismatch(SET_UP_WITH).into()),
        None => {}
    }

    if artifacts_of_other_key(store, host, vault).await? > 0 {
        return Err(mismatch(SIGNED_ARTIFACTS).into());
    }

    let stored = store.insert_platform_value_if_absent(KEY_FINGERPRINT, fingerprint, Utc::now()).await?;
    if stored != fingerprint {
        // Another process with another key stored its fingerprint first.
        return Err(mismatch(SET_UP_WITH).into());
    }
    tracing::info!("stored the platform key's fingerprint in the database");
    Ok(())
}
