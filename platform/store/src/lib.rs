//! Civic311 storage on SQLite (default, WAL mode) or PostgreSQL via sea-orm.
//!
//! Tenant-owned rows are reachable only through [`TenantStore`], which is
//! built from a [`TenantId`] and adds the tenant to every query it runs.
//! The sea-orm entities are private, so no caller can build an unscoped query.

mod api_keys;
mod connect;
mod entity;
mod error;
mod migration;
mod model;
mod plugins;
mod requests;
mod sql;
mod tenants;
pub mod telephony;

#[doc(hidden)]
pub mod test_support;

pub use error::StoreError;
pub use model::*;
pub use plugins::*;

/// Which database engine a [`Store`] is connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The platform's database. Platform-level tables (tenants, API key lookup)
/// are reached here; tenant-owned data through [`Store::scoped`].
#[derive(Clone)]
pub struct Store {
    db: sea_orm::DatabaseConnection,
}

impl Store {
    /// Returns the only handle that reads or writes the tenant's rows.
    pub fn scoped(&self, tenant: TenantId) -> TenantStore {
        TenantStore { db: self.db.clone(), tenant }
    }
}

/// Access to one tenant's rows. Every query it runs filters on its tenant id.
#[derive(Clone)]
pub struct TenantStore {
    db: sea_orm::DatabaseConnection,
    tenant: TenantId,
}

impl TenantStore {
    /// Returns the tenant whose rows this handle reads and writes.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }
}
