//! Checks of a draft against the tenant's service definition. Each failure
//! names the field and, in the caller's locale, the change to make.

use chrono::DateTime;
use civic311_domain::manifest::{AttributeSpec, BoundingBox, Datatype, ServiceSpec, TenantManifest};
use civic311_domain::routing::AttributeValue;
use civic311_domain::Locale;

use super::{IntakeError, RequestDraft};
use crate::i18n::{self, FluentValue};

/// Maximum description length in characters (Unicode scalar values).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// Maximum length of one `string` or `text` attribute answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 4000;

/// Returns the service the draft names, or why the draft cannot be accepted.
pub(super) fn validate<'m>(
    manifest: &'m TenantManifest,
    draft: &RequestDraft,
    locale: Locale,
) -> Result<&'m ServiceSpec, IntakeError> {
    let service = manifest.service(&draft.service_code).ok_or_else(|| IntakeError::UnknownService {
        code: draft.service_code.clone(),
    })?;

    check_description(draft, locale)?;
    check_location(manifest, service, draft, locale)?;
    check_attributes(service, &draft.attributes, locale)?;
    check_media_url(draft, locale)?;
    Ok(service)
}

fn invalid(field: &str, locale: Locale, id: &str, args: &[(&str, FluentValue<'_>)]) -> IntakeError {
    IntakeError::InvalidField {
        field: field.to_string(),
        problem: i18n::text(locale, id, args),
    }
}

fn check_description(draft: &RequestDraft, locale: Locale) -> Result<(), IntakeError> {
    let length = draft.description.as_deref().map_or(0, |text| text.chars().count());
    if length > MAX_DESCRIPTION_CHARS {
        return Err(invalid(
            "description",
            locale,
            "validation-description-too-long",
            &[("length", length.to_string().into()), ("max", MAX_DESCRIPTION_CHARS.to_string().into())],
        ));
    }
    Ok(())
}

fn check_location(
    manifest: &TenantManifest,
    service: &ServiceSpec,
    draft: &RequestDraft,
    locale: Locale,
) -> Result<(), IntakeError> {
    let point = match (draft.lat, draft.long) {
        (Some(lat), Some(long)) => Some((lat, long)),
        (None, None) => None,
        (None, Some(_)) => return Err(invalid("lat", locale, "validation-lat-long-pair", &[])),
        (Some(_), None) => return Err(invalid("long", locale, "validation-lat-long-pair", &[])),
    };

    if let Some((lat, long)) = point {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(invalid("lat", locale, "validation-lat-range", &[("value", lat.to_string().into())]));
        }
        if !long.is_finite() || !(-180.0..=180.0).contains(&long) {
            return Err(invalid("long", locale, "validation-long-range", &[("value", long.to_string().into())]));
        }
        check_service_area(manifest, service, lat, long, locale)?;
    }

    let has_address = [&draft.address, &draft.address_id]
        .into_iter()
        .any(|value| value.as_deref().is_some_and(|text| !text.trim().is_empty()));
    if service.location_required && point.is_none() && !has_address {
        return Err(invalid("lat", locale, "validation-location-required", &[]));
    }
    Ok(())
}

/// Checks the point against the service's own area, or else the tenant's.
fn check_service_area(
    manifest: &TenantManifest,
    service: &ServiceSpec,
    lat: f64,
    long: f64,
    locale: Locale,
) -> Result<(), IntakeError> {
    let (area, label) = match (&service.service_area, &manifest.service_area) {
        (Some(area), _) => (area, format!("the service area of '{}'", service.code)),
        (None, Some(area)) => (area, format!("the service area of {}", manifest.name)),
        (None, None) => return Ok(()),
    };
    if area.contains(lat, long) {
        return Ok(());
    }

    let area_text = format!("{label} {}", describe_box(area));
    Err(invalid(
        "lat",
        locale,
        "validation-outside-area",
        &[
            ("lat", lat.to_string().into()),
            ("long", long.to_string().into()),
            ("area", area_text.into()),
        ],
    ))
}

fn describe_box(area: &BoundingBox) -> String {
    format!(
        "(lat {} to {}, long {} to {})",
        area.min_lat, area.max_lat, area.min_long, area.max_long
    )
}

fn check_attributes(service: &ServiceSpec, answers: &[AttributeValue], locale: Locale) -> Result<(), IntakeError> {
    for answer in answers {
        let field = format!("attribute[{}]", answer.code);
        let spec = service
            .attributes
            .iter()
            .find(|spec| spec.code == answer.code && spec.variable)
            .ok_or_else(|| {
                invalid(
                    &field,
                    locale,
                    "validation-attribute-unknown",
                    &[("code", answer.code.clone().into()), ("service", service.code.clone().into())],
                )
            })?;
        check_answer(spec, answer, &field, locale)?;
    }

    for spec in service.attributes.iter().filter(|spec| spec.required && spec.variable) {
        let answered = answers
            .iter()
            .find(|answer| answer.code == spec.code)
            .is_some_and(|answer| answer.values.iter().any(|value| !value.trim().is_empty()));
        if !answered {
            return Err(invalid(
                &format!("attribute[{}]", spec.code),
                locale,
                "validation-attribute-required",
                &[
                    ("code", spec.code.clone().into()),
                    ("question", spec.description.get(locale).to_string().into()),
                ],
            ));
        }
    }
    Ok(())
}

/// Checks one answer's values against the attribute's datatype. Blank
/// values count as no answer and are left to the required check.
fn check_answer(spec: &AttributeSpec, answer: &AttributeValue, field: &str, locale: Locale) -> Result<(), IntakeError> {
    let values: Vec<&str> = answer
        .values
        .iter()
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .collect();

    let single_valued = !matches!(spec.datatype, Datatype::Multivaluelist);
    if single_valued && values.len() > 1 {
        return Err(invalid(field, locale, "validation-attribute-single", &[]));
    }

    for value in values {
        check_value(spec, value, field, locale)?;
    }
    Ok(())
}

fn check_value(spec: &AttributeSpec, value: &str, field: &str, locale: Locale) -> Result<(), IntakeError> {
    let value_arg = || [("value", FluentValue::from(value.to_string()))];
    match spec.datatype {
        Datatype::String | Datatype::Text => {
            let length = value.chars().count();
            if length > MAX_ANSWER_CHARS {
                return Err(invalid(
                    field,
                    locale,
                    "validation-attribute-too-long",
                    &[("length", length.to_string().into()), ("max", MAX_ANSWER_CHARS.to_string().into())],
                ));
            }
        }
        Datatype::Number => {
            let parsed = value.parse::<f64>();
            if !parsed.is_ok_and(f64::is_finite) {
                return Err(invalid(field, locale, "validation-attribute-number", &value_arg()));
            }
        }
        Datatype::Datetime => {
            if DateTime::parse_from_rfc3339(value).is_err() {
                return Err(invalid(field, locale, "validation-attribute-datetime", &value_arg()));
            }
        }
        Datatype::Singlevaluelist | Datatype::Multivaluelist => {
            if !spec.values.iter().any(|choice| choice.key == value) {
                let keys: Vec<&str> = spec.values.iter().map(|choice| choice.key.as_str()).collect();
                return Err(invalid(
                    field,
                    locale,
                    "validation-attribute-choice",
                    &[("value", value.to_string().into()), ("keys", keys.join(", ").into())],
                ));
            }
        }
    }
    Ok(())
}

fn check_media_url(draft: &RequestDraft, locale: Locale) -> Result<(), IntakeError> {
    let Some(media_url) = draft.media_url.as_deref().map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(());
    };

    let valid = url::Url::parse(media_url)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    if !valid {
        return Err(invalid(
            "media_url",
            locale,
            "validation-media-url",
            &[("value", media_url.to_string().into())],
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use civic311_domain::manifest::load_from_strings;

    use super::*;

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
code = "noise"
name = { en = "Noise", es = "Ruido" }
department = "dpw"
sla = { business_hours = 8 }
location_required = false

[[services.attributes]]
code = "started"
datatype = "datetime"
order = 1
description = { en = "When did it start?", es = "¿Cuándo empezó?" }

[[services.attributes]]
code = "sources"
datatype = "multivaluelist"
order = 2
description = { en = "What makes the noise?", es = "¿Qué hace el ruido?" }
values = [
    { key = "music", name = { en = "Music", es = "Música" } },
    { key = "engine", name = { en = "Engine", es = "Motor" } },
]
"#;

    fn manifest() -> TenantManifest {
        load_from_strings(Path::new("tenant.toml"), TENANT, Path::new("services.toml"), SERVICES).unwrap()
    }

    fn draft(code: &str, values: &[&str]) -> RequestDraft {
        RequestDraft {
            service_code: "noise".into(),
            attributes: vec![AttributeValue {
                code: code.into(),
                values: values.iter().map(|value| value.to_string()).collect(),
            }],
            ..RequestDraft::default()
        }
    }

    fn invalid_field(result: Result<&ServiceSpec, IntakeError>) -> String {
        match result {
            Err(IntakeError::InvalidField { field, .. }) => field,
            Err(other) => panic!("expected an invalid field, got {other}"),
            Ok(service) => panic!("expected an invalid field, service {} was accepted", service.code),
        }
    }

    #[test]
    fn datetime_needs_a_zone() {
        let manifest = manifest();
        assert!(validate(&manifest, &draft("started", &["2026-12-04T15:30:00-05:00"]), Locale::En).is_ok());
        assert!(validate(&manifest, &draft("started", &["2026-12-04T20:30:00Z"]), Locale::En).is_ok());

        let field = invalid_field(validate(&manifest, &draft("started", &["2026-12-04T15:30:00"]), Locale::En));
        assert_eq!(field, "attribute[started]");
        let field = invalid_field(validate(&manifest, &draft("started", &["yesterday"]), Locale::En));
        assert_eq!(field, "attribute[started]");
    }

    #[test]
    fn multivaluelist_takes_several_known_keys() {
        let manifest = manifest();
        assert!(validate(&manifest, &draft("sources", &["music", "engine"]), Locale::En).is_ok());

        let field = invalid_field(validate(&manifest, &draft("sources", &["music", "dog"]), Locale::En));
        assert_eq!(field, "attribute[sources]");
    }

    #[test]
    fn location_optional_service_accepts_no_location() {
        let manifest = manifest();
        let draft = RequestDraft {
            service_code: "noise".into(),
            ..RequestDraft::default()
        };
        assert!(validate(&manifest, &draft, Locale::En).is_ok());
    }

    #[test]
    fn description_limit_counts_characters() {
        let manifest = manifest();
        let mut at_limit = draft("sources", &["music"]);
        at_limit.description = Some("é".repeat(MAX_DESCRIPTION_CHARS));
        assert!(validate(&manifest, &at_limit, Locale::En).is_ok());

        at_limit.description = Some("é".repeat(MAX_DESCRIPTION_CHARS + 1));
        assert_eq!(invalid_field(validate(&manifest, &at_limit, Locale::En)), "description");
    }

    #[test]
    fn unknown_service_is_its_own_error() {
        let manifest = manifest();
        let result = validate(&manifest, &draft("sources", &["music"]).with_code("Noise"), Locale::En);
        assert!(matches!(result, Err(IntakeError::UnknownService { code }) if code == "Noise"));
    }

    impl RequestDraft {
        fn with_code(mut self, code: &str) -> RequestDraft {
            self.service_code = code.into();
            self
        }
    }
}
