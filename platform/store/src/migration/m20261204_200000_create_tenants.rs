//! Platform tables: tenants, their request counters and their API keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(tenants()).await?;
        manager.create_table(request_counters()).await?;
        manager.create_table(api_keys()).await?;

        manager
            .create_index(
                Index::create()
                    .name("api_keys_tenant_key_hash")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::TenantId)
                    .col(ApiKeys::KeyHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RequestCounters::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Tenants::Table).to_owned()).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn tenants() -> TableCreateStatement {
    Table::create()
        .table(Tenants::Table)
        .col(ColumnDef::new(Tenants::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(Tenants::Slug).string().not_null().unique_key())
        .col(ColumnDef::new(Tenants::JurisdictionId).string().not_null().unique_key())
        .col(ColumnDef::new(Tenants::ManifestJson).text().not_null())
        .col(ColumnDef::new(Tenants::ServicesJson).text().not_null())
        .col(ColumnDef::new(Tenants::CreatedAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(Tenants::UpdatedAt).timestamp_with_time_zone().not_null())
        .to_owned()
}

fn request_counters() -> TableCreateStatement {
    Table::create()
        .table(RequestCounters::Table)
        .col(ColumnDef::new(RequestCounters::TenantId).big_integer().not_null().primary_key())
        .col(ColumnDef::new(RequestCounters::NextNumber).big_integer().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(RequestCounters::Table, RequestCounters::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn api_keys() -> TableCreateStatement {
    Table::create()
        .table(ApiKeys::Table)
        .col(ColumnDef::new(ApiKeys::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(ApiKeys::TenantId).big_integer().not_null())
        .col(ColumnDef::new(ApiKeys::Name).string().not_null())
        .col(ColumnDef::new(ApiKeys::KeyHash).string().not_null())
        .col(ColumnDef::new(ApiKeys::CreatedAt).timestamp_with_time_zone().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(ApiKeys::Table, ApiKeys::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Slug,
    JurisdictionId,
    ManifestJson,
    ServicesJson,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RequestCounters {
    Table,
    TenantId,
    NextNumber,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    Name,
    KeyHash,
    CreatedAt,
}
