//! Boston's routing rules in plain Rust, free of WIT types so that the host
//! can unit-test and benchmark them natively.
//!
//! Service codes are Boston's 311 case types slugified, such as
//! `request-for-pothole-repair`. Department codes are the ones in the city's
//! 311 export (PWDx, BTDT, ISD, PARK, PROP, INFO, GEN_). Each case type goes
//! to one department, as in the city's own routing, except graffiti reported
//! to Public Works, which Transportation cleans when it is on a traffic
//! signal or in a bike lane.

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

/// The parts of a service request that Boston's rules read.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    pub service_code: &'a str,
    /// The service's default department from the tenant manifest.
    pub default_department: &'a str,
    pub description: &'a str,
    /// Attribute values as (attribute code, first submitted value).
    pub attributes: Vec<(&'a str, &'a str)>,
}

/// A routing decision and the rule that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub department: String,
    pub priority: Priority,
    pub queue: Option<String>,
    pub reason: String,
}

/// One row of the case type table.
struct Route {
    service_code: &'static str,
    department: &'static str,
    /// The city's work queue when it does not depend on the location. Types
    /// that Public Works queues by PWD district have none, because the
    /// request carries no district.
    queue: Option<&'static str>,
    priority: Priority,
}

const fn route(
    service_code: &'static str,
    department: &'static str,
    queue: Option<&'static str>,
    priority: Priority,
) -> Route {
    Route {
        service_code,
        department,
        queue,
        priority,
    }
}

use Priority::{High, Low, Normal};

/// Case type table, sorted by service code. For the case types in Boston's
/// 311 export of January 2022, departments and queues follow the export.
/// The priorities are ours: high for hazards to people (needles, unsafe
/// sidewalks, signals, knocked-down poles, electrical, heat), low for
/// requests that schedule routine work.
///
/// NOTE: abandoned-bicycle, heat-excessive-insufficient, illegal-dumping,
/// tree-maintenance-requests and unshoveled-sidewalk are not in that export.
/// Their departments and queues are our reading of the city's structure and
/// need the city's confirmation.
const ROUTES: &[Route] = &[
    route("abandoned-bicycle", "BTDT", Some("BTDT_BostonBikes"), Low),
    route("abandoned-vehicles", "BTDT", Some("BTDT_AVRS Interface Queue"), Normal),
    route(
        "animal-generic-request",
        "INFO",
        Some("INFO01_GenericeFormforOtherServiceRequestTypes"),
        Normal,
    ),
    route("ce-collection", "PWDx", None, Normal),
    route(
        "city-state-snow-issues",
        "INFO",
        Some("INFO01_GenericeFormforOtherServiceRequestTypes"),
        Normal,
    ),
    route("electrical", "ISD", Some("ISD_Building (INTERNAL)"), High),
    route("empty-litter-basket", "PWDx", None, Normal),
    route(
        "general-comments-for-a-program-or-policy",
        "BTDT",
        Some("BTDT_Parking Enforcement"),
        Low,
    ),
    route(
        "general-lighting-request",
        "PWDx",
        Some("PWDx_Street Light_General Lighting Request"),
        Normal,
    ),
    route("graffiti-removal", "PROP", Some("PROP_GRAF_GraffitiRemoval"), Low),
    route(
        "ground-maintenance",
        "PARK",
        Some("PARK_Maintenance_Ground Maintenance"),
        Normal,
    ),
    route(
        "heat-excessive-insufficient",
        "ISD",
        Some("ISD_Housing (INTERNAL)"),
        High,
    ),
    route("illegal-dumping", "PWDx", Some("PWDx_Code Enforcement"), Normal),
    route(
        "improper-storage-of-trash-barrels",
        "PWDx",
        Some("PWDx_Code Enforcement"),
        Normal,
    ),
    route(
        "knockdown-replacement",
        "PWDx",
        Some("PWDx_Street Light Knockdown Replacement"),
        High,
    ),
    route(
        "loud-parties-music-people",
        "INFO",
        Some("INFO01_GenericeFormforOtherServiceRequestTypes"),
        Normal,
    ),
    route("misc-snow-complaint", "PWDx", Some("PWDx_Snow Cases"), Normal),
    route(
        "missed-trash-recycling-yard-waste-bulk-item",
        "PWDx",
        Some("PWDx_Missed Trash\\Recycling\\Yard Waste\\Bulk Item"),
        Normal,
    ),
    route("needle-pickup", "GEN_", Some("GEN_Needle_Pickup"), High),
    route(
        "new-sign-crosswalk-or-pavement-marking",
        "BTDT",
        Some("BTDT_Engineering_New Sign and Pavement Marking Requests"),
        Low,
    ),
    route("parking-enforcement", "BTDT", Some("BTDT_Parking Enforcement"), Normal),
    route(
        "pest-infestation-residential",
        "ISD",
        Some("ISD_Housing (INTERNAL)"),
        Normal,
    ),
    route("pick-up-dead-animal", "PWDx", None, Normal),
    route(
        "poor-conditions-of-property",
        "PWDx",
        Some("PWDx_Code Enforcement"),
        Normal,
    ),
    route("pwd-graffiti", "PWDx", Some("PWDx_Graffiti"), Low),
    route("request-for-pothole-repair", "PWDx", None, Normal),
    route(
        "request-for-recycling-cart",
        "PWDx",
        Some("PWDx_Recycling Sent to Contractor"),
        Low,
    ),
    route("requests-for-street-cleaning", "PWDx", None, Normal),
    route(
        "rodent-activity",
        "ISD",
        Some("ISD_Environmental Services (INTERNAL)"),
        Normal,
    ),
    route(
        "schedule-a-bulk-item-pickup",
        "PWDx",
        Some("PWDx_Schedule a Bulk Item Pickup"),
        Low,
    ),
    route(
        "schedule-a-bulk-item-pickup-ss",
        "PWDx",
        Some("PWDx_Schedule a Bulk Item Pickup"),
        Low,
    ),
    route("short-term-rental", "ISD", Some("ISD_Housing (INTERNAL)"), Normal),
    route(
        "sidewalk-cover-manhole",
        "INFO",
        Some("INFO01_GenericeFormforOtherServiceRequestTypes"),
        High,
    ),
    route(
        "sidewalk-repair-make-safe",
        "PWDx",
        Some("PWDx_Highway Construction"),
        High,
    ),
    route("sign-repair", "BTDT", Some("BTDT_Sign Shop_Sign Installation"), Normal),
    route(
        "street-light-outages",
        "PWDx",
        Some("PWDx_Street Light Outages"),
        Normal,
    ),
    route(
        "traffic-signal-inspection",
        "BTDT",
        Some("BTDT_Traffic Signal_Repair"),
        High,
    ),
    route(
        "tree-maintenance-requests",
        "PARK",
        Some("PARK_Maintenance_Tree Maintenance"),
        Normal,
    ),
    route(
        "unsatisfactory-living-conditions",
        "ISD",
        Some("ISD_Housing (INTERNAL)"),
        Normal,
    ),
    route(
        "unsatisfactory-utilities-electrical-plumbing",
        "ISD",
        Some("ISD_Housing (INTERNAL)"),
        Normal,
    ),
    route("unshoveled-sidewalk", "PWDx", Some("PWDx_Code Enforcement"), Normal),
];

/// Transportation's queue for graffiti on traffic signals.
pub const TRAFFIC_SIGNAL_GRAFFITI_QUEUE: &str = "BTDT_Traffic Signal_Graffiti";

/// Transportation's Boston Bikes queue, which cleans graffiti in bike lanes.
pub const BIKE_LANE_GRAFFITI_QUEUE: &str = "BTDT_BostonBikes";

/// Decides where a Boston service request goes.
pub fn route_request(request: &Request<'_>) -> Decision {
    if request.service_code == "pwd-graffiti"
        && let Some(decision) = route_graffiti_to_transportation(request)
    {
        return decision;
    }

    match ROUTES.binary_search_by(|route| route.service_code.cmp(request.service_code)) {
        Ok(index) => decide_from_table(&ROUTES[index]),
        Err(_) => Decision {
            department: request.default_department.to_string(),
            priority: Normal,
            queue: None,
            reason: format!(
                "No Boston rule for service '{}', so the request goes to its default department.",
                request.service_code
            ),
        },
    }
}

fn decide_from_table(route: &Route) -> Decision {
    Decision {
        department: route.department.to_string(),
        priority: route.priority,
        queue: route.queue.map(str::to_string),
        reason: format!("Boston routes '{}' to {}.", route.service_code, route.department),
    }
}

/// Routes graffiti on a traffic signal or in a bike lane to Transportation.
/// The `surface` attribute shows the place directly. Without it, the
/// description is searched for words naming a signal or a bike lane.
fn route_graffiti_to_transportation(request: &Request<'_>) -> Option<Decision> {
    let surface = request
        .attributes
        .iter()
        .find(|(code, _)| *code == "surface")
        .map(|(_, value)| *value);

    let (queue, reason) = match surface {
        Some("traffic-signal") => (
            TRAFFIC_SIGNAL_GRAFFITI_QUEUE,
            "Graffiti on a traffic signal goes to Transportation.",
        ),
        Some("bike-lane") => (
            BIKE_LANE_GRAFFITI_QUEUE,
            "Graffiti in a bike lane goes to Transportation.",
        ),
        _ if mentions_traffic_signal(request.description) => (
            TRAFFIC_SIGNAL_GRAFFITI_QUEUE,
            "The description mentions a traffic signal, so the graffiti goes to Transportation.",
        ),
        _ if mentions_bike_lane(request.description) => (
            BIKE_LANE_GRAFFITI_QUEUE,
            "The description mentions a bike lane, so the graffiti goes to Transportation.",
        ),
        _ => return None,
    };

    Some(Decision {
        department: "BTDT".to_string(),
        priority: Low,
        queue: Some(queue.to_string()),
        reason: reason.to_string(),
    })
}

fn mentions_traffic_signal(description: &str) -> bool {
    let text = description.to_ascii_lowercase();
    [
        "signal",
        "traffic light",
        "signal box",
        "walk light",
        "pedestrian light",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

fn mentions_bike_lane(description: &str) -> bool {
    let text = description.to_ascii_lowercase();
    ["bike lane", "bike path", "bicycle lane", "cycle track", "bikeway"]
        .iter()
        .any(|phrase| text.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(service_code: &'a str, description: &'a str) -> Request<'a> {
        Request {
            service_code,
            default_department: "INFO",
            description,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn routes_table_is_sorted_and_unique() {
        for pair in ROUTES.windows(2) {
            assert!(
                pair[0].service_code < pair[1].service_code,
                "{} before {}",
                pair[0].service_code,
                pair[1].service_code
            );
        }
    }

    #[test]
    fn pothole_goes_to_public_works() {
        let decision = route_request(&request("request-for-pothole-repair", "Deep pothole"));
        assert_eq!(decision.department, "PWDx");
        assert_eq!(decision.priority, Normal);
        assert_eq!(decision.queue, None);
    }

    #[test]
    fn needle_pickup_is_high_priority() {
        let decision = route_request(&request("needle-pickup", "Needle Pickup"));
        assert_eq!(decision.department, "GEN_");
        assert_eq!(decision.priority, High);
        assert_eq!(decision.queue.as_deref(), Some("GEN_Needle_Pickup"));
    }

    #[test]
    fn graffiti_surface_signal_goes_to_transportation() {
        let mut graffiti = request("pwd-graffiti", "Tags on a pole");
        graffiti.attributes.push(("surface", "traffic-signal"));
        let decision = route_request(&graffiti);
        assert_eq!(decision.department, "BTDT");
        assert_eq!(decision.queue.as_deref(), Some(TRAFFIC_SIGNAL_GRAFFITI_QUEUE));
    }

    #[test]
    fn graffiti_surface_bike_lane_goes_to_boston_bikes() {
        let mut graffiti = request("pwd-graffiti", "");
        graffiti.attributes.push(("surface", "bike-lane"));
        let decision = route_request(&graffiti);
        assert_eq!(decision.department, "BTDT");
        assert_eq!(decision.queue.as_deref(), Some(BIKE_LANE_GRAFFITI_QUEUE));
    }

    #[test]
    fn graffiti_description_bike_lane_goes_to_boston_bikes() {
        let decision = route_request(&request("pwd-graffiti", "Spray paint across the Bike Lane on Mass Ave"));
        assert_eq!(decision.department, "BTDT");
        assert_eq!(decision.queue.as_deref(), Some(BIKE_LANE_GRAFFITI_QUEUE));
    }

    #[test]
    fn graffiti_description_signal_goes_to_transportation() {
        let decision = route_request(&request("pwd-graffiti", "Tagged the traffic light at Main St"));
        assert_eq!(decision.queue.as_deref(), Some(TRAFFIC_SIGNAL_GRAFFITI_QUEUE));
    }

    #[test]
    fn graffiti_on_building_stays_with_public_works() {
        let mut graffiti = request("pwd-graffiti", "Tags on the wall");
        graffiti.attributes.push(("surface", "building"));
        let decision = route_request(&graffiti);
        assert_eq!(decision.department, "PWDx");
        assert_eq!(decision.queue.as_deref(), Some("PWDx_Graffiti"));
    }

    #[test]
    fn unknown_service_goes_to_default_department() {
        let decision = route_request(&request("space-debris", ""));
        assert_eq!(decision.department, "INFO");
        assert!(decision.reason.contains("'space-debris'"), "{}", decision.reason);
    }
}
