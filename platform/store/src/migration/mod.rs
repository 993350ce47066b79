//! Schema migrations, applied in list order by [`crate::Store::connect`].
//!
//! Add a migration as a new `mYYYYMMDD_HHMMSS_name.rs` file and append it to
//! [`Migrator::migrations`]; never edit one that has shipped.

use sea_orm_migration::prelude::*;

mod m20261204_200000_create_tenants;
mod m20261204_200100_create_service_requests;
mod m20261204_203000_telephony;
mod m20261204_213000_api_key_scope;
mod m20261204_220000_idempotency_client;
mod m20261205_000000_plugins;
mod m20261205_020000_platform_metadata;

pub(crate) struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_200000_create_tenants::Migration),
            Box::new(m20261204_200100_create_service_requests::Migration),
            Box::new(m20261204_203000_telephony::Migration),
            Box::new(m20261204_213000_api_key_scope::Migration),
            Box::new(m20261204_220000_idempotency_client::Migration),
            Box::new(m20261205_000000_plugins::Migration),
            Box::new(m20261205_020000_platform_metadata::Migration),
        ]
    }
}
