//! Call metrics per install and version: count, failures, skipped calls,
//! p50 and p99 duration and mean fuel, computed from the stored call records.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use civic311_domain::plugin::Hook;
use civic311_store::{CallRecord, InstallId, PluginCallOutcome, TenantId};
use serde::Serialize;

use crate::{ManagerError, PluginManager};

/// Metrics of one version of one install over a time window. Shadow calls
/// are reported in their own row, with `shadow` set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PluginMetrics {
    pub install_id: InstallId,
    pub hook: Hook,
    pub plugin_name: String,
    pub version: i32,
    pub shadow: bool,
    /// Calls that ran, successful or failed; skipped calls are not included.
    pub count: u64,
    /// Calls that ran and failed, including the plugin's own rejections.
    pub failures: u64,
    /// Calls the runtime skipped: breaker open, no free call slot, or fuel budget spent.
    pub skipped: u64,
    /// Median duration of the calls that ran, in microseconds (nearest rank).
    pub p50_us: Option<u64>,
    /// 99th percentile duration of the calls that ran, in microseconds (nearest rank).
    pub p99_us: Option<u64>,
    /// Mean fuel burned by the calls that ran, rounded down.
    pub mean_fuel: Option<u64>,
    /// Failures by `PluginError::kind`, such as `trap` or `timeout`.
    pub failure_kinds: BTreeMap<String, u64>,
    /// Skipped calls by reason: `breaker_open`, `no_call_slot` or
    /// `fuel_budget`, or `unknown` for records written before reasons were stored.
    pub skip_kinds: BTreeMap<String, u64>,
}

/// Returns the nearest-rank percentile `percent` (0 to 100) of `sorted`, an
/// ascending list: the smallest value that at least `percent`% of the
/// values are less than or equal to. Returns `None` for an empty list.
pub fn nearest_rank(sorted: &[u64], percent: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }

    let rank = (percent.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    Some(sorted[index])
}

/// Groups call records by install, version and shadow flag and computes
/// the metrics of each group. `installs` names each install's hook and
/// plugin; records of installs missing from it are left out. Rows are
/// ordered by install id, version and shadow flag.
pub fn summarize(records: &[CallRecord], installs: &HashMap<InstallId, (Hook, String)>) -> Vec<PluginMetrics> {
    let mut groups: BTreeMap<(InstallId, i32, bool), Vec<&CallRecord>> = BTreeMap::new();
    for record in records {
        groups
            .entry((record.install, record.version, record.shadow))
            .or_default()
            .push(record);
    }

    groups
        .into_iter()
        .filter_map(|((install, version, shadow), calls)| {
            let (hook, name) = installs.get(&install)?;
            Some(summarize_group(install, *hook, name, version, shadow, &calls))
        })
        .collect()
}

fn summarize_group(
    install_id: InstallId,
    hook: Hook,
    plugin_name: &str,
    version: i32,
    shadow: bool,
    calls: &[&CallRecord],
) -> PluginMetrics {
    let ran: Vec<&CallRecord> = calls
        .iter()
        .copied()
        .filter(|call| call.outcome != PluginCallOutcome::Skipped)
        .collect();

    let mut durations: Vec<u64> = ran.iter().map(|call| call.duration_us).collect();
    durations.sort_unstable();

    let total_fuel: u128 = ran.iter().map(|call| u128::from(call.fuel_used)).sum();
    let mean_fuel = (!ran.is_empty()).then(|| (total_fuel / ran.len() as u128) as u64);

    let mut failure_kinds = BTreeMap::new();
    for call in ran.iter().filter(|call| call.outcome == PluginCallOutcome::Failed) {
        let kind = call.error_kind.clone().unwrap_or_else(|| "unknown".to_string());
        *failure_kinds.entry(kind).or_insert(0) += 1;
    }

    let mut skip_kinds = BTreeMap::new();
    for call in calls.iter().filter(|call| call.outcome == PluginCallOutcome::Skipped) {
        let kind = call.error_kind.clone().unwrap_or_else(|| "unknown".to_string());
        *skip_kinds.entry(kind).or_insert(0) += 1;
    }

    PluginMetrics {
        install_id,
        hook,
        plugin_name: plugin_name.to_string(),
        version,
        shadow,
        count: ran.len() as u64,
        failures: failure_kinds.values().sum(),
        skipped: (calls.len() - ran.len()) as u64,
        p50_us: nearest_rank(&durations, 50.0),
        p99_us: nearest_rank(&durations, 99.0),
        mean_fuel,
        failure_kinds,
        skip_kinds,
    }
}

impl PluginManager {
    /// Computes the tenant's call metrics per install and version from the
    /// call records at or after `since`. Records still queued in the
    /// recorder are not included; call [`PluginManager::flush`] first where
    /// that matters.
    pub async fn metrics(&self, tenant: TenantId, since: DateTime<Utc>) -> Result<Vec<PluginMetrics>, ManagerError> {
        let scoped = self.store.scoped(tenant);
        let installs: HashMap<InstallId, (Hook, String)> = scoped
            .installs()
            .await?
            .into_iter()
            .map(|install| (install.id, (install.hook, install.plugin_name)))
            .collect();

        let records = scoped.calls_since(None, since).await?;
        Ok(summarize(&records, &installs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(install: i64, version: i32, duration_us: u64, fuel_used: u64, outcome: PluginCallOutcome) -> CallRecord {
        CallRecord {
            id: 0,
            install: InstallId(install),
            version,
            hook: Hook::Router,
            request_id: None,
            at: Utc::now(),
            duration_us,
            fuel_used,
            outcome,
            error_kind: (outcome == PluginCallOutcome::Failed).then(|| "trap".to_string()),
            shadow: false,
        }
    }

    #[test]
    fn nearest_rank_known_values() {
        let values: Vec<u64> = (1..=100).collect();

        assert_eq!(nearest_rank(&values, 50.0), Some(50));
        assert_eq!(nearest_rank(&values, 99.0), Some(99));
        assert_eq!(nearest_rank(&values, 100.0), Some(100));
        assert_eq!(nearest_rank(&values, 0.0), Some(1));
    }

    #[test]
    fn nearest_rank_small_lists() {
        assert_eq!(nearest_rank(&[], 50.0), None);
        assert_eq!(nearest_rank(&[7], 99.0), Some(7));
        // Rank ceil(0.5 * 4) = 2 and ceil(0.99 * 4) = 4.
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 50.0), Some(20));
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 99.0), Some(40));
        // Rank ceil(0.5 * 5) = 3.
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 50.0), Some(3));
    }

    #[test]
    fn summarize_counts_and_percentiles() {
        let mut records: Vec<CallRecord> = (1..=10).map(|i| call(1, 2, i * 100, 1_000, PluginCallOutcome::Ok)).collect();
        records.push(call(1, 2, 5_000, 3_000, PluginCallOutcome::Failed));
        records.push(call(1, 2, 0, 0, PluginCallOutcome::Skipped));
        let installs = HashMap::from([(InstallId(1), (Hook::Router, "haverhill-router".to_string()))]);

        let metrics = summarize(&records, &installs);

        assert_eq!(metrics.len(), 1);
        let row = &metrics[0];
        assert_eq!(row.count, 11);
        assert_eq!(row.failures, 1);
        assert_eq!(row.skipped, 1);
        assert_eq!(row.failure_kinds.get("trap"), Some(&1));
        // Durations 100..=1000 and 5000: rank ceil(5.5) = 6 is 600, rank ceil(10.89) = 11 is 5000.
        assert_eq!(row.p50_us, Some(600));
        assert_eq!(row.p99_us, Some(5_000));
        // (10 * 1000 + 3000) / 11 = 1181.8.
        assert_eq!(row.mean_fuel, Some(1_181));
    }

    #[test]
    fn summarize_splits_versions_and_shadow() {
        let mut shadow = call(1, 3, 50, 10, PluginCallOutcome::Ok);
        shadow.shadow = true;
        let records = vec![
            call(1, 2, 100, 10, PluginCallOutcome::Ok),
            call(1, 3, 200, 10, PluginCallOutcome::Ok),
            shadow,
            call(9, 1, 100, 10, PluginCallOutcome::Ok),
        ];
        let installs = HashMap::from([(InstallId(1), (Hook::Router, "router".to_string()))]);

        let metrics = summarize(&records, &installs);

        let keys: Vec<(i32, bool)> = metrics.iter().map(|row| (row.version, row.shadow)).collect();
        assert_eq!(keys, vec![(2, false), (3, false), (3, true)]);
        assert!(metrics.iter().all(|row| row.install_id == InstallId(1)));
    }

    #[test]
    fn summarize_only_skipped() {
        let records = vec![call(1, 1, 0, 0, PluginCallOutcome::Skipped)];
        let installs = HashMap::from([(InstallId(1), (Hook::Router, "router".to_string()))]);

        let row = &summarize(&records, &installs)[0];

        assert_eq!(row.count, 0);
        assert_eq!(row.skipped, 1);
        assert_eq!(row.p50_us, None);
        assert_eq!(row.mean_fuel, None);
    }
}
