//! Tenant-owned request tables: service requests, their photos and history.
//!
//! Every table carries `tenant_id`, and every index leads with it, so each
//! tenant-scoped query can use an index and unique keys hold per tenant.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(service_requests()).await?;
        manager.create_table(request_photos()).await?;
        manager.create_table(request_history()).await?;

        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RequestHistory::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(RequestPhotos::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ServiceRequests::Table).to_owned()).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn service_requests() -> TableCreateStatement {
    use ServiceRequests as R;

    Table::create()
        .table(R::Table)
        .col(ColumnDef::new(R::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(R::TenantId).big_integer().not_null())
        .col(ColumnDef::new(R::PublicId).string().not_null())
        .col(ColumnDef::new(R::Token).string().null())
        .col(ColumnDef::new(R::ServiceCode).string().not_null())
        .col(ColumnDef::new(R::ServiceName).string().not_null())
        .col(ColumnDef::new(R::Description).text().not_null())
        .col(ColumnDef::new(R::Lat).double().null())
        .col(ColumnDef::new(R::Long).double().null())
        .col(ColumnDef::new(R::Address).string().null())
        .col(ColumnDef::new(R::AddressId).string().null())
        .col(ColumnDef::new(R::Zipcode).string().null())
        .col(ColumnDef::new(R::MediaUrl).string().null())
        .col(ColumnDef::new(R::AttributesJson).text().not_null())
        .col(ColumnDef::new(R::ContactFirstName).string().null())
        .col(ColumnDef::new(R::ContactLastName).string().null())
        .col(ColumnDef::new(R::ContactEmail).string().null())
        .col(ColumnDef::new(R::ContactPhone).string().null())
        .col(ColumnDef::new(R::ContactDeviceId).string().null())
        .col(ColumnDef::new(R::ContactAccountId).string().null())
        .col(ColumnDef::new(R::Channel).string().not_null())
        .col(ColumnDef::new(R::Status).string().not_null())
        .col(ColumnDef::new(R::SubStatus).string().not_null())
        .col(ColumnDef::new(R::Department).string().not_null())
        .col(ColumnDef::new(R::Priority).string().not_null())
        .col(ColumnDef::new(R::Queue).string().null())
        .col(ColumnDef::new(R::Assignee).string().null())
        .col(ColumnDef::new(R::RequestedAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(R::UpdatedAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(R::ExpectedAt).timestamp_with_time_zone().null())
        .col(ColumnDef::new(R::ClosedAt).timestamp_with_time_zone().null())
        .col(ColumnDef::new(R::StatusNotes).text().null())
        .col(ColumnDef::new(R::SourceId).string().null())
        .col(ColumnDef::new(R::CallId).string().null())
        .col(ColumnDef::new(R::IdempotencyKey).string().null())
        .col(ColumnDef::new(R::ParentRequestId).string().null())
        .col(ColumnDef::new(R::PhotoCount).integer().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(R::Table, R::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn request_photos() -> TableCreateStatement {
    use RequestPhotos as P;

    Table::create()
        .table(P::Table)
        .col(ColumnDef::new(P::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(P::TenantId).big_integer().not_null())
        .col(ColumnDef::new(P::RequestId).big_integer().not_null())
        .col(ColumnDef::new(P::Position).integer().not_null())
        .col(ColumnDef::new(P::ContentType).string().not_null())
        .col(ColumnDef::new(P::FileName).string().null())
        .col(ColumnDef::new(P::Bytes).blob().not_null())
        .col(ColumnDef::new(P::CreatedAt).timestamp_with_time_zone().not_null())
        .foreign_key(
            ForeignKey::create()
                .from(P::Table, P::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .from(P::Table, P::RequestId)
                .to(ServiceRequests::Table, ServiceRequests::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn request_history() -> TableCreateStatement {
    use RequestHistory as H;

    Table::create()
        .table(H::Table)
        .col(ColumnDef::new(H::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(H::TenantId).big_integer().not_null())
        .col(ColumnDef::new(H::RequestId).big_integer().not_null())
        .col(ColumnDef::new(H::At).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(H::Kind).string().not_null())
        .col(ColumnDef::new(H::Visibility).string().not_null())
        .col(ColumnDef::new(H::Summary).text().not_null())
        .col(ColumnDef::new(H::DetailJson).text().not_null())
        .col(ColumnDef::new(H::Actor).string().null())
        .foreign_key(
            ForeignKey::create()
                .from(H::Table, H::TenantId)
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .from(H::Table, H::RequestId)
                .to(ServiceRequests::Table, ServiceRequests::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    use ServiceRequests as R;

    let unique_per_tenant = |name: &str, column: R| {
        Index::create()
            .name(name)
            .table(R::Table)
            .col(R::TenantId)
            .col(column)
            .unique()
            .to_owned()
    };

    vec![
        unique_per_tenant("service_requests_tenant_public_id", R::PublicId),
        unique_per_tenant("service_requests_tenant_source_id", R::SourceId),
        unique_per_tenant("service_requests_tenant_token", R::Token),
        unique_per_tenant("service_requests_tenant_idempotency_key", R::IdempotencyKey),
        Index::create()
            .name("service_requests_tenant_requested_at")
            .table(R::Table)
            .col(R::TenantId)
            .col(R::RequestedAt)
            .to_owned(),
        Index::create()
            .name("service_requests_tenant_service_status")
            .table(R::Table)
            .col(R::TenantId)
            .col(R::ServiceCode)
            .col(R::Status)
            .to_owned(),
        Index::create()
            .name("service_requests_tenant_contact_phone")
            .table(R::Table)
            .col(R::TenantId)
            .col(R::ContactPhone)
            .to_owned(),
        Index::create()
            .name("request_photos_tenant_request_position")
            .table(RequestPhotos::Table)
            .col(RequestPhotos::TenantId)
            .col(RequestPhotos::RequestId)
            .col(RequestPhotos::Position)
            .unique()
            .to_owned(),
        Index::create()
            .name("request_history_tenant_request_at")
            .table(RequestHistory::Table)
            .col(RequestHistory::TenantId)
            .col(RequestHistory::RequestId)
            .col(RequestHistory::At)
            .to_owned(),
    ]
}

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ServiceRequests {
    Table,
    Id,
    TenantId,
    PublicId,
    Token,
    ServiceCode,
    ServiceName,
    Description,
    Lat,
    Long,
    Address,
    AddressId,
    Zipcode,
    MediaUrl,
    AttributesJson,
    ContactFirstName,
    ContactLastName,
    ContactEmail,
    ContactPhone,
    ContactDeviceId,
    ContactAccountId,
    Channel,
    Status,
    SubStatus,
    Department,
    Priority,
    Queue,
    Assignee,
    RequestedAt,
    UpdatedAt,
    ExpectedAt,
    ClosedAt,
    StatusNotes,
    SourceId,
    CallId,
    IdempotencyKey,
    ParentRequestId,
    PhotoCount,
}

#[derive(DeriveIden)]
enum RequestPhotos {
    Table,
    Id,
    TenantId,
    RequestId,
    Position,
    ContentType,
    FileName,
    Bytes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RequestHistory {
    Table,
    Id,
    TenantId,
    RequestId,
    At,
    Kind,
    Visibility,
    Summary,
    DetailJson,
    Actor,
}
