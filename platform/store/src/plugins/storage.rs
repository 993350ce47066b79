//! Per-install key-value entries and sealed secrets. Secrets are stored as
//! the vault sealed them. The store never decrypts one, and only
//! `secret_ciphertext` returns the sealed bytes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::{kv, secret};
use super::{install_not_found_on_foreign_key, InstallId, SealedSecret, SecretName};
use crate::sql::stored_instant;
use crate::{StoreError, TenantStore};

impl TenantStore {
    /// Returns the value of `key` in the install's KV store.
    pub async fn kv_get(&self, install: InstallId, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = kv::Entity::find()
            .select_only()
            .column(kv::Column::Value)
            .filter(kv::Column::TenantId.eq(self.tenant.0))
            .filter(kv::Column::InstallId.eq(install.0))
            .filter(kv::Column::Key.eq(key))
            .into_tuple::<Vec<u8>>()
            .one(&self.db)
            .await?;
        Ok(value)
    }

    /// Sets `key` to `value` in the install's KV store. The host enforces
    /// the key and value size limits. Fails with `NotFound` for an install
    /// that is not the tenant's.
    pub async fn kv_set(&self, install: InstallId, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let row = kv::ActiveModel {
            install_id: Set(install.0),
            tenant_id: Set(self.tenant.0),
            key: Set(key.to_string()),
            value: Set(value.to_vec()),
        };
        let on_conflict = OnConflict::columns([kv::Column::TenantId, kv::Column::InstallId, kv::Column::Key])
            .update_column(kv::Column::Value)
            .to_owned();

        kv::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await
            .map_err(|error| install_not_found_on_foreign_key(error, install))?;
        Ok(())
    }

    /// Deletes `key` from the install's KV store; returns whether it existed.
    pub async fn kv_delete(&self, install: InstallId, key: &str) -> Result<bool, StoreError> {
        let deleted = kv::Entity::delete_many()
            .filter(kv::Column::TenantId.eq(self.tenant.0))
            .filter(kv::Column::InstallId.eq(install.0))
            .filter(kv::Column::Key.eq(key))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected > 0)
    }

    /// Lists the keys of the install's KV store in order.
    pub async fn kv_keys(&self, install: InstallId) -> Result<Vec<String>, StoreError> {
        let keys = kv::Entity::find()
            .select_only()
            .column(kv::Column::Key)
            .filter(kv::Column::TenantId.eq(self.tenant.0))
            .filter(kv::Column::InstallId.eq(install.0))
            .order_by_asc(kv::Column::Key)
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        Ok(keys)
    }

    /// Stores the sealed secret `name` of the install, replacing an earlier
    /// value. Fails with `NotFound` for an install that is not the tenant's.
    pub async fn set_secret(&self, install: InstallId, name: &str, sealed: SealedSecret, at: DateTime<Utc>) -> Result<(), StoreError> {
        let row = secret::ActiveModel {
            install_id: Set(install.0),
            tenant_id: Set(self.tenant.0),
            name: Set(name.to_string()),
            ciphertext: Set(sealed.ciphertext),
            nonce: Set(sealed.nonce),
            updated_at: Set(stored_instant(at)),
        };
        let on_conflict = OnConflict::columns([secret::Column::TenantId, secret::Column::InstallId, secret::Column::Name])
            .update_columns([secret::Column::Ciphertext, secret::Column::Nonce, secret::Column::UpdatedAt])
            .to_owned();

        secret::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await
            .map_err(|error| install_not_found_on_foreign_key(error, install))?;

        tracing::info!(tenant.id = self.tenant.0, install.id = install.0, secret.name = %name, "plugin secret stored");
        Ok(())
    }

    /// Deletes the secret `name` of the install; returns whether it existed.
    pub async fn delete_secret(&self, install: InstallId, name: &str) -> Result<bool, StoreError> {
        let deleted = secret::Entity::delete_many()
            .filter(secret::Column::TenantId.eq(self.tenant.0))
            .filter(secret::Column::InstallId.eq(install.0))
            .filter(secret::Column::Name.eq(name))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected > 0)
    }

    /// Lists the names of the install's secrets, without their values.
    pub async fn secret_names(&self, install: InstallId) -> Result<Vec<SecretName>, StoreError> {
        let rows = secret::Entity::find()
            .select_only()
            .column(secret::Column::Name)
            .column(secret::Column::UpdatedAt)
            .filter(secret::Column::TenantId.eq(self.tenant.0))
            .filter(secret::Column::InstallId.eq(install.0))
            .order_by_asc(secret::Column::Name)
            .into_tuple::<(String, DateTime<Utc>)>()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|(name, updated_at)| SecretName { name, updated_at }).collect())
    }

    /// Lists the install's secrets with their sealed values, in one query,
    /// for the vault to check which ones it can still decrypt.
    pub async fn sealed_secrets(&self, install: InstallId) -> Result<Vec<(SecretName, SealedSecret)>, StoreError> {
        let rows = secret::Entity::find()
            .filter(secret::Column::TenantId.eq(self.tenant.0))
            .filter(secret::Column::InstallId.eq(install.0))
            .order_by_asc(secret::Column::Name)
            .all(&self.db)
            .await?;

        let secrets = rows
            .into_iter()
            .map(|row| {
                let name = SecretName { name: row.name, updated_at: row.updated_at };
                (name, SealedSecret { ciphertext: row.ciphertext, nonce: row.nonce })
            })
            .collect();
        Ok(secrets)
    }

    /// Returns the sealed secret `name` of the install, for the vault to decrypt.
    pub async fn secret_ciphertext(&self, install: InstallId, name: &str) -> Result<Option<SealedSecret>, StoreError> {
        let row = secret::Entity::find()
            .filter(secret::Column::TenantId.eq(self.tenant.0))
            .filter(secret::Column::InstallId.eq(install.0))
            .filter(secret::Column::Name.eq(name))
            .one(&self.db)
            .await?;
        Ok(row.map(|row| SealedSecret { ciphertext: row.ciphertext, nonce: row.nonce }))
    }
}
