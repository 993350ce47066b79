//! Platform-wide values that describe the database itself, one row per
//! name, such as the fingerprint of the platform key that every node on
//! this database must use. The rows belong to no tenant.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PlatformMetadata as M;

        let table = Table::create()
            .table(M::Table)
            .col(ColumnDef::new(M::Name).string().not_null().primary_key())
            .col(ColumnDef::new(M::Value).text().not_null())
            .col(ColumnDef::new(M::CreatedAt).timestamp_with_time_zone().not_null())
            .to_owned();
        manager.create_table(table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PlatformMetadata::Table).to_owned()).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PlatformMetadata {
    Table,
    Name,
    Value,
    CreatedAt,
}
