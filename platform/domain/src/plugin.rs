//! The plugin platform's vocabulary: hooks, capabilities and their grants,
//! per-install limit overrides, and the integration contract in plain Rust.
//! The plugin host converts the integration types to and from the WIT types
//! of the `integration` world in `plugins/wit/`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::Priority;

/// The point in request handling at which the platform calls a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    /// One routing decision per new service request (world `router` or
    /// `router-with-capabilities`).
    Router,
    /// Called after routing through the durable outbox (world `integration`).
    Integration,
}

impl Hook {
    pub const ALL: [Hook; 2] = [Hook::Router, Hook::Integration];

    /// Returns the stable identifier used in storage, APIs and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Router => "router",
            Hook::Integration => "integration",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a hook name outside [`Hook::ALL`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid hook '{0}': expected router or integration")]
pub struct InvalidHook(pub String);

impl FromStr for Hook {
    type Err = InvalidHook;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Hook::ALL
            .into_iter()
            .find(|hook| hook.as_str() == value.trim())
            .ok_or_else(|| InvalidHook(value.to_string()))
    }
}

/// A platform service that a plugin may import, denied unless granted on the install.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Structured log lines (`civic311:plugins/log`).
    Logs,
    /// A key-value store scoped to the install (`civic311:plugins/kv`).
    Kv,
    /// Encrypted secrets read by name (`civic311:plugins/secrets`).
    Secrets,
    /// Outbound HTTP to an allow-list of hosts (`civic311:plugins/http`).
    Http,
}

impl Capability {
    pub const ALL: [Capability; 4] = [Capability::Logs, Capability::Kv, Capability::Secrets, Capability::Http];

    /// Returns the stable identifier used in storage, APIs and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Logs => "logs",
            Capability::Kv => "kv",
            Capability::Secrets => "secrets",
            Capability::Http => "http",
        }
    }

    /// Returns the WIT interface name in package `civic311:plugins` that
    /// carries this capability, such as `log` for [`Capability::Logs`].
    pub fn interface(self) -> &'static str {
        match self {
            Capability::Logs => "log",
            Capability::Kv => "kv",
            Capability::Secrets => "secrets",
            Capability::Http => "http",
        }
    }

    /// Returns the capability whose WIT interface is `interface`, or none.
    pub fn from_interface(interface: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|capability| capability.interface() == interface)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a capability name outside [`Capability::ALL`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid capability '{0}': expected one of logs, kv, secrets, http")]
pub struct InvalidCapability(pub String);

impl FromStr for Capability {
    type Err = InvalidCapability;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|capability| capability.as_str() == value.trim())
            .ok_or_else(|| InvalidCapability(value.to_string()))
    }
}

/// The capabilities granted to one install. The default grants nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Grants {
    pub logs: bool,
    pub kv: bool,
    pub secrets: bool,
    /// Hosts the plugin may send HTTP requests to: exact names, compared
    /// case-insensitively, or `*.suffix` wildcards. An empty list denies `http`.
    pub http_hosts: Vec<String>,
}

impl Grants {
    /// Returns whether the install may use `capability`; `http` is granted
    /// exactly when the host allow-list is not empty.
    pub fn allows(&self, capability: Capability) -> bool {
        match capability {
            Capability::Logs => self.logs,
            Capability::Kv => self.kv,
            Capability::Secrets => self.secrets,
            Capability::Http => !self.http_hosts.is_empty(),
        }
    }

    /// Returns the granted capabilities in [`Capability::ALL`] order.
    pub fn granted(&self) -> Vec<Capability> {
        Capability::ALL.into_iter().filter(|capability| self.allows(*capability)).collect()
    }
}

/// A tenant's overrides of the platform's default call limits for one
/// install. `None` keeps the default; a value above the platform maximum is
/// rejected when the limits are resolved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitOverrides {
    /// Fuel units per call.
    pub fuel: Option<u64>,
    /// Linear memory per call, in bytes, summed over all memories.
    pub memory_bytes: Option<u64>,
    /// Wall time per call, in milliseconds.
    pub wall_time_ms: Option<u64>,
    /// Serialized size of the call's output (decision or synced records), in bytes.
    pub max_output_bytes: Option<u64>,
    /// Fuel units per second of all the install's router calls on one node.
    pub fuel_per_second: Option<u64>,
}

/// A routed service request as an integration plugin receives it. It carries no
/// contact details of the constituent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntegrationRequest {
    /// Public service request id, such as `HAV-2026-000123`.
    pub id: String,
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    /// Attribute code to submitted value keys.
    pub answers: BTreeMap<String, Vec<String>>,
    /// Department code that routing chose.
    pub department: String,
    pub priority: Priority,
    pub queue: Option<String>,
    pub requested_at: DateTime<FixedOffset>,
    /// The install's configuration, set by the tenant's admin.
    pub config: BTreeMap<String, String>,
}

/// Kind of record an integration created in a back end; work orders and
/// inspections are metered for cost sharing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    WorkOrder,
    Inspection,
    Other,
}

impl RecordKind {
    pub const ALL: [RecordKind; 3] = [RecordKind::WorkOrder, RecordKind::Inspection, RecordKind::Other];

    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::WorkOrder => "work_order",
            RecordKind::Inspection => "inspection",
            RecordKind::Other => "other",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a record kind name outside [`RecordKind::ALL`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid record kind '{0}': expected one of work_order, inspection, other")]
pub struct InvalidRecordKind(pub String);

impl FromStr for RecordKind {
    type Err = InvalidRecordKind;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value.trim())
            .ok_or_else(|| InvalidRecordKind(value.to_string()))
    }
}

/// A record that an integration created or found in the back end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedRecord {
    pub kind: RecordKind,
    /// The back end's id of the record.
    pub remote_id: String,
    /// The back end's status text, when it returned one.
    pub remote_status: Option<String>,
    /// True when this call created the record, false when it found one from an earlier try.
    pub created: bool,
}

/// An integration's own reason for a failed sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncFailure {
    /// A transient failure; the platform retries later.
    Retry(String),
    /// A permanent failure; the platform stops and records the message.
    Rejected(String),
}

impl fmt::Display for SyncFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncFailure::Retry(message) => write!(f, "retry: {message}"),
            SyncFailure::Rejected(message) => write!(f, "rejected: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_round_trips_through_text_and_serde() {
        for hook in Hook::ALL {
            assert_eq!(hook.to_string().parse::<Hook>(), Ok(hook));
            let json = serde_json::to_string(&hook).unwrap();
            assert_eq!(json, format!("\"{hook}\""));
            assert_eq!(serde_json::from_str::<Hook>(&json).unwrap(), hook);
        }
    }

    #[test]
    fn hook_parse_rejects_unknown_name() {
        let error = "routing".parse::<Hook>().unwrap_err();
        assert_eq!(error, InvalidHook("routing".into()));
        assert!(error.to_string().contains("expected router or integration"));
    }

    #[test]
    fn capability_round_trips_through_text_and_serde() {
        for capability in Capability::ALL {
            assert_eq!(capability.to_string().parse::<Capability>(), Ok(capability));
            let json = serde_json::to_string(&capability).unwrap();
            assert_eq!(json, format!("\"{capability}\""));
        }
        assert_eq!("network".parse::<Capability>(), Err(InvalidCapability("network".into())));
    }

    #[test]
    fn capability_maps_wit_interfaces() {
        assert_eq!(Capability::from_interface("log"), Some(Capability::Logs));
        assert_eq!(Capability::from_interface("http"), Some(Capability::Http));
        assert_eq!(Capability::from_interface("logs"), None);
        for capability in Capability::ALL {
            assert_eq!(Capability::from_interface(capability.interface()), Some(capability));
        }
    }

    #[test]
    fn default_grants_deny_everything() {
        let grants = Grants::default();
        for capability in Capability::ALL {
            assert!(!grants.allows(capability), "{capability} allowed by default");
        }
        assert!(grants.granted().is_empty());
    }

    #[test]
    fn http_granted_by_non_empty_allow_list() {
        let grants = Grants { http_hosts: vec!["api.viewpermit.example".into()], ..Grants::default() };
        assert!(grants.allows(Capability::Http));
        assert!(!grants.allows(Capability::Kv));
        assert_eq!(grants.granted(), vec![Capability::Http]);
    }

    #[test]
    fn grants_deserialize_with_missing_fields() {
        let grants: Grants = serde_json::from_str(r#"{"kv": true}"#).unwrap();
        assert!(grants.kv);
        assert!(!grants.logs);
        assert!(grants.http_hosts.is_empty());
    }

    #[test]
    fn limit_overrides_deserialize_partial() {
        let limits: LimitOverrides = serde_json::from_str(r#"{"fuel": 5000}"#).unwrap();
        assert_eq!(limits, LimitOverrides { fuel: Some(5000), ..LimitOverrides::default() });

        // A misspelt limit is an error, not a silent reset to the default.
        let misspelt = serde_json::from_str::<LimitOverrides>(r#"{"fuel_per_seconds": 5}"#).unwrap_err();
        assert!(misspelt.to_string().contains("fuel_per_seconds"), "{misspelt}");
    }

    #[test]
    fn record_kind_round_trips() {
        for kind in RecordKind::ALL {
            assert_eq!(kind.to_string().parse::<RecordKind>(), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        assert!("ticket".parse::<RecordKind>().is_err());
    }

    #[test]
    fn integration_request_serde_round_trip() {
        let request = IntegrationRequest {
            id: "HAV-2026-000123".into(),
            service_code: "pothole".into(),
            service_name: "Pothole".into(),
            description: "Deep pothole".into(),
            address: Some("1 Main St".into()),
            lat: Some(42.7762),
            long: Some(-71.0773),
            answers: BTreeMap::from([("size".into(), vec!["large".into()])]),
            department: "dpw-highway".into(),
            priority: Priority::High,
            queue: None,
            requested_at: DateTime::parse_from_rfc3339("2026-12-04T10:15:00-05:00").unwrap(),
            config: BTreeMap::from([("base_url".into(), "http://127.0.0.1:9000".into())]),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<IntegrationRequest>(&json).unwrap(), request);
    }

    #[test]
    fn sync_failure_displays_kind_and_message() {
        assert_eq!(SyncFailure::Retry("503 from back end".into()).to_string(), "retry: 503 from back end");
        assert_eq!(SyncFailure::Rejected("bad".into()).to_string(), "rejected: bad");
    }
}
