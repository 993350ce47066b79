//! Activation, rollback and deactivation of an install's versions.

use chrono::Utc;
use civic311_domain::plugin::Hook;
use civic311_store::{
    AuditAction, AuditEntry, AuditFilter, AuditNote, PluginInstall, PluginVersion, TenantId,
    TenantStore,
};
use serde::Serialize;

use super::{check_grants, check_hook};
use crate::error::ManagerError;
use crate::manager::PluginManager;

/// Audit entries that rollback reads to find the version active before the current one.
const ROLLBACK_HISTORY: u64 = 500;

/// A change of an install's active version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Activation {
    /// The version active before the change, if any.
    pub from: Option<i32>,
    pub to: i32,
    /// The install after the change.
    pub install: PluginInstall,
}

impl PluginManager {
    /// Makes `version` the install's active version. The version must run on
    /// the install's hook, and the install must grant every capability it
    /// imports. Its compiled code is loaded before the switch, so a failure
    /// changes nothing. Activating the version already active returns it
    /// without an audit entry.
    ///
    /// On the router hook this deactivates the tenant's other router install.
    pub async fn activate(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        version: i32,
        actor: &str,
    ) -> Result<Activation, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        let target = self
            .require_version(&tenant_store, &install, version)
            .await?;

        if let Some(active) = &install.active_version
            && active.id == target.id
        {
            return Ok(Activation {
                from: Some(active.version),
                to: active.version,
                install,
            });
        }
        self.switch_to(&tenant_store, install, target, AuditAction::Activate, actor)
            .await
    }

    /// Activates version `to`, or by default the version that was active
    /// before the current one, as the audit log records it.
    pub async fn rollback(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        to: Option<i32>,
        actor: &str,
    ) -> Result<Activation, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        let Some(current) = install.active_version.clone() else {
            return Err(ManagerError::NothingToRollBack {
                hook,
                name: name.to_string(),
                reason: "no version is active; activate a version instead".to_string(),
            });
        };

        let target_number = match to {
            Some(number) => number,
            None => {
                self.previous_version(&tenant_store, &install, current.version)
                    .await?
            }
        };
        if target_number == current.version {
            return Err(ManagerError::NothingToRollBack {
                hook,
                name: name.to_string(),
                reason: format!("version {target_number} is already active; name another version"),
            });
        }

        let target = self
            .require_version(&tenant_store, &install, target_number)
            .await?;
        self.switch_to(&tenant_store, install, target, AuditAction::Rollback, actor)
            .await
    }

    /// Stops calling the install, so a router hook falls back to the
    /// services' default departments. An install with no active version is left as it is.
    pub async fn deactivate(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        actor: &str,
    ) -> Result<(), ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        if install.active_version.is_none() {
            return Ok(());
        }

        let note = AuditNote {
            actor: actor.to_string(),
            action: AuditAction::Deactivate,
            detail: None,
            at: Utc::now(),
        };
        tenant_store
            .set_active_version(install.id, None, &note)
            .await?;
        self.changed(tenant, install.id, "deactivate").await;
        Ok(())
    }

    /// Checks `target` against the install, loads it, then switches the
    /// active version and applies the change on this node and the others.
    async fn switch_to(
        &self,
        tenant_store: &TenantStore,
        install: PluginInstall,
        target: PluginVersion,
        action: AuditAction,
        actor: &str,
    ) -> Result<Activation, ManagerError> {
        check_hook(&install, &target)?;
        check_grants(&target, &install.grants)?;
        self.host.config().limits_for(&install.limits)?;
        self.artifacts.load(tenant_store, &target).await?;

        let note = AuditNote {
            actor: actor.to_string(),
            action,
            detail: None,
            at: Utc::now(),
        };
        let change = tenant_store
            .set_active_version(install.id, Some(target.id), &note)
            .await?;

        // Load the new router before unloading the one it replaces, here and
        // on the other nodes, so that no request finds the tenant without one.
        let tenant = tenant_store.tenant_id();
        self.changed(tenant, install.id, action.as_str()).await;
        for replaced in &change.deactivated {
            self.changed(tenant, replaced.id, "deactivate").await;
        }

        Ok(Activation {
            from: change.previous.map(|previous| previous.version),
            to: target.version,
            install: change.install,
        })
    }

    /// Finds the version active before `current`: the `from` of the entry
    /// that activated `current`, or when that entry has none (the install
    /// was inactive), the newest earlier version that the log names.
    async fn previous_version(
        &self,
        tenant_store: &TenantStore,
        install: &PluginInstall,
        current: i32,
    ) -> Result<i32, ManagerError> {
        let filter = AuditFilter {
            hook: Some(install.hook),
            plugin_name: Some(install.plugin_name.clone()),
            limit: ROLLBACK_HISTORY,
        };
        let entries = tenant_store.audit_log(&filter).await?;
        let changes: Vec<&AuditEntry> = entries
            .iter()
            .filter(|entry| entry.install == Some(install.id))
            .filter(|entry| {
                matches!(
                    entry.action,
                    AuditAction::Activate | AuditAction::Rollback | AuditAction::Deactivate
                )
            })
            .collect();

        let previous = changes
            .iter()
            .filter_map(|entry| entry.from_version)
            .find(|version| *version != current);
        previous.ok_or_else(|| ManagerError::NothingToRollBack {
            hook: install.hook,
            name: install.plugin_name.clone(),
            reason: format!("version {current} is the only version this install has run; name the version to roll back to"),
        })
    }
}
