use super::*;

/// Ward 1 covers the downtown box below; ward 2 sits north of it.
fn request(service_code: &str, group: &str) -> Request {
    let settings = [
        ("ward.1", "42.76,-71.10,42.78,-71.06"),
        ("ward.2", "42.78,-71.10,42.82,-71.06"),
    ];
    Request {
        service_code: service_code.to_string(),
        service_group: Some(group.to_string()),
        default_department: DPW_HIGHWAY.to_string(),
        point: Some((42.775, -71.08)),
        attributes: BTreeMap::new(),
        month: 6,
        after_hours: false,
        departments: [DPW_HIGHWAY, DPW_PARKS, ISD_HEALTH, ASSESSOR, MAYOR_311]
            .map(String::from)
            .to_vec(),
        settings: settings
            .into_iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
    }
}

fn with_attribute(mut request: Request, code: &str, value: &str) -> Request {
    request.attributes.insert(code.to_string(), value.to_string());
    request
}

#[test]
fn rodents_go_to_health() {
    let decision = route_request(&request("rodents", "health")).unwrap();
    assert_eq!(decision.department, ISD_HEALTH);
    assert_eq!(decision.priority, Priority::Normal);
}

#[test]
fn sidewalk_snow_goes_to_health() {
    let decision = route_request(&request("sidewalk-snow", "snow-ice")).unwrap();
    assert_eq!(decision.department, ISD_HEALTH);
    assert_eq!(decision.queue, None);
}

#[test]
fn snow_plowing_in_winter_is_high() {
    let mut plowing = request("snow-plowing", "snow-ice");
    plowing.month = 1;
    let decision = route_request(&plowing).unwrap();
    assert_eq!(decision.department, DPW_HIGHWAY);
    assert_eq!(decision.priority, Priority::High);
    assert_eq!(decision.queue.as_deref(), Some("snow-ward-1"));
}

#[test]
fn icy_road_after_hours_is_urgent() {
    let mut icy = request("icy-road", "snow-ice");
    icy.after_hours = true;
    icy.month = 2;
    let decision = route_request(&icy).unwrap();
    assert_eq!(decision.priority, Priority::Urgent);
}

#[test]
fn snow_plowing_after_hours_without_hazard_is_high() {
    let mut plowing = request("snow-plowing", "snow-ice");
    plowing.after_hours = true;
    plowing.month = 12;
    let decision = route_request(&plowing).unwrap();
    assert_eq!(decision.priority, Priority::High);
}

#[test]
fn snow_outside_winter_setting_is_normal() {
    let mut plowing = request("snow-plowing", "snow-ice");
    plowing.month = 1;
    plowing.settings.insert("winter_months".to_string(), "12".to_string());
    let decision = route_request(&plowing).unwrap();
    assert_eq!(decision.priority, Priority::Normal);
}

#[test]
fn pothole_north_point_uses_ward_two() {
    let mut pothole = request("pothole", "streets");
    pothole.point = Some((42.80, -71.07));
    let decision = route_request(&pothole).unwrap();
    assert_eq!(decision.queue.as_deref(), Some("pothole-ward-2"));
    assert_eq!(decision.priority, Priority::Normal);
}

#[test]
fn pothole_outside_wards_is_unassigned() {
    let mut pothole = request("pothole", "streets");
    pothole.point = Some((42.90, -71.07));
    let decision = route_request(&pothole).unwrap();
    assert_eq!(decision.queue.as_deref(), Some("pothole-unassigned"));
}

#[test]
fn pothole_large_is_high() {
    let decision = route_request(&with_attribute(request("pothole", "streets"), "size", "large")).unwrap();
    assert_eq!(decision.priority, Priority::High);
}

#[test]
fn pothole_in_season_is_high() {
    let mut pothole = request("pothole", "streets");
    pothole.month = 4;
    let decision = route_request(&pothole).unwrap();
    assert_eq!(decision.priority, Priority::High);
}

#[test]
fn pothole_hazard_after_hours_is_urgent() {
    let mut pothole = with_attribute(request("pothole", "streets"), "hazard", "yes");
    pothole.after_hours = true;
    let decision = route_request(&pothole).unwrap();
    assert_eq!(decision.priority, Priority::Urgent);
    assert_eq!(decision.department, DPW_HIGHWAY);
}

#[test]
fn tree_down_in_business_hours_goes_to_parks() {
    let decision = route_request(&with_attribute(
        request("tree-down", "trees-parks"),
        "blocking_road",
        "no",
    ))
    .unwrap();
    assert_eq!(decision.department, DPW_PARKS);
    assert_eq!(decision.priority, Priority::Normal);
}

#[test]
fn tree_down_blocking_road_goes_to_highway() {
    let decision = route_request(&with_attribute(
        request("tree-down", "trees-parks"),
        "blocking_road",
        "yes",
    ))
    .unwrap();
    assert_eq!(decision.department, DPW_HIGHWAY);
    assert_eq!(decision.priority, Priority::Urgent);
}

#[test]
fn tree_down_after_hours_goes_to_highway() {
    let mut tree = request("tree-down", "trees-parks");
    tree.after_hours = true;
    let decision = route_request(&tree).unwrap();
    assert_eq!(decision.department, DPW_HIGHWAY);
    assert_eq!(decision.priority, Priority::Urgent);
}

#[test]
fn abatement_goes_to_assessor() {
    let decision = route_request(&request("abatement-request", "assessor")).unwrap();
    assert_eq!(decision.department, ASSESSOR);
}

#[test]
fn streetlight_goes_to_default_department() {
    let mut streetlight = request("streetlight-out", "streets");
    streetlight.default_department = DPW_PARKS.to_string();
    let decision = route_request(&streetlight).unwrap();
    assert_eq!(decision.department, DPW_PARKS);
    assert!(decision.reason.contains("'streetlight-out'"), "{}", decision.reason);
}

#[test]
fn department_not_joined_goes_to_mayor() {
    let mut rodents = request("rodents", "health");
    rodents.departments.retain(|code| code != ISD_HEALTH);
    let decision = route_request(&rodents).unwrap();
    assert_eq!(decision.department, MAYOR_311);
    assert!(
        decision.reason.contains("isd-health has not joined 311"),
        "{}",
        decision.reason
    );
}

#[test]
fn no_joined_department_is_an_error() {
    let mut rodents = request("rodents", "health");
    rodents.departments = vec![DPW_HIGHWAY.to_string()];
    let error = route_request(&rodents).unwrap_err();
    assert_eq!(
        error,
        RuleError::NoDepartment("neither isd-health nor mayor-311 has joined 311".to_string())
    );
}

#[test]
fn invalid_ward_box_names_the_setting() {
    let mut pothole = request("pothole", "streets");
    pothole.settings.insert("ward.3".to_string(), "42.7,-71.1".to_string());
    pothole.point = Some((43.0, -71.0));
    let RuleError::InvalidSetting(message) = route_request(&pothole).unwrap_err() else {
        panic!("expected InvalidSetting")
    };
    assert!(message.starts_with("setting ward.3:"), "{message}");
}

#[test]
fn invalid_month_names_the_setting() {
    let mut pothole = request("pothole", "streets");
    pothole
        .settings
        .insert("pothole_season_months".to_string(), "3,13".to_string());
    let RuleError::InvalidSetting(message) = route_request(&pothole).unwrap_err() else {
        panic!("expected InvalidSetting")
    };
    assert!(message.contains("pothole_season_months"), "{message}");
    assert!(message.contains("'13'"), "{message}");
}
