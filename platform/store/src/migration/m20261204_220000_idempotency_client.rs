//! Scopes idempotency keys to the client that sent them, so two
//! applications that pick the same `Idempotency-Key` each get their own
//! request. Also stores a fingerprint of the request payload, so a reused
//! key with a different payload can be rejected.
//!
//! Requests stored before this migration keep their key with the empty
//! client and no fingerprint. A retry of such a request from an
//! authenticated client therefore creates a new request.

use sea_orm_migration::prelude::*;

const OLD_INDEX: &str = "service_requests_tenant_idempotency_key";
const NEW_INDEX: &str = "service_requests_tenant_client_idempotency_key";

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ServiceRequests as R;

        // SQLite adds one column per ALTER TABLE statement.
        manager
            .alter_table(Table::alter().table(R::Table).add_column(ColumnDef::new(R::IdempotencyClient).string().null()).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(R::Table).add_column(ColumnDef::new(R::PayloadFingerprint).string().null()).to_owned())
            .await?;

        let backfill = Query::update()
            .table(R::Table)
            .value(R::IdempotencyClient, "")
            .and_where(Expr::col(R::IdempotencyKey).is_not_null())
            .to_owned();
        manager.exec_stmt(backfill).await?;

        manager.drop_index(Index::drop().name(OLD_INDEX).table(R::Table).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name(NEW_INDEX)
                    .table(R::Table)
                    .col(R::TenantId)
                    .col(R::IdempotencyClient)
                    .col(R::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ServiceRequests as R;

        manager.drop_index(Index::drop().name(NEW_INDEX).table(R::Table).to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name(OLD_INDEX)
                    .table(R::Table)
                    .col(R::TenantId)
                    .col(R::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(R::Table).drop_column(R::PayloadFingerprint).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(R::Table).drop_column(R::IdempotencyClient).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum ServiceRequests {
    Table,
    TenantId,
    IdempotencyKey,
    IdempotencyClient,
    PayloadFingerprint,
}
