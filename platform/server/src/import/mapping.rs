//! The import mapping file: which CSV column contains which field of a
//! service request, and how its values translate.
//!
//! A mapping is TOML. [`ImportMapping::load`] parses it, and
//! [`ImportMapping::resolve`] checks it against the tenant's manifest and
//! the CSV header, so a mapping that cannot work fails before the first row.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono_tz::Tz;
use civic311_domain::manifest::TenantManifest;
use civic311_domain::{Channel, Locale, Status, SubStatus};
use serde::Deserialize;

use super::ImportError;

/// The whole mapping file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportMapping {
    /// Column with the request's id in the source system. It becomes both
    /// the `source_id` and the public `service_request_id`.
    pub source_id: String,
    pub service: ServiceMapping,
    #[serde(default)]
    pub description: DescriptionMapping,
    pub dates: DatesMapping,
    pub status: StatusMapping,
    /// Without this table every request gets the `import` channel.
    #[serde(default)]
    pub channel: Option<ChannelMapping>,
    #[serde(default)]
    pub routing: RoutingMapping,
    #[serde(default)]
    pub location: LocationMapping,
}

/// Service column and how its values are matched to services.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceMapping {
    pub column: String,
    /// Whether the cell contains the service's English name or its code.
    #[serde(rename = "match")]
    pub match_by: ServiceMatch,
    /// Source values mapped to service codes; checked before `match_by`.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
}

/// Field of a service that a service cell is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceMatch {
    /// The service's English `name`, compared exactly after trimming the
    /// ends of the cell (inner spaces count).
    Name,
    /// The service `code`.
    Code,
}

/// Columns tried in order for the description; the first non-blank cell wins.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptionMapping {
    #[serde(default)]
    pub columns: Vec<String>,
}

/// Date columns, their format and the time zone they are written in.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatesMapping {
    /// IANA name of the zone the source wrote local times in.
    pub time_zone: String,
    /// A chrono `strftime` format such as `%Y-%m-%d %H:%M:%S`.
    pub format: String,
    /// Column of the time the request was opened; required in every row.
    pub opened: String,
    /// Column of the close time; required when a status maps to a closed sub-status.
    #[serde(default)]
    pub closed: Option<String>,
    /// Column of the SLA due time, stored as `expected_datetime`.
    #[serde(default)]
    pub target: Option<String>,
}

/// Status column, its values, and rules that refine the sub-status.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusMapping {
    pub column: String,
    /// Source status values mapped to sub-statuses, such as `Closed = "closed_resolved"`.
    pub values: BTreeMap<String, SubStatus>,
    /// Column whose text becomes the request's `status_notes`.
    #[serde(default)]
    pub notes: Option<String>,
    /// Checked in order; the first rule that matches replaces the sub-status.
    #[serde(default)]
    pub rules: Vec<StatusRule>,
}

/// Picks a finer sub-status from another column, such as a closure reason.
///
/// A rule applies only to rows whose mapped sub-status has the same Open311
/// status as the rule's, so a closure text never closes an open request.
/// Text is compared case-insensitively after trimming.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRule {
    pub column: String,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
    pub sub_status: SubStatus,
}

/// Intake channel column and its values.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMapping {
    pub column: String,
    pub values: BTreeMap<String, Channel>,
    /// Channel for a blank or unlisted value; without it such a row is skipped.
    #[serde(default)]
    pub default: Option<Channel>,
}

/// Columns with the department and queue the source system routed to.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingMapping {
    /// Column of the department; a blank cell takes the service's default department.
    #[serde(default)]
    pub department: Option<String>,
    /// Source department values mapped to the tenant's department codes;
    /// a value not listed must be a department code itself.
    #[serde(default)]
    pub departments: BTreeMap<String, String>,
    /// Column of the work queue inside the department.
    #[serde(default)]
    pub queue: Option<String>,
}

/// Address and point columns.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationMapping {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub zipcode: Option<String>,
    #[serde(default)]
    pub lat: Option<String>,
    #[serde(default)]
    pub long: Option<String>,
    /// Points the source system writes when it has no real location. A row
    /// at one of them keeps its address and loses the point.
    #[serde(default)]
    pub placeholder_points: Vec<PlaceholderPoint>,
}

/// A point that stands for "no location", matched within `tolerance` degrees.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceholderPoint {
    pub lat: f64,
    pub long: f64,
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
}

/// Half of the last digit of a point written with 4 decimals, about 5 m.
fn default_tolerance() -> f64 {
    0.00005
}

impl ImportMapping {
    /// Reads and parses the mapping file at `path`.
    pub fn load(path: &Path) -> Result<ImportMapping, ImportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ImportError::ReadMapping {
            file: path.to_path_buf(),
            source,
        })?;
        ImportMapping::parse(path, &text)
    }

    /// Parses mapping text; `path` only labels errors.
    pub fn parse(path: &Path, text: &str) -> Result<ImportMapping, ImportError> {
        toml::from_str(text).map_err(|error| ImportError::ParseMapping {
            file: path.to_path_buf(),
            message: error.to_string().trim_end().replace('\n', " "),
        })
    }

    /// Checks the mapping against the tenant and the CSV header and returns
    /// it with each column resolved to its index.
    pub fn resolve(&self, path: &Path, manifest: &TenantManifest, header: &[String]) -> Result<ResolvedMapping, ImportError> {
        let invalid = |field: &str, problem: String| ImportError::InvalidMapping {
            file: path.to_path_buf(),
            field: field.to_string(),
            problem,
        };
        let columns = HeaderIndex::new(header);
        let column = |field: &str, name: &str| columns.find(name).ok_or_else(|| invalid(field, columns.missing(name)));
        let optional_column = |field: &str, name: &Option<String>| name.as_deref().map(|name| column(field, name)).transpose();

        let time_zone: Tz = self.dates.time_zone.parse().map_err(|_| {
            invalid("dates.time_zone", format!("'{}' is not an IANA time zone; use a name such as 'America/New_York'", self.dates.time_zone))
        })?;
        if self.dates.format.trim().is_empty() {
            return Err(invalid("dates.format", "is empty; give a strftime format such as '%Y-%m-%d %H:%M:%S'".into()));
        }

        check_service_map(&self.service.map, manifest).map_err(|(field, problem)| invalid(&field, problem))?;
        check_statuses(&self.status, self.dates.closed.is_some()).map_err(|(field, problem)| invalid(&field, problem))?;
        check_departments(&self.routing.departments, manifest).map_err(|(field, problem)| invalid(&field, problem))?;

        let mut rules = Vec::with_capacity(self.status.rules.len());
        for (index, rule) in self.status.rules.iter().enumerate() {
            let field = format!("status.rules[{index}]");
            let pattern = match (&rule.contains, &rule.equals) {
                (Some(text), None) => TextMatch::Contains(text.trim().to_lowercase()),
                (None, Some(text)) => TextMatch::Equals(text.trim().to_lowercase()),
                _ => return Err(invalid(&field, "give exactly one of contains or equals".into())),
            };
            rules.push(ResolvedRule {
                column: column(&format!("{field}.column"), &rule.column)?,
                pattern,
                sub_status: rule.sub_status,
            });
        }

        let mut description = Vec::with_capacity(self.description.columns.len());
        for name in &self.description.columns {
            description.push(column("description.columns", name)?);
        }

        let lat = optional_column("location.lat", &self.location.lat)?;
        let long = optional_column("location.long", &self.location.long)?;
        if lat.is_some() != long.is_some() {
            return Err(invalid("location", "give both lat and long columns, or neither".into()));
        }

        Ok(ResolvedMapping {
            source_id: column("source_id", &self.source_id)?,
            service: column("service.column", &self.service.column)?,
            description,
            time_zone,
            opened: column("dates.opened", &self.dates.opened)?,
            closed: optional_column("dates.closed", &self.dates.closed)?,
            target: optional_column("dates.target", &self.dates.target)?,
            status: column("status.column", &self.status.column)?,
            notes: optional_column("status.notes", &self.status.notes)?,
            rules,
            channel: self
                .channel
                .as_ref()
                .map(|channel| column("channel.column", &channel.column))
                .transpose()?,
            department: optional_column("routing.department", &self.routing.department)?,
            queue: optional_column("routing.queue", &self.routing.queue)?,
            address: optional_column("location.address", &self.location.address)?,
            zipcode: optional_column("location.zipcode", &self.location.zipcode)?,
            point: lat.zip(long),
            header: header.to_vec(),
            mapping: self.clone(),
        })
    }
}

type FieldProblem = (String, String);

fn check_service_map(map: &BTreeMap<String, String>, manifest: &TenantManifest) -> Result<(), FieldProblem> {
    for (source, code) in map {
        if manifest.service(code).is_none() {
            return Err((
                format!("service.map.\"{source}\""),
                format!("'{code}' is not a service code of tenant {}; use a code from its services.toml", manifest.slug),
            ));
        }
    }
    Ok(())
}

fn check_statuses(status: &StatusMapping, has_closed_column: bool) -> Result<(), FieldProblem> {
    if status.values.is_empty() {
        return Err(("status.values".into(), "is empty; map each source status, such as Open = \"submitted\"".into()));
    }

    let mut sub_statuses = status.values.values().chain(status.rules.iter().map(|rule| &rule.sub_status));
    if !has_closed_column && sub_statuses.any(|sub_status| sub_status.status() == Status::Closed) {
        return Err((
            "dates.closed".into(),
            "is missing, but a status maps to a closed sub-status; name the column that holds the close time".into(),
        ));
    }
    Ok(())
}

fn check_departments(map: &BTreeMap<String, String>, manifest: &TenantManifest) -> Result<(), FieldProblem> {
    for (source, code) in map {
        if manifest.department(code).is_none() {
            return Err((
                format!("routing.departments.\"{source}\""),
                format!("'{code}' is not a department code of tenant {}; use a code from its tenant.toml", manifest.slug),
            ));
        }
    }
    Ok(())
}

/// Column positions by header name.
struct HeaderIndex<'a> {
    header: &'a [String],
    positions: HashMap<&'a str, usize>,
}

impl<'a> HeaderIndex<'a> {
    fn new(header: &'a [String]) -> Self {
        let mut positions = HashMap::new();
        for (index, name) in header.iter().enumerate() {
            // The first of two equally named columns wins.
            positions.entry(name.trim()).or_insert(index);
        }
        HeaderIndex { header, positions }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.positions.get(name.trim()).copied()
    }

    fn missing(&self, name: &str) -> String {
        format!("column '{name}' is not in the CSV header; the header has {}", self.header.join(", "))
    }
}

/// Comparison a status rule makes with the lowercased, trimmed cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextMatch {
    Contains(String),
    Equals(String),
}

impl TextMatch {
    pub fn matches(&self, cell: &str) -> bool {
        let cell = cell.trim().to_lowercase();
        match self {
            TextMatch::Contains(text) => cell.contains(text.as_str()),
            TextMatch::Equals(text) => cell == *text,
        }
    }
}

/// A status rule with its column resolved.
#[derive(Clone, Debug)]
pub struct ResolvedRule {
    pub column: usize,
    pub pattern: TextMatch,
    pub sub_status: SubStatus,
}

/// A mapping checked against one tenant and one CSV header, with column indices.
#[derive(Clone, Debug)]
pub struct ResolvedMapping {
    pub source_id: usize,
    pub service: usize,
    pub description: Vec<usize>,
    pub time_zone: Tz,
    pub opened: usize,
    pub closed: Option<usize>,
    pub target: Option<usize>,
    pub status: usize,
    pub notes: Option<usize>,
    pub rules: Vec<ResolvedRule>,
    pub channel: Option<usize>,
    pub department: Option<usize>,
    pub queue: Option<usize>,
    pub address: Option<usize>,
    pub zipcode: Option<usize>,
    /// Latitude and longitude columns.
    pub point: Option<(usize, usize)>,
    /// The CSV header, for naming columns in skip reasons.
    pub header: Vec<String>,
    pub mapping: ImportMapping,
}

impl ResolvedMapping {
    /// Returns the header name of column `index`.
    pub fn column_name(&self, index: usize) -> &str {
        self.header.get(index).map(String::as_str).unwrap_or("?")
    }
}

/// Finds the service a source value names: the explicit map first, then
/// the English name or the code, as `match` sets.
pub fn find_service<'m>(
    mapping: &ServiceMapping,
    manifest: &'m TenantManifest,
    value: &str,
) -> Option<&'m civic311_domain::manifest::ServiceSpec> {
    if let Some(code) = mapping.map.get(value) {
        return manifest.service(code);
    }
    match mapping.match_by {
        ServiceMatch::Code => manifest.service(value),
        ServiceMatch::Name => manifest
            .services
            .iter()
            .find(|service| service.name.0.get(&Locale::En).is_some_and(|name| name == value)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use civic311_store::test_support::sample_manifest;

    use super::*;

    pub(crate) const HEADER: [&str; 9] = ["id", "opened", "closed", "status", "reason", "kind", "source", "lat", "long"];

    pub(crate) const MAPPING: &str = r#"
source_id = "id"

[service]
column = "kind"
match = "name"

[dates]
time_zone = "America/New_York"
format = "%Y-%m-%d %H:%M"
opened = "opened"
closed = "closed"

[status]
column = "status"
values = { open = "submitted", closed = "closed_resolved" }

[[status.rules]]
column = "reason"
contains = "duplicate"
sub_status = "closed_duplicate"

[channel]
column = "source"
values = { app = "mobile_app" }
default = "phone"

[location]
lat = "lat"
long = "long"
placeholder_points = [{ lat = 42.0, long = -71.0 }]
"#;

    pub(crate) fn resolve(text: &str) -> Result<ResolvedMapping, ImportError> {
        let path = Path::new("mapping.toml");
        let header: Vec<String> = HEADER.iter().map(|name| name.to_string()).collect();
        ImportMapping::parse(path, text)?.resolve(path, &sample_manifest("testville", "testville.gov"), &header)
    }

    fn invalid_field(error: ImportError) -> String {
        match error {
            ImportError::InvalidMapping { field, .. } => field,
            other => panic!("expected an invalid mapping, got {other}"),
        }
    }

    #[test]
    fn valid_mapping_resolves_columns() {
        let resolved = resolve(MAPPING).unwrap();
        assert_eq!(resolved.source_id, 0);
        assert_eq!(resolved.service, 5);
        assert_eq!(resolved.point, Some((7, 8)));
        assert_eq!(resolved.rules[0].pattern, TextMatch::Contains("duplicate".into()));
    }

    #[test]
    fn missing_column_names_field_and_header() {
        let error = resolve(&MAPPING.replace("column = \"kind\"", "column = \"type\"")).unwrap_err();
        let message = error.to_string();
        assert_eq!(invalid_field(error), "service.column");
        assert!(message.contains("'type'"), "{message}");
        assert!(message.contains("id, opened, closed"), "{message}");
    }

    #[test]
    fn closed_status_needs_closed_column() {
        let error = resolve(&MAPPING.replace("closed = \"closed\"\n", "")).unwrap_err();
        assert_eq!(invalid_field(error), "dates.closed");
    }

    #[test]
    fn rule_needs_exactly_one_pattern() {
        let both = MAPPING.replace("contains = \"duplicate\"", "contains = \"duplicate\"\nequals = \"dup\"");
        assert_eq!(invalid_field(resolve(&both).unwrap_err()), "status.rules[0]");

        let neither = MAPPING.replace("contains = \"duplicate\"\n", "");
        assert_eq!(invalid_field(resolve(&neither).unwrap_err()), "status.rules[0]");
    }

    #[test]
    fn service_map_needs_tenant_code() {
        let mapping = MAPPING.replace("match = \"name\"", "match = \"name\"\nmap = { \"Pot hole\" = \"pot-hole\" }");
        assert_eq!(invalid_field(resolve(&mapping).unwrap_err()), "service.map.\"Pot hole\"");
    }

    #[test]
    fn department_map_needs_tenant_code() {
        let mapping = format!("{MAPPING}\n[routing]\ndepartments = {{ PWD = \"public-works\" }}\n");
        assert_eq!(invalid_field(resolve(&mapping).unwrap_err()), "routing.departments.\"PWD\"");
    }

    #[test]
    fn bad_time_zone_is_rejected() {
        let error = resolve(&MAPPING.replace("America/New_York", "Eastern")).unwrap_err();
        assert_eq!(invalid_field(error), "dates.time_zone");
    }

    #[test]
    fn unknown_key_is_a_parse_error() {
        let error = resolve(&format!("colour = \"blue\"\n{MAPPING}")).unwrap_err();
        assert!(matches!(error, ImportError::ParseMapping { .. }), "{error}");
        assert!(error.to_string().contains("colour"), "{error}");
    }

    #[test]
    fn unknown_sub_status_is_a_parse_error() {
        let error = resolve(&MAPPING.replace("\"closed_resolved\"", "\"fixed\"")).unwrap_err();
        assert!(matches!(error, ImportError::ParseMapping { .. }), "{error}");
        assert!(error.to_string().contains("fixed"), "{error}");
    }

    #[test]
    fn service_found_by_name_or_map() {
        let manifest = sample_manifest("testville", "testville.gov");
        let resolved = resolve(MAPPING).unwrap();
        let mut service = resolved.mapping.service.clone();

        assert_eq!(find_service(&service, &manifest, "Streetlight out").map(|found| found.code.as_str()), Some("streetlight"));
        assert!(find_service(&service, &manifest, "streetlight").is_none(), "match = name ignores codes");

        service.map.insert("Light out".into(), "streetlight".into());
        assert_eq!(find_service(&service, &manifest, "Light out").map(|found| found.code.as_str()), Some("streetlight"));

        service.match_by = ServiceMatch::Code;
        assert_eq!(find_service(&service, &manifest, "graffiti").map(|found| found.code.as_str()), Some("graffiti"));
    }
}
