//! Tenant manifests: the folder `tenants/<slug>/` that describes one city.
//!
//! A manifest is two TOML files. `tenant.toml` contains the city, its calendar,
//! departments, routing plugin and telephony, and `services.toml` contains the
//! service list. [`load`] reads and validates both and reports each problem
//! with the file and the field.

mod error;
mod load;
mod validate;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::locale::{Locale, LocalizedText};
use crate::sla::Sla;

pub use error::ManifestError;
pub use load::{load, load_from_strings, SERVICES_FILE, TENANT_FILE};

/// One city, as written in `tenant.toml` plus its `services.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantManifest {
    /// Short lowercase id used in URLs and commands, such as `haverhill`.
    pub slug: String,
    pub name: String,
    /// The Open311 `jurisdiction_id`, by convention the city's web domain.
    pub jurisdiction_id: String,
    /// IANA time zone name, such as `America/New_York`.
    pub time_zone: String,
    pub locales: Vec<Locale>,
    /// Public contact line shown in Open311 discovery.
    #[serde(default)]
    pub contact: Option<String>,
    /// The city's public web portal, named in after-hours messages.
    #[serde(default)]
    pub portal_url: Option<String>,
    /// Area inside which the city accepts service requests; a POST with a
    /// point outside it is rejected with an error naming `lat`/`long`.
    #[serde(default)]
    pub service_area: Option<BoundingBox>,
    pub business_hours: WeeklyHoursSpec,
    #[serde(default)]
    pub holidays: Vec<HolidaySpec>,
    pub departments: Vec<DepartmentSpec>,
    #[serde(default)]
    pub routing: Option<RoutingSpec>,
    /// Telephony settings; the telephony module owns their schema.
    #[serde(default)]
    pub telephony: Option<toml::Table>,
    /// Filled from `services.toml`.
    #[serde(skip)]
    pub services: Vec<ServiceSpec>,
}

/// A WGS84 bounding box in decimal degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundingBox {
    pub min_lat: f64,
    pub min_long: f64,
    pub max_lat: f64,
    pub max_long: f64,
}

impl BoundingBox {
    pub fn contains(&self, lat: f64, long: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_long..=self.max_long).contains(&long)
    }
}

/// Opening hours per weekday as `"08:00-16:30"`; a missing day is closed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHoursSpec {
    pub monday: Option<String>,
    pub tuesday: Option<String>,
    pub wednesday: Option<String>,
    pub thursday: Option<String>,
    pub friday: Option<String>,
    pub saturday: Option<String>,
    pub sunday: Option<String>,
}

/// A day the city is closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidaySpec {
    pub date: NaiveDate,
    pub name: String,
}

/// A city department that receives service requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentSpec {
    pub code: String,
    pub name: LocalizedText,
    /// The department's public phone line in E.164 form, such as `+19783745000`.
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The day the department joined 311. Departments join in phases, and
    /// routing sends nothing to a department before its date.
    pub joined_311: NaiveDate,
}

/// Open311 submission type of a service: `realtime` returns an id at once,
/// `batch` returns a token, `blackbox` returns nothing to look up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceType {
    #[default]
    Realtime,
    Batch,
    Blackbox,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Realtime => "realtime",
            ServiceType::Batch => "batch",
            ServiceType::Blackbox => "blackbox",
        }
    }
}

/// One service of the city's service list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The Open311 `service_code`: an opaque string, spaces allowed inside.
    pub code: String,
    pub name: LocalizedText,
    #[serde(default)]
    pub description: LocalizedText,
    #[serde(default)]
    pub group: LocalizedText,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Code of the department that gets the request when no plugin decides.
    pub department: String,
    pub sla: SlaSpec,
    #[serde(default, rename = "type")]
    pub service_type: ServiceType,
    /// Whether a POST must carry a location (lat/long, address or address id).
    #[serde(default = "default_true")]
    pub location_required: bool,
    #[serde(default)]
    pub attributes: Vec<AttributeSpec>,
    /// Narrower area for this service than the tenant's `service_area`.
    #[serde(default)]
    pub service_area: Option<BoundingBox>,
}

fn default_true() -> bool {
    true
}

/// An SLA written as exactly one of `{ business_hours = N }` or `{ calendar_days = N }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    #[serde(default)]
    pub business_hours: Option<u32>,
    #[serde(default)]
    pub calendar_days: Option<u32>,
}

impl SlaSpec {
    /// Returns the SLA, or `None` when the spec does not name exactly one kind.
    pub fn to_sla(self) -> Option<Sla> {
        match (self.business_hours, self.calendar_days) {
            (Some(hours), None) => Some(Sla::BusinessHours(hours)),
            (None, Some(days)) => Some(Sla::CalendarDays(days)),
            _ => None,
        }
    }
}

/// Open311 attribute datatypes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Text,
    Number,
    Datetime,
    Singlevaluelist,
    Multivaluelist,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Text => "text",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Singlevaluelist => "singlevaluelist",
            Datatype::Multivaluelist => "multivaluelist",
        }
    }

    pub fn is_list(self) -> bool {
        matches!(self, Datatype::Singlevaluelist | Datatype::Multivaluelist)
    }
}

/// One question of a service definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSpec {
    pub code: String,
    pub datatype: Datatype,
    #[serde(default)]
    pub required: bool,
    /// Position in the form, 1 first; unique within the service.
    pub order: u32,
    /// The question shown to the constituent.
    pub description: LocalizedText,
    #[serde(default)]
    pub datatype_description: LocalizedText,
    /// `false` marks display-only text that takes no answer.
    #[serde(default = "default_true")]
    pub variable: bool,
    #[serde(default)]
    pub values: Vec<AttributeValueSpec>,
}

/// One choice of a list attribute: `key` is submitted, `name` is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeValueSpec {
    pub key: String,
    pub name: LocalizedText,
}

/// The plugin that routes the tenant's requests and its settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSpec {
    /// Name of a bundled plugin such as `haverhill-router`, or a path to a
    /// `.wasm` component relative to the manifest folder.
    pub plugin: String,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// The service list file's top level.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServicesFile {
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
}

impl TenantManifest {
    pub fn department(&self, code: &str) -> Option<&DepartmentSpec> {
        self.departments.iter().find(|department| department.code == code)
    }

    pub fn service(&self, code: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|service| service.code == code)
    }

    /// Builds the business calendar; valid only on a manifest that [`load`] accepted.
    pub fn calendar(&self) -> crate::sla::BusinessCalendar {
        validate::calendar(self).expect("calendar of a validated manifest")
    }
}
