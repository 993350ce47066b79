//! Civic311 storage on SQLite (default, WAL mode) or PostgreSQL via sea-orm.
//!
//! Tenant-owned rows are reachable only through [`TenantStore`], which is
//! built from a [`TenantId`] and adds the tenant to every query it runs.

mod error;
mod model;

pub use error::StoreError;
pub use model::*;

use chrono::{DateTime, Utc};
use civic311_domain::manifest::TenantManifest;
use civic311_domain::SubStatus;

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
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and runs migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        todo!("{url}")
    }

    pub fn backend(&self) -> Backend {
        todo!()
    }

    /// Creates or updates the tenant from a validated manifest; idempotent.
    pub async fn apply_tenant(&self, manifest: &TenantManifest) -> Result<(TenantRecord, ApplyOutcome), StoreError> {
        todo!("{manifest:?}")
    }

    pub async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        todo!()
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<TenantRecord>, StoreError> {
        todo!("{slug}")
    }

    pub async fn tenant_by_jurisdiction(&self, jurisdiction_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        todo!("{jurisdiction_id}")
    }

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
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    /// Creates an API key and returns its secret, which is not stored.
    pub async fn create_api_key(&self, name: &str) -> Result<(ApiKeyRecord, String), StoreError> {
        todo!("{name}")
    }

    /// Finds the key whose secret is `secret`, comparing hashes.
    pub async fn verify_api_key(&self, secret: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        todo!("{secret}")
    }

    /// Inserts a request and its history in one transaction. With an
    /// idempotency key already used by this tenant, returns the first request.
    pub async fn create_request(&self, new: NewServiceRequest) -> Result<ServiceRequest, StoreError> {
        todo!("{new:?}")
    }

    /// Inserts a historical request unless one with the same source id exists.
    pub async fn import_request(&self, new: NewServiceRequest) -> Result<ImportOutcome, StoreError> {
        todo!("{new:?}")
    }

    pub async fn request(&self, id: &str) -> Result<Option<ServiceRequest>, StoreError> {
        todo!("{id}")
    }

    pub async fn request_by_token(&self, token: &str) -> Result<Option<ServiceRequest>, StoreError> {
        todo!("{token}")
    }

    pub async fn query_requests(&self, query: &RequestQuery) -> Result<Page<ServiceRequest>, StoreError> {
        todo!("{query:?}")
    }

    /// Returns the request's history, oldest first.
    pub async fn history(&self, request_id: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        todo!("{request_id}")
    }

    pub async fn append_history(&self, request_id: &str, event: NewHistoryEvent) -> Result<HistoryEvent, StoreError> {
        todo!("{request_id} {event:?}")
    }

    /// Changes the sub-status, sets `closed_at` when it closes, and appends a
    /// `status_changed` history entry, all in one transaction.
    pub async fn change_status(
        &self,
        request_id: &str,
        sub_status: SubStatus,
        note: Option<String>,
        actor: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<ServiceRequest, StoreError> {
        todo!("{request_id} {sub_status} {note:?} {actor:?} {at}")
    }

    /// Returns photo `index` (from 1) of a request.
    pub async fn photo(&self, request_id: &str, index: u32) -> Result<Option<Photo>, StoreError> {
        todo!("{request_id} {index}")
    }

    /// Closes `request_id` as a duplicate of `parent_id`: sets the parent link and
    /// `closed_duplicate`, and appends history to both requests. Both must exist
    /// and belong to this tenant, and a request cannot be its own parent.
    pub async fn mark_duplicate(
        &self,
        request_id: &str,
        parent_id: &str,
        actor: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<ServiceRequest, StoreError> {
        todo!("{request_id} {parent_id} {actor:?} {at}")
    }

    /// Lists open requests of the same service within `radius_meters` of the
    /// request's point, nearest first, excluding the request itself.
    pub async fn duplicate_candidates(&self, request_id: &str, radius_meters: f64) -> Result<Vec<ServiceRequest>, StoreError> {
        todo!("{request_id} {radius_meters}")
    }

    /// Computes volume and time-to-close figures for requests received in the range.
    pub async fn stats(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<RequestStats, StoreError> {
        todo!("{from:?} {to:?}")
    }
}
