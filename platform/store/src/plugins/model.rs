//! Plain data types of the plugin platform that cross the store's boundary.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use civic311_domain::plugin::{Capability, Grants, Hook, LimitOverrides, RecordKind};
use serde::{Deserialize, Serialize};

use crate::TenantId;

/// Database id of an uploaded plugin version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PluginVersionId(pub i64);

/// Database id of an install: one tenant's use of one plugin on one hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstallId(pub i64);

/// Database id of an integration outbox job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IntegrationJobId(pub i64);

impl fmt::Display for PluginVersionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

impl fmt::Display for InstallId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

impl fmt::Display for IntegrationJobId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A validated component to store as the next version of a plugin. The
/// store computes `size_bytes` from `wasm` and numbers the version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPluginVersion {
    pub name: String,
    pub hook: Hook,
    /// WIT world the component targets, such as `router-with-capabilities`.
    pub world: String,
    /// SHA-256 of `wasm` as lowercase hex.
    pub digest: String,
    /// Capability interfaces the component imports.
    pub capabilities: Vec<Capability>,
    pub wasm: Vec<u8>,
    pub description: String,
    /// Admin, API key or operator that uploaded the component.
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// An immutable uploaded version, without its bytes (see `TenantStore::plugin_wasm`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginVersion {
    pub id: PluginVersionId,
    /// Tenant that owns the private plugin; `None` for the platform catalogue.
    pub owner: Option<TenantId>,
    pub name: String,
    /// Counts from 1 within (owner, name).
    pub version: i32,
    pub hook: Hook,
    pub world: String,
    pub digest: String,
    pub size_bytes: u64,
    pub capabilities: Vec<Capability>,
    pub description: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// A precompiled version to store. `key` is `{digest}-{engine_hash}`, and
/// `mac` the platform key's HMAC over the artifact.
#[derive(Clone, PartialEq, Eq)]
pub struct NewArtifact {
    pub key: String,
    pub digest: String,
    pub engine_hash: String,
    pub artifact: Vec<u8>,
    pub mac: Vec<u8>,
}

/// A stored precompiled version. Verify `mac` before deserializing `artifact`.
#[derive(Clone, PartialEq, Eq)]
pub struct PluginArtifact {
    pub key: String,
    pub digest: String,
    pub engine_hash: String,
    pub artifact: Vec<u8>,
    pub mac: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for NewArtifact {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("NewArtifact")
            .field("key", &self.key)
            .field("artifact_bytes", &self.artifact.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PluginArtifact {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("PluginArtifact")
            .field("key", &self.key)
            .field("artifact_bytes", &self.artifact.len())
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// An install to create. It starts with no active version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInstall {
    pub hook: Hook,
    pub plugin_name: String,
    /// The tenant itself for its private plugin; `None` for a catalogue plugin.
    pub plugin_owner: Option<TenantId>,
    pub config: BTreeMap<String, String>,
    pub grants: Grants,
    pub limits: LimitOverrides,
}

/// The stored state of an install's circuit breaker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerRecord {
    pub open: bool,
    /// Reason the breaker tripped, shown to the tenant's admins.
    pub reason: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
}

/// A tenant's use of one plugin on one hook, with its versions resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInstall {
    pub id: InstallId,
    pub tenant: TenantId,
    pub hook: Hook,
    pub plugin_name: String,
    /// The tenant itself for its private plugin; `None` for a catalogue plugin.
    pub plugin_owner: Option<TenantId>,
    pub active_version: Option<PluginVersion>,
    /// Candidate version that runs beside the active one without effect.
    pub shadow_version: Option<PluginVersion>,
    pub config: BTreeMap<String, String>,
    pub grants: Grants,
    pub limits: LimitOverrides,
    pub breaker: BreakerRecord,
    pub updated_at: DateTime<Utc>,
}

/// Result of `TenantStore::set_active_version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveVersionChange {
    /// The install after the change.
    pub install: PluginInstall,
    /// The version that was active before, if any.
    pub previous: Option<PluginVersion>,
    /// Other router installs of the tenant that lost their active version,
    /// because a tenant has at most one active router. Each is shown after the change.
    pub deactivated: Vec<PluginInstall>,
}

/// Kind of change recorded in the plugin audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Upload,
    Install,
    Activate,
    Rollback,
    Deactivate,
    ShadowStart,
    ShadowStop,
    GrantsChange,
    LimitsChange,
    ConfigChange,
    SecretSet,
    SecretDelete,
    BreakerOpen,
    BreakerReset,
}

impl AuditAction {
    pub const ALL: [AuditAction; 14] = [
        AuditAction::Upload,
        AuditAction::Install,
        AuditAction::Activate,
        AuditAction::Rollback,
        AuditAction::Deactivate,
        AuditAction::ShadowStart,
        AuditAction::ShadowStop,
        AuditAction::GrantsChange,
        AuditAction::LimitsChange,
        AuditAction::ConfigChange,
        AuditAction::SecretSet,
        AuditAction::SecretDelete,
        AuditAction::BreakerOpen,
        AuditAction::BreakerReset,
    ];

    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Upload => "upload",
            AuditAction::Install => "install",
            AuditAction::Activate => "activate",
            AuditAction::Rollback => "rollback",
            AuditAction::Deactivate => "deactivate",
            AuditAction::ShadowStart => "shadow_start",
            AuditAction::ShadowStop => "shadow_stop",
            AuditAction::GrantsChange => "grants_change",
            AuditAction::LimitsChange => "limits_change",
            AuditAction::ConfigChange => "config_change",
            AuditAction::SecretSet => "secret_set",
            AuditAction::SecretDelete => "secret_delete",
            AuditAction::BreakerOpen => "breaker_open",
            AuditAction::BreakerReset => "breaker_reset",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for AuditAction {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        AuditAction::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
            .ok_or_else(|| format!("invalid audit action '{value}'"))
    }
}

/// Actor, action and reason of a version change, written to the audit log
/// in the same transaction as the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditNote {
    pub actor: String,
    pub action: AuditAction,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// An audit entry to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub install: Option<InstallId>,
    pub hook: Hook,
    pub plugin_name: String,
    pub action: AuditAction,
    pub actor: String,
    pub from_version: Option<i32>,
    pub to_version: Option<i32>,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// A stored audit entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub tenant: TenantId,
    pub install: Option<InstallId>,
    pub hook: Hook,
    pub plugin_name: String,
    pub action: AuditAction,
    pub actor: String,
    pub from_version: Option<i32>,
    pub to_version: Option<i32>,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// Filters of `TenantStore::audit_log`; `None` matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub hook: Option<Hook>,
    pub plugin_name: Option<String>,
    /// Maximum number of entries; 0 reads as [`DEFAULT_LIST_LIMIT`].
    pub limit: u64,
}

/// Entries returned by list calls that are given a limit of 0.
pub const DEFAULT_LIST_LIMIT: u64 = 100;

/// Outcome of a plugin call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginCallOutcome {
    /// The plugin returned a valid result.
    Ok,
    /// The call failed; `error_kind` names how (trap, timeout, fuel...).
    Failed,
    /// The platform did not call the plugin, because its breaker was open.
    Skipped,
}

impl PluginCallOutcome {
    pub const ALL: [PluginCallOutcome; 3] = [PluginCallOutcome::Ok, PluginCallOutcome::Failed, PluginCallOutcome::Skipped];

    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginCallOutcome::Ok => "ok",
            PluginCallOutcome::Failed => "failed",
            PluginCallOutcome::Skipped => "skipped",
        }
    }

    fn parse(value: &str) -> Option<PluginCallOutcome> {
        PluginCallOutcome::ALL.into_iter().find(|outcome| outcome.as_str() == value)
    }
}

impl FromStr for PluginCallOutcome {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        PluginCallOutcome::parse(value).ok_or_else(|| format!("invalid call outcome '{value}'"))
    }
}

/// A plugin call to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCallRecord {
    pub install: InstallId,
    /// Version number that ran.
    pub version: i32,
    pub hook: Hook,
    /// Public id of the service request the call was for, if any.
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
    pub duration_us: u64,
    pub fuel_used: u64,
    pub outcome: PluginCallOutcome,
    /// `PluginError::kind()` of a failed call.
    pub error_kind: Option<String>,
    /// True for a shadow call, whose result had no effect.
    pub shadow: bool,
}

/// A stored plugin call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: i64,
    pub install: InstallId,
    pub version: i32,
    pub hook: Hook,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
    pub duration_us: u64,
    pub fuel_used: u64,
    pub outcome: PluginCallOutcome,
    pub error_kind: Option<String>,
    pub shadow: bool,
}

/// Severity of a plugin's log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginLogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl PluginLogLevel {
    pub const ALL: [PluginLogLevel; 4] = [PluginLogLevel::Debug, PluginLogLevel::Info, PluginLogLevel::Warn, PluginLogLevel::Error];

    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginLogLevel::Debug => "debug",
            PluginLogLevel::Info => "info",
            PluginLogLevel::Warn => "warn",
            PluginLogLevel::Error => "error",
        }
    }
}

impl FromStr for PluginLogLevel {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        PluginLogLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == value)
            .ok_or_else(|| format!("invalid log level '{value}'"))
    }
}

/// A log line that a plugin wrote through the `log` capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPluginLogLine {
    pub install: InstallId,
    pub version: i32,
    pub request_id: Option<String>,
    pub level: PluginLogLevel,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// A stored plugin log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginLogLine {
    pub id: i64,
    pub install: InstallId,
    pub version: i32,
    pub request_id: Option<String>,
    pub level: PluginLogLevel,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// Filters of `TenantStore::plugin_logs`; `None` matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub install: Option<InstallId>,
    pub request_id: Option<String>,
    /// Maximum number of lines; 0 reads as [`DEFAULT_LIST_LIMIT`].
    pub limit: u64,
}

/// Counts to add to an install's usage of one day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub calls: u64,
    pub work_orders: u64,
    pub inspections: u64,
}

/// Usage of one install on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    pub tenant: TenantId,
    pub install: InstallId,
    pub plugin_owner: Option<TenantId>,
    pub plugin_name: String,
    pub day: NaiveDate,
    pub calls: u64,
    pub work_orders: u64,
    pub inspections: u64,
}

/// A secret's name and when it was last set; the value is never listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretName {
    pub name: String,
    pub updated_at: DateTime<Utc>,
}

/// A secret encrypted with the platform key, for the vault only.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("SealedSecret(redacted)")
    }
}

/// One live request on which a shadow candidate ran beside the active version.
#[derive(Clone, Debug, PartialEq)]
pub struct NewShadowResult {
    pub install: InstallId,
    pub request_id: String,
    pub active_version: i32,
    pub candidate_version: i32,
    pub active_decision: serde_json::Value,
    pub candidate_decision: serde_json::Value,
    pub agrees: bool,
    pub at: DateTime<Utc>,
}

/// A stored shadow comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShadowResult {
    pub id: i64,
    pub install: InstallId,
    pub request_id: String,
    pub active_version: i32,
    pub candidate_version: i32,
    pub active_decision: serde_json::Value,
    pub candidate_decision: serde_json::Value,
    pub agrees: bool,
    pub at: DateTime<Utc>,
}

/// Counts of shadow comparisons of one install.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowSummary {
    pub total: u64,
    pub agreeing: u64,
    pub disagreeing: u64,
}

/// State of an integration outbox job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationJobStatus {
    /// Waiting for `next_attempt_at`.
    Pending,
    /// Claimed by a worker until `claimed_until`.
    Running,
    /// The integration synced the request.
    Done,
    /// The integration rejected the request; no retry.
    Rejected,
}

impl IntegrationJobStatus {
    pub const ALL: [IntegrationJobStatus; 4] = [
        IntegrationJobStatus::Pending,
        IntegrationJobStatus::Running,
        IntegrationJobStatus::Done,
        IntegrationJobStatus::Rejected,
    ];

    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationJobStatus::Pending => "pending",
            IntegrationJobStatus::Running => "running",
            IntegrationJobStatus::Done => "done",
            IntegrationJobStatus::Rejected => "rejected",
        }
    }
}

impl FromStr for IntegrationJobStatus {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        IntegrationJobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| format!("invalid integration job status '{value}'"))
    }
}

/// One integration call owed for one service request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationJob {
    pub id: IntegrationJobId,
    pub tenant: TenantId,
    pub install: InstallId,
    /// Public id of the service request.
    pub request_id: String,
    pub status: IntegrationJobStatus,
    /// Claims so far, including the current one. Finishing calls compare it,
    /// so a worker whose claim expired and was taken over changes nothing.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A record that an integration created or found in a back end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationRecord {
    pub id: i64,
    pub install: InstallId,
    pub request_id: String,
    pub kind: RecordKind,
    pub remote_id: String,
    pub remote_status: Option<String>,
    pub created_at: DateTime<Utc>,
}
