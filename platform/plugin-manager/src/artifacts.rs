//! Precompiled artifacts of plugin versions in shared storage.
//!
//! An artifact is stored under `{digest}-{engine hash}`, so a wasmtime
//! upgrade or an engine setting change looks up a new key and recompiles
//! instead of loading a stale artifact. Each row carries an HMAC under the
//! platform key: deserializing an artifact runs native code that wasmtime
//! trusts, so a row whose MAC does not match is never deserialized.

use std::sync::Arc;

use civic311_plugin_host::{LoadedPlugin, PluginError, PluginHost};
use civic311_store::{NewArtifact, PluginVersion, Store, StoreError, TenantStore};
use sha2::{Digest, Sha256};

use crate::error::ManagerError;
use crate::vault::Vault;

/// Source of a loaded version's compiled code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactOrigin {
    /// A stored artifact whose MAC matched.
    Stored,
    /// No artifact existed under the key, so the component was compiled and its artifact stored.
    Compiled,
    /// The stored artifact failed its MAC check or could not be loaded, so
    /// the component was compiled again from its stored bytes.
    Recompiled,
}

/// Returns the storage key of the artifact of component `digest` compiled
/// by an engine with compatibility hash `engine_hash`.
pub fn artifact_key(digest: &str, engine_hash: &str) -> String {
    format!("{digest}-{engine_hash}")
}

/// Active versions whose stored artifacts [`artifacts_of_other_key`] checks.
const KEY_CHECK_ARTIFACTS: usize = 5;

/// Returns how many stored artifacts of up to five active versions fail
/// their MAC under `vault`'s key, or 0 as soon as one passes. A nonzero
/// count means another key signed the artifacts, because a single tampered
/// artifact fails alone. [`crate::platform_key`] uses it on a database that
/// stores no key fingerprint yet.
pub(crate) async fn artifacts_of_other_key(store: &Store, host: &PluginHost, vault: &Vault) -> Result<usize, ManagerError> {
    let installs = store.loaded_installs().await?;
    let engine_hash = host.compatibility_hash();

    let mut failed = 0;
    for version in installs.iter().filter_map(|install| install.active_version.as_ref()).take(KEY_CHECK_ARTIFACTS) {
        let key = artifact_key(&version.digest, &engine_hash);
        let Some(stored) = store.artifact(&key).await? else {
            continue;
        };
        if vault.verify_artifact(&key, &stored.artifact, &stored.mac) {
            return Ok(0);
        }
        failed += 1;
    }
    Ok(failed)
}

/// Loads plugin versions through their stored artifacts, and compiles and
/// stores the artifact when it is missing or untrusted.
pub struct ArtifactLoader {
    store: Store,
    host: Arc<PluginHost>,
    vault: Arc<Vault>,
}

impl ArtifactLoader {
    pub fn new(store: Store, host: Arc<PluginHost>, vault: Arc<Vault>) -> ArtifactLoader {
        ArtifactLoader { store, host, vault }
    }

    /// Loads `version`, whose bytes `tenant` may read, from its artifact.
    pub async fn load(
        &self,
        tenant: &TenantStore,
        version: &PluginVersion,
    ) -> Result<(LoadedPlugin, ArtifactOrigin), ManagerError> {
        let key = artifact_key(&version.digest, &self.host.compatibility_hash());
        let mut origin = ArtifactOrigin::Compiled;

        if let Some(stored) = self.store.artifact(&key).await? {
            origin = ArtifactOrigin::Recompiled;
            if self
                .vault
                .verify_artifact(&key, &stored.artifact, &stored.mac)
            {
                match self.load_precompiled(version, stored.artifact).await {
                    Ok(plugin) => return Ok((plugin, ArtifactOrigin::Stored)),
                    Err(error) => {
                        tracing::warn!(tenant.id = tenant.tenant_id().0, plugin.name = %version.name, plugin.version = version.version, artifact.key = %key, %error, "stored artifact failed to load; recompiling from the component");
                    }
                }
            } else {
                tracing::error!(tenant.id = tenant.tenant_id().0, plugin.name = %version.name, plugin.version = version.version, artifact.key = %key, "stored artifact failed its MAC check and was not loaded; recompiling from the component");
            }
        }

        let wasm = tenant.plugin_wasm(version.id).await?;
        check_digest(version, &wasm)?;
        let replace = origin == ArtifactOrigin::Recompiled;
        let artifact = self.compile_and_store(&version.digest, wasm, replace).await?;
        let plugin = self.load_precompiled(version, artifact).await?;
        Ok((plugin, origin))
    }

    /// Precompiles `wasm`, whose SHA-256 is `digest`, and stores the signed
    /// artifact under its key. Returns the artifact bytes.
    ///
    /// With `replace` the new artifact overwrites the row under its key,
    /// which heals a row that failed its MAC check or its load. Without it a
    /// row stored meanwhile by another node is kept, because both nodes
    /// compiled the same bytes with compatible engines.
    pub async fn compile_and_store(
        &self,
        digest: &str,
        wasm: Vec<u8>,
        replace: bool,
    ) -> Result<Vec<u8>, ManagerError> {
        let host = Arc::clone(&self.host);
        let artifact = run_blocking(move || host.precompile(&wasm)).await?;

        let engine_hash = self.host.compatibility_hash();
        let key = artifact_key(digest, &engine_hash);
        let mac = self.vault.sign_artifact(&key, &artifact);
        let row = NewArtifact {
            key,
            digest: digest.to_string(),
            engine_hash,
            artifact: artifact.clone(),
            mac,
        };
        if replace {
            self.store.replace_artifact(row).await?;
        } else {
            self.store.insert_artifact(row).await?;
        }
        Ok(artifact)
    }

    async fn load_precompiled(
        &self,
        version: &PluginVersion,
        artifact: Vec<u8>,
    ) -> Result<LoadedPlugin, ManagerError> {
        let host = Arc::clone(&self.host);
        let name = version.name.clone();
        let digest = version.digest.clone();
        run_blocking(move || host.load_precompiled(&name, &digest, &artifact)).await
    }
}

/// Checks that stored bytes still hash to the version's digest, so an
/// artifact is never built from bytes other than the ones uploaded.
fn check_digest(version: &PluginVersion, wasm: &[u8]) -> Result<(), ManagerError> {
    let digest = hex::encode(Sha256::digest(wasm));
    if digest == version.digest {
        return Ok(());
    }
    Err(ManagerError::Store(StoreError::Corrupt {
        what: "plugin component",
        message: format!(
            "plugin '{}' version {} hashes to {digest}, not its recorded digest {}; upload the component again",
            version.name, version.version, version.digest
        ),
    }))
}

/// Runs compilation or deserialization on the blocking pool, off the async workers.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T, ManagerError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, PluginError> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ManagerError::from),
        Err(error) => Err(ManagerError::Plugin(PluginError::Platform {
            plugin: None,
            message: format!("the compile task failed: {error}"),
        })),
    }
}

impl crate::manager::PluginManager {
    /// Loads version `version` of the tenant's install `name` on `hook`
    /// through its artifact and returns where its compiled code came from,
    /// so an operator can check the artifact store. A missing or untrusted
    /// artifact is compiled and stored as on activation.
    pub async fn check_artifact(
        &self,
        tenant: civic311_store::TenantId,
        hook: civic311_domain::plugin::Hook,
        name: &str,
        version: i32,
    ) -> Result<ArtifactOrigin, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        let target = self
            .require_version(&tenant_store, &install, version)
            .await?;
        let (_, origin) = self.artifacts.load(&tenant_store, &target).await?;
        Ok(origin)
    }
}
