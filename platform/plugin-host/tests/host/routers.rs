use std::time::Duration;

use civic311_domain::Priority;
use civic311_domain::routing::RouteInput;
use civic311_plugin_host::{PluginError, PluginHost, RejectionKind};

use crate::{attribute, config_with, departments, host, load_bundled, request, settings};

const BOSTON_DEPARTMENTS: &[&str] = &["PWDx", "BTDT", "ISD", "PARK", "PROP", "INFO", "GEN_"];
const HAVERHILL_DEPARTMENTS: &[&str] = &["dpw-highway", "dpw-parks", "isd-health", "assessor", "mayor-311"];

fn boston(service_code: &str, default_department: &str) -> RouteInput {
    let mut input = request(service_code, default_department);
    input.departments = departments(BOSTON_DEPARTMENTS);
    input
}

/// Builds a Haverhill request at a point inside ward 3 of the test settings.
fn haverhill(service_code: &str, group: &str) -> RouteInput {
    let mut input = request(service_code, "dpw-highway");
    input.service_group = Some(group.to_string());
    input.departments = departments(HAVERHILL_DEPARTMENTS);
    input.lat = Some(42.775);
    input.long = Some(-71.075);
    input.settings = settings(&[
        ("winter_months", "11,12,1,2,3"),
        ("pothole_season_months", "3,4"),
        ("ward.1", "42.70,-71.20,42.76,-71.00"),
        ("ward.3", "42.76,-71.10,42.79,-71.05"),
    ]);
    input
}

#[test]
fn boston_needle_pickup_is_high() {
    let host = host();
    let plugin = load_bundled(&host, "boston-router");

    let decision = host.route(&plugin, &boston("needle-pickup", "GEN_")).unwrap();

    assert_eq!(decision.department, "GEN_");
    assert_eq!(decision.priority, Priority::High);
    assert_eq!(decision.queue.as_deref(), Some("GEN_Needle_Pickup"));
    assert!(decision.reason.is_some());
}

#[test]
fn boston_parking_goes_to_transportation() {
    let host = host();
    let plugin = load_bundled(&host, "boston-router");

    let decision = host.route(&plugin, &boston("parking-enforcement", "BTDT")).unwrap();

    assert_eq!(decision.department, "BTDT");
    assert_eq!(decision.queue.as_deref(), Some("BTDT_Parking Enforcement"));
    assert_eq!(decision.priority, Priority::Normal);
}

#[test]
fn boston_graffiti_on_signal_goes_to_transportation() {
    let host = host();
    let plugin = load_bundled(&host, "boston-router");
    let mut input = boston("pwd-graffiti", "PWDx");
    input.attributes.push(attribute("surface", "traffic-signal"));

    let decision = host.route(&plugin, &input).unwrap();

    assert_eq!(decision.department, "BTDT");
    assert_eq!(decision.queue.as_deref(), Some("BTDT_Traffic Signal_Graffiti"));
}

#[test]
fn boston_graffiti_description_bike_lane() {
    let host = host();
    let plugin = load_bundled(&host, "boston-router");
    let mut input = boston("pwd-graffiti", "PWDx");
    input.description = "Paint all over the bike lane".to_string();

    let decision = host.route(&plugin, &input).unwrap();

    assert_eq!(decision.department, "BTDT");
    assert_eq!(decision.queue.as_deref(), Some("BTDT_BostonBikes"));
}

#[test]
fn boston_graffiti_on_building_stays_with_public_works() {
    let host = host();
    let plugin = load_bundled(&host, "boston-router");
    let mut input = boston("pwd-graffiti", "PWDx");
    input.attributes.push(attribute("surface", "building"));

    let decision = host.route(&plugin, &input).unwrap();

    assert_eq!(decision.department, "PWDx");
    assert_eq!(decision.queue.as_deref(), Some("PWDx_Graffiti"));
}

#[test]
fn boston_unknown_service_uses_default() {
    let host = host();
    let plugin = load_bundled(&host, "boston-router");

    let decision = host.route(&plugin, &boston("lost-umbrella", "INFO")).unwrap();

    assert_eq!(decision.department, "INFO");
    assert!(decision.reason.unwrap().contains("'lost-umbrella'"));
}

#[test]
fn haverhill_icy_road_after_hours_is_urgent() {
    let host = host();
    let plugin = load_bundled(&host, "haverhill-router");
    let mut input = haverhill("icy-road", "snow-ice");
    input.after_hours = true;

    let decision = host.route(&plugin, &input).unwrap();

    assert_eq!(decision.department, "dpw-highway");
    assert_eq!(decision.priority, Priority::Urgent);
    assert_eq!(decision.queue.as_deref(), Some("snow-ward-3"));
}

#[test]
fn haverhill_snow_plowing_in_december_is_high() {
    let host = host();
    let plugin = load_bundled(&host, "haverhill-router");

    let decision = host.route(&plugin, &haverhill("snow-plowing", "snow-ice")).unwrap();

    assert_eq!(decision.priority, Priority::High);
    assert_eq!(decision.queue.as_deref(), Some("snow-ward-3"));
}

#[test]
fn haverhill_pothole_outside_wards_is_unassigned() {
    let host = host();
    let plugin = load_bundled(&host, "haverhill-router");
    let mut input = haverhill("pothole", "streets");
    input.lat = Some(42.95);
    input.attributes.push(attribute("size", "large"));

    let decision = host.route(&plugin, &input).unwrap();

    assert_eq!(decision.department, "dpw-highway");
    assert_eq!(decision.queue.as_deref(), Some("pothole-unassigned"));
    assert_eq!(decision.priority, Priority::High);
}

#[test]
fn haverhill_tree_blocking_road_goes_to_highway() {
    let host = host();
    let plugin = load_bundled(&host, "haverhill-router");
    let mut input = haverhill("tree-down", "trees-parks");
    input.attributes.push(attribute("blocking_road", "yes"));

    let decision = host.route(&plugin, &input).unwrap();

    assert_eq!(decision.department, "dpw-highway");
    assert_eq!(decision.priority, Priority::Urgent);
}

#[test]
fn haverhill_health_not_joined_goes_to_mayor() {
    let host = host();
    let plugin = load_bundled(&host, "haverhill-router");
    let mut input = haverhill("rodents", "health");
    input.default_department = "isd-health".to_string();
    input.departments = departments(&["dpw-highway", "mayor-311"]);

    let decision = host.route(&plugin, &input).unwrap();

    assert_eq!(decision.department, "mayor-311");
    assert!(decision.reason.unwrap().contains("isd-health has not joined 311"));
}

#[test]
fn haverhill_bad_ward_setting_is_rejected() {
    let host = host();
    let plugin = load_bundled(&host, "haverhill-router");
    let mut input = haverhill("pothole", "streets");
    input
        .settings
        .insert("ward.1".to_string(), "north of the river".to_string());

    let error = host.route(&plugin, &input).unwrap_err();

    let PluginError::Rejected { plugin, kind, message } = &error else {
        panic!("expected Rejected, got {error}")
    };
    assert_eq!(plugin, "haverhill-router");
    assert_eq!(*kind, RejectionKind::InvalidInput);
    assert!(message.starts_with("setting ward.1:"), "{message}");
    assert_eq!(error.blame(), "plugin");
}

/// The default fuel budget assumes that a bundled router's decision burns
/// less than 100,000 units. The wall-time limit is raised so that only fuel
/// and memory are checked.
#[test]
fn bundled_routers_fit_small_budget() {
    let config = config_with(100_000, Duration::from_secs(60));
    let host = PluginHost::new(config).unwrap();
    let boston_plugin = load_bundled(&host, "boston-router");
    let haverhill_plugin = load_bundled(&host, "haverhill-router");
    let mut graffiti = boston("pwd-graffiti", "PWDx");
    graffiti.description = "Tags on the signal box by the bike lane".to_string();

    let boston_decision = host.route(&boston_plugin, &graffiti).unwrap();
    let haverhill_decision = host.route(&haverhill_plugin, &haverhill("pothole", "streets")).unwrap();

    assert_eq!(boston_decision.department, "BTDT");
    assert_eq!(haverhill_decision.queue.as_deref(), Some("pothole-ward-3"));
}
