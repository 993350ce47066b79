//! JSON shapes of the plugin admin API's replies, shared with the command
//! line's `--format json`. No view carries a secret value or ciphertext.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use civic311_domain::plugin::{Capability, Grants, Hook, LimitOverrides};
use civic311_plugin_host::{CallLimits, HostConfig};
use civic311_plugin_manager::{BreakerState, DecisionOrError, DryRunReport, SecretState, SecretStatus};
use civic311_store::{AuditEntry, PluginInstall, PluginLogLine, PluginVersion, ShadowResult};
use serde::Serialize;

/// Owner of a plugin: the tenant itself or the platform catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Tenant,
    Catalogue,
}

impl Source {
    pub fn of(owner_is_catalogue: bool) -> Source {
        if owner_is_catalogue { Source::Catalogue } else { Source::Tenant }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Tenant => "tenant",
            Source::Catalogue => "catalogue",
        }
    }
}

/// One immutable plugin version, without its bytes.
#[derive(Clone, Debug, Serialize)]
pub struct VersionView {
    pub name: String,
    pub version: i32,
    pub source: Source,
    pub hook: Hook,
    pub world: String,
    pub digest: String,
    pub size_bytes: u64,
    pub capabilities: Vec<Capability>,
    pub description: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

impl From<&PluginVersion> for VersionView {
    fn from(version: &PluginVersion) -> VersionView {
        VersionView {
            name: version.name.clone(),
            version: version.version,
            source: Source::of(version.owner.is_none()),
            hook: version.hook,
            world: version.world.clone(),
            digest: version.digest.clone(),
            size_bytes: version.size_bytes,
            capabilities: version.capabilities.clone(),
            description: version.description.clone(),
            uploaded_by: version.uploaded_by.clone(),
            uploaded_at: version.uploaded_at,
        }
    }
}

/// Reply of an upload: the version and whether these bytes were new.
#[derive(Clone, Debug, Serialize)]
pub struct UploadedView {
    pub created: bool,
    pub version: VersionView,
}

/// Call limits in the units the API takes them in.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LimitsView {
    pub fuel: u64,
    pub memory_bytes: u64,
    pub wall_time_ms: u64,
    pub max_output_bytes: u64,
    pub fuel_per_second: u64,
}

impl From<&CallLimits> for LimitsView {
    fn from(limits: &CallLimits) -> LimitsView {
        LimitsView {
            fuel: limits.fuel,
            memory_bytes: limits.max_memory_bytes as u64,
            wall_time_ms: limits.wall_time.as_millis() as u64,
            max_output_bytes: limits.max_output_bytes as u64,
            fuel_per_second: limits.fuel_per_second,
        }
    }
}

/// The install's overrides, and the limits its calls run with.
#[derive(Clone, Debug, Serialize)]
pub struct InstallLimitsView {
    pub overrides: LimitOverrides,
    /// `None` when an override is above the platform maximum, which
    /// `effective_error` then names.
    pub effective: Option<LimitsView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_error: Option<String>,
    pub maximum: LimitsView,
}

impl InstallLimitsView {
    pub fn new(overrides: &LimitOverrides, host: &HostConfig) -> InstallLimitsView {
        let (effective, effective_error) = match host.limits_for(overrides) {
            Ok(limits) => (Some(LimitsView::from(&limits)), None),
            Err(error) => (None, Some(error.to_string())),
        };
        InstallLimitsView {
            overrides: *overrides,
            effective,
            effective_error,
            maximum: LimitsView::from(&host.maxima),
        }
    }
}

/// Circuit breaker state of an install: the stored state, which every node
/// follows, and the live state of this node's breaker.
#[derive(Clone, Debug, Serialize)]
pub struct BreakerView {
    pub open: bool,
    pub reason: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
    /// `closed` with the failures in a row, `open`, or `half_open` once the
    /// cool-down has passed. `None` when no version of the install is active;
    /// filled by the detail route only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<BreakerState>,
}

/// Name and state of a stored secret; its value is never returned.
#[derive(Clone, Debug, Serialize)]
pub struct SecretNameView {
    pub name: String,
    pub updated_at: DateTime<Utc>,
    /// `set`, or `unreadable` when the platform key does not open the
    /// stored value, such as one sealed under a lost key.
    pub state: SecretState,
    /// Fix for an unreadable secret, absent for a readable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<SecretStatus> for SecretNameView {
    fn from(secret: SecretStatus) -> SecretNameView {
        let hint = (secret.state == SecretState::Unreadable).then(|| UNREADABLE_SECRET_HINT.to_string());
        SecretNameView {
            name: secret.name,
            updated_at: secret.updated_at,
            state: secret.state,
            hint,
        }
    }
}

/// Advice shown beside a secret that the platform key does not open.
pub const UNREADABLE_SECRET_HINT: &str =
    "sealed under another platform key or changed in the database, so plugins cannot read it; set the secret again";

/// A tenant's install of one plugin on one hook.
#[derive(Clone, Debug, Serialize)]
pub struct InstallView {
    pub id: i64,
    pub hook: Hook,
    pub plugin: String,
    pub source: Source,
    pub active_version: Option<VersionView>,
    pub shadow_version: Option<VersionView>,
    pub grants: Grants,
    pub limits: InstallLimitsView,
    pub config: BTreeMap<String, String>,
    /// Names of the install's secrets; filled by the detail route only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<SecretNameView>>,
    pub breaker: BreakerView,
    pub updated_at: DateTime<Utc>,
}

impl InstallView {
    pub fn new(install: &PluginInstall, host: &HostConfig) -> InstallView {
        InstallView {
            id: install.id.0,
            hook: install.hook,
            plugin: install.plugin_name.clone(),
            source: Source::of(install.plugin_owner.is_none()),
            active_version: install.active_version.as_ref().map(VersionView::from),
            shadow_version: install.shadow_version.as_ref().map(VersionView::from),
            grants: install.grants.clone(),
            limits: InstallLimitsView::new(&install.limits, host),
            config: install.config.clone(),
            secrets: None,
            breaker: BreakerView {
                open: install.breaker.open,
                reason: install.breaker.reason.clone(),
                opened_at: install.breaker.opened_at,
                live: None,
            },
            updated_at: install.updated_at,
        }
    }
}

/// Reply of activate and rollback.
#[derive(Clone, Debug, Serialize)]
pub struct ActivationView {
    pub from_version: Option<i32>,
    pub to_version: i32,
    pub install: InstallView,
}

/// One entry of the plugin audit log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub hook: Hook,
    pub plugin: String,
    pub from_version: Option<i32>,
    pub to_version: Option<i32>,
    pub detail: Option<String>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(entry: &AuditEntry) -> AuditEntryView {
        AuditEntryView {
            id: entry.id,
            at: entry.at,
            actor: entry.actor.clone(),
            action: entry.action.as_str().to_string(),
            hook: entry.hook,
            plugin: entry.plugin_name.clone(),
            from_version: entry.from_version,
            to_version: entry.to_version,
            detail: entry.detail.clone(),
        }
    }
}

/// A line that a plugin wrote through the `log` capability.
#[derive(Clone, Debug, Serialize)]
pub struct LogLineView {
    pub at: DateTime<Utc>,
    pub version: i32,
    pub level: &'static str,
    pub request_id: Option<String>,
    pub message: String,
}

impl From<&PluginLogLine> for LogLineView {
    fn from(line: &PluginLogLine) -> LogLineView {
        LogLineView {
            at: line.at,
            version: line.version,
            level: line.level.as_str(),
            request_id: line.request_id.clone(),
            message: line.message.clone(),
        }
    }
}

/// One live request on which a shadow candidate ran beside the active version.
#[derive(Clone, Debug, Serialize)]
pub struct ShadowResultView {
    pub at: DateTime<Utc>,
    pub request_id: String,
    pub active_version: i32,
    pub candidate_version: i32,
    pub active_decision: serde_json::Value,
    pub candidate_decision: serde_json::Value,
    pub agrees: bool,
}

impl From<&ShadowResult> for ShadowResultView {
    fn from(result: &ShadowResult) -> ShadowResultView {
        ShadowResultView {
            at: result.at,
            request_id: result.request_id.clone(),
            active_version: result.active_version,
            candidate_version: result.candidate_version,
            active_decision: result.active_decision.clone(),
            candidate_decision: result.candidate_decision.clone(),
            agrees: result.agrees,
        }
    }
}

/// A dry run's report, serialized as the manager's report.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct DryRunView(pub DryRunReport);

impl DryRunView {
    /// Renders a table of request id, active and candidate decision, then
    /// the changed count, for a terminal.
    pub fn text_table(&self) -> String {
        let report = &self.0;
        let active = report
            .active
            .as_ref()
            .map(|active| format!("{} v{}", active.name, active.version))
            .unwrap_or_else(|| "no active router".into());
        let candidate = format!("{} v{}", report.candidate.name, report.candidate.version);

        let rows: Vec<[String; 4]> = report
            .rows
            .iter()
            .map(|row| {
                let mark = if row.changed { "changed" } else { "" };
                [row.request_id.clone(), summarize(&row.active), summarize(&row.candidate), mark.to_string()]
            })
            .collect();
        let header = ["request".to_string(), format!("active ({active})"), format!("candidate ({candidate})"), String::new()];
        let widths: Vec<usize> = (0..4)
            .map(|column| rows.iter().chain(std::iter::once(&header)).map(|row| row[column].chars().count()).max().unwrap_or(0))
            .collect();

        let mut text = String::new();
        for row in std::iter::once(&header).chain(rows.iter()) {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            text.push_str(cells.join("  ").trim_end());
            text.push('\n');
        }
        for row in report.rows.iter().filter(|row| row.changed) {
            text.push_str(&format!("{}: {}\n", row.request_id, row.changes.join("; ")));
        }
        text.push_str(&format!("{} of {} decisions would change\n", report.changed_count, report.total));
        text
    }
}

/// Returns `department/priority[/queue]`, or the error kind, of one outcome.
fn summarize(outcome: &DecisionOrError) -> String {
    match outcome {
        DecisionOrError::Decision { decision } => {
            let mut text = format!("{}/{}", decision.department, decision.priority.as_str());
            if let Some(queue) = &decision.queue {
                text.push('/');
                text.push_str(queue);
            }
            text
        }
        DecisionOrError::Error { kind, .. } => format!("error: {kind}"),
        DecisionOrError::NoRouter { default_department } => format!("default: {default_department}"),
    }
}
