//! The plugin lifecycle: upload, install, activation, rollback and the
//! install's settings. Every change writes the audit log and then reloads
//! the install on this node and announces it to the others.

mod activation;
mod install;
mod manifest;
mod settings;
mod upload;

pub use activation::Activation;
pub use install::{InstallRequest, PluginSource};
pub use manifest::MANIFEST_ACTOR;
pub use settings::{SecretState, SecretStatus};
pub use upload::{Upload, Uploaded, validate_plugin_name};

use civic311_domain::plugin::{Grants, Hook};
use civic311_plugin_host::PluginError;
use civic311_store::{
    AuditEntry, AuditFilter, PluginInstall, PluginVersion, TenantId, TenantStore,
};

use crate::error::ManagerError;
use crate::manager::PluginManager;

impl PluginManager {
    /// Lists the tenant's plugin audit log, newest first.
    pub async fn audit(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
    ) -> Result<Vec<AuditEntry>, ManagerError> {
        Ok(self.store.scoped(tenant).audit_log(&filter).await?)
    }

    /// Finds the tenant's install of plugin `name` on `hook`.
    pub(crate) async fn require_install(
        &self,
        tenant: &TenantStore,
        hook: Hook,
        name: &str,
    ) -> Result<PluginInstall, ManagerError> {
        match tenant.install(hook, name).await? {
            Some(install) => Ok(install),
            None => Err(ManagerError::install_not_found(hook, name)),
        }
    }

    /// Finds version `version` of the install's plugin, owned by the tenant
    /// or by the catalogue as the install records.
    pub(crate) async fn require_version(
        &self,
        tenant: &TenantStore,
        install: &PluginInstall,
        version: i32,
    ) -> Result<PluginVersion, ManagerError> {
        let found = tenant
            .plugin_version(install.plugin_owner, &install.plugin_name, version)
            .await?;
        if let Some(found) = found {
            return Ok(found);
        }

        let available = self
            .version_numbers(tenant, install.plugin_owner, &install.plugin_name)
            .await?;
        Err(ManagerError::VersionNotFound {
            name: install.plugin_name.clone(),
            version,
            available,
        })
    }

    /// Lists the version numbers of plugin `name` of `owner` that the tenant may use.
    pub(crate) async fn version_numbers(
        &self,
        tenant: &TenantStore,
        owner: Option<TenantId>,
        name: &str,
    ) -> Result<Vec<i32>, ManagerError> {
        let versions = tenant.plugin_versions(Some(name)).await?;
        let numbers = versions
            .iter()
            .filter(|version| version.owner == owner)
            .map(|version| version.version)
            .collect();
        Ok(numbers)
    }
}

/// Checks that `version` runs on the install's hook.
pub(crate) fn check_hook(
    install: &PluginInstall,
    version: &PluginVersion,
) -> Result<(), ManagerError> {
    if version.hook == install.hook {
        return Ok(());
    }
    Err(ManagerError::WrongHook {
        plugin: version.name.clone(),
        version: version.version,
        expected: install.hook,
        found: version.hook,
    })
}

/// Checks that `grants` cover every capability that `version` imports.
pub(crate) fn check_grants(version: &PluginVersion, grants: &Grants) -> Result<(), ManagerError> {
    for capability in &version.capabilities {
        if !grants.allows(*capability) {
            return Err(ManagerError::Plugin(PluginError::NotGranted {
                plugin: format!("{} version {}", version.name, version.version),
                capability: *capability,
            }));
        }
    }
    Ok(())
}
