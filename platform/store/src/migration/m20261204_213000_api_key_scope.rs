//! API key scopes: `open311` submits Open311 requests only, `staff` also
//! opens the staff APIs. Keys created before scopes existed become
//! `open311`, the least privilege, so no public key gains staff access.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let add_scope = Table::alter()
            .table(ApiKeys::Table)
            .add_column(ColumnDef::new(ApiKeys::Scope).string().not_null().default("open311"))
            .to_owned();
        manager.alter_table(add_scope).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let drop_scope = Table::alter().table(ApiKeys::Table).drop_column(ApiKeys::Scope).to_owned();
        manager.alter_table(drop_scope).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Scope,
}

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, Database, Statement};
    use sea_orm_migration::{MigrationName, MigratorTrait};

    use super::Migration;
    use crate::migration::Migrator;
    use crate::test_support::TestDatabase;

    /// Returns how many migrations run before this one, wherever it sits in the list.
    fn migrations_before_scope() -> u32 {
        let name = MigrationName::name(&Migration);
        let position = Migrator::migrations()
            .iter()
            .position(|migration| migration.name() == name)
            .expect("the scope migration is in the list");
        u32::try_from(position).expect("fewer than 2^32 migrations")
    }

    #[tokio::test]
    async fn existing_keys_become_open311() {
        let database = TestDatabase::create().await;
        let db = Database::connect(&database.url).await.expect("connect to the test database");
        Migrator::up(&db, Some(migrations_before_scope())).await.expect("migrate up to the scope migration");

        let backend = db.get_database_backend();
        let insert = [
            "INSERT INTO tenants (slug, jurisdiction_id, manifest_json, services_json, created_at, updated_at) \
             VALUES ('haverhill', 'haverhillma.gov', '{}', '{}', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')",
            "INSERT INTO api_keys (tenant_id, name, key_hash, created_at) \
             SELECT id, 'web portal', 'abc123', '2026-12-01T00:00:00Z' FROM tenants",
        ];
        for sql in insert {
            db.execute_raw(Statement::from_string(backend, sql)).await.expect(sql);
        }

        Migrator::up(&db, None).await.expect("apply the scope migration");

        let row = db
            .query_one_raw(Statement::from_string(backend, "SELECT scope FROM api_keys WHERE name = 'web portal'"))
            .await
            .expect("read the key")
            .expect("the key survives the migration");
        let scope: String = row.try_get("", "scope").expect("scope is text");
        assert_eq!(scope, "open311");
        db.close().await.expect("close the connection");
    }
}
