//! Turns one CSV row into a [`NewServiceRequest`], or into the reason the
//! row is skipped.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use civic311_domain::manifest::{ServiceSpec, TenantManifest};
use civic311_domain::{Channel, Locale, Priority, Status, SubStatus};
use civic311_store::{Contact, HistoryKind, NewHistoryEvent, NewServiceRequest, Visibility};
use csv::StringRecord;
use serde_json::json;

use super::mapping::{find_service, ResolvedMapping};

/// Actor of the history entries an import writes.
pub const IMPORT_ACTOR: &str = "civic311 import";

/// Converter shared by every row of one import run.
pub struct RowConverter<'a> {
    pub mapping: &'a ResolvedMapping,
    pub manifest: &'a TenantManifest,
    /// File name of the CSV, written into each `imported` history entry.
    pub file_name: String,
    pub imported_at: DateTime<Utc>,
}

impl RowConverter<'_> {
    /// Converts the row that starts on CSV line `line`. The error is the
    /// reason to skip it, naming the column and the value.
    pub fn convert(&self, record: &StringRecord, line: u64) -> Result<NewServiceRequest, String> {
        let mapping = self.mapping;

        let source_id = self
            .cell(record, mapping.source_id)
            .ok_or_else(|| format!("source id in column '{}' is empty", mapping.column_name(mapping.source_id)))?;
        let service = self.service(record)?;

        let requested_at = self
            .date(record, mapping.opened)?
            .ok_or_else(|| format!("open date in column '{}' is empty", mapping.column_name(mapping.opened)))?;
        let expected_at = match mapping.target {
            Some(column) => self.date(record, column)?,
            None => None,
        };

        let status_value = self.cell(record, mapping.status).unwrap_or("");
        let sub_status = self.sub_status(record, status_value)?;
        let closed_at = self.closed_at(record, sub_status, requested_at)?;

        let channel = self.channel(record)?;
        let department = self.department(record, service)?;
        let (lat, long) = self.point(record)?;
        let status_notes = self.text(record, mapping.notes);

        let history = self.history(record, line, source_id, status_value, requested_at, closed_at, sub_status, status_notes.as_deref());

        Ok(NewServiceRequest {
            service_code: service.code.clone(),
            service_name: service.name.get(Locale::En).to_string(),
            description: self.description(record),
            lat,
            long,
            address: self.text(record, mapping.address),
            address_id: None,
            zipcode: self.text(record, mapping.zipcode),
            media_url: None,
            attributes: Vec::new(),
            contact: Contact::default(),
            channel,
            sub_status,
            department,
            priority: Priority::Normal,
            queue: self.text(record, mapping.queue),
            assignee: None,
            requested_at,
            updated_at: closed_at.unwrap_or(requested_at),
            expected_at,
            closed_at,
            status_notes,
            with_token: false,
            source_id: Some(source_id.to_string()),
            public_id: Some(source_id.to_string()),
            call_id: None,
            idempotency_key: None,
            idempotency_client: None,
            payload_fingerprint: None,
            photos: Vec::new(),
            history,
            integration_installs: Vec::new(),
        })
    }

    /// Returns the trimmed cell, or `None` when it is missing or blank
    /// (the Boston export writes a single space for an empty cell).
    fn cell<'r>(&self, record: &'r StringRecord, column: usize) -> Option<&'r str> {
        record.get(column).map(str::trim).filter(|value| !value.is_empty())
    }

    fn text(&self, record: &StringRecord, column: Option<usize>) -> Option<String> {
        column.and_then(|column| self.cell(record, column)).map(str::to_string)
    }

    fn service(&self, record: &StringRecord) -> Result<&ServiceSpec, String> {
        let column = self.mapping.service;
        let value = self
            .cell(record, column)
            .ok_or_else(|| format!("service in column '{}' is empty", self.mapping.column_name(column)))?;

        find_service(&self.mapping.mapping.service, self.manifest, value).ok_or_else(|| {
            format!(
                "service '{value}' in column '{}' matches no service of tenant {}; add it to services.toml or map it under [service.map]",
                self.mapping.column_name(column),
                self.manifest.slug
            )
        })
    }

    fn description(&self, record: &StringRecord) -> String {
        self.mapping
            .description
            .iter()
            .find_map(|column| self.cell(record, *column))
            .unwrap_or("")
            .to_string()
    }

    /// Parses the date in `column`; `None` when the cell is blank.
    fn date(&self, record: &StringRecord, column: usize) -> Result<Option<DateTime<Utc>>, String> {
        let Some(value) = self.cell(record, column) else {
            return Ok(None);
        };
        let format = &self.mapping.mapping.dates.format;
        parse_local_time(value, format, self.mapping.time_zone).map(Some).ok_or_else(|| {
            format!(
                "date '{value}' in column '{}' does not match the format '{format}' of [dates]",
                self.mapping.column_name(column)
            )
        })
    }

    fn sub_status(&self, record: &StringRecord, value: &str) -> Result<SubStatus, String> {
        let status = &self.mapping.mapping.status;
        let mapped = *status.values.get(value).ok_or_else(|| {
            let known: Vec<&str> = status.values.keys().map(String::as_str).collect();
            format!(
                "status '{value}' in column '{}' is not under [status.values], which lists {}",
                self.mapping.column_name(self.mapping.status),
                known.join(", ")
            )
        })?;

        let rule = self.mapping.rules.iter().find(|rule| {
            rule.sub_status.status() == mapped.status()
                && self.cell(record, rule.column).is_some_and(|cell| rule.pattern.matches(cell))
        });
        Ok(rule.map_or(mapped, |rule| rule.sub_status))
    }

    /// Returns the close time of a closed request; an open request has
    /// none, even when the source wrote one.
    fn closed_at(&self, record: &StringRecord, sub_status: SubStatus, requested_at: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
        if sub_status.status() == Status::Open {
            return Ok(None);
        }
        let Some(column) = self.mapping.closed else {
            return Err("the status is closed but [dates] names no closed column".into());
        };

        let closed_at = self
            .date(record, column)?
            .ok_or_else(|| format!("the status is closed but the close date in column '{}' is empty", self.mapping.column_name(column)))?;
        if closed_at < requested_at {
            return Err(format!(
                "close date in column '{}' is earlier than the open date in column '{}'",
                self.mapping.column_name(column),
                self.mapping.column_name(self.mapping.opened)
            ));
        }
        Ok(Some(closed_at))
    }

    fn channel(&self, record: &StringRecord) -> Result<Channel, String> {
        let (Some(column), Some(channel)) = (self.mapping.channel, &self.mapping.mapping.channel) else {
            return Ok(Channel::Import);
        };
        let value = self.cell(record, column).unwrap_or("");

        match channel.values.get(value).copied().or(channel.default) {
            Some(mapped) => Ok(mapped),
            None => Err(format!(
                "channel '{value}' in column '{}' is not under [channel.values] and [channel] has no default",
                self.mapping.column_name(column)
            )),
        }
    }

    fn department(&self, record: &StringRecord, service: &ServiceSpec) -> Result<String, String> {
        let Some(value) = self.mapping.department.and_then(|column| self.cell(record, column)) else {
            return Ok(service.department.clone());
        };

        let code = self
            .mapping
            .mapping
            .routing
            .departments
            .get(value)
            .map(String::as_str)
            .unwrap_or(value);
        if self.manifest.department(code).is_none() {
            return Err(format!(
                "department '{value}' is not a department of tenant {}; add it to tenant.toml or map it under [routing.departments]",
                self.manifest.slug
            ));
        }
        Ok(code.to_string())
    }

    /// Returns the point, or none when the row has none or a placeholder point.
    fn point(&self, record: &StringRecord) -> Result<(Option<f64>, Option<f64>), String> {
        let Some((lat_column, long_column)) = self.mapping.point else {
            return Ok((None, None));
        };
        let lat = self.coordinate(record, lat_column, 90.0)?;
        let long = self.coordinate(record, long_column, 180.0)?;

        let (lat, long) = match (lat, long) {
            (Some(lat), Some(long)) => (lat, long),
            (None, None) => return Ok((None, None)),
            _ => {
                return Err(format!(
                    "only one of columns '{}' and '{}' has a value; give both or neither",
                    self.mapping.column_name(lat_column),
                    self.mapping.column_name(long_column)
                ));
            }
        };

        let is_placeholder = self.mapping.mapping.location.placeholder_points.iter().any(|point| {
            (point.lat - lat).abs() <= point.tolerance && (point.long - long).abs() <= point.tolerance
        });
        if is_placeholder {
            return Ok((None, None));
        }
        Ok((Some(lat), Some(long)))
    }

    fn coordinate(&self, record: &StringRecord, column: usize, limit: f64) -> Result<Option<f64>, String> {
        let Some(value) = self.cell(record, column) else {
            return Ok(None);
        };
        match value.parse::<f64>() {
            Ok(number) if number.is_finite() && number.abs() <= limit => Ok(Some(number)),
            _ => Err(format!(
                "coordinate '{value}' in column '{}' is not a number between -{limit} and {limit}",
                self.mapping.column_name(column)
            )),
        }
    }

    /// Builds the `imported` entry and, for a closed request, the
    /// `status_changed` entry at its close time.
    #[expect(clippy::too_many_arguments, reason = "each value is computed once by convert and only read here")]
    fn history(
        &self,
        record: &StringRecord,
        line: u64,
        source_id: &str,
        status_value: &str,
        requested_at: DateTime<Utc>,
        closed_at: Option<DateTime<Utc>>,
        sub_status: SubStatus,
        status_notes: Option<&str>,
    ) -> Vec<NewHistoryEvent> {
        let department_value = self.mapping.department.and_then(|column| self.cell(record, column));
        let queue_value = self.mapping.queue.and_then(|column| self.cell(record, column));
        let mut history = vec![NewHistoryEvent {
            at: requested_at,
            kind: HistoryKind::Imported,
            visibility: Visibility::Internal,
            summary: format!("Imported from {} line {line} (source id {source_id})", self.file_name),
            detail: json!({
                "file": self.file_name,
                "line": line,
                "source_id": source_id,
                "source_status": status_value,
                "source_department": department_value,
                "source_queue": queue_value,
                "imported_at": self.imported_at,
            }),
            actor: Some(IMPORT_ACTOR.to_string()),
        }];

        if let Some(closed_at) = closed_at {
            history.push(NewHistoryEvent {
                at: closed_at,
                kind: HistoryKind::StatusChanged,
                visibility: Visibility::Public,
                summary: closed_summary(sub_status).to_string(),
                detail: json!({
                    "status": Status::Closed,
                    "sub_status": sub_status,
                    "note": status_notes,
                }),
                actor: Some(IMPORT_ACTOR.to_string()),
            });
        }
        history
    }
}

fn closed_summary(sub_status: SubStatus) -> &'static str {
    match sub_status {
        SubStatus::ClosedDuplicate => "Closed as a duplicate",
        SubStatus::ClosedReferred => "Closed and referred to another agency",
        SubStatus::ClosedNoAction => "Closed with no action",
        SubStatus::ClosedCancelled => "Closed as cancelled",
        _ => "Closed as resolved",
    }
}

/// Parses a local time written with `format` in `time_zone` and returns it in UTC.
///
/// A format without a time of day reads as midnight. A time repeated when
/// clocks fall back takes the earlier instant. A time skipped when clocks
/// spring forward reads with the offset before the change, so 02:30 on a
/// spring-forward day in New York is 07:30 UTC.
pub fn parse_local_time(value: &str, format: &str, time_zone: Tz) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(value, format)
        .or_else(|_| NaiveDate::parse_from_str(value, format).map(|date| date.and_time(NaiveTime::MIN)))
        .ok()?;

    let instant = match time_zone.from_local_datetime(&local).earliest() {
        Some(instant) => instant,
        None => {
            // The gap is one hour in every zone this platform serves today.
            let before_gap = time_zone.from_local_datetime(&(local - Duration::hours(1))).earliest()?;
            before_gap + Duration::hours(1)
        }
    };
    Some(instant.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use civic311_store::test_support::sample_manifest;

    use super::*;
    use crate::import::mapping::tests::{resolve, MAPPING};

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    const FORMAT: &str = "%Y-%m-%d %H:%M:%S";
    const NEW_YORK: Tz = chrono_tz::America::New_York;

    #[test]
    fn winter_time_is_five_hours_behind() {
        let parsed = parse_local_time("2022-01-21 13:47:00", FORMAT, NEW_YORK);
        assert_eq!(parsed, Some(utc("2022-01-21T18:47:00Z")));
    }

    #[test]
    fn summer_time_is_four_hours_behind() {
        let parsed = parse_local_time("2022-07-04 09:00:00", FORMAT, NEW_YORK);
        assert_eq!(parsed, Some(utc("2022-07-04T13:00:00Z")));
    }

    #[test]
    fn repeated_fall_back_hour_takes_earlier_instant() {
        // 2022-11-06 01:30 happened twice in New York: first in EDT (UTC-4).
        let parsed = parse_local_time("2022-11-06 01:30:00", FORMAT, NEW_YORK);
        assert_eq!(parsed, Some(utc("2022-11-06T05:30:00Z")));
    }

    #[test]
    fn skipped_spring_forward_hour_reads_before_change() {
        // 2022-03-13 02:30 never happened in New York; read with EST (UTC-5).
        let parsed = parse_local_time("2022-03-13 02:30:00", FORMAT, NEW_YORK);
        assert_eq!(parsed, Some(utc("2022-03-13T07:30:00Z")));
    }

    #[test]
    fn date_only_format_reads_as_midnight() {
        let parsed = parse_local_time("01/03/2022", "%m/%d/%Y", NEW_YORK);
        assert_eq!(parsed, Some(utc("2022-01-03T05:00:00Z")));
    }

    #[test]
    fn text_not_matching_format_is_rejected() {
        assert_eq!(parse_local_time("2022-13-01 00:00:00", FORMAT, NEW_YORK), None);
        assert_eq!(parse_local_time("yesterday", FORMAT, NEW_YORK), None);
    }

    /// Converts one row of the test mapping's columns: id, opened, closed,
    /// status, reason, kind, source, lat, long.
    fn convert(cells: [&str; 9]) -> Result<NewServiceRequest, String> {
        let mapping = resolve(MAPPING).unwrap();
        let manifest = sample_manifest("testville", "testville.gov");
        let converter = RowConverter {
            mapping: &mapping,
            manifest: &manifest,
            file_name: "export.csv".into(),
            imported_at: utc("2026-12-01T00:00:00Z"),
        };
        converter.convert(&StringRecord::from(cells.to_vec()), 2)
    }

    #[test]
    fn closed_row_converts_every_field() {
        let request = convert(["7", "2022-01-03 08:00", "2022-01-03 09:30", "closed", "Duplicate of 6", "Pothole", "app", "42.5", "-71.5"]).unwrap();

        assert_eq!(request.source_id.as_deref(), Some("7"));
        assert_eq!(request.public_id.as_deref(), Some("7"));
        assert_eq!(request.service_code, "pothole");
        assert_eq!(request.department, "dpw");
        assert_eq!(request.requested_at, utc("2022-01-03T13:00:00Z"));
        assert_eq!(request.closed_at, Some(utc("2022-01-03T14:30:00Z")));
        assert_eq!(request.updated_at, utc("2022-01-03T14:30:00Z"));
        assert_eq!(request.sub_status, SubStatus::ClosedDuplicate);
        assert_eq!(request.channel, Channel::MobileApp);
        assert_eq!((request.lat, request.long), (Some(42.5), Some(-71.5)));

        let kinds: Vec<HistoryKind> = request.history.iter().map(|event| event.kind).collect();
        assert_eq!(kinds, [HistoryKind::Imported, HistoryKind::StatusChanged]);
        assert_eq!(request.history[0].detail["line"], 2);
        assert_eq!(request.history[1].summary, "Closed as a duplicate");
    }

    #[test]
    fn rule_never_closes_open_row() {
        let request = convert(["7", "2022-01-03 08:00", "2022-01-03 09:30", "open", "duplicate", "Pothole", "app", "", ""]).unwrap();

        assert_eq!(request.sub_status, SubStatus::Submitted);
        assert_eq!(request.closed_at, None, "an open request keeps no close time");
        assert_eq!(request.history.len(), 1);
    }

    #[test]
    fn blank_channel_takes_default() {
        let request = convert(["7", "2022-01-03 08:00", "", "open", "", "Pothole", " ", "", ""]).unwrap();
        assert_eq!(request.channel, Channel::Phone);
    }

    #[test]
    fn placeholder_point_is_dropped() {
        let request = convert(["7", "2022-01-03 08:00", "", "open", "", "Pothole", "app", "42.00001", "-71.0"]).unwrap();
        assert_eq!((request.lat, request.long), (None, None));
    }

    #[test]
    fn bad_rows_give_reasons() {
        let cases: [([&str; 9], &str); 7] = [
            (["", "2022-01-03 08:00", "", "open", "", "Pothole", "app", "", ""], "source id in column 'id' is empty"),
            (["7", "", "", "open", "", "Pothole", "app", "", ""], "open date in column 'opened' is empty"),
            (["7", "2022-01-03 08:00", "", "pending", "", "Pothole", "app", "", ""], "status 'pending' in column 'status'"),
            (["7", "2022-01-03 08:00", "", "closed", "", "Pothole", "app", "", ""], "close date in column 'closed' is empty"),
            (["7", "2022-01-03 08:00", "2022-01-02 08:00", "closed", "", "Pothole", "app", "", ""], "earlier than the open date"),
            (["7", "2022-01-03 08:00", "", "open", "", "Pothole", "app", "42.5", ""], "only one of columns 'lat' and 'long'"),
            (["7", "2022-01-03 08:00", "", "open", "", "Pothole", "app", "north", "-71.5"], "coordinate 'north' in column 'lat'"),
        ];

        for (cells, expected) in cases {
            let reason = convert(cells).unwrap_err();
            assert!(reason.contains(expected), "row {cells:?}: reason '{reason}' lacks '{expected}'");
        }
    }
}
