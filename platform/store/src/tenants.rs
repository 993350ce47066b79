//! Tenants: applying manifests and looking tenants up.

use chrono::Utc;
use civic311_domain::manifest::{ServiceSpec, TenantManifest};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::{request_counter, tenant};
use crate::sql::{begin_write, is_unique_violation, stored_instant};
use crate::{ApplyOutcome, Store, StoreError, TenantId, TenantRecord};

/// The first public request number of a new tenant.
pub(crate) const FIRST_REQUEST_NUMBER: i64 = 1001;

/// The manifest as it is stored: the tenant part and the services, both JSON.
struct StoredManifest {
    manifest_json: String,
    services_json: String,
}

impl Store {
    /// Creates or updates the tenant from a validated manifest; idempotent.
    ///
    /// The tenant is found by slug. A manifest equal to the stored one
    /// changes nothing and returns [`ApplyOutcome::Unchanged`].
    pub async fn apply_tenant(&self, manifest: &TenantManifest) -> Result<(TenantRecord, ApplyOutcome), StoreError> {
        let stored = encode_manifest(manifest)?;
        let now = stored_instant(Utc::now());
        let txn = begin_write(&self.db).await?;

        let existing = tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(&manifest.slug))
            .one(&txn)
            .await?;

        let (row, outcome) = match existing {
            None => (insert_tenant(&txn, manifest, stored, now).await, ApplyOutcome::Created),
            Some(row) if row.manifest_json == stored.manifest_json && row.services_json == stored.services_json => {
                (Ok(row), ApplyOutcome::Unchanged)
            }
            Some(row) => (update_tenant(&txn, row, manifest, stored, now).await, ApplyOutcome::Updated),
        };

        let row = row.map_err(|error| jurisdiction_conflict(error, manifest))?;
        txn.commit().await?;

        tracing::info!(tenant.id = row.id, tenant.slug = %row.slug, outcome = ?outcome, "tenant manifest applied");
        Ok((decode_tenant(row)?, outcome))
    }

    /// Lists every tenant, ordered by slug.
    pub async fn tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let rows = tenant::Entity::find()
            .order_by_asc(tenant::Column::Slug)
            .all(&self.db)
            .await?;
        rows.into_iter().map(decode_tenant).collect()
    }

    /// Finds the tenant with the slug used in URLs and commands.
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<TenantRecord>, StoreError> {
        let row = tenant::Entity::find()
            .filter(tenant::Column::Slug.eq(slug))
            .one(&self.db)
            .await?;
        row.map(decode_tenant).transpose()
    }

    /// Finds the tenant of an Open311 `jurisdiction_id`.
    pub async fn tenant_by_jurisdiction(&self, jurisdiction_id: &str) -> Result<Option<TenantRecord>, StoreError> {
        let row = tenant::Entity::find()
            .filter(tenant::Column::JurisdictionId.eq(jurisdiction_id))
            .one(&self.db)
            .await?;
        row.map(decode_tenant).transpose()
    }
}

async fn insert_tenant(
    txn: &sea_orm::DatabaseTransaction,
    manifest: &TenantManifest,
    stored: StoredManifest,
    now: chrono::DateTime<Utc>,
) -> Result<tenant::Model, sea_orm::DbErr> {
    let row = tenant::ActiveModel {
        slug: Set(manifest.slug.clone()),
        jurisdiction_id: Set(manifest.jurisdiction_id.clone()),
        manifest_json: Set(stored.manifest_json),
        services_json: Set(stored.services_json),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;

    request_counter::ActiveModel {
        tenant_id: Set(row.id),
        next_number: Set(FIRST_REQUEST_NUMBER),
    }
    .insert(txn)
    .await?;

    Ok(row)
}

async fn update_tenant(
    txn: &sea_orm::DatabaseTransaction,
    row: tenant::Model,
    manifest: &TenantManifest,
    stored: StoredManifest,
    now: chrono::DateTime<Utc>,
) -> Result<tenant::Model, sea_orm::DbErr> {
    let mut active: tenant::ActiveModel = row.into();
    active.jurisdiction_id = Set(manifest.jurisdiction_id.clone());
    active.manifest_json = Set(stored.manifest_json);
    active.services_json = Set(stored.services_json);
    active.updated_at = Set(now);
    active.update(txn).await
}

/// Turns a unique-key violation into an error that names the jurisdiction.
/// The slug cannot collide because the transaction looked it up first, unless
/// a concurrent apply created the same tenant.
fn jurisdiction_conflict(error: sea_orm::DbErr, manifest: &TenantManifest) -> StoreError {
    if is_unique_violation(&error) {
        return StoreError::Invalid(format!(
            "tenant '{}' cannot use jurisdiction_id '{}': another tenant has it, or the tenant was created concurrently; \
             choose a different jurisdiction_id or apply the manifest again",
            manifest.slug, manifest.jurisdiction_id
        ));
    }
    StoreError::Database(error)
}

fn encode_manifest(manifest: &TenantManifest) -> Result<StoredManifest, StoreError> {
    let encode_error = |error: serde_json::Error| StoreError::Invalid(format!(
        "tenant manifest '{}' cannot be stored as JSON: {error}",
        manifest.slug
    ));

    Ok(StoredManifest {
        manifest_json: serde_json::to_string(manifest).map_err(encode_error)?,
        services_json: serde_json::to_string(&manifest.services).map_err(encode_error)?,
    })
}

fn decode_tenant(row: tenant::Model) -> Result<TenantRecord, StoreError> {
    let corrupt = |error: serde_json::Error| StoreError::Corrupt {
        what: "tenant manifest",
        message: format!("tenant '{}': {error}; apply the manifest again", row.slug),
    };

    let mut manifest: TenantManifest = serde_json::from_str(&row.manifest_json).map_err(corrupt)?;
    let services: Vec<ServiceSpec> = serde_json::from_str(&row.services_json).map_err(corrupt)?;
    manifest.services = services;

    Ok(TenantRecord {
        id: TenantId(row.id),
        slug: row.slug,
        jurisdiction_id: row.jurisdiction_id,
        manifest,
        updated_at: row.updated_at,
    })
}
