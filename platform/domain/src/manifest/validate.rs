use std::collections::HashSet;
use std::path::Path;

use chrono::NaiveTime;
use chrono_tz::Tz;

use super::{BoundingBox, ManifestError, ServiceSpec, TenantManifest, WeeklyHoursSpec};
use crate::locale::Locale;
use crate::sla::{BusinessCalendar, OpeningHours};

/// Checks everything serde cannot: formats, references between sections,
/// uniqueness, and that every public text exists in each of the tenant's locales.
pub(super) fn validate(manifest: &TenantManifest, tenant_path: &Path, services_path: &Path) -> Result<(), ManifestError> {
    let tenant_error = |field: &str, problem: String| ManifestError::Invalid {
        file: tenant_path.to_path_buf(),
        field: field.to_string(),
        problem,
    };

    validate_identity(manifest).map_err(|(field, problem)| tenant_error(&field, problem))?;
    calendar(manifest).map_err(|(field, problem)| tenant_error(&field, problem))?;
    validate_departments(manifest).map_err(|(field, problem)| tenant_error(&field, problem))?;

    validate_services(manifest).map_err(|(field, problem)| ManifestError::Invalid {
        file: services_path.to_path_buf(),
        field,
        problem,
    })
}

type FieldProblem = (String, String);

fn validate_identity(manifest: &TenantManifest) -> Result<(), FieldProblem> {
    let slug_ok = !manifest.slug.is_empty()
        && manifest
            .slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !slug_ok {
        return Err((
            "slug".into(),
            format!("'{}' is invalid; use lowercase letters, digits and '-'", manifest.slug),
        ));
    }

    if manifest.jurisdiction_id.trim().is_empty() || manifest.jurisdiction_id.trim() != manifest.jurisdiction_id {
        return Err((
            "jurisdiction_id".into(),
            "must be a non-empty id without surrounding spaces, by convention the city's domain such as 'haverhillma.gov'".into(),
        ));
    }

    if !manifest.locales.contains(&Locale::En) {
        return Err(("locales".into(), "must include \"en\"".into()));
    }

    if let Some(area) = &manifest.service_area {
        validate_bounding_box(area).map_err(|problem| ("service_area".to_string(), problem))?;
    }

    Ok(())
}

/// Checks that a box lies within WGS84 ranges and that each minimum is below
/// its maximum, because an inverted box would reject every point.
fn validate_bounding_box(area: &BoundingBox) -> Result<(), String> {
    let in_range = (-90.0..=90.0).contains(&area.min_lat)
        && (-90.0..=90.0).contains(&area.max_lat)
        && (-180.0..=180.0).contains(&area.min_long)
        && (-180.0..=180.0).contains(&area.max_long);
    if !in_range {
        return Err("is outside WGS84 ranges; latitudes must lie in -90 to 90 and longitudes in -180 to 180".into());
    }

    if area.min_lat >= area.max_lat || area.min_long >= area.max_long {
        return Err(format!(
            "min_lat {} and min_long {} must be below max_lat {} and max_long {}; swap the values that are reversed",
            area.min_lat, area.min_long, area.max_lat, area.max_long
        ));
    }
    Ok(())
}

/// Builds the business calendar, or names the field that prevents it.
pub(super) fn calendar(manifest: &TenantManifest) -> Result<BusinessCalendar, FieldProblem> {
    let time_zone: Tz = manifest.time_zone.parse().map_err(|_| {
        (
            "time_zone".to_string(),
            format!("'{}' is not an IANA time zone; use a name such as 'America/New_York'", manifest.time_zone),
        )
    })?;

    let weekly_hours = weekly_hours(&manifest.business_hours)?;
    if weekly_hours.iter().all(Option::is_none) {
        return Err(("business_hours".into(), "no day has opening hours; give at least one day as \"08:00-16:30\"".into()));
    }

    Ok(BusinessCalendar {
        time_zone,
        weekly_hours,
        holidays: manifest.holidays.iter().map(|holiday| holiday.date).collect(),
    })
}

fn weekly_hours(spec: &WeeklyHoursSpec) -> Result<[Option<OpeningHours>; 7], FieldProblem> {
    let days = [
        ("monday", &spec.monday),
        ("tuesday", &spec.tuesday),
        ("wednesday", &spec.wednesday),
        ("thursday", &spec.thursday),
        ("friday", &spec.friday),
        ("saturday", &spec.saturday),
        ("sunday", &spec.sunday),
    ];

    let mut hours = [None; 7];
    for (index, (day, text)) in days.into_iter().enumerate() {
        if let Some(text) = text {
            hours[index] = Some(parse_opening_hours(text).map_err(|problem| (format!("business_hours.{day}"), problem))?);
        }
    }
    Ok(hours)
}

fn parse_opening_hours(text: &str) -> Result<OpeningHours, String> {
    let invalid = || format!("'{text}' is invalid; write opening hours as \"08:00-16:30\"");
    let (opens, closes) = text.split_once('-').ok_or_else(invalid)?;
    let opens = NaiveTime::parse_from_str(opens.trim(), "%H:%M").map_err(|_| invalid())?;
    let closes = NaiveTime::parse_from_str(closes.trim(), "%H:%M").map_err(|_| invalid())?;

    if closes <= opens {
        return Err(format!("'{text}' closes before it opens"));
    }
    Ok(OpeningHours { opens, closes })
}

fn validate_departments(manifest: &TenantManifest) -> Result<(), FieldProblem> {
    if manifest.departments.is_empty() {
        return Err(("departments".into(), "the tenant has no department; add at least one [[departments]] table".into()));
    }

    let mut codes = HashSet::new();
    for (index, department) in manifest.departments.iter().enumerate() {
        let field = |name: &str| format!("departments[{index}].{name}");
        if department.code.trim().is_empty() {
            return Err((field("code"), "is empty".into()));
        }
        if !codes.insert(department.code.as_str()) {
            return Err((field("code"), format!("'{}' is used by two departments", department.code)));
        }
        require_locales(&department.name, &manifest.locales).map_err(|problem| (field("name"), problem))?;
        if let Some(phone) = &department.phone {
            if !is_e164(phone) {
                return Err((field("phone"), format!("'{phone}' is not in E.164 form such as '+19783745000'")));
            }
        }
    }
    Ok(())
}

fn validate_services(manifest: &TenantManifest) -> Result<(), FieldProblem> {
    let mut codes = HashSet::new();
    for (index, service) in manifest.services.iter().enumerate() {
        let field = |name: &str| format!("services[{index}].{name}");

        if service.code.trim().is_empty() || service.code.trim() != service.code {
            return Err((field("code"), format!("'{}' must be non-empty with no spaces at either end", service.code)));
        }
        if !codes.insert(service.code.as_str()) {
            return Err((field("code"), format!("'{}' is used by two services", service.code)));
        }
        if manifest.department(&service.department).is_none() {
            return Err((
                field("department"),
                format!("'{}' is not a department code of this tenant; use one of its [[departments]] codes", service.department),
            ));
        }
        if let Some(area) = &service.service_area {
            validate_bounding_box(area).map_err(|problem| (field("service_area"), problem))?;
        }
        if service.sla.to_sla().is_none() {
            return Err((field("sla"), "give exactly one of business_hours or calendar_days, such as { business_hours = 48 }".into()));
        }
        require_locales(&service.name, &manifest.locales).map_err(|problem| (field("name"), problem))?;
        validate_attributes(service, &manifest.locales).map_err(|(name, problem)| (field(&name), problem))?;
    }
    Ok(())
}

fn validate_attributes(service: &ServiceSpec, locales: &[Locale]) -> Result<(), FieldProblem> {
    let mut codes = HashSet::new();
    let mut orders = HashSet::new();

    for (index, attribute) in service.attributes.iter().enumerate() {
        let field = |name: &str| format!("attributes[{index}].{name}");
        if attribute.code.trim().is_empty() || !codes.insert(attribute.code.as_str()) {
            return Err((field("code"), format!("'{}' is empty or used twice in this service", attribute.code)));
        }
        if attribute.order == 0 || !orders.insert(attribute.order) {
            return Err((field("order"), format!("{} must be a positive number unique within the service", attribute.order)));
        }
        if attribute.datatype.is_list() && attribute.values.is_empty() {
            return Err((field("values"), format!("datatype {} needs at least one value", attribute.datatype.as_str())));
        }
        if !attribute.datatype.is_list() && !attribute.values.is_empty() {
            return Err((field("values"), format!("datatype {} takes no values; use singlevaluelist or multivaluelist", attribute.datatype.as_str())));
        }
        require_locales(&attribute.description, locales).map_err(|problem| (field("description"), problem))?;
    }
    Ok(())
}

fn require_locales(text: &crate::LocalizedText, locales: &[Locale]) -> Result<(), String> {
    for locale in locales {
        let present = text.0.get(locale).is_some_and(|value| !value.trim().is_empty());
        if !present {
            return Err(format!("has no text for locale '{locale}'; add {locale} = \"...\""));
        }
    }
    Ok(())
}

fn is_e164(phone: &str) -> bool {
    let digits = phone.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::manifest::{load_from_strings, ManifestError};

    const TENANT: &str = r#"
slug = "testville"
name = "Testville"
jurisdiction_id = "testville.gov"
time_zone = "America/New_York"
locales = ["en", "es"]

[business_hours]
monday = "08:00-16:00"

[[departments]]
code = "dpw"
name = { en = "Public Works", es = "Obras Públicas" }
joined_311 = "2026-01-01"
"#;

    const SERVICES: &str = r#"
[[services]]
code = "pothole"
name = { en = "Pothole", es = "Bache" }
department = "dpw"
sla = { business_hours = 48 }
"#;

    fn load(tenant: &str, services: &str) -> Result<crate::manifest::TenantManifest, ManifestError> {
        load_from_strings(Path::new("tenant.toml"), tenant, Path::new("services.toml"), services)
    }

    fn invalid_field(error: ManifestError) -> String {
        match error {
            ManifestError::Invalid { field, .. } => field,
            other => panic!("expected a validation error, got {other}"),
        }
    }

    #[test]
    fn valid_manifest_loads() {
        let manifest = load(TENANT, SERVICES).unwrap();
        assert_eq!(manifest.services.len(), 1);
        assert_eq!(manifest.services[0].sla.to_sla(), Some(crate::sla::Sla::BusinessHours(48)));
    }

    #[test]
    fn unknown_department_names_the_field() {
        let services = SERVICES.replace("department = \"dpw\"", "department = \"parks\"");
        let field = invalid_field(load(TENANT, &services).unwrap_err());
        assert_eq!(field, "services[0].department");
    }

    #[test]
    fn missing_spanish_name_names_the_field() {
        let services = SERVICES.replace(", es = \"Bache\"", "");
        let field = invalid_field(load(TENANT, &services).unwrap_err());
        assert_eq!(field, "services[0].name");
    }

    #[test]
    fn bad_time_zone_names_the_field() {
        let tenant = TENANT.replace("America/New_York", "Eastern");
        let field = invalid_field(load(&tenant, SERVICES).unwrap_err());
        assert_eq!(field, "time_zone");
    }

    #[test]
    fn unknown_key_is_a_parse_error_naming_the_key() {
        let tenant = format!("{TENANT}\ncolour = \"blue\"\n");
        let error = load(&tenant, SERVICES).unwrap_err();
        assert!(error.to_string().contains("colour"), "{error}");
    }

    #[test]
    fn inverted_service_area_names_the_field() {
        let tenant = format!("{TENANT}\n[service_area]\nmin_lat = 43.7\nmin_long = -71.18\nmax_lat = 42.84\nmax_long = -70.99\n");
        let field = invalid_field(load(&tenant, SERVICES).unwrap_err());
        assert_eq!(field, "service_area");
    }

    #[test]
    fn service_area_out_of_range_names_the_field() {
        let services = format!("{SERVICES}service_area = {{ min_lat = 42.7, min_long = -191.0, max_lat = 42.8, max_long = -71.0 }}\n");
        let field = invalid_field(load(TENANT, &services).unwrap_err());
        assert_eq!(field, "services[0].service_area");
    }

    #[test]
    fn two_sla_kinds_are_rejected() {
        let services = SERVICES.replace("{ business_hours = 48 }", "{ business_hours = 48, calendar_days = 2 }");
        let field = invalid_field(load(TENANT, &services).unwrap_err());
        assert_eq!(field, "services[0].sla");
    }
}
