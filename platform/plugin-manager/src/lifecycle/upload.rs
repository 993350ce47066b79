//! Upload of tenant plugin versions and of catalogue versions.

use std::sync::Arc;

use chrono::Utc;
use civic311_plugin_host::{Inspection, PluginError, PluginHost};
use civic311_store::{NewPluginVersion, PluginVersion, TenantId};

use crate::artifacts::run_blocking;
use crate::error::ManagerError;
use crate::manager::PluginManager;

/// Maximum characters of a plugin name.
pub const MAX_PLUGIN_NAME_CHARS: usize = 64;

/// A component to store as the next version of a plugin.
#[derive(Clone)]
pub struct Upload {
    /// Plugin name, such as `haverhill-router`; see [`validate_plugin_name`].
    pub name: String,
    pub wasm: Vec<u8>,
    pub description: Option<String>,
    /// Admin, API key or operator that uploads it, for the audit log.
    pub actor: String,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Upload")
            .field("name", &self.name)
            .field("wasm_bytes", &self.wasm.len())
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// Result of an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploaded {
    pub version: PluginVersion,
    /// False when the same bytes were already stored under this plugin, in
    /// which case `version` is the existing version.
    pub created: bool,
}

/// Checks that `name` is 1 to [`MAX_PLUGIN_NAME_CHARS`] lowercase ASCII
/// letters, digits and hyphens, starting with a letter.
pub fn validate_plugin_name(name: &str) -> Result<(), ManagerError> {
    let problem = if name.is_empty() {
        Some("the plugin name is empty".to_string())
    } else if name.chars().count() > MAX_PLUGIN_NAME_CHARS {
        Some(format!(
            "'{name}' is longer than {MAX_PLUGIN_NAME_CHARS} characters"
        ))
    } else if !name.starts_with(|first: char| first.is_ascii_lowercase()) {
        Some(format!("'{name}' must start with a lowercase letter"))
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Some(format!(
            "'{name}' may contain only lowercase letters, digits and hyphens"
        ))
    } else {
        None
    };

    match problem {
        Some(problem) => Err(ManagerError::invalid("plugin name", problem)),
        None => Ok(()),
    }
}

impl PluginManager {
    /// Validates `upload` and stores it as the next version of the tenant's
    /// private plugin, with its upload audit entry and precompiled artifact.
    ///
    /// Rejects bytes over the size limit, bytes that are not a component, a
    /// component of no known world, imports the platform does not offer, and
    /// a capability import that the tenant's existing install of the plugin
    /// does not grant. The same bytes again return the existing version.
    pub async fn upload(&self, tenant: TenantId, upload: Upload) -> Result<Uploaded, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let inspection = self.inspect_upload(&upload).await?;

        if let Some(install) = tenant_store.install(inspection.hook, &upload.name).await?
            && install.plugin_owner == Some(tenant)
        {
            PluginHost::check_grants(&upload.name, &inspection, &install.grants)?;
        }

        let new = new_version(upload, &inspection);
        let (version, created) = tenant_store.upload_plugin_version(new.clone()).await?;
        if !created {
            return Ok(Uploaded { version, created });
        }

        // The artifact is stored after the version and its audit entry have
        // committed, outside their transaction, because it is a cache keyed
        // by the component's digest and loading a version compiles a missing one.
        self.store_artifact(&version, new.wasm).await;

        tracing::info!(tenant.id = tenant.0, plugin.name = %version.name, plugin.version = version.version, hook = %version.hook, "plugin version uploaded");
        Ok(Uploaded { version, created })
    }

    /// Validates `upload` and stores it as the next version of a platform
    /// catalogue plugin, which every tenant may install.
    pub async fn publish(&self, upload: Upload) -> Result<Uploaded, ManagerError> {
        let inspection = self.inspect_upload(&upload).await?;
        let new = new_version(upload, &inspection);
        let (version, created) = self.store.insert_plugin_version(None, new.clone()).await?;
        if created {
            self.store_artifact(&version, new.wasm).await;
            tracing::info!(plugin.name = %version.name, plugin.version = version.version, hook = %version.hook, actor = %version.uploaded_by, "catalogue plugin version published");
        }
        Ok(Uploaded { version, created })
    }

    /// Checks the name and size, then inspects the component on the blocking pool.
    async fn inspect_upload(&self, upload: &Upload) -> Result<Inspection, ManagerError> {
        validate_plugin_name(&upload.name)?;

        let limit = self.config.max_upload_bytes;
        if upload.wasm.len() > limit {
            return Err(ManagerError::Plugin(PluginError::TooLarge {
                plugin: upload.name.clone(),
                size: upload.wasm.len(),
                limit,
            }));
        }

        let host = Arc::clone(&self.host);
        let name = upload.name.clone();
        let wasm = upload.wasm.clone();
        run_blocking(move || host.inspect(&name, &wasm)).await
    }

    /// Precompiles a new version and stores its artifact. A failure here
    /// is logged only, because activation compiles a missing artifact.
    async fn store_artifact(&self, version: &PluginVersion, wasm: Vec<u8>) {
        if let Err(error) = self
            .artifacts
            .compile_and_store(&version.digest, wasm, false)
            .await
        {
            tracing::error!(plugin.name = %version.name, plugin.version = version.version, %error, "failed to precompile the uploaded version; activation compiles it instead");
        }
    }
}

fn new_version(upload: Upload, inspection: &Inspection) -> NewPluginVersion {
    NewPluginVersion {
        name: upload.name,
        hook: inspection.hook,
        world: inspection.world.clone(),
        digest: inspection.digest.clone(),
        capabilities: inspection.capabilities.clone(),
        wasm: upload.wasm,
        description: upload.description.unwrap_or_default(),
        uploaded_by: upload.actor,
        uploaded_at: Utc::now(),
    }
}
