//! The routing contract between the platform and a tenant's router plugin,
//! in plain Rust. The plugin host converts these to and from the WIT types
//! of the `router` world in `plugins/wit/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::sla::Sla;
use crate::{Channel, Priority};

/// Local wall-clock time of the request in the tenant's time zone. Plugins
/// get no clock import, so the host passes the time it received the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTime {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
    /// 0 to 23.
    pub hour: u8,
    pub minute: u8,
    /// 0 is Monday, 6 is Sunday.
    pub weekday: u8,
}

/// A department the plugin may route to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRef {
    pub code: String,
    pub name: String,
}

/// One answer to a service definition attribute; list datatypes carry several values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeValue {
    pub code: String,
    pub values: Vec<String>,
}

/// Input a router plugin receives for one service request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteInput {
    pub service_code: String,
    pub service_name: String,
    pub service_group: Option<String>,
    /// The service's default department from the tenant manifest.
    pub default_department: String,
    pub description: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub attributes: Vec<AttributeValue>,
    pub channel: Channel,
    pub received_local: LocalTime,
    /// True when the request arrived outside the tenant's business hours or on a holiday.
    pub after_hours: bool,
    /// The tenant's departments that have joined 311 at the time of the request.
    pub departments: Vec<DepartmentRef>,
    /// Settings from the tenant manifest's `[routing.settings]` table.
    pub settings: BTreeMap<String, String>,
}

/// A router plugin's decision for one service request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RouteDecision {
    pub department: String,
    pub priority: Priority,
    /// A work queue inside the department, such as `snow-ward-3`.
    pub queue: Option<String>,
    pub assignee: Option<String>,
    /// Replaces the service's SLA for this request.
    pub sla_override: Option<Sla>,
    /// Short text that explains the rule that fired; stored in the request history.
    pub reason: Option<String>,
}
