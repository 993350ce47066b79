//! The plugin audit log: who changed which install, when, from which
//! version to which. Entries are append-only.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::audit;
use super::{parse_text, AuditEntry, AuditFilter, NewAuditEntry, DEFAULT_LIST_LIMIT, InstallId};
use crate::sql::stored_instant;
use crate::{StoreError, TenantId, TenantStore};

impl TenantStore {
    /// Appends an entry to the tenant's plugin audit log.
    ///
    /// Fails with `NotFound` when `entry.install` is not one of the tenant's installs.
    pub async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        if let Some(install) = entry.install {
            self.require_install(&self.db, install).await?;
        }
        let row = insert_audit(&self.db, self.tenant, &entry).await?;
        decode_audit(row)
    }

    /// Lists the tenant's audit entries, newest first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut select = audit::Entity::find().filter(audit::Column::TenantId.eq(self.tenant.0));
        if let Some(hook) = filter.hook {
            select = select.filter(audit::Column::Hook.eq(hook.as_str()));
        }
        if let Some(name) = &filter.plugin_name {
            select = select.filter(audit::Column::PluginName.eq(name));
        }

        let limit = if filter.limit == 0 { DEFAULT_LIST_LIMIT } else { filter.limit };
        let rows = select
            .order_by_desc(audit::Column::At)
            .order_by_desc(audit::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(decode_audit).collect()
    }
}

/// Inserts an audit row for `tenant`; callers check that the install is the tenant's.
pub(super) async fn insert_audit<C: ConnectionTrait>(conn: &C, tenant: TenantId, entry: &NewAuditEntry) -> Result<audit::Model, StoreError> {
    let row = audit::ActiveModel {
        tenant_id: Set(tenant.0),
        install_id: Set(entry.install.map(|install| install.0)),
        hook: Set(entry.hook.as_str().to_string()),
        plugin_name: Set(entry.plugin_name.clone()),
        action: Set(entry.action.as_str().to_string()),
        actor: Set(entry.actor.clone()),
        from_version: Set(entry.from_version),
        to_version: Set(entry.to_version),
        detail: Set(entry.detail.clone()),
        at: Set(stored_instant(entry.at)),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(row)
}

fn decode_audit(row: audit::Model) -> Result<AuditEntry, StoreError> {
    let owner = format!("audit entry {}", row.id);
    Ok(AuditEntry {
        id: row.id,
        tenant: TenantId(row.tenant_id),
        install: row.install_id.map(InstallId),
        hook: parse_text("audit hook", &owner, &row.hook)?,
        action: parse_text("audit action", &owner, &row.action)?,
        plugin_name: row.plugin_name,
        actor: row.actor,
        from_version: row.from_version,
        to_version: row.to_version,
        detail: row.detail,
        at: row.at,
    })
}
