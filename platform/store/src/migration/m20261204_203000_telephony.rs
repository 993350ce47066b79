//! Telephony tables: calls, their append-only events, call-to-request links,
//! and the agents and locations that answer calls.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(calls()).await?;
        manager.create_table(call_events()).await?;
        manager.create_table(call_links()).await?;
        manager.create_table(locations()).await?;
        manager.create_table(agents()).await?;

        let indexes = [
            unique_index("telephony_calls_tenant_call", TelephonyCalls::Table, &[TelephonyCalls::TenantId, TelephonyCalls::CallId]),
            index("telephony_calls_tenant_started", TelephonyCalls::Table, &[TelephonyCalls::TenantId, TelephonyCalls::StartedAt]),
            index("telephony_calls_tenant_from", TelephonyCalls::Table, &[TelephonyCalls::TenantId, TelephonyCalls::FromNumber]),
            unique_index(
                "telephony_call_events_tenant_dedup",
                TelephonyCallEvents::Table,
                &[TelephonyCallEvents::TenantId, TelephonyCallEvents::DedupKey],
            ),
            index(
                "telephony_call_events_tenant_call",
                TelephonyCallEvents::Table,
                &[TelephonyCallEvents::TenantId, TelephonyCallEvents::CallId],
            ),
            unique_index(
                "telephony_call_links_tenant_call_request",
                TelephonyCallLinks::Table,
                &[TelephonyCallLinks::TenantId, TelephonyCallLinks::CallId, TelephonyCallLinks::RequestId],
            ),
            unique_index("telephony_locations_tenant_code", TelephonyLocations::Table, &[TelephonyLocations::TenantId, TelephonyLocations::Code]),
            unique_index("telephony_agents_tenant_code", TelephonyAgents::Table, &[TelephonyAgents::TenantId, TelephonyAgents::Code]),
        ];
        for statement in indexes {
            manager.create_index(statement).await?;
        }

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TelephonyAgents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TelephonyLocations::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TelephonyCallLinks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TelephonyCallEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(TelephonyCalls::Table).to_owned()).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn index<T: Iden + Copy + 'static, C: Iden + Copy + 'static>(name: &str, table: T, columns: &[C]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(*column);
    }
    statement.to_owned()
}

fn unique_index<T: Iden + Copy + 'static, C: Iden + Copy + 'static>(name: &str, table: T, columns: &[C]) -> IndexCreateStatement {
    let mut statement = index(name, table, columns);
    statement.unique();
    statement
}

fn tenant_key(table: impl Iden + 'static, column: impl Iden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn calls() -> TableCreateStatement {
    Table::create()
        .table(TelephonyCalls::Table)
        .col(ColumnDef::new(TelephonyCalls::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(TelephonyCalls::TenantId).big_integer().not_null())
        .col(ColumnDef::new(TelephonyCalls::CallId).string().not_null())
        .col(ColumnDef::new(TelephonyCalls::Provider).string().not_null())
        .col(ColumnDef::new(TelephonyCalls::FromNumber).string().null())
        .col(ColumnDef::new(TelephonyCalls::StartedAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(TelephonyCalls::EndedAt).timestamp_with_time_zone().null())
        .col(ColumnDef::new(TelephonyCalls::Outcome).string().not_null())
        .col(ColumnDef::new(TelephonyCalls::SummaryJson).text().not_null())
        .col(ColumnDef::new(TelephonyCalls::LinkedRequests).big_integer().not_null().default(0))
        .col(ColumnDef::new(TelephonyCalls::Revision).big_integer().not_null().default(0))
        .foreign_key(&mut tenant_key(TelephonyCalls::Table, TelephonyCalls::TenantId))
        .to_owned()
}

fn call_events() -> TableCreateStatement {
    Table::create()
        .table(TelephonyCallEvents::Table)
        .col(ColumnDef::new(TelephonyCallEvents::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(TelephonyCallEvents::TenantId).big_integer().not_null())
        .col(ColumnDef::new(TelephonyCallEvents::CallId).string().not_null())
        .col(ColumnDef::new(TelephonyCallEvents::DedupKey).string().not_null())
        .col(ColumnDef::new(TelephonyCallEvents::Kind).string().not_null())
        .col(ColumnDef::new(TelephonyCallEvents::Sequence).big_integer().null())
        .col(ColumnDef::new(TelephonyCallEvents::OccurredAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(TelephonyCallEvents::ReceivedAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(TelephonyCallEvents::DetailJson).text().not_null())
        .foreign_key(&mut tenant_key(TelephonyCallEvents::Table, TelephonyCallEvents::TenantId))
        .to_owned()
}

fn call_links() -> TableCreateStatement {
    Table::create()
        .table(TelephonyCallLinks::Table)
        .col(ColumnDef::new(TelephonyCallLinks::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(TelephonyCallLinks::TenantId).big_integer().not_null())
        .col(ColumnDef::new(TelephonyCallLinks::CallId).string().not_null())
        .col(ColumnDef::new(TelephonyCallLinks::RequestId).string().not_null())
        .col(ColumnDef::new(TelephonyCallLinks::Relation).string().not_null())
        .col(ColumnDef::new(TelephonyCallLinks::Actor).string().null())
        .col(ColumnDef::new(TelephonyCallLinks::LinkedAt).timestamp_with_time_zone().not_null())
        .foreign_key(&mut tenant_key(TelephonyCallLinks::Table, TelephonyCallLinks::TenantId))
        .to_owned()
}

fn locations() -> TableCreateStatement {
    Table::create()
        .table(TelephonyLocations::Table)
        .col(ColumnDef::new(TelephonyLocations::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(TelephonyLocations::TenantId).big_integer().not_null())
        .col(ColumnDef::new(TelephonyLocations::Code).string().not_null())
        .col(ColumnDef::new(TelephonyLocations::Name).string().not_null())
        .foreign_key(&mut tenant_key(TelephonyLocations::Table, TelephonyLocations::TenantId))
        .to_owned()
}

fn agents() -> TableCreateStatement {
    Table::create()
        .table(TelephonyAgents::Table)
        .col(ColumnDef::new(TelephonyAgents::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(TelephonyAgents::TenantId).big_integer().not_null())
        .col(ColumnDef::new(TelephonyAgents::Code).string().not_null())
        .col(ColumnDef::new(TelephonyAgents::Name).string().not_null())
        .col(ColumnDef::new(TelephonyAgents::LocationCode).string().not_null())
        .col(ColumnDef::new(TelephonyAgents::RingcentralExtension).string().null())
        .foreign_key(&mut tenant_key(TelephonyAgents::Table, TelephonyAgents::TenantId))
        .to_owned()
}

#[derive(DeriveIden, Clone, Copy)]
enum TelephonyCalls {
    Table,
    Id,
    TenantId,
    CallId,
    Provider,
    FromNumber,
    StartedAt,
    EndedAt,
    Outcome,
    SummaryJson,
    LinkedRequests,
    Revision,
}

#[derive(DeriveIden, Clone, Copy)]
enum TelephonyCallEvents {
    Table,
    Id,
    TenantId,
    CallId,
    DedupKey,
    Kind,
    Sequence,
    OccurredAt,
    ReceivedAt,
    DetailJson,
}

#[derive(DeriveIden, Clone, Copy)]
enum TelephonyCallLinks {
    Table,
    Id,
    TenantId,
    CallId,
    RequestId,
    Relation,
    Actor,
    LinkedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum TelephonyLocations {
    Table,
    Id,
    TenantId,
    Code,
    Name,
}

#[derive(DeriveIden, Clone, Copy)]
enum TelephonyAgents {
    Table,
    Id,
    TenantId,
    Code,
    Name,
    LocationCode,
    RingcentralExtension,
}

/// The tenants table, created by the first migration.
#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
}
