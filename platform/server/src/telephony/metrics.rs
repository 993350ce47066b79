//! Call-centre metrics over the calls that started in a period, as JSON or
//! CSV, in total and grouped by line, location, agent, language, hour or day.
//! METRICS.md beside this file defines each figure.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use civic311_store::telephony::{Call, CallOutcome};
use serde::{Deserialize, Serialize};

use super::config::{AbandonTreatment, MetricsConfig};
use super::staff::authorized;
use crate::app::AppState;
use crate::error::ApiError;

/// Maximum period of one metrics request.
const MAX_PERIOD_DAYS: i64 = 366;

/// Key of calls that lack the grouped field, such as the agent of an abandon.
pub const NONE_KEY: &str = "none";

/// The call field that groups the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Line,
    Location,
    Agent,
    Language,
    Hour,
    Day,
}

impl GroupBy {
    const ALL: [GroupBy; 6] = [GroupBy::Line, GroupBy::Location, GroupBy::Agent, GroupBy::Language, GroupBy::Hour, GroupBy::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Line => "line",
            GroupBy::Location => "location",
            GroupBy::Agent => "agent",
            GroupBy::Language => "language",
            GroupBy::Hour => "hour",
            GroupBy::Day => "day",
        }
    }

    /// Parses the `group_by` query parameter; an unknown value is a 422
    /// naming `group_by` and the values it accepts.
    pub fn parse(value: &str) -> Result<GroupBy, ApiError> {
        GroupBy::ALL.into_iter().find(|group_by| group_by.as_str() == value).ok_or_else(|| {
            let names: Vec<&str> = GroupBy::ALL.iter().map(|group_by| group_by.as_str()).collect();
            ApiError::invalid("group_by", format!("'{value}' is not a valid group_by; use one of {}", names.join(", ")))
        })
    }
}

/// Figures of one group, or of all calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    pub key: String,
    /// Calls that started in the period, including those that never reached a queue.
    pub calls: u64,
    /// Calls that entered a queue.
    pub offered: u64,
    pub answered: u64,
    /// Callers who hung up while queued, short abandons included.
    pub abandoned: u64,
    /// Abandons after waiting less than the short-abandon threshold.
    pub short_abandoned: u64,
    /// Calls that left the queue unanswered for another reason (queue full, error).
    pub unanswered: u64,
    pub voicemails: u64,
    pub after_hours: u64,
    /// Answered calls that waited at most the service-level threshold.
    pub answered_within_threshold: u64,
    /// (abandoned − short) ÷ (offered − short) × 100.
    pub abandonment_rate_percent: Option<f64>,
    /// Mean wait of answered calls, in seconds.
    pub average_speed_of_answer_seconds: Option<f64>,
    pub max_wait_seconds: Option<i64>,
    /// Service level under the tenant's abandon treatment, in percent.
    pub service_level_percent: Option<f64>,
    /// Mean talk time of answered calls that ended, in seconds.
    pub average_handle_time_seconds: Option<f64>,
    /// Calls linked to at least one service request.
    pub calls_with_request: u64,
}

/// Settings the figures were computed with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsSettings {
    pub short_abandon_seconds: u32,
    pub service_level_target_percent: u32,
    pub service_level_seconds: u32,
    pub abandon_treatment: AbandonTreatment,
    pub time_zone: String,
}

/// The reply of the metrics API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    pub tenant: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Option<GroupBy>,
    pub settings: MetricsSettings,
    pub total: MetricsRow,
    pub groups: Vec<MetricsRow>,
}

/// Query string of the metrics routes.
#[derive(Debug, Default, Deserialize)]
pub struct MetricsQuery {
    /// Start of the period: RFC 3339, or a date meaning local midnight.
    pub from: Option<String>,
    /// End of the period, exclusive; a date means the end of that local day.
    pub to: Option<String>,
    /// A [`GroupBy`] name, checked by [`GroupBy::parse`] so that an unknown
    /// value gets the API's JSON error rather than axum's plain-text rejection.
    pub group_by: Option<String>,
}

/// Computes the figures of `calls`, in total and grouped by `group_by`.
pub fn compute(calls: &[Call], settings: &MetricsConfig, group_by: Option<GroupBy>, time_zone: Tz) -> (MetricsRow, Vec<MetricsRow>) {
    let total = row("total", calls.iter(), settings);

    let Some(group_by) = group_by else {
        return (total, Vec::new());
    };
    let mut groups: BTreeMap<String, Vec<&Call>> = BTreeMap::new();
    for call in calls {
        groups.entry(group_key(call, group_by, time_zone)).or_default().push(call);
    }

    let rows = groups.into_iter().map(|(key, members)| row(&key, members.into_iter(), settings));
    (total, rows.collect())
}

fn group_key(call: &Call, group_by: GroupBy, time_zone: Tz) -> String {
    let summary = &call.summary;
    let local = summary.started_at.with_timezone(&time_zone);
    let key = match group_by {
        GroupBy::Line => summary.line.clone(),
        GroupBy::Location => summary.location.clone(),
        GroupBy::Agent => summary.agent.clone(),
        GroupBy::Language => summary.language.map(|locale| locale.as_str().to_string()),
        GroupBy::Hour => Some(local.format("%Y-%m-%dT%H").to_string()),
        GroupBy::Day => Some(local.format("%Y-%m-%d").to_string()),
    };
    key.unwrap_or_else(|| NONE_KEY.to_string())
}

fn row<'a>(key: &str, calls: impl Iterator<Item = &'a Call>, settings: &MetricsConfig) -> MetricsRow {
    let short_limit = i64::from(settings.short_abandon_seconds);
    let level_limit = i64::from(settings.service_level_seconds);
    let mut row = MetricsRow { key: key.to_string(), ..Default::default() };
    let mut waits = Vec::new();
    let mut handles = Vec::new();

    for call in calls {
        let summary = &call.summary;
        row.calls += 1;
        row.calls_with_request += u64::from(call.linked_requests > 0);
        row.voicemails += u64::from(summary.voicemail);
        row.after_hours += u64::from(summary.after_hours);
        if summary.enqueued_at.is_none() {
            continue;
        }

        row.offered += 1;
        let wait = summary.wait_seconds.unwrap_or(0);
        row.max_wait_seconds = Some(row.max_wait_seconds.unwrap_or(0).max(wait));
        match summary.outcome {
            CallOutcome::Answered | CallOutcome::Completed => {
                row.answered += 1;
                waits.push(wait);
                row.answered_within_threshold += u64::from(wait <= level_limit);
                handles.extend(summary.handle_seconds);
            }
            CallOutcome::Abandoned => {
                row.abandoned += 1;
                row.short_abandoned += u64::from(wait < short_limit);
            }
            CallOutcome::Voicemail | CallOutcome::Unanswered => row.unanswered += 1,
            _ => {}
        }
    }

    row.abandonment_rate_percent = percent(row.abandoned - row.short_abandoned, row.offered - row.short_abandoned);
    row.average_speed_of_answer_seconds = mean(&waits);
    row.average_handle_time_seconds = mean(&handles);
    row.service_level_percent = service_level(&row, settings.abandon_treatment);
    row
}

/// Applies the abandon treatment: `offered` counts every abandon as a miss,
/// `removed` leaves abandons out, `positive` counts short abandons as met.
fn service_level(row: &MetricsRow, treatment: AbandonTreatment) -> Option<f64> {
    match treatment {
        AbandonTreatment::Offered => percent(row.answered_within_threshold, row.offered),
        AbandonTreatment::Removed => percent(row.answered_within_threshold, row.offered - row.abandoned),
        AbandonTreatment::Positive => percent(row.answered_within_threshold + row.short_abandoned, row.offered),
    }
}

fn percent(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 * 100.0 / denominator as f64)
}

fn mean(values: &[i64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<i64>() as f64 / values.len() as f64)
}

/// Resolves the period: defaults to the 24 hours before now.
fn period(query: &MetricsQuery, time_zone: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = match &query.to {
        Some(value) => parse_bound("to", value, time_zone, true)?,
        None => Utc::now(),
    };
    let from = match &query.from {
        Some(value) => parse_bound("from", value, time_zone, false)?,
        None => to - Duration::days(1),
    };

    if from >= to {
        return Err(ApiError::invalid("from", format!("{from} is not before to ({to})")));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(ApiError::invalid("to", format!("the period is longer than {MAX_PERIOD_DAYS} days; request it in parts")));
    }
    Ok((from, to))
}

fn parse_bound(field: &str, value: &str, time_zone: Tz, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }

    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::invalid(field, format!("'{value}' is not a date; use 2026-12-01 or 2026-12-01T08:00:00-05:00"))
    })?;
    let date = if end_of_day { date.succ_opt().unwrap_or(date) } else { date };
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    time_zone
        .from_local_datetime(&midnight)
        .earliest()
        .map(|time| time.with_timezone(&Utc))
        .ok_or_else(|| ApiError::invalid(field, format!("local midnight of {value} does not exist in {time_zone}")))
}

async fn report(
    state: &AppState,
    slug: &str,
    headers: &HeaderMap,
    query: Result<Query<MetricsQuery>, QueryRejection>,
) -> Result<MetricsReport, ApiError> {
    let tenant = authorized(state, slug, headers).await?;

    let Query(query) = query.map_err(|rejection| ApiError::invalid("query", rejection.body_text()))?;
    let group_by = query.group_by.as_deref().filter(|value| !value.is_empty()).map(GroupBy::parse).transpose()?;
    let time_zone = tenant.context.calendar.time_zone;
    let (from, to) = period(&query, time_zone)?;

    let calls = tenant.context.store.calls_started_between(from, to).await?;
    let settings = tenant.config.metrics;
    let (total, groups) = compute(&calls, &settings, group_by, time_zone);

    Ok(MetricsReport {
        tenant: slug.to_string(),
        from,
        to,
        group_by,
        settings: MetricsSettings {
            short_abandon_seconds: settings.short_abandon_seconds,
            service_level_target_percent: settings.service_level_percent,
            service_level_seconds: settings.service_level_seconds,
            abandon_treatment: settings.abandon_treatment,
            time_zone: time_zone.name().to_string(),
        },
        total,
        groups,
    })
}

/// `GET /telephony/{tenant}/metrics?from&to&group_by`.
pub async fn metrics_json(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    query: Result<Query<MetricsQuery>, QueryRejection>,
) -> Result<Json<MetricsReport>, ApiError> {
    Ok(Json(report(&state, &slug, &headers, query).await?))
}

/// `GET /telephony/{tenant}/metrics.csv?from&to&group_by`: the total row
/// first, then one row per group.
pub async fn metrics_csv(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    query: Result<Query<MetricsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let report = report(&state, &slug, &headers, query).await?;
    let csv = to_csv(&report).map_err(|error| ApiError::Internal(format!("cannot write metrics CSV: {error}")))?;

    let file_name = format!("attachment; filename=\"{slug}-call-metrics.csv\"");
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, file_name)], csv).into_response())
}

/// Writes the report as CSV with a `group_by` column; empty cells mean "no data".
pub fn to_csv(report: &MetricsReport) -> Result<String, csv::Error> {
    let group_by = report.group_by.map(GroupBy::as_str).unwrap_or_default();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "group_by",
        "key",
        "calls",
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "unanswered",
        "voicemails",
        "after_hours",
        "answered_within_threshold",
        "abandonment_rate_percent",
        "average_speed_of_answer_seconds",
        "max_wait_seconds",
        "service_level_percent",
        "average_handle_time_seconds",
        "calls_with_request",
    ])?;

    let total = std::iter::once(("", &report.total));
    for (group, row) in total.chain(report.groups.iter().map(|row| (group_by, row))) {
        writer.write_record([
            group.to_string(),
            row.key.clone(),
            row.calls.to_string(),
            row.offered.to_string(),
            row.answered.to_string(),
            row.abandoned.to_string(),
            row.short_abandoned.to_string(),
            row.unanswered.to_string(),
            row.voicemails.to_string(),
            row.after_hours.to_string(),
            row.answered_within_threshold.to_string(),
            decimal(row.abandonment_rate_percent),
            decimal(row.average_speed_of_answer_seconds),
            row.max_wait_seconds.map(|value| value.to_string()).unwrap_or_default(),
            decimal(row.service_level_percent),
            decimal(row.average_handle_time_seconds),
            row.calls_with_request.to_string(),
        ])?;
    }

    let bytes = writer.into_inner().map_err(|error| error.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"))
}

fn decimal(value: Option<f64>) -> String {
    value.map(|value| format!("{value:.2}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use civic311_store::telephony::{CallProvider, CallSummary};

    use super::*;

    fn call(outcome: CallOutcome, wait: i64, handle: Option<i64>) -> Call {
        let started_at = Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap();
        Call {
            id: format!("C{outcome:?}{wait}"),
            summary: CallSummary {
                provider: CallProvider::Twilio,
                from: None,
                line: None,
                department: None,
                forwarded: false,
                language: None,
                queue: Some("q".into()),
                started_at,
                enqueued_at: Some(started_at),
                answered_at: None,
                ended_at: None,
                outcome,
                agent: None,
                location: None,
                voicemail: false,
                after_hours: false,
                wait_seconds: Some(wait),
                handle_seconds: handle,
                last_status: None,
                event_count: 1,
            },
            linked_requests: 0,
        }
    }

    fn settings(treatment: AbandonTreatment) -> MetricsConfig {
        MetricsConfig {
            short_abandon_seconds: 10,
            service_level_percent: 80,
            service_level_seconds: 20,
            abandon_treatment: treatment,
        }
    }

    // Two answered (waits 10 s and 30 s), one short abandon (4 s), one long
    // abandon (50 s). Within 20 s: one answer.
    fn sample() -> Vec<Call> {
        vec![
            call(CallOutcome::Completed, 10, Some(100)),
            call(CallOutcome::Completed, 30, Some(200)),
            call(CallOutcome::Abandoned, 4, None),
            call(CallOutcome::Abandoned, 50, None),
        ]
    }

    #[test]
    fn service_level_by_treatment() {
        let cases = [
            (AbandonTreatment::Offered, 25.0),  // 1 ÷ 4
            (AbandonTreatment::Removed, 50.0),  // 1 ÷ (4 − 2)
            (AbandonTreatment::Positive, 50.0), // (1 + 1) ÷ 4
        ];

        for (treatment, expected) in cases {
            let (total, _) = compute(&sample(), &settings(treatment), None, chrono_tz::UTC);
            assert_eq!(total.service_level_percent, Some(expected), "{treatment:?}");
        }
    }

    #[test]
    fn abandonment_excludes_short_abandons() {
        let (total, _) = compute(&sample(), &settings(AbandonTreatment::Offered), None, chrono_tz::UTC);

        // (2 − 1) ÷ (4 − 1) × 100
        assert_eq!(total.abandonment_rate_percent, Some(100.0 / 3.0));
        assert_eq!(total.average_speed_of_answer_seconds, Some(20.0));
        assert_eq!(total.average_handle_time_seconds, Some(150.0));
    }
}
