//! Service level agreements and the business calendar they are counted on.
//!
//! Due times are computed in the tenant's time zone, so a 48-business-hour SLA
//! skips nights, weekends and holidays, and a DST change moves no deadline
//! by an hour. Instants go in and out as UTC.

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::routing::LocalTime;

/// How long a department has to act on a service request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sla {
    /// Hours counted only while the city is open.
    BusinessHours(u32),
    /// Whole days on the calendar, ending at the same local time of day.
    CalendarDays(u32),
}

/// Opening and closing time of one weekday.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpeningHours {
    pub opens: NaiveTime,
    pub closes: NaiveTime,
}

/// A tenant's business calendar: time zone, weekly hours and holidays.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessCalendar {
    pub time_zone: Tz,
    /// Indexed by weekday, Monday first; `None` means closed all day.
    pub weekly_hours: [Option<OpeningHours>; 7],
    pub holidays: Vec<NaiveDate>,
}

/// Upper bound on the days the due-time search walks, so a calendar with
/// almost no open days cannot loop for ever. Ten years covers any real SLA.
const MAX_SEARCH_DAYS: u32 = 3660;

impl BusinessCalendar {
    /// Returns the local wall-clock time of `at` in the tenant's zone.
    pub fn local_time(&self, at: DateTime<Utc>) -> LocalTime {
        let local = at.with_timezone(&self.time_zone);
        LocalTime {
            year: local.year(),
            month: local.month() as u8,
            day: local.day() as u8,
            hour: chrono::Timelike::hour(&local) as u8,
            minute: chrono::Timelike::minute(&local) as u8,
            weekday: local.weekday().num_days_from_monday() as u8,
        }
    }

    /// Tells whether the city is open at `at`: a weekday with hours, inside
    /// them, and not a holiday.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone).naive_local();
        match self.hours_on(local.date()) {
            Some(hours) => local.time() >= hours.opens && local.time() < hours.closes,
            None => false,
        }
    }

    /// Computes the instant an SLA falls due for a request received at `received`.
    pub fn due(&self, received: DateTime<Utc>, sla: Sla) -> DateTime<Utc> {
        match sla {
            Sla::CalendarDays(days) => self.add_calendar_days(received, days),
            Sla::BusinessHours(hours) => self.add_business_time(received, Duration::hours(i64::from(hours))),
        }
    }

    fn hours_on(&self, date: NaiveDate) -> Option<OpeningHours> {
        if self.holidays.contains(&date) {
            return None;
        }
        self.weekly_hours[date.weekday().num_days_from_monday() as usize]
    }

    fn add_calendar_days(&self, received: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let local = received.with_timezone(&self.time_zone).naive_local();
        let target = local
            .checked_add_days(Days::new(u64::from(days)))
            .unwrap_or(local);
        self.to_utc(target)
    }

    fn add_business_time(&self, received: DateTime<Utc>, mut remaining: Duration) -> DateTime<Utc> {
        let mut cursor = received.with_timezone(&self.time_zone).naive_local();

        for _ in 0..MAX_SEARCH_DAYS {
            if let Some(hours) = self.hours_on(cursor.date()) {
                let start = cursor.time().max(hours.opens);
                if start < hours.closes {
                    let available = hours.closes - start;
                    if remaining <= available {
                        return self.to_utc(cursor.date().and_time(start) + remaining);
                    }
                    remaining -= available;
                }
            }
            cursor = next_midnight(cursor);
        }

        self.to_utc(cursor)
    }

    /// Converts a local time to UTC. An ambiguous time (DST fall-back) takes
    /// the earlier instant, and a time in the spring-forward gap moves one hour on.
    fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let resolved = self
            .time_zone
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| self.time_zone.from_local_datetime(&(local + Duration::hours(1))).earliest());
        match resolved {
            Some(instant) => instant.with_timezone(&Utc),
            None => Utc.from_utc_datetime(&local),
        }
    }
}

fn next_midnight(at: NaiveDateTime) -> NaiveDateTime {
    let next_day = at.date().succ_opt().unwrap_or(at.date());
    next_day.and_time(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn haverhill_calendar() -> BusinessCalendar {
        let weekday = Some(OpeningHours {
            opens: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            closes: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
        });
        BusinessCalendar {
            time_zone: chrono_tz::America::New_York,
            weekly_hours: [weekday, weekday, weekday, weekday, weekday, None, None],
            holidays: vec![NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()],
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn business_hours_skip_the_weekend() {
        // Friday 2026-12-04 15:00 EST; 2 business hours leave 1 h on Friday, 1 h on Monday.
        let due = haverhill_calendar().due(utc("2026-12-04T20:00:00Z"), Sla::BusinessHours(2));
        assert_eq!(due, utc("2026-12-07T14:00:00Z"));
    }

    #[test]
    fn business_hours_skip_a_holiday() {
        // Wednesday 2026-11-25 15:00 EST, Thanksgiving closed; 3 h end Friday 10:00 EST.
        let due = haverhill_calendar().due(utc("2026-11-25T20:00:00Z"), Sla::BusinessHours(3));
        assert_eq!(due, utc("2026-11-27T15:00:00Z"));
    }

    #[test]
    fn night_request_starts_counting_at_opening() {
        // Tuesday 2026-12-01 22:00 EST; 1 h ends Wednesday 09:00 EST.
        let due = haverhill_calendar().due(utc("2026-12-02T03:00:00Z"), Sla::BusinessHours(1));
        assert_eq!(due, utc("2026-12-02T14:00:00Z"));
    }

    #[test]
    fn calendar_days_keep_local_time_across_dst() {
        // Saturday 2026-10-31 10:00 EDT plus 2 days is Monday 10:00 EST, 25 h later in UTC terms.
        let due = haverhill_calendar().due(utc("2026-10-31T14:00:00Z"), Sla::CalendarDays(2));
        assert_eq!(due, utc("2026-11-02T15:00:00Z"));
    }

    #[test]
    fn is_open_respects_hours_and_holidays() {
        let calendar = haverhill_calendar();
        assert!(calendar.is_open(utc("2026-12-04T15:00:00Z")));
        assert!(!calendar.is_open(utc("2026-12-05T15:00:00Z")));
        assert!(!calendar.is_open(utc("2026-11-26T15:00:00Z")));
    }
}
