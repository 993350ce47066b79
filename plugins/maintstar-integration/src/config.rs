//! The install's configuration: which service requests sync to Maintstar,
//! and how each maps to a work order. Every key is documented in
//! `docs/integrations/maintstar.md`.

use alloc::format;
use alloc::string::{String, ToString};
use serde::Serialize;

use crate::model::{RoutedRequest, SyncFailure};

/// Secret that contains the API key unless `api_key_secret` names another.
pub const DEFAULT_API_KEY_SECRET: &str = "api_key";

/// Maintstar's maximum description length, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4000;

/// The request of one sync: base URL, API key secret and work order.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkOrderPlan {
    /// Maintstar's API base URL without a trailing slash.
    pub base_url: String,
    /// Name of the install secret that contains the API key.
    pub api_key_secret: String,
    pub work_order: NewWorkOrder,
}

/// The body of `POST /api/v2/work-orders`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewWorkOrder {
    pub external_ref: String,
    pub work_type: String,
    pub description: String,
    pub location: Location,
    pub priority: String,
    pub department: String,
    pub requested_at: String,
}

/// The location of the work.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Location {
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// Builds the work order for `request`, or returns `None` when the install
/// does not sync it: neither its department is listed in `departments` nor
/// its service code has a `work_type.<service code>` entry.
///
/// Returns `Rejected` when the install's configuration lacks what the work
/// order needs, naming the key to set.
pub fn plan(request: &RoutedRequest) -> Result<Option<WorkOrderPlan>, SyncFailure> {
    if !request.is_selected("work_type") {
        return Ok(None);
    }

    let base_url = request.url_config("base_url", "Maintstar's API base URL")?;
    let work_type = request.mapped_or_default("work_type", "default_work_type", "Maintstar work type")?;

    let work_order = NewWorkOrder {
        external_ref: request.id.clone(),
        work_type,
        description: request.summary(MAX_DESCRIPTION_BYTES),
        location: Location {
            address: request.address.clone(),
            latitude: request.location.map(|(lat, _)| lat),
            longitude: request.location.map(|(_, long)| long),
        },
        priority: priority(request),
        department: request.config_or(&format!("department.{}", request.department), &request.department),
        requested_at: request.requested_at.clone(),
    };
    let api_key_secret = request.config_or("api_key_secret", DEFAULT_API_KEY_SECRET);

    Ok(Some(WorkOrderPlan { base_url, api_key_secret, work_order }))
}

/// Maps the request's priority: a `priority.<priority>` entry, or
/// urgent → EMERGENCY, high → HIGH, low → LOW and anything else → ROUTINE.
fn priority(request: &RoutedRequest) -> String {
    if let Some(mapped) = request.config.get(&format!("priority.{}", request.priority)) {
        return mapped.clone();
    }
    let default = match request.priority.as_str() {
        "urgent" => "EMERGENCY",
        "high" => "HIGH",
        "low" => "LOW",
        _ => "ROUTINE",
    };
    default.to_string()
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;
    use alloc::vec;

    use super::*;

    fn pothole() -> RoutedRequest {
        let config: BTreeMap<String, String> = [
            ("base_url", "https://maintstar.example.gov/"),
            ("departments", "dpw-highway, dpw-forestry"),
            ("work_type.pothole", "ROAD-PATCH"),
            ("department.dpw-highway", "HWY"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();

        RoutedRequest {
            id: "HAV-2026-000123".into(),
            service_code: "pothole".into(),
            service_name: "Pothole".into(),
            description: " Deep pothole in the right lane ".into(),
            address: Some("12 Main St".into()),
            location: Some((42.7762, -71.0773)),
            answers: vec![("size".into(), vec!["large".into()]), ("empty".into(), vec![])],
            department: "dpw-highway".into(),
            priority: "high".into(),
            queue: None,
            requested_at: "2026-12-01T09:30:00-05:00".into(),
            config,
        }
    }

    #[test]
    fn plan_maps_configured_service() {
        let plan = plan(&pothole()).unwrap().expect("pothole syncs");

        assert_eq!(plan.base_url, "https://maintstar.example.gov");
        assert_eq!(plan.api_key_secret, "api_key");
        assert_eq!(plan.work_order.external_ref, "HAV-2026-000123");
        assert_eq!(plan.work_order.work_type, "ROAD-PATCH");
        assert_eq!(plan.work_order.department, "HWY");
        assert_eq!(plan.work_order.priority, "HIGH");
        assert_eq!(plan.work_order.description, "Pothole: Deep pothole in the right lane\nsize: large");
        assert_eq!(plan.work_order.location.latitude, Some(42.7762));
        assert_eq!(plan.work_order.location.address.as_deref(), Some("12 Main St"));
    }

    #[test]
    fn plan_skips_unconfigured_request() {
        let mut request = pothole();
        request.service_code = "noise".into();
        request.department = "health".into();

        assert_eq!(plan(&request), Ok(None));
    }

    #[test]
    fn plan_uses_default_work_type_for_listed_department() {
        let mut request = pothole();
        request.service_code = "fallen-tree".into();
        request.department = "dpw-forestry".into();
        request.config.insert("default_work_type".into(), "GENERAL".into());

        let plan = plan(&request).unwrap().expect("a listed department syncs");

        assert_eq!(plan.work_order.work_type, "GENERAL");
        assert_eq!(plan.work_order.department, "dpw-forestry");
    }

    #[test]
    fn plan_rejects_missing_work_type() {
        let mut request = pothole();
        request.service_code = "fallen-tree".into();

        let Err(SyncFailure::Rejected(message)) = plan(&request) else {
            panic!("a listed department without a work type is rejected");
        };
        assert!(message.contains("work_type.fallen-tree"), "{message}");
    }

    #[test]
    fn plan_rejects_missing_or_bad_base_url() {
        let mut request = pothole();
        request.config.remove("base_url");
        assert!(matches!(plan(&request), Err(SyncFailure::Rejected(message)) if message.contains("base_url is missing")));

        request.config.insert("base_url".into(), "ftp://maintstar".into());
        assert!(matches!(plan(&request), Err(SyncFailure::Rejected(message)) if message.contains("not an http or https URL")));
    }

    #[test]
    fn priority_defaults_and_overrides() {
        let mut request = pothole();
        for (ours, theirs) in [("urgent", "EMERGENCY"), ("high", "HIGH"), ("normal", "ROUTINE"), ("low", "LOW")] {
            request.priority = ours.into();
            assert_eq!(priority(&request), theirs, "{ours}");
        }

        request.config.insert("priority.urgent".into(), "HIGH".into());
        request.priority = "urgent".into();
        assert_eq!(priority(&request), "HIGH");
    }

    #[test]
    fn description_is_cut_on_char_boundary() {
        let mut request = pothole();
        request.answers.clear();
        request.description = "é".repeat(3000);

        let text = request.summary(MAX_DESCRIPTION_BYTES);

        assert!(text.len() <= MAX_DESCRIPTION_BYTES);
        assert!(text.len() >= MAX_DESCRIPTION_BYTES - 1);
        assert!(text.ends_with('é'));
    }
}
