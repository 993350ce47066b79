//! Volume and time-to-close figures for a tenant's analytics.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use civic311_domain::Status;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect, Select};

use super::tenant_requests;
use crate::entity::service_request::{self, Column};
use crate::sql::stored_instant;
use crate::{CountShare, RequestStats, ServiceStats, StoreError, TenantStore};

const SECONDS_PER_HOUR: f64 = 3600.0;

impl TenantStore {
    /// Computes volume and time-to-close figures for requests received in the range.
    ///
    /// The range is inclusive on both ends and open when a bound is `None`.
    /// Hours to close use closed requests that have a `closed_at` no earlier
    /// than `requested_at`; others count as closed but add no duration.
    /// Services, departments and channels are sorted by count, largest first,
    /// then by key.
    pub async fn stats(&self, from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<RequestStats, StoreError> {
        let mut in_range = tenant_requests(self.tenant);
        if let Some(from) = from {
            in_range = in_range.filter(Column::RequestedAt.gte(stored_instant(from)));
        }
        if let Some(to) = to {
            in_range = in_range.filter(Column::RequestedAt.lte(stored_instant(to)));
        }

        let services = self.count_services(&in_range).await?;
        let total: u64 = services.iter().map(|(_, _, count)| count).sum();
        let closed = self.closed_durations(&in_range).await?;

        Ok(RequestStats {
            total,
            by_service: service_stats(services, closed),
            by_department: shares(self.count_by(&in_range, Column::Department).await?, total),
            by_channel: shares(self.count_by(&in_range, Column::Channel).await?, total),
        })
    }

    /// Returns `(service_code, service_name, count)` per service. A service
    /// renamed over time reports its greatest name in sort order.
    async fn count_services(&self, in_range: &Select<service_request::Entity>) -> Result<Vec<(String, String, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = in_range
            .clone()
            .select_only()
            .column(Column::ServiceCode)
            .column_as(Expr::col(Column::ServiceName).max(), "service_name")
            .column_as(Expr::col(Column::Id).count(), "count")
            .group_by(Column::ServiceCode)
            .into_tuple()
            .all(&self.db)
            .await?;

        Ok(rows
            .into_iter()
            .map(|(code, name, count)| (code, name, u64::try_from(count).unwrap_or_default()))
            .collect())
    }

    async fn count_by(&self, in_range: &Select<service_request::Entity>, column: Column) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = in_range
            .clone()
            .select_only()
            .column(column)
            .column_as(Expr::col(Column::Id).count(), "count")
            .group_by(column)
            .into_tuple()
            .all(&self.db)
            .await?;

        Ok(rows
            .into_iter()
            .map(|(key, count)| (key, u64::try_from(count).unwrap_or_default()))
            .collect())
    }

    /// Returns, per service code, the hours to close of each closed request;
    /// `None` where the duration is unknown or negative.
    async fn closed_durations(&self, in_range: &Select<service_request::Entity>) -> Result<BTreeMap<String, Vec<Option<f64>>>, StoreError> {
        let rows: Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)> = in_range
            .clone()
            .filter(Column::Status.eq(Status::Closed.as_str()))
            .select_only()
            .column(Column::ServiceCode)
            .column(Column::RequestedAt)
            .column(Column::ClosedAt)
            .into_tuple()
            .all(&self.db)
            .await?;

        let mut durations: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
        for (service_code, requested_at, closed_at) in rows {
            let hours = closed_at
                .map(|closed_at| (closed_at - requested_at).num_milliseconds() as f64 / 1000.0 / SECONDS_PER_HOUR)
                .filter(|hours| *hours >= 0.0);
            durations.entry(service_code).or_default().push(hours);
        }
        Ok(durations)
    }
}

fn service_stats(services: Vec<(String, String, u64)>, mut closed: BTreeMap<String, Vec<Option<f64>>>) -> Vec<ServiceStats> {
    let mut stats: Vec<ServiceStats> = services
        .into_iter()
        .map(|(service_code, service_name, count)| {
            let closed_requests = closed.remove(&service_code).unwrap_or_default();
            let mut hours: Vec<f64> = closed_requests.iter().flatten().copied().collect();
            hours.sort_by(f64::total_cmp);

            ServiceStats {
                closed: closed_requests.len() as u64,
                median_hours_to_close: median(&hours),
                mean_hours_to_close: mean(&hours),
                service_code,
                service_name,
                count,
            }
        })
        .collect();

    stats.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.service_code.cmp(&b.service_code)));
    stats
}

fn shares(counts: Vec<(String, u64)>, total: u64) -> Vec<CountShare> {
    let mut shares: Vec<CountShare> = counts
        .into_iter()
        .map(|(key, count)| CountShare {
            percent: if total == 0 { 0.0 } else { count as f64 * 100.0 / total as f64 },
            key,
            count,
        })
        .collect();

    shares.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    shares
}

/// Median of sorted values; the mean of the two middle values for an even count.
fn median(sorted: &[f64]) -> Option<f64> {
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        len if len % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
    }
}
