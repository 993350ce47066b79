//! The tenants the server knows, with what each request needs at hand:
//! manifest, business calendar and loaded router plugin.

use std::sync::Arc;

use civic311_domain::manifest::TenantManifest;
use civic311_domain::sla::BusinessCalendar;
use civic311_plugin_host::LoadedPlugin;
use civic311_store::{TenantId, TenantStore};

/// One applied tenant, ready to serve requests.
pub struct TenantContext {
    pub id: TenantId,
    pub manifest: TenantManifest,
    pub calendar: BusinessCalendar,
    /// The router plugin; `None` when the manifest names none, so the
    /// service's default department always applies.
    pub router: Option<LoadedPlugin>,
    /// Tenant-scoped storage handle.
    pub store: TenantStore,
}

/// In-memory view of every applied tenant, looked up by slug or jurisdiction id.
pub struct TenantRegistry {}

impl TenantRegistry {
    pub fn by_slug(&self, slug: &str) -> Option<Arc<TenantContext>> {
        todo!("{slug}")
    }

    pub fn by_jurisdiction(&self, jurisdiction_id: &str) -> Option<Arc<TenantContext>> {
        todo!("{jurisdiction_id}")
    }

    /// Lists every tenant, ordered by slug.
    pub fn all(&self) -> Vec<Arc<TenantContext>> {
        todo!()
    }
}
