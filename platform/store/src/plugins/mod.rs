//! Storage of the plugin platform: uploaded versions and their artifacts,
//! installs with their audit log, call records, logs, usage, KV, secrets,
//! shadow results and the integration outbox.
//!
//! Tenant-owned rows are reached through [`crate::TenantStore`], which
//! filters on its tenant. A tenant reads its own plugin versions and the
//! catalogue's, never another tenant's private versions. [`crate::Store`]
//! has the platform-level calls: artifacts, the catalogue, usage across
//! tenants, lookups by install id, claiming outbox jobs and the platform
//! metadata values, such as the platform key's fingerprint.

mod audit;
mod calls;
mod entity;
mod installs;
mod jobs;
mod metadata;
mod model;
mod shadow;
mod storage;
mod usage;
mod versions;

use sea_orm::{DbErr, SqlErr};

pub use model::*;

pub(crate) use jobs::insert_pending_jobs;

use crate::{StoreError, TenantId};

/// Entity names used in `NotFound` and `Conflict` errors.
pub(crate) const PLUGIN_VERSION: &str = "plugin version";
pub(crate) const PLUGIN_INSTALL: &str = "plugin install";

/// Returns the `owner_key` column of an owner: its tenant id, or 0 for the catalogue.
fn owner_key(owner: Option<TenantId>) -> i64 {
    owner.map_or(0, |tenant| tenant.0)
}

/// Converts a count or size for a signed column, saturating at `i64::MAX`.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Converts a signed column for the public type; negative values read as 0.
fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Maps a foreign key violation on `(tenant_id, install_id)` to `NotFound`:
/// the install does not exist in this tenant.
fn install_not_found_on_foreign_key(error: DbErr, install: InstallId) -> StoreError {
    if matches!(error.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) {
        return StoreError::NotFound { entity: PLUGIN_INSTALL, id: install.to_string() };
    }
    StoreError::Database(error)
}

fn corrupt(what: &'static str, message: String) -> StoreError {
    StoreError::Corrupt { what, message }
}

fn encode_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Invalid(format!("{what} cannot be stored as JSON: {error}")))
}

fn decode_json<T: serde::de::DeserializeOwned>(what: &'static str, owner: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|error| corrupt(what, format!("{owner}: {error}")))
}

fn parse_text<T>(what: &'static str, owner: &str, value: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|error| corrupt(what, format!("{owner}: {error}")))
}
