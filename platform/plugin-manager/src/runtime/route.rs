//! Routing one service request through the tenant's active router install:
//! breaker admission, the call on a blocking thread, the call record and
//! usage, the breaker's verdict, and the shadow candidate in the background.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use civic311_domain::routing::{RouteDecision, RouteInput};
use civic311_plugin_host::{CallContext, CallReport, PluginError};
use civic311_store::{NewCallRecord, PluginCallOutcome, TenantId, UsageDelta};

use crate::dry_run::DecisionOrError;
use crate::manager::PluginManager;
use crate::registry::{ActiveInstall, VersionRef};
use crate::runtime::breaker::{Admission, CallVerdict, Permit};
use crate::runtime::capabilities::{CallScope, InstallCapabilities, ReadOnlyCapabilities};
use crate::runtime::fuel_budget::{FuelBudget, Throttled};
use crate::runtime::shadows::ShadowClaim;

/// Result of routing one request through the tenant's router install.
#[derive(Clone, Debug, PartialEq)]
pub enum RouteOutcome {
    /// The tenant has no active router install.
    NoRouter,
    /// The plugin returned a decision. The caller still checks that its
    /// department is one of the request's departments.
    Decided { plugin: VersionRef, decision: RouteDecision },
    /// The plugin failed or rejected the request. `kind` is the
    /// [`PluginError::kind`] name and `blame` is `plugin` or `platform`.
    Failed { plugin: VersionRef, kind: String, blame: &'static str, message: String },
    /// The install's breaker is open, or its calls already fill their
    /// slots on this node, so the plugin was not called.
    Skipped { plugin: VersionRef, reason: String },
}

impl PluginManager {
    /// Routes one request through the tenant's active router install.
    /// `request_id` names the request in call records, log lines and shadow
    /// results; without it the shadow candidate does not run.
    pub async fn route(&self, tenant: TenantId, input: &RouteInput, request_id: Option<&str>) -> RouteOutcome {
        let Some(active) = self.registry.router(tenant) else {
            return RouteOutcome::NoRouter;
        };

        // The fuel budget comes first, so a call that waits for its refill
        // takes no call slot meanwhile. It also comes before the breaker, because a
        // throttled call is no fault of the plugin and must not take the
        // breaker's one trial call.
        if let Err(throttled) = self.wait_for_fuel(&active.fuel_budget).await {
            let reason = throttled.reason();
            tracing::debug!(tenant.id = tenant.0, install.id = active.install.id.0, %reason, "router call skipped: fuel budget spent");
            self.record_skipped(&active, request_id, SkipKind::FuelBudget);
            return RouteOutcome::Skipped { plugin: active.version.clone(), reason };
        }

        // The slot comes before the breaker's admission, so a call that
        // finds no slot never takes the breaker's one trial call.
        let Some(_slot) = self.runtime.call_slots.acquire(active.install.id).await else {
            let reason = self.runtime.call_slots.busy_reason();
            // Debug level: under a flood each skip would log, and the call
            // record and the request history keep every skip already.
            tracing::debug!(tenant.id = tenant.0, install.id = active.install.id.0, %reason, "router call skipped: no free call slot");
            self.record_skipped(&active, request_id, SkipKind::NoCallSlot);
            return RouteOutcome::Skipped { plugin: active.version.clone(), reason };
        };

        let permit = match active.breaker.admit(Utc::now()) {
            Admission::Allowed(permit) => permit,
            Admission::Skipped { reason } => {
                self.record_skipped(&active, request_id, SkipKind::BreakerOpen);
                return RouteOutcome::Skipped { plugin: active.version.clone(), reason };
            }
        };

        let report = self.call_router(&active, input, request_id).await;
        active.fuel_budget.charge(report.fuel_used, Instant::now());
        let verdict = route_verdict(&report.result, input);
        self.record_call(&active, request_id, &report, &verdict, false);
        self.judge(&active, permit, &verdict).await;

        if let (Some(_), Some(request_id)) = (&active.shadow, request_id) {
            match self.runtime.shadows.claim(active.install.id) {
                Some(claim) => self.spawn_shadow(claim, Arc::clone(&active), input.clone(), request_id.to_string(), outcome_of(&report.result)),
                None => tracing::debug!(tenant.id = tenant.0, install.id = active.install.id.0, "shadow candidate still busy; this request is not shadowed"),
            }
        }

        into_outcome(&active, report.result)
    }

    /// Waits until the install's fuel budget admits a call, for at most the
    /// call slots' wait. Returns the throttle when the refill would take longer.
    async fn wait_for_fuel(&self, budget: &FuelBudget) -> Result<(), Throttled> {
        let deadline = Instant::now() + self.runtime.call_slots.max_wait();
        loop {
            match budget.admit(Instant::now()) {
                Ok(()) => return Ok(()),
                Err(throttled) if Instant::now() + throttled.retry_after <= deadline => {
                    tokio::time::sleep(throttled.retry_after).await;
                }
                Err(throttled) => return Err(throttled),
            }
        }
    }

    async fn call_router(&self, active: &Arc<ActiveInstall>, input: &RouteInput, request_id: Option<&str>) -> CallReport<RouteDecision> {
        let (context, capabilities) = self.call_context(active, request_id);
        let host = Arc::clone(&self.host);
        let call_active = Arc::clone(active);
        let call_input = with_install_config(input, &active.install.config);

        let joined = tokio::task::spawn_blocking(move || host.route_with(&call_active.plugin, &call_input, &context)).await;
        let mut report = joined.unwrap_or_else(|error| host_panic(active, error));
        report.result = match report.result {
            Ok(decision) => Ok(scrub_decision(decision, &capabilities)),
            Err(error) => Err(capabilities.scrub_error(error)),
        };
        report
    }

    /// Runs the shadow candidate on the same input with read-only
    /// capabilities, and records its call and its comparison with the
    /// active version's outcome. Nothing it returns takes effect, but its
    /// fuel counts against the install's budget.
    fn spawn_shadow(&self, claim: ShadowClaim, active: Arc<ActiveInstall>, input: RouteInput, request_id: String, active_outcome: DecisionOrError) {
        let host = Arc::clone(&self.host);
        let store = self.store.clone();
        let recorder = self.runtime.recorder.clone();
        let tenant = active.tenant();

        tokio::spawn(async move {
            let _claim = claim;
            let Some((candidate, plugin)) = active.shadow.clone() else {
                return;
            };
            let input = with_install_config(&input, &active.install.config);
            let context = CallContext {
                limits: active.limits.clone(),
                grants: active.install.grants.clone(),
                capabilities: Arc::new(ReadOnlyCapabilities::new(store.scoped(tenant), active.install.id)),
            };

            let joined = tokio::task::spawn_blocking(move || host.route_with(&plugin, &input, &context)).await;
            let report = joined.unwrap_or_else(|error| host_panic(&active, error));
            active.fuel_budget.charge(report.fuel_used, Instant::now());

            let outcome = match &report.result {
                Ok(_) => PluginCallOutcome::Ok,
                Err(_) => PluginCallOutcome::Failed,
            };
            recorder.call(tenant, call_record(&candidate, Some(&request_id), &report, outcome, error_kind(&report.result), true));

            let candidate_outcome = outcome_of(&report.result);
            let active_pair = (&active.version, &active_outcome);
            if let Err(error) = crate::shadow::record(&store, tenant, &request_id, active_pair, (&candidate, &candidate_outcome)).await {
                tracing::error!(tenant.id = tenant.0, install.id = active.install.id.0, %error, "failed to record a shadow result");
            }
        });
    }
}

/// Reason the runtime did not call a plugin, stored as the call record's error kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SkipKind {
    BreakerOpen,
    NoCallSlot,
    FuelBudget,
}

impl SkipKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SkipKind::BreakerOpen => "breaker_open",
            SkipKind::NoCallSlot => "no_call_slot",
            SkipKind::FuelBudget => "fuel_budget",
        }
    }
}

/// Returns `input` with the install's `config` laid over its settings, so a
/// key of the install's config replaces the manifest's `[routing.settings]`
/// value of the same key.
pub(crate) fn with_install_config(input: &RouteInput, config: &BTreeMap<String, String>) -> RouteInput {
    let mut input = input.clone();
    input.settings.extend(config.iter().map(|(key, value)| (key.clone(), value.clone())));
    input
}

/// Classifies a routing result for the breaker. A decision naming a
/// department outside the request's list is a fault of the plugin, as it is
/// for the server, which falls back on it.
fn route_verdict(result: &Result<RouteDecision, PluginError>, input: &RouteInput) -> CallVerdict {
    match result {
        Ok(decision) if !department_known(decision, input) => CallVerdict::Fault {
            kind: INVALID_DEPARTMENT.to_string(),
            message: format!("returned department '{}', which is not one of the request's departments", decision.department),
        },
        Ok(_) => CallVerdict::Success,
        Err(error) => CallVerdict::from_failure(error.kind(), &error.to_string()),
    }
}

/// Error kind of a decision whose department the tenant does not have.
const INVALID_DEPARTMENT: &str = "invalid_department";

/// Returns whether the decision names one of the request's departments.
/// An input without departments, as in some tests, accepts any department.
fn department_known(decision: &RouteDecision, input: &RouteInput) -> bool {
    input.departments.is_empty() || input.departments.iter().any(|department| department.code == decision.department)
}

fn into_outcome(active: &ActiveInstall, result: Result<RouteDecision, PluginError>) -> RouteOutcome {
    let plugin = active.version.clone();
    match result {
        Ok(decision) => RouteOutcome::Decided { plugin, decision },
        Err(error) => {
            tracing::warn!(
                tenant.id = active.tenant().0,
                install.id = active.install.id.0,
                plugin.name = %plugin.name,
                plugin.version = plugin.version,
                kind = error.kind(),
                blame = error.blame(),
                %error,
                "router plugin call failed"
            );
            RouteOutcome::Failed { plugin, kind: error.kind().to_string(), blame: error.blame(), message: error.to_string() }
        }
    }
}

/// Scrubs the secrets the call read from the decision's free-text fields.
fn scrub_decision(mut decision: RouteDecision, capabilities: &InstallCapabilities) -> RouteDecision {
    decision.reason = decision.reason.map(|reason| capabilities.scrub(&reason));
    decision.queue = decision.queue.map(|queue| capabilities.scrub(&queue));
    decision.assignee = decision.assignee.map(|assignee| capabilities.scrub(&assignee));
    decision
}

fn outcome_of(result: &Result<RouteDecision, PluginError>) -> DecisionOrError {
    match result {
        Ok(decision) => DecisionOrError::Decision { decision: decision.clone() },
        Err(error) => DecisionOrError::Error { kind: error.kind().to_string(), message: error.to_string() },
    }
}

pub(crate) fn error_kind<T>(result: &Result<T, PluginError>) -> Option<String> {
    result.as_ref().err().map(|error| error.kind().to_string())
}

/// Builds the record of one call of `version`.
pub(crate) fn call_record<T>(
    version: &VersionRef,
    request_id: Option<&str>,
    report: &CallReport<T>,
    outcome: PluginCallOutcome,
    error_kind: Option<String>,
    shadow: bool,
) -> NewCallRecord {
    NewCallRecord {
        install: version.install_id,
        version: version.version,
        hook: version.hook,
        request_id: request_id.map(str::to_string),
        at: Utc::now(),
        duration_us: u64::try_from(report.duration.as_micros()).unwrap_or(u64::MAX),
        fuel_used: report.fuel_used,
        outcome,
        error_kind,
        shadow,
    }
}

/// Returns a report for a call whose blocking task panicked or was cancelled.
pub(crate) fn host_panic<T>(active: &ActiveInstall, error: tokio::task::JoinError) -> CallReport<T> {
    tracing::error!(tenant.id = active.tenant().0, install.id = active.install.id.0, %error, "plugin call task failed on the host");
    CallReport {
        result: Err(PluginError::Platform {
            plugin: Some(active.version.name.clone()),
            message: format!("the plugin call task failed: {error}"),
        }),
        duration: Duration::ZERO,
        fuel_used: 0,
        dropped_log_lines: 0,
    }
}

impl PluginManager {
    /// Builds the context of one call of the install: its limits, grants and
    /// capabilities. The capabilities come back on their own too, to scrub
    /// the secrets the call read from its output.
    pub(crate) fn call_context(&self, active: &ActiveInstall, request_id: Option<&str>) -> (CallContext, Arc<InstallCapabilities>) {
        let scope = CallScope {
            tenant: active.tenant(),
            install: active.install.id,
            version: active.version.version,
            request_id: request_id.map(str::to_string),
        };
        let capabilities = Arc::new(InstallCapabilities::new(
            scope,
            self.store.scoped(active.tenant()),
            Arc::clone(&self.vault),
            self.runtime.recorder.clone(),
            self.runtime.http.clone(),
            active.install.grants.http_hosts.clone(),
        ));
        let context = CallContext {
            limits: active.limits.clone(),
            grants: active.install.grants.clone(),
            capabilities: Arc::clone(&capabilities) as Arc<dyn civic311_plugin_host::CapabilityProvider>,
        };
        (context, capabilities)
    }

    /// Queues the call record and one call of usage. A call that failed
    /// `invalid_department` ran, so it is recorded as failed with that kind.
    pub(crate) fn record_call<T>(
        &self,
        active: &ActiveInstall,
        request_id: Option<&str>,
        report: &CallReport<T>,
        verdict: &CallVerdict,
        shadow: bool,
    ) {
        let (outcome, kind) = match (&report.result, verdict) {
            (Ok(_), CallVerdict::Fault { kind, .. }) => (PluginCallOutcome::Failed, Some(kind.clone())),
            (Ok(_), _) => (PluginCallOutcome::Ok, None),
            (Err(_), _) => (PluginCallOutcome::Failed, error_kind(&report.result)),
        };
        let record = call_record(&active.version, request_id, report, outcome, kind, shadow);

        let tenant = active.tenant();
        self.runtime.recorder.call(tenant, record);
        self.runtime.recorder.usage(tenant, active.install.id, UsageDelta { calls: 1, ..UsageDelta::default() });
        if report.dropped_log_lines > 0 {
            tracing::info!(tenant.id = tenant.0, install.id = active.install.id.0, dropped = report.dropped_log_lines, "plugin wrote more log lines than one call keeps");
        }
    }

    /// Queues the record of a call that the runtime skipped, with the
    /// reason in its error kind.
    pub(crate) fn record_skipped(&self, active: &ActiveInstall, request_id: Option<&str>, kind: SkipKind) {
        let record = NewCallRecord {
            install: active.install.id,
            version: active.version.version,
            hook: active.version.hook,
            request_id: request_id.map(str::to_string),
            at: Utc::now(),
            duration_us: 0,
            fuel_used: 0,
            outcome: PluginCallOutcome::Skipped,
            error_kind: Some(kind.as_str().to_string()),
            shadow: false,
        };
        self.runtime.recorder.call(active.tenant(), record);
    }

    /// Gives the breaker the call's verdict and persists a trip or close.
    pub(crate) async fn judge(&self, active: &ActiveInstall, permit: Permit, verdict: &CallVerdict) {
        let transition = active.breaker.record(permit, verdict, Utc::now());
        self.apply_breaker_transition(active, transition, crate::runtime::PLATFORM_ACTOR).await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use civic311_domain::routing::{DepartmentRef, LocalTime};
    use civic311_domain::{Channel, Priority};

    use super::*;

    fn input(departments: &[&str]) -> RouteInput {
        RouteInput {
            service_code: "pothole".to_string(),
            service_name: "Pothole".to_string(),
            service_group: None,
            default_department: "dpw".to_string(),
            description: String::new(),
            lat: None,
            long: None,
            address: None,
            attributes: Vec::new(),
            channel: Channel::Web,
            received_local: LocalTime { year: 2026, month: 12, day: 4, hour: 10, minute: 0, weekday: 4 },
            after_hours: false,
            departments: departments
                .iter()
                .map(|code| DepartmentRef { code: code.to_string(), name: code.to_string() })
                .collect(),
            settings: BTreeMap::new(),
        }
    }

    fn decision(department: &str) -> RouteDecision {
        RouteDecision {
            department: department.to_string(),
            priority: Priority::Normal,
            queue: None,
            assignee: None,
            sla_override: None,
            reason: None,
        }
    }

    #[test]
    fn verdict_unknown_department_is_fault() {
        let verdict = route_verdict(&Ok(decision("nowhere")), &input(&["dpw", "parks"]));

        assert!(matches!(verdict, CallVerdict::Fault { kind, .. } if kind == INVALID_DEPARTMENT));
    }

    #[test]
    fn verdict_known_department_is_success() {
        assert_eq!(route_verdict(&Ok(decision("parks")), &input(&["dpw", "parks"])), CallVerdict::Success);
        assert_eq!(route_verdict(&Ok(decision("anything")), &input(&[])), CallVerdict::Success);
    }

    #[test]
    fn verdict_of_host_errors() {
        let trap = PluginError::Trap { plugin: "p".to_string(), message: "unreachable".to_string() };
        let platform = PluginError::Platform { plugin: None, message: "no slot".to_string() };

        assert!(matches!(route_verdict(&Err(trap), &input(&[])), CallVerdict::Fault { kind, .. } if kind == "trap"));
        assert_eq!(route_verdict(&Err(platform), &input(&[])), CallVerdict::Neutral);
    }
}
