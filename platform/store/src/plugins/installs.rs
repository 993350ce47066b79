//! Installs: a tenant's use of one plugin on one hook, its active and
//! shadow versions, grants, limits, configuration and breaker state.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select};

use super::audit::insert_audit;
use super::entity::install;
use super::versions::{plugin_hook, version_of_plugin, versions_by_ids};
use super::{
    decode_json, encode_json, parse_text, ActiveVersionChange, AuditAction, AuditNote, BreakerRecord, InstallId, NewAuditEntry,
    NewInstall, PluginInstall, PluginVersion, PluginVersionId, PLUGIN_INSTALL, PLUGIN_VERSION,
};
use crate::sql::{begin_write, is_unique_violation, stored_instant};
use crate::{Store, StoreError, TenantId, TenantStore};

impl Store {
    /// Finds an install by id in any tenant, for the cluster bus; the
    /// install names its tenant.
    pub async fn install_by_id(&self, id: InstallId) -> Result<Option<PluginInstall>, StoreError> {
        let row = install::Entity::find_by_id(id.0).one(&self.db).await?;
        match row {
            Some(row) => Ok(decode_installs(&self.db, vec![row]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Lists the installs of every tenant that have an active or shadow
    /// version, by tenant and id, for a node that loads them at start.
    pub async fn loaded_installs(&self) -> Result<Vec<PluginInstall>, StoreError> {
        let rows = install::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(install::Column::ActiveVersionId.is_not_null())
                    .add(install::Column::ShadowVersionId.is_not_null()),
            )
            .order_by_asc(install::Column::TenantId)
            .order_by_asc(install::Column::Id)
            .all(&self.db)
            .await?;
        decode_installs(&self.db, rows).await
    }
}

impl TenantStore {
    /// Creates an install without an active version.
    ///
    /// Fails with `NotFound` when the plugin has no version visible to this
    /// tenant, `Invalid` when its versions use another hook, and `Conflict`
    /// when the tenant already installed the plugin on the hook.
    pub async fn create_install(&self, new: NewInstall, at: DateTime<Utc>) -> Result<PluginInstall, StoreError> {
        let conflict_id = format!("{} {}", new.hook, new.plugin_name);
        if new.plugin_owner.is_some_and(|owner| owner != self.tenant) {
            return Err(StoreError::NotFound { entity: "plugin", id: new.plugin_name });
        }

        let Some(hook) = plugin_hook(&self.db, new.plugin_owner, &new.plugin_name).await? else {
            return Err(StoreError::NotFound { entity: "plugin", id: new.plugin_name });
        };
        if hook != new.hook.as_str() {
            return Err(StoreError::Invalid(format!(
                "plugin '{}' serves the {hook} hook and cannot be installed on the {} hook; install it on the {hook} hook",
                new.plugin_name, new.hook
            )));
        }

        let row = install::ActiveModel {
            tenant_id: Set(self.tenant.0),
            hook: Set(new.hook.as_str().to_string()),
            plugin_name: Set(new.plugin_name.clone()),
            plugin_owner_tenant_id: Set(new.plugin_owner.map(|owner| owner.0)),
            active_version_id: Set(None),
            shadow_version_id: Set(None),
            config: Set(encode_json("install config", &new.config)?),
            grants: Set(encode_json("install grants", &new.grants)?),
            limits: Set(encode_json("install limits", &new.limits)?),
            breaker_open: Set(false),
            breaker_reason: Set(None),
            breaker_opened_at: Set(None),
            updated_at: Set(stored_instant(at)),
            ..Default::default()
        };
        let row = match row.insert(&self.db).await {
            Ok(row) => row,
            Err(error) if is_unique_violation(&error) => return Err(StoreError::Conflict { entity: PLUGIN_INSTALL, id: conflict_id }),
            Err(error) => return Err(error.into()),
        };

        tracing::info!(tenant.id = self.tenant.0, install.id = row.id, plugin.name = %row.plugin_name, hook = %row.hook, "plugin install created");
        self.decode_one(row).await
    }

    /// Finds the tenant's install of plugin `name` on `hook`.
    pub async fn install(&self, hook: Hook, name: &str) -> Result<Option<PluginInstall>, StoreError> {
        let row = self
            .installs_query()
            .filter(install::Column::Hook.eq(hook.as_str()))
            .filter(install::Column::PluginName.eq(name))
            .one(&self.db)
            .await?;
        match row {
            Some(row) => self.decode_one(row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Finds one of the tenant's installs by id.
    pub async fn install_by_id(&self, id: InstallId) -> Result<Option<PluginInstall>, StoreError> {
        let row = self.installs_query().filter(install::Column::Id.eq(id.0)).one(&self.db).await?;
        match row {
            Some(row) => self.decode_one(row).await.map(Some),
            None => Ok(None),
        }
    }

    /// Lists the tenant's installs by hook and plugin name.
    pub async fn installs(&self) -> Result<Vec<PluginInstall>, StoreError> {
        let rows = self
            .installs_query()
            .order_by_asc(install::Column::Hook)
            .order_by_asc(install::Column::PluginName)
            .all(&self.db)
            .await?;
        decode_installs(&self.db, rows).await
    }

    /// Makes `version` the install's active version, or deactivates the
    /// install with `None`, and writes the audit entry from `note` in the
    /// same transaction.
    ///
    /// Activating a router version deactivates the tenant's other active
    /// router install, audited as `deactivate` by the same actor. Fails with
    /// `NotFound` for an unknown install and `Invalid` for a version of
    /// another plugin. It fails with `Conflict` when a concurrent call
    /// activated another router first, and calling again then succeeds.
    pub async fn set_active_version(&self, id: InstallId, version: Option<PluginVersionId>, note: &AuditNote) -> Result<ActiveVersionChange, StoreError> {
        let txn = begin_write(&self.db).await?;
        let row = self.require_install(&txn, id).await?;
        let target = self.resolve_version(&txn, &row, version).await?;
        let previous = current_version(&txn, row.active_version_id).await?;

        let mut deactivated_rows = Vec::new();
        if row.hook == Hook::Router.as_str() && target.is_some() {
            deactivated_rows = self.deactivate_other_routers(&txn, &row, &target, note).await?;
        }

        let mut active: install::ActiveModel = row.clone().into();
        active.active_version_id = Set(target.as_ref().map(|version| version.id.0));
        // Activating the shadow candidate ends shadow mode, because a
        // candidate equal to the active version has nothing to compare.
        // Deactivating ends it too, so that reactivating the install later
        // does not resume a shadow run that no admin started again.
        let target_id = target.as_ref().map(|version| version.id.0);
        if target_id.is_none() || target_id == row.shadow_version_id {
            active.shadow_version_id = Set(None);
        }
        active.updated_at = Set(stored_instant(note.at));
        let updated = match active.update(&txn).await {
            Ok(updated) => updated,
            Err(error) if is_unique_violation(&error) => {
                // A concurrent transaction activated another router install first.
                tracing::warn!(tenant.id = self.tenant.0, install.id = id.0, "concurrent router activation lost the race");
                return Err(StoreError::Conflict { entity: "active router install", id: format!("tenant {}", self.tenant.0) });
            }
            Err(error) => return Err(error.into()),
        };

        let entry = audit_entry(&row, note, note.action, previous.as_ref(), target.as_ref())?;
        insert_audit(&txn, self.tenant, &entry).await?;
        txn.commit().await?;

        tracing::info!(
            tenant.id = self.tenant.0,
            install.id = id.0,
            from.version = ?previous.as_ref().map(|version| version.version),
            to.version = ?target.as_ref().map(|version| version.version),
            action = %note.action,
            "plugin install active version changed"
        );
        Ok(ActiveVersionChange {
            install: self.decode_one(updated).await?,
            previous,
            deactivated: decode_installs(&self.db, deactivated_rows).await?,
        })
    }

    /// Sets the install's shadow candidate, or stops shadowing with `None`,
    /// writing the audit entry from `note` in the same transaction. Returns
    /// the install after the change and the previous candidate.
    pub async fn set_shadow_version(
        &self,
        id: InstallId,
        version: Option<PluginVersionId>,
        note: &AuditNote,
    ) -> Result<(PluginInstall, Option<PluginVersion>), StoreError> {
        let txn = begin_write(&self.db).await?;
        let row = self.require_install(&txn, id).await?;
        let target = self.resolve_version(&txn, &row, version).await?;
        let previous = current_version(&txn, row.shadow_version_id).await?;

        let mut active: install::ActiveModel = row.clone().into();
        active.shadow_version_id = Set(target.as_ref().map(|version| version.id.0));
        active.updated_at = Set(stored_instant(note.at));
        let updated = active.update(&txn).await?;

        let entry = audit_entry(&row, note, note.action, previous.as_ref(), target.as_ref())?;
        insert_audit(&txn, self.tenant, &entry).await?;
        txn.commit().await?;

        Ok((self.decode_one(updated).await?, previous))
    }

    /// Replaces the install's capability grants. The caller audits the change.
    pub async fn set_grants(&self, id: InstallId, grants: &Grants, at: DateTime<Utc>) -> Result<PluginInstall, StoreError> {
        let json = encode_json("install grants", grants)?;
        self.update_install(id, at, |active| active.grants = Set(json)).await
    }

    /// Replaces the install's limit overrides. The caller checks them against
    /// the platform maxima and audits the change.
    pub async fn set_limits(&self, id: InstallId, limits: &LimitOverrides, at: DateTime<Utc>) -> Result<PluginInstall, StoreError> {
        let json = encode_json("install limits", limits)?;
        self.update_install(id, at, |active| active.limits = Set(json)).await
    }

    /// Replaces the install's configuration. The caller audits the change.
    pub async fn set_config(&self, id: InstallId, config: &BTreeMap<String, String>, at: DateTime<Utc>) -> Result<PluginInstall, StoreError> {
        let json = encode_json("install config", config)?;
        self.update_install(id, at, |active| active.config = Set(json)).await
    }

    /// Opens the install's circuit breaker with `reason`, or closes it with
    /// `open == false`, which clears the reason and time.
    pub async fn set_breaker(&self, id: InstallId, open: bool, reason: Option<&str>, at: DateTime<Utc>) -> Result<PluginInstall, StoreError> {
        let reason = reason.map(str::to_string);
        let installed = self
            .update_install(id, at, |active| {
                active.breaker_open = Set(open);
                active.breaker_reason = Set(if open { reason } else { None });
                active.breaker_opened_at = Set(open.then(|| stored_instant(at)));
            })
            .await?;

        tracing::info!(tenant.id = self.tenant.0, install.id = id.0, breaker.open = open, "plugin install breaker changed");
        Ok(installed)
    }

    fn installs_query(&self) -> Select<install::Entity> {
        install::Entity::find().filter(install::Column::TenantId.eq(self.tenant.0))
    }

    pub(super) async fn require_install<C: ConnectionTrait>(&self, conn: &C, id: InstallId) -> Result<install::Model, StoreError> {
        self.installs_query()
            .filter(install::Column::Id.eq(id.0))
            .one(conn)
            .await?
            .ok_or_else(|| StoreError::NotFound { entity: PLUGIN_INSTALL, id: id.to_string() })
    }

    async fn update_install(&self, id: InstallId, at: DateTime<Utc>, change: impl FnOnce(&mut install::ActiveModel)) -> Result<PluginInstall, StoreError> {
        let txn = begin_write(&self.db).await?;
        let row = self.require_install(&txn, id).await?;

        let mut active: install::ActiveModel = row.into();
        change(&mut active);
        active.updated_at = Set(stored_instant(at));
        let updated = active.update(&txn).await?;
        txn.commit().await?;

        self.decode_one(updated).await
    }

    /// Loads the version `version` of the install's plugin; `None` stays `None`.
    async fn resolve_version<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &install::Model,
        version: Option<PluginVersionId>,
    ) -> Result<Option<PluginVersion>, StoreError> {
        let Some(version) = version else {
            return Ok(None);
        };

        let owner = row.plugin_owner_tenant_id.map(TenantId);
        let found = version_of_plugin(conn, version, owner, &row.plugin_name).await?;
        match found {
            Some(found) => Ok(Some(found)),
            None => Err(StoreError::Invalid(format!(
                "{PLUGIN_VERSION} {version} is not a version of plugin '{}' of install {}; pick a version listed for that plugin",
                row.plugin_name, row.id
            ))),
        }
    }

    /// Clears the active version of the tenant's other router installs and
    /// audits each, so that the partial unique index keeps one active router.
    async fn deactivate_other_routers<C: ConnectionTrait>(
        &self,
        conn: &C,
        row: &install::Model,
        target: &Option<PluginVersion>,
        note: &AuditNote,
    ) -> Result<Vec<install::Model>, StoreError> {
        let others = self
            .installs_query()
            .filter(install::Column::Hook.eq(Hook::Router.as_str()))
            .filter(install::Column::Id.ne(row.id))
            .filter(install::Column::ActiveVersionId.is_not_null())
            .all(conn)
            .await?;

        let mut deactivated = Vec::with_capacity(others.len());
        for other in others {
            let previous = current_version(conn, other.active_version_id).await?;
            let mut active: install::ActiveModel = other.clone().into();
            active.active_version_id = Set(None);
            active.shadow_version_id = Set(None);
            active.updated_at = Set(stored_instant(note.at));
            let updated = active.update(conn).await?;

            let replaced_by = AuditNote {
                detail: Some(format!(
                    "replaced by router plugin '{}' version {}",
                    row.plugin_name,
                    target.as_ref().map_or(0, |version| version.version)
                )),
                ..note.clone()
            };
            let entry = audit_entry(&other, &replaced_by, AuditAction::Deactivate, previous.as_ref(), None)?;
            insert_audit(conn, self.tenant, &entry).await?;
            deactivated.push(updated);
        }
        Ok(deactivated)
    }

    async fn decode_one(&self, row: install::Model) -> Result<PluginInstall, StoreError> {
        let id = row.id;
        decode_installs(&self.db, vec![row])
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound { entity: PLUGIN_INSTALL, id: id.to_string() })
    }
}

async fn current_version<C: ConnectionTrait>(conn: &C, id: Option<i64>) -> Result<Option<PluginVersion>, StoreError> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(versions_by_ids(conn, vec![id]).await?.pop())
}

fn audit_entry(
    row: &install::Model,
    note: &AuditNote,
    action: AuditAction,
    from: Option<&PluginVersion>,
    to: Option<&PluginVersion>,
) -> Result<NewAuditEntry, StoreError> {
    Ok(NewAuditEntry {
        install: Some(InstallId(row.id)),
        hook: parse_text("install hook", &format!("install {}", row.id), &row.hook)?,
        plugin_name: row.plugin_name.clone(),
        action,
        actor: note.actor.clone(),
        from_version: from.map(|version| version.version),
        to_version: to.map(|version| version.version),
        detail: note.detail.clone(),
        at: note.at,
    })
}

/// Converts install rows, loading their active and shadow versions in one query.
pub(super) async fn decode_installs<C: ConnectionTrait>(conn: &C, rows: Vec<install::Model>) -> Result<Vec<PluginInstall>, StoreError> {
    let ids = rows
        .iter()
        .flat_map(|row| [row.active_version_id, row.shadow_version_id])
        .flatten()
        .collect();
    let versions: HashMap<i64, PluginVersion> = versions_by_ids(conn, ids)
        .await?
        .into_iter()
        .map(|version| (version.id.0, version))
        .collect();

    rows.into_iter().map(|row| decode_install(row, &versions)).collect()
}

fn decode_install(row: install::Model, versions: &HashMap<i64, PluginVersion>) -> Result<PluginInstall, StoreError> {
    let owner = format!("install {}", row.id);
    let version = |id: Option<i64>| id.and_then(|id| versions.get(&id).cloned());

    Ok(PluginInstall {
        id: InstallId(row.id),
        tenant: TenantId(row.tenant_id),
        hook: parse_text("install hook", &owner, &row.hook)?,
        plugin_owner: row.plugin_owner_tenant_id.map(TenantId),
        active_version: version(row.active_version_id),
        shadow_version: version(row.shadow_version_id),
        config: decode_json("install config", &owner, &row.config)?,
        grants: decode_json("install grants", &owner, &row.grants)?,
        limits: decode_json("install limits", &owner, &row.limits)?,
        breaker: BreakerRecord {
            open: row.breaker_open,
            reason: row.breaker_reason,
            opened_at: row.breaker_opened_at,
        },
        plugin_name: row.plugin_name,
        updated_at: row.updated_at,
    })
}
