//! Plugin platform tables: uploaded versions and their precompiled
//! artifacts, installs with their audit log, call records, logs, usage,
//! KV, secrets and shadow results, and the integration outbox.
//!
//! Every row that belongs to an install carries both `tenant_id` and
//! `install_id`, and a foreign key on the pair points at the install's
//! `(tenant_id, id)`. The database therefore rejects a row that names
//! another tenant's install, even if a query forgot to check.
//!
//! The primary keys of `plugin_kv` and `plugin_secrets` lead with
//! `tenant_id`, so an upsert that names another tenant's install cannot
//! match that tenant's row and fails on the foreign key instead.
//!
//! A unique index treats NULLs as distinct on both SQLite and PostgreSQL,
//! so `plugin_versions` keeps `owner_key`, the owner's tenant id or 0 for
//! the platform catalogue, to make version numbers and digests unique for
//! catalogue plugins too.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(plugin_versions()).await?;
        manager.create_table(plugin_artifacts()).await?;
        manager.create_table(plugin_installs()).await?;

        // PostgreSQL needs the unique key before a foreign key can point at it.
        for statement in install_indexes() {
            manager.create_index(statement).await?;
        }

        for table in install_tables() {
            manager.create_table(table).await?;
        }
        for statement in indexes() {
            manager.create_index(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 12] = [
            IntegrationRecords::Table.into_iden(),
            IntegrationJobs::Table.into_iden(),
            PluginShadowResults::Table.into_iden(),
            PluginUsage::Table.into_iden(),
            PluginLogs::Table.into_iden(),
            PluginSecrets::Table.into_iden(),
            PluginKv::Table.into_iden(),
            PluginCalls::Table.into_iden(),
            PluginAudit::Table.into_iden(),
            PluginInstalls::Table.into_iden(),
            PluginArtifacts::Table.into_iden(),
            PluginVersions::Table.into_iden(),
        ];
        for table in tables {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

fn tenant_key(table: impl Iden + 'static, column: impl Iden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Builds the foreign key from `(tenant_id, install_id)` to the install's `(tenant_id, id)`.
fn install_key(table: impl Iden + Copy + 'static, tenant: impl Iden + 'static, install: impl Iden + 'static) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(tenant)
        .from_col(install)
        .to_tbl(PluginInstalls::Table)
        .to_col(PluginInstalls::TenantId)
        .to_col(PluginInstalls::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn version_key(column: PluginInstalls) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(PluginInstalls::Table, column)
        .to(PluginVersions::Table, PluginVersions::Id)
        .to_owned()
}

fn plugin_versions() -> TableCreateStatement {
    use PluginVersions as V;

    Table::create()
        .table(V::Table)
        .col(ColumnDef::new(V::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(V::OwnerTenantId).big_integer().null())
        .col(ColumnDef::new(V::OwnerKey).big_integer().not_null())
        .col(ColumnDef::new(V::Name).string().not_null())
        .col(ColumnDef::new(V::Version).integer().not_null())
        .col(ColumnDef::new(V::Hook).string().not_null())
        .col(ColumnDef::new(V::World).string().not_null())
        .col(ColumnDef::new(V::Digest).string().not_null())
        .col(ColumnDef::new(V::SizeBytes).big_integer().not_null())
        .col(ColumnDef::new(V::Capabilities).text().not_null())
        .col(ColumnDef::new(V::Wasm).blob().not_null())
        .col(ColumnDef::new(V::Description).text().not_null())
        .col(ColumnDef::new(V::UploadedBy).string().not_null())
        .col(ColumnDef::new(V::UploadedAt).timestamp_with_time_zone().not_null())
        .foreign_key(&mut tenant_key(V::Table, V::OwnerTenantId))
        .to_owned()
}

fn plugin_artifacts() -> TableCreateStatement {
    use PluginArtifacts as A;

    Table::create()
        .table(A::Table)
        .col(ColumnDef::new(A::Key).string().not_null().primary_key())
        .col(ColumnDef::new(A::Digest).string().not_null())
        .col(ColumnDef::new(A::EngineHash).string().not_null())
        .col(ColumnDef::new(A::Artifact).blob().not_null())
        .col(ColumnDef::new(A::Mac).blob().not_null())
        .col(ColumnDef::new(A::CreatedAt).timestamp_with_time_zone().not_null())
        .to_owned()
}

fn plugin_installs() -> TableCreateStatement {
    use PluginInstalls as I;

    Table::create()
        .table(I::Table)
        .col(ColumnDef::new(I::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(I::TenantId).big_integer().not_null())
        .col(ColumnDef::new(I::Hook).string().not_null())
        .col(ColumnDef::new(I::PluginName).string().not_null())
        .col(ColumnDef::new(I::PluginOwnerTenantId).big_integer().null())
        .col(ColumnDef::new(I::ActiveVersionId).big_integer().null())
        .col(ColumnDef::new(I::ShadowVersionId).big_integer().null())
        .col(ColumnDef::new(I::Config).text().not_null())
        .col(ColumnDef::new(I::Grants).text().not_null())
        .col(ColumnDef::new(I::Limits).text().not_null())
        .col(ColumnDef::new(I::BreakerOpen).boolean().not_null().default(false))
        .col(ColumnDef::new(I::BreakerReason).text().null())
        .col(ColumnDef::new(I::BreakerOpenedAt).timestamp_with_time_zone().null())
        .col(ColumnDef::new(I::UpdatedAt).timestamp_with_time_zone().not_null())
        .foreign_key(&mut tenant_key(I::Table, I::TenantId))
        .foreign_key(&mut tenant_key(I::Table, I::PluginOwnerTenantId))
        .foreign_key(&mut version_key(I::ActiveVersionId))
        .foreign_key(&mut version_key(I::ShadowVersionId))
        .to_owned()
}

fn install_indexes() -> Vec<IndexCreateStatement> {
    use PluginInstalls as I;

    vec![
        Index::create()
            .name("plugin_installs_tenant_hook_name")
            .table(I::Table)
            .col(I::TenantId)
            .col(I::Hook)
            .col(I::PluginName)
            .unique()
            .to_owned(),
        Index::create()
            .name("plugin_installs_tenant_id")
            .table(I::Table)
            .col(I::TenantId)
            .col(I::Id)
            .unique()
            .to_owned(),
        // At most one active router install per tenant.
        Index::create()
            .name("plugin_installs_one_active_router")
            .table(I::Table)
            .col(I::TenantId)
            .unique()
            .and_where(Expr::col(I::Hook).eq("router"))
            .and_where(Expr::col(I::ActiveVersionId).is_not_null())
            .to_owned(),
    ]
}

fn install_tables() -> Vec<TableCreateStatement> {
    vec![
        plugin_audit(),
        plugin_calls(),
        plugin_kv(),
        plugin_secrets(),
        plugin_logs(),
        plugin_usage(),
        plugin_shadow_results(),
        integration_jobs(),
        integration_records(),
    ]
}

/// Audit rows have no foreign key to the install, so deleting an install
/// keeps its audit entries.
fn plugin_audit() -> TableCreateStatement {
    use PluginAudit as A;

    Table::create()
        .table(A::Table)
        .col(ColumnDef::new(A::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(A::TenantId).big_integer().not_null())
        .col(ColumnDef::new(A::InstallId).big_integer().null())
        .col(ColumnDef::new(A::Hook).string().not_null())
        .col(ColumnDef::new(A::PluginName).string().not_null())
        .col(ColumnDef::new(A::Action).string().not_null())
        .col(ColumnDef::new(A::Actor).string().not_null())
        .col(ColumnDef::new(A::FromVersion).integer().null())
        .col(ColumnDef::new(A::ToVersion).integer().null())
        .col(ColumnDef::new(A::Detail).text().null())
        .col(ColumnDef::new(A::At).timestamp_with_time_zone().not_null())
        .foreign_key(&mut tenant_key(A::Table, A::TenantId))
        .to_owned()
}

fn plugin_calls() -> TableCreateStatement {
    use PluginCalls as C;

    Table::create()
        .table(C::Table)
        .col(ColumnDef::new(C::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(C::TenantId).big_integer().not_null())
        .col(ColumnDef::new(C::InstallId).big_integer().not_null())
        .col(ColumnDef::new(C::Version).integer().not_null())
        .col(ColumnDef::new(C::Hook).string().not_null())
        .col(ColumnDef::new(C::RequestId).string().null())
        .col(ColumnDef::new(C::At).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(C::DurationUs).big_integer().not_null())
        .col(ColumnDef::new(C::FuelUsed).big_integer().not_null())
        .col(ColumnDef::new(C::Outcome).string().not_null())
        .col(ColumnDef::new(C::ErrorKind).string().null())
        .col(ColumnDef::new(C::Shadow).boolean().not_null())
        .foreign_key(&mut install_key(C::Table, C::TenantId, C::InstallId))
        .to_owned()
}

fn plugin_kv() -> TableCreateStatement {
    use PluginKv as K;

    Table::create()
        .table(K::Table)
        .col(ColumnDef::new(K::InstallId).big_integer().not_null())
        .col(ColumnDef::new(K::TenantId).big_integer().not_null())
        .col(ColumnDef::new(K::Key).string().not_null())
        .col(ColumnDef::new(K::Value).blob().not_null())
        .primary_key(Index::create().col(K::TenantId).col(K::InstallId).col(K::Key))
        .foreign_key(&mut install_key(K::Table, K::TenantId, K::InstallId))
        .to_owned()
}

fn plugin_secrets() -> TableCreateStatement {
    use PluginSecrets as S;

    Table::create()
        .table(S::Table)
        .col(ColumnDef::new(S::InstallId).big_integer().not_null())
        .col(ColumnDef::new(S::TenantId).big_integer().not_null())
        .col(ColumnDef::new(S::Name).string().not_null())
        .col(ColumnDef::new(S::Ciphertext).blob().not_null())
        .col(ColumnDef::new(S::Nonce).blob().not_null())
        .col(ColumnDef::new(S::UpdatedAt).timestamp_with_time_zone().not_null())
        .primary_key(Index::create().col(S::TenantId).col(S::InstallId).col(S::Name))
        .foreign_key(&mut install_key(S::Table, S::TenantId, S::InstallId))
        .to_owned()
}

fn plugin_logs() -> TableCreateStatement {
    use PluginLogs as L;

    Table::create()
        .table(L::Table)
        .col(ColumnDef::new(L::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(L::TenantId).big_integer().not_null())
        .col(ColumnDef::new(L::InstallId).big_integer().not_null())
        .col(ColumnDef::new(L::Version).integer().not_null())
        .col(ColumnDef::new(L::RequestId).string().null())
        .col(ColumnDef::new(L::Level).string().not_null())
        .col(ColumnDef::new(L::Message).text().not_null())
        .col(ColumnDef::new(L::At).timestamp_with_time_zone().not_null())
        .foreign_key(&mut install_key(L::Table, L::TenantId, L::InstallId))
        .to_owned()
}

fn plugin_usage() -> TableCreateStatement {
    use PluginUsage as U;

    Table::create()
        .table(U::Table)
        .col(ColumnDef::new(U::InstallId).big_integer().not_null())
        .col(ColumnDef::new(U::TenantId).big_integer().not_null())
        .col(ColumnDef::new(U::PluginOwnerTenantId).big_integer().null())
        .col(ColumnDef::new(U::PluginName).string().not_null())
        .col(ColumnDef::new(U::Day).date().not_null())
        .col(ColumnDef::new(U::Calls).big_integer().not_null())
        .col(ColumnDef::new(U::WorkOrders).big_integer().not_null())
        .col(ColumnDef::new(U::Inspections).big_integer().not_null())
        .primary_key(Index::create().col(U::InstallId).col(U::Day))
        .foreign_key(&mut install_key(U::Table, U::TenantId, U::InstallId))
        .to_owned()
}

fn plugin_shadow_results() -> TableCreateStatement {
    use PluginShadowResults as S;

    Table::create()
        .table(S::Table)
        .col(ColumnDef::new(S::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(S::TenantId).big_integer().not_null())
        .col(ColumnDef::new(S::InstallId).big_integer().not_null())
        .col(ColumnDef::new(S::RequestId).string().not_null())
        .col(ColumnDef::new(S::ActiveVersion).integer().not_null())
        .col(ColumnDef::new(S::CandidateVersion).integer().not_null())
        .col(ColumnDef::new(S::ActiveDecision).text().not_null())
        .col(ColumnDef::new(S::CandidateDecision).text().not_null())
        .col(ColumnDef::new(S::Agrees).boolean().not_null())
        .col(ColumnDef::new(S::At).timestamp_with_time_zone().not_null())
        .foreign_key(&mut install_key(S::Table, S::TenantId, S::InstallId))
        .to_owned()
}

fn integration_jobs() -> TableCreateStatement {
    use IntegrationJobs as J;

    Table::create()
        .table(J::Table)
        .col(ColumnDef::new(J::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(J::TenantId).big_integer().not_null())
        .col(ColumnDef::new(J::InstallId).big_integer().not_null())
        .col(ColumnDef::new(J::RequestId).string().not_null())
        .col(ColumnDef::new(J::Status).string().not_null())
        .col(ColumnDef::new(J::Attempts).integer().not_null())
        .col(ColumnDef::new(J::NextAttemptAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(J::ClaimedUntil).timestamp_with_time_zone().null())
        .col(ColumnDef::new(J::LastError).text().null())
        .col(ColumnDef::new(J::CreatedAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(J::UpdatedAt).timestamp_with_time_zone().not_null())
        .foreign_key(&mut install_key(J::Table, J::TenantId, J::InstallId))
        .to_owned()
}

fn integration_records() -> TableCreateStatement {
    use IntegrationRecords as R;

    Table::create()
        .table(R::Table)
        .col(ColumnDef::new(R::Id).big_integer().not_null().auto_increment().primary_key())
        .col(ColumnDef::new(R::TenantId).big_integer().not_null())
        .col(ColumnDef::new(R::InstallId).big_integer().not_null())
        .col(ColumnDef::new(R::RequestId).string().not_null())
        .col(ColumnDef::new(R::Kind).string().not_null())
        .col(ColumnDef::new(R::RemoteId).string().not_null())
        .col(ColumnDef::new(R::RemoteStatus).string().null())
        .col(ColumnDef::new(R::CreatedAt).timestamp_with_time_zone().not_null())
        .foreign_key(&mut install_key(R::Table, R::TenantId, R::InstallId))
        .to_owned()
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

fn indexes() -> Vec<IndexCreateStatement> {
    use IntegrationJobs as J;
    use IntegrationRecords as R;
    use PluginVersions as V;

    vec![
        // Both unique keys lead with (owner_key, name), which serves lookups of one plugin's versions.
        unique_index("plugin_versions_owner_name_version", V::Table, &[V::OwnerKey, V::Name, V::Version]),
        unique_index("plugin_versions_owner_name_digest", V::Table, &[V::OwnerKey, V::Name, V::Digest]),
        index("plugin_audit_tenant_at", PluginAudit::Table, &[PluginAudit::TenantId, PluginAudit::At]),
        index(
            "plugin_calls_tenant_install_at",
            PluginCalls::Table,
            &[PluginCalls::TenantId, PluginCalls::InstallId, PluginCalls::At],
        ),
        index("plugin_logs_install_at", PluginLogs::Table, &[PluginLogs::InstallId, PluginLogs::At]),
        index("plugin_usage_name_day", PluginUsage::Table, &[PluginUsage::PluginName, PluginUsage::Day]),
        index(
            "plugin_shadow_results_install_at",
            PluginShadowResults::Table,
            &[PluginShadowResults::InstallId, PluginShadowResults::At],
        ),
        unique_index("integration_jobs_install_request", J::Table, &[J::InstallId, J::RequestId]),
        index("integration_jobs_status_next_attempt", J::Table, &[J::Status, J::NextAttemptAt]),
        unique_index("integration_records_install_request_remote", R::Table, &[R::InstallId, R::RequestId, R::RemoteId]),
    ]
}

#[derive(DeriveIden, Clone, Copy)]
enum Tenants {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginVersions {
    Table,
    Id,
    OwnerTenantId,
    OwnerKey,
    Name,
    Version,
    Hook,
    World,
    Digest,
    SizeBytes,
    Capabilities,
    Wasm,
    Description,
    UploadedBy,
    UploadedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginArtifacts {
    Table,
    Key,
    Digest,
    EngineHash,
    Artifact,
    Mac,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginInstalls {
    Table,
    Id,
    TenantId,
    Hook,
    PluginName,
    PluginOwnerTenantId,
    ActiveVersionId,
    ShadowVersionId,
    Config,
    Grants,
    Limits,
    BreakerOpen,
    BreakerReason,
    BreakerOpenedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginAudit {
    Table,
    Id,
    TenantId,
    InstallId,
    Hook,
    PluginName,
    Action,
    Actor,
    FromVersion,
    ToVersion,
    Detail,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginCalls {
    Table,
    Id,
    TenantId,
    InstallId,
    Version,
    Hook,
    RequestId,
    At,
    DurationUs,
    FuelUsed,
    Outcome,
    ErrorKind,
    Shadow,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginKv {
    Table,
    InstallId,
    TenantId,
    Key,
    Value,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginSecrets {
    Table,
    InstallId,
    TenantId,
    Name,
    Ciphertext,
    Nonce,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginLogs {
    Table,
    Id,
    TenantId,
    InstallId,
    Version,
    RequestId,
    Level,
    Message,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginUsage {
    Table,
    InstallId,
    TenantId,
    PluginOwnerTenantId,
    PluginName,
    Day,
    Calls,
    WorkOrders,
    Inspections,
}

#[derive(DeriveIden, Clone, Copy)]
enum PluginShadowResults {
    Table,
    Id,
    TenantId,
    InstallId,
    RequestId,
    ActiveVersion,
    CandidateVersion,
    ActiveDecision,
    CandidateDecision,
    Agrees,
    At,
}

#[derive(DeriveIden, Clone, Copy)]
enum IntegrationJobs {
    Table,
    Id,
    TenantId,
    InstallId,
    RequestId,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IntegrationRecords {
    Table,
    Id,
    TenantId,
    InstallId,
    RequestId,
    Kind,
    RemoteId,
    RemoteStatus,
    CreatedAt,
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement};
    use sea_orm_migration::MigratorTrait;

    use crate::migration::Migrator;
    use crate::test_support::TestDatabase;

    /// Runs `sql` after replacing `BLOB` with a one-byte blob literal of the backend.
    async fn execute(db: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        let blob = match backend {
            DbBackend::Postgres => "'\\x00'::bytea",
            _ => "X'00'",
        };
        let sql = sql.replace("BLOB", blob);
        db.execute_raw(Statement::from_string(backend, sql)).await.map(|_| ())
    }

    /// Creates tenants 1 and 2, one router version of tenant 1, and two router installs of tenant 1.
    async fn seeded() -> (TestDatabase, DatabaseConnection) {
        let database = TestDatabase::create().await;
        let db = Database::connect(&database.url).await.expect("connect to the test database");
        Migrator::up(&db, None).await.expect("migrate");

        let seed = [
            "INSERT INTO tenants (id, slug, jurisdiction_id, manifest_json, services_json, created_at, updated_at) \
             VALUES (1, 'a', 'a.gov', '{}', '[]', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z'), \
                    (2, 'b', 'b.gov', '{}', '[]', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')",
            "INSERT INTO plugin_versions (id, owner_tenant_id, owner_key, name, version, hook, world, digest, size_bytes, \
             capabilities, wasm, description, uploaded_by, uploaded_at) \
             VALUES (1, 1, 1, 'r', 1, 'router', 'router', 'd', 1, '[]', BLOB, '', 'admin', '2026-12-01T00:00:00Z')",
            "INSERT INTO plugin_installs (id, tenant_id, hook, plugin_name, config, grants, limits, updated_at) \
             VALUES (1, 1, 'router', 'r', '{}', '{}', '{}', '2026-12-01T00:00:00Z'), \
                    (2, 1, 'router', 'r2', '{}', '{}', '{}', '2026-12-01T00:00:00Z')",
        ];
        for sql in seed {
            execute(&db, sql).await.expect(sql);
        }
        (database, db)
    }

    #[tokio::test]
    async fn second_active_router_rejected() {
        let (_database, db) = seeded().await;

        execute(&db, "UPDATE plugin_installs SET active_version_id = 1 WHERE id = 1").await.expect("first active router");
        let second = execute(&db, "UPDATE plugin_installs SET active_version_id = 1 WHERE id = 2").await;

        assert!(second.is_err(), "the database accepted a second active router install");
        db.close().await.expect("close the connection");
    }

    #[tokio::test]
    async fn row_naming_other_tenants_install_rejected() {
        let (_database, db) = seeded().await;

        let own = execute(&db, "INSERT INTO plugin_kv (install_id, tenant_id, key, value) VALUES (1, 1, 'k', BLOB)").await;
        let foreign = execute(&db, "INSERT INTO plugin_kv (install_id, tenant_id, key, value) VALUES (1, 2, 'k2', BLOB)").await;

        assert!(own.is_ok(), "{own:?}");
        assert!(foreign.is_err(), "the database accepted tenant 2's row for tenant 1's install");
        db.close().await.expect("close the connection");
    }
}
