//! Adoption of the router plugin that a tenant manifest names, so that
//! `tenant apply` and `serve` put manifest routers under the same lifecycle
//! as uploaded ones.

use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_store::TenantId;

use super::install::{InstallRequest, PluginSource};
use super::upload::Upload;
use crate::error::ManagerError;
use crate::manager::PluginManager;

/// Actor recorded in the audit log for changes made from a tenant manifest.
pub const MANIFEST_ACTOR: &str = "manifest";

impl PluginManager {
    /// Uploads `wasm` as a version of the tenant's plugin `name`, where the
    /// same bytes return the existing version, and creates the router
    /// install when it is missing. The version is activated only when the
    /// tenant has no active router, so an admin's activation or rollback stays in effect.
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
        let router_active = installs
            .iter()
            .any(|install| install.hook == Hook::Router && install.active_version.is_some());
        if !router_active {
            self.activate(
                tenant,
                Hook::Router,
                name,
                uploaded.version.version,
                MANIFEST_ACTOR,
            )
            .await?;
        }
        Ok(())
    }
}
