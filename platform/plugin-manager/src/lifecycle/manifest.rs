//! Adoption of the router plugin that a tenant manifest names, so that
//! `tenant apply` and `serve` put manifest routers under the same lifecycle
//! as uploaded ones.

use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_store::{AuditAction, AuditFilter, TenantId};

use super::install::{InstallRequest, PluginSource};
use super::upload::Upload;
use crate::error::ManagerError;
use crate::manager::PluginManager;

/// Actor recorded in the audit log for changes made from a tenant manifest.
pub const MANIFEST_ACTOR: &str = "manifest";

impl PluginManager {
    /// Uploads `wasm` as a version of the tenant's plugin `name`, where the
    /// same bytes return the existing version, and creates the router
    /// install when it is missing. The version is activated when the tenant
    /// has no active router, or when the manifest made the last choice of
    /// this install's active version. An admin's activation or rollback
    /// stays in effect.
    pub async fn adopt_manifest_router(
        &self,
        tenant: TenantId,
        name: &str,
        wasm: &[u8],
    ) -> Result<(), ManagerError> {
        let upload = Upload {
            name: name.to_string(),
            wasm: wasm.to_vec(),
            description: Some("router named by the tenant manifest".to_string()),
            actor: MANIFEST_ACTOR.to_string(),
        };
        let uploaded = self.upload(tenant, upload).await?;
        if uploaded.version.hook != Hook::Router {
            return Err(ManagerError::WrongHook {
                plugin: name.to_string(),
                version: uploaded.version.version,
                expected: Hook::Router,
                found: uploaded.version.hook,
            });
        }

        let tenant_store = self.store.scoped(tenant);
        if tenant_store.install(Hook::Router, name).await?.is_none() {
            let request = InstallRequest {
                hook: Hook::Router,
                plugin_name: name.to_string(),
                source: PluginSource::Tenant,
                grants: Grants::default(),
                limits: LimitOverrides::default(),
                config: Default::default(),
            };
            self.install(tenant, request, MANIFEST_ACTOR).await?;
        }

        let installs = tenant_store.installs().await?;
        let active_router = installs
            .iter()
            .find(|install| install.hook == Hook::Router && install.active_version.is_some());
        let follow_manifest = match active_router {
            None => true,
            Some(install) => {
                let active = install.active_version.as_ref().map(|version| version.version);
                install.plugin_name == name
                    && active != Some(uploaded.version.version)
                    && self.manifest_chose_active(tenant, name).await?
            }
        };

        if follow_manifest {
            self.activate(tenant, Hook::Router, name, uploaded.version.version, MANIFEST_ACTOR)
                .await?;
        } else if uploaded.created {
            tracing::info!(tenant.id = tenant.0, plugin.name = name, plugin.version = uploaded.version.version, "the manifest's router changed, but an admin chose the active router; the new version stays inactive");
        }
        Ok(())
    }

    /// Returns whether the manifest made the last activation, rollback or
    /// deactivation of the tenant's router install `name`. Only then does a
    /// new manifest router replace the active version, so a platform
    /// upgrade's fixed router takes effect while an admin's choice stays.
    async fn manifest_chose_active(&self, tenant: TenantId, name: &str) -> Result<bool, ManagerError> {
        let filter = AuditFilter {
            hook: Some(Hook::Router),
            plugin_name: Some(name.to_string()),
            limit: 1_000,
        };
        let entries = self.store.scoped(tenant).audit_log(&filter).await?;
        let last_choice = entries.iter().find(|entry| {
            matches!(entry.action, AuditAction::Activate | AuditAction::Rollback | AuditAction::Deactivate)
        });
        Ok(last_choice.is_some_and(|entry| entry.actor == MANIFEST_ACTOR))
    }
}
