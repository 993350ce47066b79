//! Platform-wide values that describe the database, such as the platform
//! key's fingerprint. They belong to no tenant, so only [`Store`] reads
//! and writes them.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};

use super::entity::platform_metadata;
use crate::sql::stored_instant;
use crate::{Store, StoreError};

impl Store {
    /// Returns the platform value stored under `name`, or none.
    pub async fn platform_value(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = platform_metadata::Entity::find_by_id(name.to_string()).one(&self.db).await?;
        Ok(row.map(|row| row.value))
    }

    /// Stores `value` under `name` unless a value is already stored there,
    /// and returns the stored value, which is `value` or the earlier one.
    /// When two processes call this at once, both return the value of the
    /// one whose insert won.
    pub async fn insert_platform_value_if_absent(&self, name: &str, value: &str, at: DateTime<Utc>) -> Result<String, StoreError> {
        let row = platform_metadata::ActiveModel {
            name: Set(name.to_string()),
            value: Set(value.to_string()),
            created_at: Set(stored_instant(at)),
        };
        let keep_existing = OnConflict::column(platform_metadata::Column::Name).do_nothing().to_owned();
        platform_metadata::Entity::insert(row)
            .on_conflict(keep_existing)
            .exec_without_returning(&self.db)
            .await?;

        self.platform_value(name).await?.ok_or_else(|| StoreError::Corrupt {
            what: "platform metadata",
            message: format!("value '{name}' was not found right after its insert; check what deletes platform_metadata rows"),
        })
    }
}
