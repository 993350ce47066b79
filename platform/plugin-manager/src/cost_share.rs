//! Splitting the cost of a shared catalogue plugin among the tenants that
//! use it, exact to the cent.
//!
//! Under [`Split::Usage`] each tenant's weight is the number of work orders
//! plus inspections its installs synced in the period, when the plugin
//! synced any records in that period at all. Otherwise, as for a router,
//! the weight is the number of calls. Tenants with zero weight pay nothing.
//! Under [`Split::Equal`] every tenant that used the plugin in the period or
//! had an install of it active then pays the same share.
//!
//! Cents are divided by the largest remainder method: each tenant first
//! gets the rounded-down share of its weight, and the cents left over go
//! one each to the largest remainders, ties broken by tenant slug. So the
//! shares always add up to the cost.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use civic311_domain::plugin::Hook;
use civic311_store::{AuditAction, AuditFilter, TenantId, UsageRow};
use serde::{Deserialize, Serialize};

use crate::{ManagerError, PluginManager};

/// Rule for dividing the cost among tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// In proportion to each tenant's metered usage.
    Usage,
    /// In equal parts among the tenants that used the plugin or had it active.
    Equal,
}

impl fmt::Display for Split {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Split::Usage => "usage",
            Split::Equal => "equal",
        })
    }
}

impl FromStr for Split {
    type Err = ManagerError;

    fn from_str(value: &str) -> Result<Split, ManagerError> {
        match value.trim() {
            "usage" => Ok(Split::Usage),
            "equal" => Ok(Split::Equal),
            other => Err(ManagerError::invalid("split", format!("'{other}' is not a split; use usage or equal"))),
        }
    }
}

/// Quantity that a tenant's weight counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightBasis {
    /// Work orders plus inspections synced.
    Records,
    /// Plugin calls, because the plugin synced no records in the period.
    Calls,
    /// One per tenant.
    Equal,
}

/// One tenant's metered usage of the plugin over the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantUsage {
    pub slug: String,
    pub calls: u64,
    pub work_orders: u64,
    pub inspections: u64,
    /// True when the tenant had an install of the plugin active in the
    /// period. Such a tenant pays under [`Split::Equal`] even without usage.
    pub active_in_period: bool,
}

/// One tenant's line of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostShareRow {
    /// Tenant slug.
    pub tenant: String,
    pub calls: u64,
    pub work_orders: u64,
    pub inspections: u64,
    /// The tenant's weight under the report's basis.
    pub weight: u64,
    pub share_cents: i64,
    /// The share as a percentage of the cost, rounded to two decimals.
    pub percent: f64,
}

/// The division of one plugin's cost over one period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostShareReport {
    pub plugin: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub cost_cents: i64,
    pub split: Split,
    pub basis: WeightBasis,
    /// One row per tenant, ordered by slug.
    pub rows: Vec<CostShareRow>,
}

impl CostShareReport {
    /// Renders the report as CSV with a header line; amounts in both cents
    /// and currency units with two decimals.
    pub fn to_csv(&self) -> String {
        let mut text = String::from("tenant,calls,work_orders,inspections,weight,share_cents,share,percent\n");
        for row in &self.rows {
            text.push_str(&format!(
                "{},{},{},{},{},{},{},{:.2}\n",
                csv_field(&row.tenant),
                row.calls,
                row.work_orders,
                row.inspections,
                row.weight,
                row.share_cents,
                format_cents(row.share_cents),
                row.percent,
            ));
        }
        text
    }

    /// Renders the report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a cost-share report always serializes")
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Formats cents as units with two decimals, such as `1234.05`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let absolute = cents.unsigned_abs();
    format!("{sign}{}.{:02}", absolute / 100, absolute % 100)
}

/// Parses an amount in currency units with at most two decimals, such as
/// `1200`, `1200.5` or `1200.50`, into cents.
pub fn parse_amount(text: &str) -> Result<i64, ManagerError> {
    let invalid = || {
        ManagerError::invalid(
            "cost",
            format!("'{text}' is not an amount; write a non-negative number with at most two decimals, such as 1200.50"),
        )
    };

    let trimmed = text.trim();
    let (units, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    let all_digits = |part: &str| part.chars().all(|character| character.is_ascii_digit());
    if units.is_empty() || !all_digits(units) || fraction.len() > 2 || !all_digits(fraction) {
        return Err(invalid());
    }

    let units: i64 = units.parse().map_err(|_| invalid())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    units.checked_mul(100).and_then(|cents| cents.checked_add(fraction)).ok_or_else(invalid)
}

/// Divides `cost_cents` among `tenants`. Fails when the cost is negative
/// or when no tenant has any weight.
pub fn split_cost(cost_cents: i64, split: Split, tenants: &[TenantUsage]) -> Result<(WeightBasis, Vec<CostShareRow>), ManagerError> {
    if cost_cents < 0 {
        return Err(ManagerError::invalid("cost", format!("{} is negative; give a cost of 0 or more", format_cents(cost_cents))));
    }

    let basis = weight_basis(split, tenants);
    let mut sorted: Vec<&TenantUsage> = tenants.iter().collect();
    sorted.sort_by(|left, right| left.slug.cmp(&right.slug));
    let weights: Vec<u64> = sorted.iter().map(|usage| weight(basis, usage)).collect();

    let total: u128 = weights.iter().map(|weight| u128::from(*weight)).sum();
    if total == 0 {
        return Err(ManagerError::invalid(
            "split",
            match split {
                Split::Usage => "no tenant used the plugin in the period; use --split equal or another period".to_string(),
                Split::Equal => "no tenant used the plugin or had it active in the period; choose another period".to_string(),
            },
        ));
    }

    let shares = largest_remainder(cost_cents as u128, &weights, total);
    let rows = sorted
        .iter()
        .zip(weights)
        .zip(shares)
        .map(|((usage, weight), share_cents)| CostShareRow {
            tenant: usage.slug.clone(),
            calls: usage.calls,
            work_orders: usage.work_orders,
            inspections: usage.inspections,
            weight,
            share_cents,
            percent: percent_of(share_cents, cost_cents),
        })
        .collect();
    Ok((basis, rows))
}

fn weight_basis(split: Split, tenants: &[TenantUsage]) -> WeightBasis {
    match split {
        Split::Equal => WeightBasis::Equal,
        Split::Usage if tenants.iter().any(|usage| usage.work_orders + usage.inspections > 0) => WeightBasis::Records,
        Split::Usage => WeightBasis::Calls,
    }
}

fn weight(basis: WeightBasis, usage: &TenantUsage) -> u64 {
    match basis {
        WeightBasis::Records => usage.work_orders + usage.inspections,
        WeightBasis::Calls => usage.calls,
        WeightBasis::Equal => {
            let used = usage.calls + usage.work_orders + usage.inspections > 0;
            u64::from(used || usage.active_in_period)
        }
    }
}

/// Returns each weight's share of `cost` in whole cents, summing to `cost`.
/// `weights` must be in tie-break order, because equal remainders go to
/// the earlier entry.
fn largest_remainder(cost: u128, weights: &[u64], total: u128) -> Vec<i64> {
    let mut shares: Vec<u128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let exact = cost * u128::from(*weight);
        shares.push(exact / total);
        remainders.push((exact % total, index));
    }

    let handed_out: u128 = shares.iter().sum();
    let left_over = (cost - handed_out) as usize;
    // Largest remainder first; among equal remainders, the lower index (slug) first.
    remainders.sort_by(|left, right| right.0.cmp(&left.0).then(left.1.cmp(&right.1)));
    for (_, index) in remainders.into_iter().take(left_over) {
        shares[index] += 1;
    }

    shares.into_iter().map(|share| share as i64).collect()
}

fn percent_of(share_cents: i64, cost_cents: i64) -> f64 {
    if cost_cents == 0 {
        return 0.0;
    }
    (share_cents as f64 * 10_000.0 / cost_cents as f64).round() / 100.0
}

impl PluginManager {
    /// Divides `cost_cents` for catalogue plugin `plugin` from `from` to
    /// `to` inclusive (UTC days) among the tenants that installed it.
    pub async fn cost_share(
        &self,
        plugin: &str,
        from: NaiveDate,
        to: NaiveDate,
        cost_cents: i64,
        split: Split,
    ) -> Result<CostShareReport, ManagerError> {
        if to < from {
            return Err(ManagerError::invalid("to", format!("{to} is before --from {from}; give a period that ends on or after it starts")));
        }

        let usage = self.store.usage_for_plugin(None, plugin, from, to).await?;
        let tenants = self.tenant_usage(plugin, &usage, from, to).await?;
        if tenants.is_empty() {
            return Err(ManagerError::NotFound {
                what: "catalogue plugin install",
                name: plugin.to_string(),
                hint: "no tenant installed this catalogue plugin; check the name with the catalogue listing".to_string(),
            });
        }

        let (basis, rows) = split_cost(cost_cents, split, &tenants)?;
        Ok(CostShareReport { plugin: plugin.to_string(), from, to, cost_cents, split, basis, rows })
    }

    /// Sums usage per tenant and marks tenants whose install of the plugin
    /// was active in the period. Every tenant with an install of the
    /// catalogue plugin or with usage rows gets an entry.
    async fn tenant_usage(&self, plugin: &str, usage: &[UsageRow], from: NaiveDate, to: NaiveDate) -> Result<Vec<TenantUsage>, ManagerError> {
        let mut totals: BTreeMap<TenantId, (u64, u64, u64)> = BTreeMap::new();
        for row in usage {
            let entry = totals.entry(row.tenant).or_default();
            entry.0 += row.calls;
            entry.1 += row.work_orders;
            entry.2 += row.inspections;
        }

        let mut tenants = Vec::new();
        for record in self.store.tenants().await? {
            let active_in_period = self.active_in_period(record.id, plugin, from, to).await?;
            let Some(counts) = totals.get(&record.id).copied().or(active_in_period.is_some().then_some((0, 0, 0))) else {
                continue;
            };
            tenants.push(TenantUsage {
                slug: record.slug,
                calls: counts.0,
                work_orders: counts.1,
                inspections: counts.2,
                active_in_period: active_in_period == Some(true),
            });
        }
        Ok(tenants)
    }

    /// Returns `None` when the tenant has no install of catalogue plugin
    /// `plugin`, and otherwise whether that install was active at some time
    /// in the period, judged from the audit log.
    async fn active_in_period(&self, tenant: TenantId, plugin: &str, from: NaiveDate, to: NaiveDate) -> Result<Option<bool>, ManagerError> {
        let scoped = self.store.scoped(tenant);
        let installs: Vec<_> = scoped
            .installs()
            .await?
            .into_iter()
            .filter(|install| install.plugin_owner.is_none() && install.plugin_name == plugin)
            .collect();
        if installs.is_empty() {
            return Ok(None);
        }

        let start = Utc.from_utc_datetime(&from.and_time(NaiveTime::MIN));
        let end = Utc.from_utc_datetime(&to.and_time(NaiveTime::MIN)) + chrono::TimeDelta::days(1);
        for install in installs {
            let filter = AuditFilter { hook: Some(install.hook), plugin_name: Some(plugin.to_string()), limit: 10_000 };
            let entries = scoped.audit_log(&filter).await?;
            if was_active_between(&entries, install.hook, install.active_version.is_some(), start, end) {
                return Ok(Some(true));
            }
        }
        Ok(Some(false))
    }
}

/// Replays the install's activations and deactivations from its audit
/// entries, and returns whether it was active at some instant in
/// `[start, end)`. `active_now` covers an install whose entries were cut
/// off by the listing limit.
fn was_active_between(
    entries: &[civic311_store::AuditEntry],
    hook: Hook,
    active_now: bool,
    start: chrono::DateTime<Utc>,
    end: chrono::DateTime<Utc>,
) -> bool {
    let mut changes: Vec<(chrono::DateTime<Utc>, bool)> = entries
        .iter()
        .filter(|entry| entry.hook == hook)
        .filter_map(|entry| match entry.action {
            AuditAction::Activate | AuditAction::Rollback => Some((entry.at, true)),
            AuditAction::Deactivate => Some((entry.at, false)),
            _ => None,
        })
        .collect();
    changes.sort_by_key(|(at, _)| *at);

    if changes.is_empty() {
        return active_now;
    }

    let mut active = false;
    for (at, becomes_active) in changes {
        if at >= end {
            break;
        }
        if at >= start && (active || becomes_active) {
            return true;
        }
        active = becomes_active;
    }
    active
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(slug: &str, calls: u64, work_orders: u64, inspections: u64) -> TenantUsage {
        TenantUsage { slug: slug.to_string(), calls, work_orders, inspections, active_in_period: false }
    }

    fn shares(rows: &[CostShareRow]) -> Vec<(String, i64)> {
        rows.iter().map(|row| (row.tenant.clone(), row.share_cents)).collect()
    }

    #[test]
    fn usage_split_by_records() {
        let tenants = [usage("boston", 500, 30, 0), usage("haverhill", 900, 10, 0)];

        let (basis, rows) = split_cost(100_000, Split::Usage, &tenants).unwrap();

        assert_eq!(basis, WeightBasis::Records);
        assert_eq!(shares(&rows), vec![("boston".to_string(), 75_000), ("haverhill".to_string(), 25_000)]);
        assert_eq!(rows[0].weight, 30);
        assert_eq!(rows[0].percent, 75.0);
    }

    #[test]
    fn usage_split_falls_back_to_calls() {
        let tenants = [usage("a", 1, 0, 0), usage("b", 3, 0, 0)];

        let (basis, rows) = split_cost(1_000, Split::Usage, &tenants).unwrap();

        assert_eq!(basis, WeightBasis::Calls);
        assert_eq!(shares(&rows), vec![("a".to_string(), 250), ("b".to_string(), 750)]);
    }

    #[test]
    fn records_count_inspections() {
        let tenants = [usage("a", 0, 1, 1), usage("b", 100, 0, 2)];

        let (_, rows) = split_cost(400, Split::Usage, &tenants).unwrap();

        assert_eq!(shares(&rows), vec![("a".to_string(), 200), ("b".to_string(), 200)]);
    }

    #[test]
    fn remainder_cents_go_to_largest() {
        // 100 cents by 1:1:1 leaves one cent; equal remainders go to the first slug.
        let tenants = [usage("c", 1, 0, 0), usage("a", 1, 0, 0), usage("b", 1, 0, 0)];

        let (_, rows) = split_cost(100, Split::Usage, &tenants).unwrap();

        assert_eq!(shares(&rows), vec![("a".to_string(), 34), ("b".to_string(), 33), ("c".to_string(), 33)]);
    }

    #[test]
    fn remainder_prefers_larger_fraction() {
        // 10 cents by 1:2 is 3.33 and 6.67, so the extra cent goes to b.
        let tenants = [usage("a", 1, 0, 0), usage("b", 2, 0, 0)];

        let (_, rows) = split_cost(10, Split::Usage, &tenants).unwrap();

        assert_eq!(shares(&rows), vec![("a".to_string(), 3), ("b".to_string(), 7)]);
    }

    #[test]
    fn shares_always_sum_to_cost() {
        let tenants = [usage("a", 7, 0, 0), usage("b", 13, 0, 0), usage("c", 1, 0, 0), usage("d", 0, 0, 0)];

        for cost in [0, 1, 2, 99, 100, 12_345, 999_999_999] {
            let (_, rows) = split_cost(cost, Split::Usage, &tenants).unwrap();
            let sum: i64 = rows.iter().map(|row| row.share_cents).sum();
            assert_eq!(sum, cost, "cost {cost}");
            assert_eq!(rows[3].share_cents, 0, "tenant without usage pays for cost {cost}");
        }
    }

    #[test]
    fn equal_split_counts_active_tenants() {
        let mut idle = usage("idle", 0, 0, 0);
        idle.active_in_period = true;
        let tenants = [usage("busy", 1_000, 50, 0), idle, usage("gone", 0, 0, 0)];

        let (basis, rows) = split_cost(1_001, Split::Equal, &tenants).unwrap();

        assert_eq!(basis, WeightBasis::Equal);
        assert_eq!(
            shares(&rows),
            vec![("busy".to_string(), 501), ("gone".to_string(), 0), ("idle".to_string(), 500)]
        );
    }

    #[test]
    fn no_weight_is_an_error() {
        let tenants = [usage("a", 0, 0, 0)];

        let error = split_cost(100, Split::Usage, &tenants).unwrap_err();

        assert!(error.to_string().contains("--split equal"), "{error}");
    }

    #[test]
    fn negative_cost_is_an_error() {
        let error = split_cost(-1, Split::Equal, &[usage("a", 1, 0, 0)]).unwrap_err();

        assert!(error.to_string().contains("-0.01 is negative"), "{error}");
    }

    #[test]
    fn parse_amount_cases() {
        assert_eq!(parse_amount("1200").unwrap(), 120_000);
        assert_eq!(parse_amount("1200.5").unwrap(), 120_050);
        assert_eq!(parse_amount(" 0.07 ").unwrap(), 7);
        for bad in ["", "-5", "1.234", "12,00", "abc", ".5", "1e3"] {
            assert!(parse_amount(bad).is_err(), "'{bad}' parsed");
        }
    }

    #[test]
    fn format_cents_cases() {
        assert_eq!(format_cents(120_050), "1200.50");
        assert_eq!(format_cents(7), "0.07");
        assert_eq!(format_cents(-1), "-0.01");
    }

    #[test]
    fn csv_and_json_renderings() {
        let (basis, rows) = split_cost(1_000, Split::Usage, &[usage("a", 1, 0, 0), usage("b", 3, 0, 0)]).unwrap();
        let report = CostShareReport {
            plugin: "viewpermit".to_string(),
            from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            cost_cents: 1_000,
            split: Split::Usage,
            basis,
            rows,
        };

        assert_eq!(
            report.to_csv(),
            "tenant,calls,work_orders,inspections,weight,share_cents,share,percent\n\
             a,1,0,0,1,250,2.50,25.00\n\
             b,3,0,0,3,750,7.50,75.00\n"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["basis"], "calls");
        assert_eq!(json["split"], "usage");
        assert_eq!(json["rows"][1]["share_cents"], 750);
        assert_eq!(json["from"], "2026-11-01");
    }

    fn entry(action: AuditAction, day: u32) -> civic311_store::AuditEntry {
        civic311_store::AuditEntry {
            id: 0,
            tenant: TenantId(1),
            install: None,
            hook: Hook::Integration,
            plugin_name: "viewpermit".to_string(),
            action,
            actor: "admin".to_string(),
            from_version: None,
            to_version: None,
            detail: None,
            at: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
        }
    }

    #[test]
    fn active_between_replays_audit() {
        let start = Utc.with_ymd_and_hms(2026, 11, 10, 0, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let hook = Hook::Integration;

        let before_and_still = [entry(AuditAction::Activate, 1)];
        let before_then_stopped = [entry(AuditAction::Activate, 1), entry(AuditAction::Deactivate, 5)];
        let inside = [entry(AuditAction::Activate, 12), entry(AuditAction::Deactivate, 13)];
        let after = [entry(AuditAction::Activate, 25)];

        assert!(was_active_between(&before_and_still, hook, true, start, end));
        assert!(!was_active_between(&before_then_stopped, hook, false, start, end));
        assert!(was_active_between(&inside, hook, false, start, end));
        assert!(!was_active_between(&after, hook, true, start, end));
        assert!(was_active_between(&[], hook, true, start, end));
    }
}
