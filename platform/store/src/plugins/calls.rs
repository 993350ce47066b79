//! Records of plugin calls, and the log lines plugins write.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::{call, install, log_line};
use super::{
    install_not_found_on_foreign_key, parse_text, to_i64, to_u64, CallRecord, InstallId, LogFilter, NewCallRecord, NewPluginLogLine,
    PluginLogLine, DEFAULT_LIST_LIMIT,
};
use crate::sql::stored_instant;
use crate::{StoreError, TenantStore};

impl TenantStore {
    /// Inserts a batch of call records in one statement.
    ///
    /// Fails with `NotFound`, inserting nothing, when a record names an
    /// install that is not the tenant's.
    pub async fn record_calls(&self, records: &[NewCallRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }

        let rows = records.iter().map(|record| call::ActiveModel {
            tenant_id: Set(self.tenant.0),
            install_id: Set(record.install.0),
            version: Set(record.version),
            hook: Set(record.hook.as_str().to_string()),
            request_id: Set(record.request_id.clone()),
            at: Set(stored_instant(record.at)),
            duration_us: Set(to_i64(record.duration_us)),
            fuel_used: Set(to_i64(record.fuel_used)),
            outcome: Set(record.outcome.as_str().to_string()),
            error_kind: Set(record.error_kind.clone()),
            shadow: Set(record.shadow),
            ..Default::default()
        });
        let inserted = call::Entity::insert_many(rows).exec_without_returning(&self.db).await;

        match inserted {
            Ok(_) => Ok(()),
            Err(error) => Err(self.foreign_install_error(error, records.iter().map(|record| record.install)).await),
        }
    }

    /// Lists the calls at or after `since`, of one install or of all the
    /// tenant's installs, oldest first.
    pub async fn calls_since(&self, install: Option<InstallId>, since: DateTime<Utc>) -> Result<Vec<CallRecord>, StoreError> {
        let mut select = call::Entity::find()
            .filter(call::Column::TenantId.eq(self.tenant.0))
            .filter(call::Column::At.gte(since));
        if let Some(install) = install {
            select = select.filter(call::Column::InstallId.eq(install.0));
        }

        let rows = select.order_by_asc(call::Column::At).order_by_asc(call::Column::Id).all(&self.db).await?;
        rows.into_iter().map(decode_call).collect()
    }

    /// Lists the install's latest calls, newest first; `limit` 0 reads as [`DEFAULT_LIST_LIMIT`].
    pub async fn recent_calls(&self, install: InstallId, limit: u64) -> Result<Vec<CallRecord>, StoreError> {
        let rows = call::Entity::find()
            .filter(call::Column::TenantId.eq(self.tenant.0))
            .filter(call::Column::InstallId.eq(install.0))
            .order_by_desc(call::Column::At)
            .order_by_desc(call::Column::Id)
            .limit(list_limit(limit))
            .all(&self.db)
            .await?;
        rows.into_iter().map(decode_call).collect()
    }

    /// Appends a batch of plugin log lines in one statement.
    ///
    /// Fails with `NotFound`, inserting nothing, when a line names an
    /// install that is not the tenant's.
    pub async fn append_plugin_logs(&self, lines: &[NewPluginLogLine]) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }

        let rows = lines.iter().map(|line| log_line::ActiveModel {
            tenant_id: Set(self.tenant.0),
            install_id: Set(line.install.0),
            version: Set(line.version),
            request_id: Set(line.request_id.clone()),
            level: Set(line.level.as_str().to_string()),
            message: Set(line.message.clone()),
            at: Set(stored_instant(line.at)),
            ..Default::default()
        });
        let inserted = log_line::Entity::insert_many(rows).exec_without_returning(&self.db).await;

        match inserted {
            Ok(_) => Ok(()),
            Err(error) => Err(self.foreign_install_error(error, lines.iter().map(|line| line.install)).await),
        }
    }

    /// Lists the tenant's plugin log lines, newest first.
    pub async fn plugin_logs(&self, filter: &LogFilter) -> Result<Vec<PluginLogLine>, StoreError> {
        let mut select = log_line::Entity::find().filter(log_line::Column::TenantId.eq(self.tenant.0));
        if let Some(install) = filter.install {
            select = select.filter(log_line::Column::InstallId.eq(install.0));
        }
        if let Some(request_id) = &filter.request_id {
            select = select.filter(log_line::Column::RequestId.eq(request_id));
        }

        let rows = select
            .order_by_desc(log_line::Column::At)
            .order_by_desc(log_line::Column::Id)
            .limit(list_limit(filter.limit))
            .all(&self.db)
            .await?;
        rows.into_iter().map(decode_log_line).collect()
    }

    /// Names the first install of a failed batch that is not the tenant's,
    /// when a foreign key failed; other errors pass through.
    async fn foreign_install_error(&self, error: DbErr, installs: impl Iterator<Item = InstallId>) -> StoreError {
        let named: BTreeSet<i64> = installs.map(|install| install.0).collect();
        let first = InstallId(named.first().copied().unwrap_or_default());

        let own = install::Entity::find()
            .select_only()
            .column(install::Column::Id)
            .filter(install::Column::TenantId.eq(self.tenant.0))
            .filter(install::Column::Id.is_in(named.iter().copied()))
            .into_tuple::<i64>()
            .all(&self.db)
            .await;
        let foreign = match own {
            Ok(own) => named.into_iter().find(|id| !own.contains(id)).map(InstallId).unwrap_or(first),
            Err(_) => first,
        };
        install_not_found_on_foreign_key(error, foreign)
    }
}

fn list_limit(limit: u64) -> u64 {
    if limit == 0 { DEFAULT_LIST_LIMIT } else { limit }
}

fn decode_call(row: call::Model) -> Result<CallRecord, StoreError> {
    let owner = format!("plugin call {}", row.id);
    Ok(CallRecord {
        id: row.id,
        install: InstallId(row.install_id),
        version: row.version,
        hook: parse_text("plugin call hook", &owner, &row.hook)?,
        request_id: row.request_id,
        at: row.at,
        duration_us: to_u64(row.duration_us),
        fuel_used: to_u64(row.fuel_used),
        outcome: parse_text("plugin call outcome", &owner, &row.outcome)?,
        error_kind: row.error_kind,
        shadow: row.shadow,
    })
}

fn decode_log_line(row: log_line::Model) -> Result<PluginLogLine, StoreError> {
    let owner = format!("plugin log line {}", row.id);
    Ok(PluginLogLine {
        id: row.id,
        install: InstallId(row.install_id),
        version: row.version,
        request_id: row.request_id,
        level: parse_text("plugin log level", &owner, &row.level)?,
        message: row.message,
        at: row.at,
    })
}
