//! The install's configuration: which service requests sync to ViewPermit,
//! the OAuth client, and how each request maps to an inspection request.
//! Every key is documented in `docs/integrations/viewpermit.md`.

use alloc::format;
use alloc::string::{String, ToString};
use serde::Serialize;

use crate::model::{RoutedRequest, SyncFailure};

/// Secret that contains the OAuth client secret unless `client_secret_secret` names another.
pub const DEFAULT_CLIENT_SECRET_NAME: &str = "client_secret";

/// The `source_system` value that identifies Civic311 to ViewPermit.
pub const SOURCE_SYSTEM: &str = "civic311";

/// ViewPermit's maximum notes length, in bytes.
pub const MAX_NOTES_BYTES: usize = 2000;

/// The value expected in `base_url` and `token_url`, named in error messages.
const URL_DESCRIPTION: &str = "a ViewPermit http or https URL";

/// Our priorities that ViewPermit treats as urgent unless `urgent_priorities` lists others.
const DEFAULT_URGENT_PRIORITIES: &str = "urgent,high";

/// The request of one sync: endpoints, OAuth client and inspection request.
#[derive(Clone, Debug, PartialEq)]
pub struct InspectionPlan {
    /// ViewPermit's API base URL without a trailing slash.
    pub base_url: String,
    /// The token endpoint: `token_url`, or `<base_url>/oauth/token`.
    pub token_url: String,
    pub client_id: String,
    /// Name of the install secret that contains the client secret.
    pub client_secret_name: String,
    pub inspection: NewInspectionRequest,
}

/// The body of `POST /api/v1/inspection-requests`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewInspectionRequest {
    pub source_system: String,
    pub source_system_id: String,
    pub inspection_type: String,
    pub establishment: Establishment,
    pub notes: String,
    /// `urgent` or `routine`.
    pub priority: String,
    /// The local date the request was received, `YYYY-MM-DD`.
    pub requested_date: String,
}

/// The establishment to inspect.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Establishment {
    pub name: Option<String>,
    pub address: String,
}

/// Builds the inspection request for `request`, or returns `None` when the
/// install does not sync it: neither its department is listed in
/// `departments` nor its service code has an `inspection_type.<service code>` entry.
///
/// Returns `Rejected` when the configuration or the request lacks what
/// ViewPermit needs, naming the key to set or the missing field.
pub fn plan(request: &RoutedRequest) -> Result<Option<InspectionPlan>, SyncFailure> {
    if !request.is_selected("inspection_type") {
        return Ok(None);
    }

    let base_url = request.url_config("base_url", URL_DESCRIPTION)?;
    let token_url = match request.config.get("token_url") {
        Some(_) => request.url_config("token_url", URL_DESCRIPTION)?,
        None => format!("{base_url}/oauth/token"),
    };
    let client_id = request.required_config("client_id", "the OAuth client id ViewPermit issued to the city")?;
    let inspection_type = request.mapped_or_default("inspection_type", "default_inspection_type", "ViewPermit inspection type")?;

    let inspection = NewInspectionRequest {
        source_system: SOURCE_SYSTEM.to_string(),
        source_system_id: request.id.clone(),
        inspection_type,
        establishment: establishment(request)?,
        notes: request.summary(MAX_NOTES_BYTES),
        priority: priority(request),
        requested_date: requested_date(&request.requested_at)?,
    };
    let client_secret_name = request.config_or("client_secret_secret", DEFAULT_CLIENT_SECRET_NAME);

    Ok(Some(InspectionPlan { base_url, token_url, client_id, client_secret_name, inspection }))
}

/// The establishment: the request's address, and its name from the answer
/// named by `establishment_name_attribute`, when set and answered.
fn establishment(request: &RoutedRequest) -> Result<Establishment, SyncFailure> {
    let Some(address) = request.address.as_deref().map(str::trim).filter(|address| !address.is_empty()) else {
        return Err(SyncFailure::Rejected(format!(
            "service request {} has no address; ViewPermit needs the establishment's address",
            request.id
        )));
    };

    let name = request
        .config
        .get("establishment_name_attribute")
        .and_then(|code| request.answers.iter().find(|(answer_code, _)| answer_code == code))
        .and_then(|(_, values)| values.first())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty());

    Ok(Establishment { name, address: address.to_string() })
}

/// `urgent` when the request's priority is listed in `urgent_priorities`
/// (default `urgent,high`), otherwise `routine`.
fn priority(request: &RoutedRequest) -> String {
    let configured = request.config.get("urgent_priorities").map(String::as_str);
    let urgent = configured
        .unwrap_or(DEFAULT_URGENT_PRIORITIES)
        .split(',')
        .map(str::trim)
        .any(|priority| priority == request.priority);
    if urgent { "urgent".to_string() } else { "routine".to_string() }
}

/// Returns the date part of an RFC 3339 timestamp, which is the local date
/// at the offset the timestamp carries.
fn requested_date(requested_at: &str) -> Result<String, SyncFailure> {
    let date = requested_at.get(..10).unwrap_or_default();
    let bytes = date.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
    if shaped {
        Ok(date.to_string())
    } else {
        Err(SyncFailure::Rejected(format!("requested_at {requested_at:?} is not an RFC 3339 timestamp")))
    }
}

#[cfg(test)]
mod tests {
    use alloc::collections::BTreeMap;
    use alloc::vec;

    use super::*;

    fn food_complaint() -> RoutedRequest {
        let config: BTreeMap<String, String> = [
            ("base_url", "https://viewpermit.example.gov/"),
            ("client_id", "civic311-haverhill"),
            ("departments", "health"),
            ("inspection_type.food-complaint", "FOOD-COMPLAINT"),
            ("establishment_name_attribute", "business_name"),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();

        RoutedRequest {
            id: "HAV-2026-000200".into(),
            service_code: "food-complaint".into(),
            service_name: "Food complaint".into(),
            description: "Raw chicken above salads".into(),
            address: Some("40 Washington St".into()),
            location: None,
            answers: vec![("business_name".into(), vec![" Merrimack Diner ".into()]), ("meal".into(), vec!["lunch".into()])],
            department: "health".into(),
            priority: "normal".into(),
            queue: None,
            requested_at: "2026-12-01T23:30:00-05:00".into(),
            config,
        }
    }

    #[test]
    fn plan_maps_configured_service() {
        let plan = plan(&food_complaint()).unwrap().expect("a food complaint syncs");

        assert_eq!(plan.base_url, "https://viewpermit.example.gov");
        assert_eq!(plan.token_url, "https://viewpermit.example.gov/oauth/token");
        assert_eq!(plan.client_id, "civic311-haverhill");
        assert_eq!(plan.client_secret_name, "client_secret");
        assert_eq!(plan.inspection.source_system, "civic311");
        assert_eq!(plan.inspection.source_system_id, "HAV-2026-000200");
        assert_eq!(plan.inspection.inspection_type, "FOOD-COMPLAINT");
        assert_eq!(plan.inspection.establishment.name.as_deref(), Some("Merrimack Diner"));
        assert_eq!(plan.inspection.establishment.address, "40 Washington St");
        assert_eq!(plan.inspection.notes, "Food complaint: Raw chicken above salads\nbusiness_name: Merrimack Diner\nmeal: lunch");
        assert_eq!(plan.inspection.priority, "routine");
        assert_eq!(plan.inspection.requested_date, "2026-12-01");
    }

    #[test]
    fn plan_skips_unconfigured_request() {
        let mut request = food_complaint();
        request.service_code = "pothole".into();
        request.department = "dpw-highway".into();

        assert_eq!(plan(&request), Ok(None));
    }

    #[test]
    fn plan_uses_token_url_and_secret_name() {
        let mut request = food_complaint();
        request.config.insert("token_url".into(), "https://login.example.gov/oauth2/token".into());
        request.config.insert("client_secret_secret".into(), "viewpermit_secret".into());

        let plan = plan(&request).unwrap().unwrap();

        assert_eq!(plan.token_url, "https://login.example.gov/oauth2/token");
        assert_eq!(plan.client_secret_name, "viewpermit_secret");
    }

    #[test]
    fn plan_rejects_missing_settings() {
        for key in ["base_url", "client_id"] {
            let mut request = food_complaint();
            request.config.remove(key);
            let Err(SyncFailure::Rejected(message)) = plan(&request) else {
                panic!("a missing {key} is rejected");
            };
            assert!(message.contains(key), "{message}");
        }

        let mut request = food_complaint();
        request.service_code = "rodents".into();
        assert!(matches!(plan(&request), Err(SyncFailure::Rejected(message)) if message.contains("inspection_type.rodents")));
    }

    #[test]
    fn plan_rejects_request_without_address() {
        let mut request = food_complaint();
        request.address = Some("  ".into());

        assert!(matches!(plan(&request), Err(SyncFailure::Rejected(message)) if message.contains("no address")));
    }

    #[test]
    fn priority_follows_urgent_list() {
        let mut request = food_complaint();
        for (ours, theirs) in [("urgent", "urgent"), ("high", "urgent"), ("normal", "routine"), ("low", "routine")] {
            request.priority = ours.into();
            assert_eq!(priority(&request), theirs, "{ours}");
        }

        request.config.insert("urgent_priorities".into(), "urgent".into());
        request.priority = "high".into();
        assert_eq!(priority(&request), "routine");
    }

    #[test]
    fn requested_date_needs_rfc3339() {
        assert_eq!(requested_date("2026-12-01T09:30:00Z").unwrap(), "2026-12-01");
        assert!(requested_date("12/01/2026 09:30").is_err());
        assert!(requested_date("2026").is_err());
    }

    #[test]
    fn notes_are_cut_on_char_boundary() {
        let mut request = food_complaint();
        request.answers.clear();
        request.description = "ü".repeat(1500);

        let text = request.summary(MAX_NOTES_BYTES);

        assert!(text.len() <= MAX_NOTES_BYTES);
        assert!(text.ends_with('ü'));
    }
}
