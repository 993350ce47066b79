//! Metered usage per install and UTC day: calls, and work orders and
//! inspections synced, for the catalogue's cost-share report.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select};

use super::entity::usage;
use super::{to_i64, to_u64, InstallId, UsageDelta, UsageRow};
use crate::{Store, StoreError, TenantId, TenantStore};

impl Store {
    /// Lists usage of plugin `(owner, name)` by every tenant that installed
    /// it, from `from` to `to` inclusive, by tenant, install and day. `owner`
    /// `None` is the catalogue.
    pub async fn usage_for_plugin(&self, owner: Option<TenantId>, name: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<UsageRow>, StoreError> {
        let owner_filter = match owner {
            Some(tenant) => usage::Column::PluginOwnerTenantId.eq(tenant.0),
            None => usage::Column::PluginOwnerTenantId.is_null(),
        };
        let select = usage::Entity::find()
            .filter(usage::Column::PluginName.eq(name))
            .filter(owner_filter);
        list_usage(&self.db, select, from, to).await
    }
}

impl TenantStore {
    /// Adds `delta` to the install's usage on `day`, creating the day's row.
    pub async fn add_usage(&self, install: InstallId, day: NaiveDate, delta: UsageDelta) -> Result<(), StoreError> {
        add_usage_in(&self.db, self, install, day, delta).await
    }

    /// Lists the tenant's usage of all its installs from `from` to `to`
    /// inclusive, by install and day.
    pub async fn plugin_usage(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<UsageRow>, StoreError> {
        let select = usage::Entity::find().filter(usage::Column::TenantId.eq(self.tenant.0));
        list_usage(&self.db, select, from, to).await
    }
}

/// Adds `delta` to the install's usage on `day` through `conn`, which may be a transaction.
pub(super) async fn add_usage_in<C: ConnectionTrait>(
    conn: &C,
    tenant: &TenantStore,
    install: InstallId,
    day: NaiveDate,
    delta: UsageDelta,
) -> Result<(), StoreError> {
    let row = tenant.require_install(conn, install).await?;

    let new_row = usage::ActiveModel {
        install_id: Set(install.0),
        tenant_id: Set(row.tenant_id),
        plugin_owner_tenant_id: Set(row.plugin_owner_tenant_id),
        plugin_name: Set(row.plugin_name),
        day: Set(day),
        calls: Set(to_i64(delta.calls)),
        work_orders: Set(to_i64(delta.work_orders)),
        inspections: Set(to_i64(delta.inspections)),
    };
    let add = |column: usage::Column, amount: u64| Expr::col((usage::Entity, column)).add(to_i64(amount));
    let on_conflict = OnConflict::columns([usage::Column::InstallId, usage::Column::Day])
        .value(usage::Column::Calls, add(usage::Column::Calls, delta.calls))
        .value(usage::Column::WorkOrders, add(usage::Column::WorkOrders, delta.work_orders))
        .value(usage::Column::Inspections, add(usage::Column::Inspections, delta.inspections))
        .to_owned();

    usage::Entity::insert(new_row).on_conflict(on_conflict).exec_without_returning(conn).await?;
    Ok(())
}

async fn list_usage(
    db: &sea_orm::DatabaseConnection,
    select: Select<usage::Entity>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UsageRow>, StoreError> {
    let rows = select
        .filter(usage::Column::Day.gte(from))
        .filter(usage::Column::Day.lte(to))
        .order_by_asc(usage::Column::TenantId)
        .order_by_asc(usage::Column::InstallId)
        .order_by_asc(usage::Column::Day)
        .all(db)
        .await?;

    Ok(rows
        .into_iter()
        .map(|row| UsageRow {
            tenant: TenantId(row.tenant_id),
            install: InstallId(row.install_id),
            plugin_owner: row.plugin_owner_tenant_id.map(TenantId),
            plugin_name: row.plugin_name,
            day: row.day,
            calls: to_u64(row.calls),
            work_orders: to_u64(row.work_orders),
            inspections: to_u64(row.inspections),
        })
        .collect())
}
