//! Haverhill, MA routing rules in plain Rust, free of WIT types so that they
//! can be unit-tested natively.
//!
//! Departments: `dpw-highway` (DPW Highway), `dpw-parks` (DPW Parks and
//! Forestry), `isd-health` (Inspectional Services, Health), `assessor`, and
//! `mayor-311` (Mayor's Office / 311 Center), which takes the work of any
//! department that has not joined 311 yet.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Priority of a decision, mirroring the platform's priorities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

/// The parts of a service request that Haverhill's rules read.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub service_code: String,
    pub service_group: Option<String>,
    /// The service's default department from the tenant manifest.
    pub default_department: String,
    /// Latitude and longitude, when the request has a point.
    pub point: Option<(f64, f64)>,
    /// First submitted value of each attribute, by attribute code.
    pub attributes: BTreeMap<String, String>,
    /// Local month of the request, 1 to 12.
    pub month: u8,
    /// True outside City Hall's business hours and on holidays.
    pub after_hours: bool,
    /// Codes of the departments that have joined 311.
    pub departments: Vec<String>,
    /// The tenant's `[routing.settings]`.
    pub settings: BTreeMap<String, String>,
}

/// A routing decision and the rule that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub department: String,
    pub priority: Priority,
    pub queue: Option<String>,
    pub reason: String,
}

/// A setting or a combination of departments that the rules cannot work with.
#[derive(Debug, PartialEq, Eq)]
pub enum RuleError {
    /// A setting does not parse. The message names the setting and the value.
    InvalidSetting(String),
    /// Neither the chosen department nor `mayor-311` has joined 311.
    NoDepartment(String),
}

pub const DPW_HIGHWAY: &str = "dpw-highway";
pub const DPW_PARKS: &str = "dpw-parks";
pub const ISD_HEALTH: &str = "isd-health";
pub const ASSESSOR: &str = "assessor";
pub const MAYOR_311: &str = "mayor-311";

/// Months in which snow and ice requests are high priority, unless the
/// `winter_months` setting lists others.
pub const DEFAULT_WINTER_MONTHS: &str = "11,12,1,2,3";

/// Months in which pothole requests are high priority, unless the
/// `pothole_season_months` setting lists others. Freeze-thaw cycles open
/// most potholes in March and April.
pub const DEFAULT_POTHOLE_SEASON_MONTHS: &str = "3,4";

const HEALTH_SERVICES: &[&str] = &[
    "rodents",
    "housing-complaint",
    "food-establishment",
    "trash-private-property",
];
const ASSESSOR_SERVICES: &[&str] = &["assessor-question", "abatement-request"];

/// Decides where a Haverhill service request goes.
pub fn route_request(request: &Request) -> Result<Decision, RuleError> {
    let decision = decide(request)?;
    replace_department_not_joined(request, decision)
}

fn decide(request: &Request) -> Result<Decision, RuleError> {
    let code = request.service_code.as_str();
    let group = request.service_group.as_deref();

    if HEALTH_SERVICES.contains(&code) || group == Some("health") {
        return Ok(health_rule(request));
    }
    if code == "sidewalk-snow" {
        return Ok(sidewalk_snow_rule());
    }
    if code == "snow-plowing" || code == "icy-road" || group == Some("snow-ice") {
        return snow_ice_rule(request);
    }
    if code == "pothole" {
        return pothole_rule(request);
    }
    if code == "tree-down" {
        return Ok(tree_down_rule(request));
    }
    if ASSESSOR_SERVICES.contains(&code) || group == Some("assessor") {
        return Ok(decision(
            ASSESSOR,
            Priority::Normal,
            None,
            "Assessor services go to the Assessor's Office.",
        ));
    }

    Ok(decision(
        &request.default_department,
        Priority::Normal,
        None,
        &format!("No Haverhill rule for service '{code}', so the request goes to its default department."),
    ))
}

/// Health complaints are Inspectional Services' code enforcement work.
fn health_rule(request: &Request) -> Decision {
    let reason = format!(
        "Health service '{}' goes to Inspectional Services, Health.",
        request.service_code
    );
    decision(ISD_HEALTH, Priority::Normal, None, &reason)
}

/// Unshoveled sidewalks are a code enforcement matter for Inspectional
/// Services, not a plowing job.
fn sidewalk_snow_rule() -> Decision {
    decision(
        ISD_HEALTH,
        Priority::Normal,
        None,
        "Unshoveled sidewalks are code enforcement for Inspectional Services.",
    )
}

/// Snow and ice go to DPW Highway's ward queue. They are high priority in the
/// winter months and urgent after hours when the constituent reports a
/// hazard or the road is icy, because the on-call crew must go out at once.
fn snow_ice_rule(request: &Request) -> Result<Decision, RuleError> {
    let queue = ward_queue("snow", request)?;
    let hazard = request.attributes.get("hazard").map(String::as_str) == Some("yes");
    let winter = month_in_setting(request, "winter_months", DEFAULT_WINTER_MONTHS)?;

    let (priority, reason) = if request.after_hours && (hazard || request.service_code == "icy-road") {
        (
            Priority::Urgent,
            "Snow or ice hazard after hours goes to the on-call DPW Highway crew.",
        )
    } else if winter {
        (
            Priority::High,
            "Snow and ice in the winter months go to DPW Highway at high priority.",
        )
    } else {
        (Priority::Normal, "Snow and ice go to DPW Highway.")
    };

    Ok(decision(DPW_HIGHWAY, priority, Some(queue), reason))
}

/// Potholes go to DPW Highway's ward queue: high in pothole season or when
/// large, urgent after hours when the constituent reports a hazard.
fn pothole_rule(request: &Request) -> Result<Decision, RuleError> {
    let queue = ward_queue("pothole", request)?;
    let hazard = request.attributes.get("hazard").map(String::as_str) == Some("yes");
    let large = request.attributes.get("size").map(String::as_str) == Some("large");
    let season = month_in_setting(request, "pothole_season_months", DEFAULT_POTHOLE_SEASON_MONTHS)?;

    let (priority, reason) = if request.after_hours && hazard {
        (
            Priority::Urgent,
            "Hazardous pothole after hours goes to the on-call DPW Highway crew.",
        )
    } else if large {
        (Priority::High, "Large pothole goes to DPW Highway at high priority.")
    } else if season {
        (
            Priority::High,
            "Pothole in pothole season goes to DPW Highway at high priority.",
        )
    } else {
        (Priority::Normal, "Pothole goes to DPW Highway.")
    };

    Ok(decision(DPW_HIGHWAY, priority, Some(queue), reason))
}

/// Routes a fallen tree to Parks and Forestry in business hours. After hours,
/// or when it blocks a road, DPW Highway's on-call crew clears it at once.
fn tree_down_rule(request: &Request) -> Decision {
    let blocking = request.attributes.get("blocking_road").map(String::as_str) == Some("yes");

    if blocking {
        return decision(
            DPW_HIGHWAY,
            Priority::Urgent,
            Some("on-call".to_string()),
            "Tree blocking a road goes to the on-call DPW Highway crew.",
        );
    }
    if request.after_hours {
        return decision(
            DPW_HIGHWAY,
            Priority::Urgent,
            Some("on-call".to_string()),
            "Tree down after hours goes to the on-call DPW Highway crew.",
        );
    }
    decision(
        DPW_PARKS,
        Priority::Normal,
        None,
        "Tree down in business hours goes to DPW Parks and Forestry.",
    )
}

/// Sends work of a department that has not joined 311 to the Mayor's 311
/// center, which forwards it by the department's old channels.
fn replace_department_not_joined(request: &Request, mut decision: Decision) -> Result<Decision, RuleError> {
    let joined = |code: &str| request.departments.iter().any(|department| department == code);
    if joined(&decision.department) {
        return Ok(decision);
    }
    if !joined(MAYOR_311) {
        return Err(RuleError::NoDepartment(format!(
            "neither {} nor {MAYOR_311} has joined 311",
            decision.department
        )));
    }

    decision.reason = format!(
        "{} {} has not joined 311 yet, so the Mayor's 311 center takes the request.",
        decision.reason, decision.department
    );
    decision.department = MAYOR_311.to_string();
    Ok(decision)
}

/// Builds the queue `{prefix}-ward-N` from the first `ward.N` box that
/// contains the request's point, or `{prefix}-unassigned` when none does.
fn ward_queue(prefix: &str, request: &Request) -> Result<String, RuleError> {
    let Some((lat, long)) = request.point else {
        return Ok(format!("{prefix}-unassigned"));
    };

    let mut wards: Vec<(u32, &str)> = Vec::new();
    for (key, value) in &request.settings {
        let Some(number) = key.strip_prefix("ward.") else {
            continue;
        };
        let number = number
            .parse::<u32>()
            .map_err(|_| RuleError::InvalidSetting(format!("setting {key}: the ward number must be a whole number")))?;
        wards.push((number, value));
    }
    wards.sort_unstable();

    for (number, value) in wards {
        let [min_lat, min_long, max_lat, max_long] = parse_box(value)
            .map_err(|message| RuleError::InvalidSetting(format!("setting ward.{number}: {message}")))?;
        if (min_lat..=max_lat).contains(&lat) && (min_long..=max_long).contains(&long) {
            return Ok(format!("{prefix}-ward-{number}"));
        }
    }
    Ok(format!("{prefix}-unassigned"))
}

/// Parses `"min_lat,min_long,max_lat,max_long"` in decimal degrees.
fn parse_box(text: &str) -> Result<[f64; 4], String> {
    let numbers: Vec<f64> = text
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("invalid box '{text}': expected min_lat,min_long,max_lat,max_long"))?;

    let Ok(corners) = <[f64; 4]>::try_from(numbers.as_slice()) else {
        return Err(format!(
            "invalid box '{text}': expected four numbers, found {}",
            numbers.len()
        ));
    };
    Ok(corners)
}

/// Tells whether the request's month is in the month list setting `key`.
fn month_in_setting(request: &Request, key: &str, default: &str) -> Result<bool, RuleError> {
    let text = request.settings.get(key).map(String::as_str).unwrap_or(default);

    let mut months = Vec::new();
    for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        match part.parse::<u8>() {
            Ok(month @ 1..=12) => months.push(month),
            _ => {
                return Err(RuleError::InvalidSetting(format!(
                    "setting {key}: invalid month '{part}', expected a number from 1 to 12"
                )));
            }
        }
    }
    Ok(months.contains(&request.month))
}

fn decision(department: &str, priority: Priority, queue: Option<String>, reason: &str) -> Decision {
    Decision {
        department: department.to_string(),
        priority,
        queue,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests;
