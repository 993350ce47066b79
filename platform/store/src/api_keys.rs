//! API keys: random secrets of which only the SHA-256 digest is stored,
//! each with the scope of APIs it opens.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use crate::entity::api_key;
use crate::sql::stored_instant;
use crate::{ApiKeyRecord, ApiKeyScope, StoreError, TenantId, TenantStore};

/// Prefix of every secret, so that leaked keys are easy to recognize.
const SECRET_PREFIX: &str = "c311_";
const SECRET_BYTES: usize = 32;

impl TenantStore {
    /// Creates an API key of scope `open311`, the least privilege, and
    /// returns its secret, which is not stored.
    pub async fn create_api_key(&self, name: &str) -> Result<(ApiKeyRecord, String), StoreError> {
        self.create_api_key_with_scope(name, ApiKeyScope::Open311).await
    }

    /// Creates an API key of `scope` and returns its secret, which is not stored.
    ///
    /// The secret is `c311_` followed by 64 hex digits (32 random bytes).
    pub async fn create_api_key_with_scope(&self, name: &str, scope: ApiKeyScope) -> Result<(ApiKeyRecord, String), StoreError> {
        let mut random = [0u8; SECRET_BYTES];
        // The OS random source fails only on a broken system, where no key is safe to issue.
        getrandom::fill(&mut random).expect("the operating system random source failed");
        let secret = format!("{SECRET_PREFIX}{}", hex::encode(random));

        let row = api_key::ActiveModel {
            tenant_id: Set(self.tenant.0),
            name: Set(name.to_string()),
            key_hash: Set(hash_secret(&secret)),
            scope: Set(scope.as_str().to_string()),
            created_at: Set(stored_instant(Utc::now())),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;

        tracing::info!(tenant.id = self.tenant.0, api_key.id = row.id, api_key.scope = %scope, "API key created");
        Ok((decode_api_key(row)?, secret))
    }

    /// Finds the key whose secret is `secret`, comparing hashes. Keys of
    /// other tenants never match.
    pub async fn verify_api_key(&self, secret: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = api_key::Entity::find()
            .filter(api_key::Column::TenantId.eq(self.tenant.0))
            .filter(api_key::Column::KeyHash.eq(hash_secret(secret)))
            .one(&self.db)
            .await?;
        row.map(decode_api_key).transpose()
    }
}

/// Returns the SHA-256 digest of the secret as lowercase hex.
fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn decode_api_key(row: api_key::Model) -> Result<ApiKeyRecord, StoreError> {
    let scope = ApiKeyScope::parse(&row.scope).ok_or_else(|| StoreError::Corrupt {
        what: "API key scope",
        message: format!("key {} has scope '{}', expected open311, staff or admin", row.id, row.scope),
    })?;

    Ok(ApiKeyRecord {
        id: row.id,
        tenant_id: TenantId(row.tenant_id),
        name: row.name,
        scope,
        created_at: row.created_at,
    })
}
