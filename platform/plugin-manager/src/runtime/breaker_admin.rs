//! Persisting breaker trips and closes, and the admin's reset.
//!
//! Each change is written to the install's row and the audit log, then the
//! install is reloaded here and announced to the other nodes, so every node
//! skips or resumes the install's calls.

use chrono::Utc;
use civic311_domain::plugin::Hook;
use civic311_store::{AuditAction, NewAuditEntry, PluginInstall, TenantId};

use crate::error::ManagerError;
use crate::manager::PluginManager;
use crate::registry::ActiveInstall;
use crate::runtime::breaker::{BreakerState, Transition};

/// Audit detail of a breaker that closed after a successful trial call.
const TRIAL_CLOSE_DETAIL: &str = "closed after a successful trial call following the cool-down";

impl PluginManager {
    /// Writes a breaker change made by `actor` to the row and the audit
    /// log, and reloads and announces the install. Failures are logged:
    /// the breaker in memory has changed already, so the call goes on.
    pub(crate) async fn apply_breaker_transition(&self, active: &ActiveInstall, transition: Transition, actor: &str) {
        let tenant = active.tenant();
        let install = active.install.id;
        let (open, reason, at, detail) = match transition {
            Transition::Unchanged => return,
            Transition::Opened { reason, opened_at } => {
                tracing::warn!(tenant.id = tenant.0, install.id = install.0, plugin.name = %active.version.name, plugin.version = active.version.version, %reason, "plugin breaker opened; calls are skipped until the cool-down passes or an admin resets it");
                (true, Some(reason.clone()), opened_at, reason)
            }
            Transition::Closed => {
                tracing::info!(tenant.id = tenant.0, install.id = install.0, plugin.name = %active.version.name, "plugin breaker closed after a successful trial call");
                (false, None, Utc::now(), TRIAL_CLOSE_DETAIL.to_string())
            }
        };

        let scoped = self.store.scoped(tenant);
        if let Err(error) = scoped.set_breaker(install, open, reason.as_deref(), at).await {
            tracing::error!(tenant.id = tenant.0, install.id = install.0, %error, "failed to store the plugin breaker state");
            return;
        }

        let entry = NewAuditEntry {
            install: Some(install),
            hook: active.install.hook,
            plugin_name: active.install.plugin_name.clone(),
            action: if open { AuditAction::BreakerOpen } else { AuditAction::BreakerReset },
            actor: actor.to_string(),
            from_version: Some(active.version.version),
            to_version: Some(active.version.version),
            detail: Some(detail),
            at,
        };
        if let Err(error) = scoped.append_audit(entry).await {
            tracing::error!(tenant.id = tenant.0, install.id = install.0, %error, "failed to audit the plugin breaker change");
        }

        self.changed(tenant, install, if open { "breaker_open" } else { "breaker_close" }).await;
    }

    /// Closes the install's breaker at once on an admin's request, and returns
    /// the install. An install whose breaker is closed is returned unchanged.
    pub async fn reset_breaker(&self, tenant: TenantId, hook: Hook, name: &str, actor: &str) -> Result<PluginInstall, ManagerError> {
        let scoped = self.store.scoped(tenant);
        let install = self.require_install(&scoped, hook, name).await?;

        let in_memory = self
            .registry
            .by_id(install.id)
            .filter(|active| active.tenant() == tenant)
            .map(|active| active.breaker.reset());
        if !install.breaker.open && in_memory != Some(Transition::Closed) {
            return Ok(install);
        }

        let now = Utc::now();
        let updated = scoped.set_breaker(install.id, false, None, now).await?;
        scoped
            .append_audit(NewAuditEntry {
                install: Some(install.id),
                hook,
                plugin_name: install.plugin_name.clone(),
                action: AuditAction::BreakerReset,
                actor: actor.to_string(),
                from_version: install.active_version.as_ref().map(|version| version.version),
                to_version: install.active_version.as_ref().map(|version| version.version),
                detail: Some(match &install.breaker.reason {
                    Some(reason) => format!("reset by an admin; it had opened because: {reason}"),
                    None => "reset by an admin".to_string(),
                }),
                at: now,
            })
            .await?;

        tracing::info!(tenant.id = tenant.0, install.id = install.id.0, actor, "plugin breaker reset by an admin");
        self.changed(tenant, install.id, "breaker_reset").await;
        Ok(updated)
    }

    /// Returns the state of the install's breaker on this node, or `None`
    /// when the install is not loaded because it has no active version.
    pub async fn breaker_state(&self, tenant: TenantId, hook: Hook, name: &str) -> Result<Option<BreakerState>, ManagerError> {
        let scoped = self.store.scoped(tenant);
        let install = self.require_install(&scoped, hook, name).await?;

        let state = self
            .registry
            .by_id(install.id)
            .filter(|active| active.tenant() == tenant)
            .map(|active| active.breaker.state(Utc::now()));
        Ok(state)
    }
}
