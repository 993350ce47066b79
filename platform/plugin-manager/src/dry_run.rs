//! Dry run: a candidate router version decides a list of requests beside
//! the active version, with no side effects, and the report lists every
//! decision that would change.
//!
//! Neither version writes anything: no call records, no usage, no log lines
//! and no KV writes. Both read the KV of their own install, see their own
//! writes only within one call, get no secrets and no outbound HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use civic311_domain::plugin::{Grants, Hook};
use civic311_domain::routing::{RouteDecision, RouteInput};
use civic311_domain::sla::Sla;
use civic311_plugin_host::{CallContext, CallLimits, LoadedPlugin, PluginHost};
use civic311_store::{InstallId, TenantId, TenantStore};
use serde::Serialize;

use crate::artifacts::run_blocking;
use crate::error::ManagerError;
use crate::lifecycle::check_hook;
use crate::manager::PluginManager;
use crate::registry::VersionRef;
use crate::runtime::capabilities::ReadOnlyCapabilities;
use crate::runtime::route::with_install_config;

/// Maximum requests in one dry run.
pub const MAX_DRY_RUN_REQUESTS: usize = 1000;

/// Outcome of one version on one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DecisionOrError {
    /// The plugin returned a decision.
    Decision { decision: RouteDecision },
    /// The call failed or the plugin rejected the request; `kind` is the
    /// [`civic311_plugin_host::PluginError::kind`] name.
    Error { kind: String, message: String },
    /// The tenant has no active router, so the service's default department applies.
    NoRouter { default_department: String },
}

/// One request of a dry run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DryRunRow {
    pub request_id: String,
    pub active: DecisionOrError,
    pub candidate: DecisionOrError,
    /// True when the candidate's routing differs from the active version's.
    pub changed: bool,
    /// Each difference, such as `department: dpw-highway -> dpw-forestry`.
    pub changes: Vec<String>,
}

/// Result of a dry run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DryRunReport {
    pub candidate: VersionRef,
    /// The tenant's active router, or `None` when it has none.
    pub active: Option<VersionRef>,
    pub rows: Vec<DryRunRow>,
    /// Rows whose routing would change.
    pub changed_count: usize,
    pub total: usize,
}

/// A version as the dry run calls it.
#[derive(Clone)]
struct Runner {
    plugin: LoadedPlugin,
    install: InstallId,
    limits: CallLimits,
    grants: Grants,
    /// The install's config, laid over each input's settings.
    config: BTreeMap<String, String>,
}

impl PluginManager {
    /// Runs version `version` of the tenant's router install `name` on
    /// `inputs` (request id and route input) beside the active router. The
    /// candidate must be installed on the router hook, active or not.
    pub async fn dry_run(
        &self,
        tenant: TenantId,
        name: &str,
        version: i32,
        inputs: Vec<(String, RouteInput)>,
    ) -> Result<DryRunReport, ManagerError> {
        if inputs.len() > MAX_DRY_RUN_REQUESTS {
            return Err(ManagerError::invalid(
                "requests",
                format!(
                    "{} requests are more than the limit of {MAX_DRY_RUN_REQUESTS}; select fewer",
                    inputs.len()
                ),
            ));
        }

        let tenant_store = self.store.scoped(tenant);
        let install = self
            .require_install(&tenant_store, Hook::Router, name)
            .await?;
        let target = self
            .require_version(&tenant_store, &install, version)
            .await?;
        check_hook(&install, &target)?;
        let (plugin, _) = self.artifacts.load(&tenant_store, &target).await?;

        let candidate = Runner {
            plugin,
            install: install.id,
            limits: self.host.config().limits_for(&install.limits)?,
            grants: install.grants.clone(),
            config: install.config.clone(),
        };
        let active = self.registry.router(tenant).map(|active| {
            let runner = Runner {
                plugin: active.plugin.clone(),
                install: active.install.id,
                limits: active.limits.clone(),
                grants: active.install.grants.clone(),
                config: active.install.config.clone(),
            };
            (active.version.clone(), runner)
        });

        let rows = self
            .run_rows(
                &tenant_store,
                inputs,
                candidate,
                active.as_ref().map(|(_, runner)| runner.clone()),
            )
            .await?;
        let changed_count = rows.iter().filter(|row| row.changed).count();
        tracing::info!(
            tenant.id = tenant.0,
            install.id = install.id.0,
            plugin.version = version,
            requests = rows.len(),
            changed = changed_count,
            "dry run finished"
        );

        Ok(DryRunReport {
            candidate: VersionRef::of(&install, &target),
            active: active.map(|(version, _)| version),
            total: rows.len(),
            changed_count,
            rows,
        })
    }

    /// Runs both versions on every input on one blocking thread.
    async fn run_rows(
        &self,
        tenant_store: &TenantStore,
        inputs: Vec<(String, RouteInput)>,
        candidate: Runner,
        active: Option<Runner>,
    ) -> Result<Vec<DryRunRow>, ManagerError> {
        let host = Arc::clone(&self.host);
        let tenant_store = tenant_store.clone();

        run_blocking(move || {
            let rows = inputs
                .into_iter()
                .map(|(request_id, input)| {
                    let active_outcome = match &active {
                        Some(runner) => decide(&host, runner, &input, &tenant_store),
                        None => DecisionOrError::NoRouter {
                            default_department: input.default_department.clone(),
                        },
                    };
                    let candidate_outcome = decide(&host, &candidate, &input, &tenant_store);
                    let changes = compare(&active_outcome, &candidate_outcome);
                    DryRunRow {
                        request_id,
                        changed: !changes.is_empty(),
                        changes,
                        active: active_outcome,
                        candidate: candidate_outcome,
                    }
                })
                .collect();
            Ok(rows)
        })
        .await
    }
}

/// Runs one version on one input with side-effect-free capabilities. It
/// runs on a blocking thread of the Tokio runtime, whose handle performs KV reads.
fn decide(
    host: &PluginHost,
    runner: &Runner,
    input: &RouteInput,
    tenant_store: &TenantStore,
) -> DecisionOrError {
    let call = CallContext {
        limits: runner.limits.clone(),
        grants: runner.grants.clone(),
        capabilities: Arc::new(ReadOnlyCapabilities::new(
            tenant_store.clone(),
            runner.install,
        )),
    };

    let input = with_install_config(input, &runner.config);
    match host.route_with(&runner.plugin, &input, &call).result {
        Ok(decision) => DecisionOrError::Decision { decision },
        Err(error) => DecisionOrError::Error {
            kind: error.kind().to_string(),
            message: error.to_string(),
        },
    }
}

/// Lists how the candidate's outcome differs from the active one's. The
/// decision's `reason` is explanatory text, so it is not compared.
pub(crate) fn compare(active: &DecisionOrError, candidate: &DecisionOrError) -> Vec<String> {
    match (active, candidate) {
        (
            DecisionOrError::Decision { decision: before },
            DecisionOrError::Decision { decision: after },
        ) => compare_decisions(before, after),
        (
            DecisionOrError::Error { kind: before, .. },
            DecisionOrError::Error { kind: after, .. },
        ) if before == after => Vec::new(),
        (
            DecisionOrError::NoRouter { default_department },
            DecisionOrError::Decision { decision },
        ) => {
            if *default_department == decision.department {
                Vec::new()
            } else {
                vec![format!(
                    "department: {default_department} (no router) -> {}",
                    decision.department
                )]
            }
        }
        (before, after) => vec![format!(
            "outcome: {} -> {}",
            summarize(before),
            summarize(after)
        )],
    }
}

fn compare_decisions(before: &RouteDecision, after: &RouteDecision) -> Vec<String> {
    let fields = [
        (
            "department",
            before.department.clone(),
            after.department.clone(),
        ),
        (
            "priority",
            before.priority.to_string(),
            after.priority.to_string(),
        ),
        ("queue", optional(&before.queue), optional(&after.queue)),
        (
            "assignee",
            optional(&before.assignee),
            optional(&after.assignee),
        ),
        (
            "sla_override",
            describe_sla(before.sla_override),
            describe_sla(after.sla_override),
        ),
    ];
    fields
        .into_iter()
        .filter(|(_, old, new)| old != new)
        .map(|(field, old, new)| format!("{field}: {old} -> {new}"))
        .collect()
}

fn summarize(outcome: &DecisionOrError) -> String {
    match outcome {
        DecisionOrError::Decision { decision } => {
            format!("decision (department {})", decision.department)
        }
        DecisionOrError::Error { kind, .. } => format!("error ({kind})"),
        DecisionOrError::NoRouter { default_department } => {
            format!("no router (department {default_department})")
        }
    }
}

fn optional(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "none".to_string())
}

fn describe_sla(sla: Option<Sla>) -> String {
    match sla {
        Some(Sla::BusinessHours(hours)) => format!("{hours} business hours"),
        Some(Sla::CalendarDays(days)) => format!("{days} calendar days"),
        None => "none".to_string(),
    }
}
