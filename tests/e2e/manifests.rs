//! The shipped tenant manifests load and hold what the routing plugins and
//! the Boston import depend on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use civic311_domain::manifest::{self, Datatype, TenantManifest};
use civic311_domain::Locale;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("a folder above the tests crate holds Cargo.lock")
        .to_path_buf()
}

fn load_tenant(slug: &str) -> TenantManifest {
    let dir = workspace_root().join("tenants").join(slug);
    manifest::load(&dir).unwrap_or_else(|error| panic!("tenants/{slug} does not load: {error}"))
}

fn boston_sample() -> PathBuf {
    workspace_root().join("../shared/data/boston311-100.csv")
}

/// Lowercase ASCII, each run of other characters becomes one '-', trimmed of '-'.
fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

#[test]
fn haverhill_identity_and_calendar() {
    let haverhill = load_tenant("haverhill");

    assert_eq!(haverhill.slug, "haverhill");
    assert_eq!(haverhill.name, "City of Haverhill");
    assert_eq!(haverhill.jurisdiction_id, "haverhillma.gov");
    assert_eq!(haverhill.time_zone, "America/New_York");
    assert_eq!(haverhill.locales, vec![Locale::En, Locale::Es]);

    let holidays: BTreeSet<String> = haverhill.holidays.iter().map(|holiday| holiday.date.to_string()).collect();
    assert!(holidays.contains("2026-04-20"), "Patriots' Day 2026");
    assert!(holidays.contains("2027-07-05"), "Independence Day 2027 is observed on Monday");
    assert!(!holidays.contains("2026-03-17"), "Evacuation Day is a Suffolk County holiday only");
    assert!(!holidays.contains("2026-06-17"), "Bunker Hill Day is a Suffolk County holiday only");
}

#[test]
fn haverhill_departments_join_in_phases() {
    let haverhill = load_tenant("haverhill");

    let codes: Vec<&str> = haverhill.departments.iter().map(|department| department.code.as_str()).collect();
    assert_eq!(codes, ["mayor-311", "dpw-highway", "dpw-parks", "isd-health", "assessor"]);

    for department in &haverhill.departments {
        let phone = department.phone.as_deref().unwrap_or_default();
        assert!(phone.starts_with("+1978"), "{} phone {phone} is not in the 978 area code", department.code);
        assert!(department.email.is_some(), "{} has no email", department.code);
    }

    let first = haverhill.departments.iter().map(|department| department.joined_311).min().unwrap();
    let last = haverhill.departments.iter().map(|department| department.joined_311).max().unwrap();
    assert_eq!(haverhill.department("mayor-311").unwrap().joined_311, first);
    assert_eq!(haverhill.department("dpw-highway").unwrap().joined_311, first);
    assert!(last > chrono::Utc::now().date_naive(), "one department joins in the future, so the soft launch shows");
}

#[test]
fn haverhill_services_have_router_codes_and_groups() {
    let haverhill = load_tenant("haverhill");
    let expected: &[(&str, &[&str])] = &[
        ("streets", &["pothole", "streetlight-out", "sidewalk-repair", "street-sign", "catch-basin", "dead-animal", "graffiti"]),
        ("trash-recycling", &["missed-trash", "missed-recycling", "bulk-item-pickup"]),
        ("snow-ice", &["snow-plowing", "icy-road", "sidewalk-snow"]),
        ("trees-parks", &["tree-down", "tree-trimming", "park-maintenance"]),
        ("health", &["rodents", "housing-complaint", "food-establishment", "trash-private-property"]),
        ("assessor", &["assessor-question", "abatement-request"]),
        ("general", &["general-question"]),
    ];

    let mut actual: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for service in &haverhill.services {
        actual
            .entry(service.group.get(Locale::En).to_string())
            .or_default()
            .insert(service.code.clone());
    }
    let expected: BTreeMap<String, BTreeSet<String>> = expected
        .iter()
        .map(|(group, codes)| (group.to_string(), codes.iter().map(|code| code.to_string()).collect()))
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn haverhill_default_departments() {
    let haverhill = load_tenant("haverhill");

    for service in &haverhill.services {
        let group = service.group.get(Locale::En);
        let expected = match (group, service.code.as_str()) {
            (_, "graffiti") => "dpw-parks",
            (_, "sidewalk-snow") => "isd-health",
            ("streets" | "trash-recycling" | "snow-ice", _) => "dpw-highway",
            ("trees-parks", _) => "dpw-parks",
            ("health", _) => "isd-health",
            ("assessor", _) => "assessor",
            ("general", _) => "mayor-311",
            (other, code) => panic!("service {code} has an unexpected group {other}"),
        };
        assert_eq!(service.department, expected, "default department of {}", service.code);
    }

    for code in ["assessor-question", "abatement-request", "general-question"] {
        assert!(!haverhill.service(code).unwrap().location_required, "{code} needs no location");
    }
}

#[test]
fn haverhill_attributes_routers_read() {
    let haverhill = load_tenant("haverhill");
    let attribute = |service: &str, code: &str| {
        haverhill
            .service(service)
            .unwrap()
            .attributes
            .iter()
            .find(|attribute| attribute.code == code)
            .cloned()
            .unwrap_or_else(|| panic!("{service} has no attribute {code}"))
    };
    let keys = |attribute: &manifest::AttributeSpec| attribute.values.iter().map(|value| value.key.clone()).collect::<Vec<_>>();

    let size = attribute("pothole", "size");
    assert_eq!(size.datatype, Datatype::Singlevaluelist);
    assert!(size.required);
    assert_eq!(keys(&size), ["small", "medium", "large"]);

    assert_eq!(keys(&attribute("pothole", "hazard")), ["yes", "no"]);
    assert_eq!(keys(&attribute("icy-road", "hazard")), ["yes", "no"]);

    let blocking = attribute("tree-down", "blocking_road");
    assert!(blocking.required);
    assert_eq!(keys(&blocking), ["yes", "no"]);

    let establishment = attribute("food-establishment", "establishment_name");
    assert_eq!(establishment.datatype, Datatype::String);
    assert!(establishment.required);
}

#[test]
fn haverhill_wards_tile_service_area() {
    let haverhill = load_tenant("haverhill");
    let area = haverhill.service_area.expect("Haverhill has a service area");
    let routing = haverhill.routing.as_ref().expect("Haverhill has a router");

    assert_eq!(routing.plugin, "haverhill-router");
    assert_eq!(routing.settings["winter_months"], "11,12,1,2,3");
    assert_eq!(routing.settings["pothole_season_months"], "3,4");

    let wards: Vec<[f64; 4]> = (1..=7)
        .map(|ward| {
            let text = &routing.settings[&format!("ward.{ward}")];
            let numbers: Vec<f64> = text.split(',').map(|part| part.trim().parse().unwrap()).collect();
            numbers.try_into().unwrap_or_else(|_| panic!("ward.{ward} = {text} is not four numbers"))
        })
        .collect();

    let area_size = (area.max_lat - area.min_lat) * (area.max_long - area.min_long);
    let ward_size: f64 = wards.iter().map(|[min_lat, min_long, max_lat, max_long]| (max_lat - min_lat) * (max_long - min_long)).sum();
    assert!((area_size - ward_size).abs() < 1e-9, "the wards cover {ward_size} square degrees, the area {area_size}");

    // Probe a grid of points inside the area: each lies in exactly one ward
    // (points on a shared edge are moved off it by the half-step offset).
    for row in 0..20 {
        for column in 0..20 {
            let lat = area.min_lat + (area.max_lat - area.min_lat) * (f64::from(row) + 0.5) / 20.0;
            let long = area.min_long + (area.max_long - area.min_long) * (f64::from(column) + 0.5) / 20.0;
            let containing = wards
                .iter()
                .filter(|[min_lat, min_long, max_lat, max_long]| (*min_lat..=*max_lat).contains(&lat) && (*min_long..=*max_long).contains(&long))
                .count();
            assert_eq!(containing, 1, "point {lat},{long} lies in {containing} wards");
        }
    }
}

#[test]
fn boston_departments_match_export_codes() {
    let boston = load_tenant("boston");

    assert_eq!(boston.slug, "boston");
    assert_eq!(boston.name, "City of Boston");
    assert_eq!(boston.jurisdiction_id, "boston.gov");
    assert_eq!(boston.routing.as_ref().map(|routing| routing.plugin.as_str()), Some("boston-router"));

    let codes: BTreeSet<&str> = boston.departments.iter().map(|department| department.code.as_str()).collect();
    assert_eq!(codes, BTreeSet::from(["PWDx", "BTDT", "ISD", "PARK", "PROP", "INFO", "GEN_"]));

    let holidays: BTreeSet<String> = boston.holidays.iter().map(|holiday| holiday.date.to_string()).collect();
    assert!(holidays.contains("2026-03-17"), "Evacuation Day");
    assert!(holidays.contains("2027-06-17"), "Bunker Hill Day");
}

#[test]
fn boston_has_one_service_per_export_type() {
    let boston = load_tenant("boston");
    let mut reader = csv::Reader::from_path(boston_sample()).expect("boston311-100.csv beside the repository");

    let mut departments_by_type: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for record in reader.deserialize::<BTreeMap<String, String>>() {
        let record = record.unwrap();
        departments_by_type
            .entry(record["type"].clone())
            .or_default()
            .insert(record["department"].clone());
    }
    assert_eq!(boston.services.len(), departments_by_type.len());

    for (type_name, departments) in &departments_by_type {
        let service = boston
            .services
            .iter()
            .find(|service| service.name.0.get(&Locale::En) == Some(type_name))
            .unwrap_or_else(|| panic!("no service is named '{type_name}'"));

        assert_eq!(service.code, slugify(type_name), "code of '{type_name}'");
        if type_name == "PWD Graffiti" {
            assert_eq!(service.department, "PWDx");
        } else {
            assert_eq!(departments.len(), 1, "'{type_name}' goes to one department in the export");
            assert!(departments.contains(&service.department), "'{type_name}' goes to {departments:?}, the manifest says {}", service.department);
        }
    }

    let graffiti = boston.service("pwd-graffiti").unwrap();
    let surface = graffiti.attributes.iter().find(|attribute| attribute.code == "surface").unwrap();
    let keys: Vec<&str> = surface.values.iter().map(|value| value.key.as_str()).collect();
    assert_eq!(keys, ["building", "street-furniture", "traffic-signal", "bike-lane", "other"]);
    assert!(!surface.required);
}

#[test]
fn slugify_collapses_runs() {
    assert_eq!(slugify("New Sign  Crosswalk or Pavement Marking"), "new-sign-crosswalk-or-pavement-marking");
    assert_eq!(slugify("Improper Storage of Trash (Barrels)"), "improper-storage-of-trash-barrels");
}
