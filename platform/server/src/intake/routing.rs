//! Routing of one request by the tenant's plugin, with the service's default
//! department as the fallback whenever the plugin cannot decide.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use civic311_domain::manifest::ServiceSpec;
use civic311_domain::routing::{DepartmentRef, RouteDecision, RouteInput};
use civic311_domain::sla::Sla;
use civic311_domain::{Channel, Locale, Priority};
use civic311_plugin_manager::{RouteOutcome, VersionRef};
use civic311_store::{HistoryKind, NewHistoryEvent, ServiceRequest, Visibility};
use serde_json::json;

use super::{RequestDraft, RoutingOutcome};
use crate::app::AppState;
use crate::tenants::TenantContext;

/// Builds the router plugin's input for a draft received at `received`:
/// the local time and after-hours flag from the tenant's calendar, and the
/// departments that have joined 311 on or before the local date.
pub fn route_input(tenant: &TenantContext, service: &ServiceSpec, draft: &RequestDraft, received: DateTime<Utc>) -> RouteInput {
    RouteInput {
        service_code: service.code.clone(),
        service_name: service.name.get(Locale::En).to_string(),
        service_group: Some(service.group.get(Locale::En).to_string()).filter(|group| !group.is_empty()),
        default_department: service.department.clone(),
        description: draft.description.clone().unwrap_or_default(),
        lat: draft.lat,
        long: draft.long,
        address: draft.address.clone(),
        attributes: draft.attributes.clone(),
        channel: draft.channel.unwrap_or(Channel::Web),
        received_local: tenant.calendar.local_time(received),
        after_hours: !tenant.calendar.is_open(received),
        departments: joined_departments(tenant, received),
        settings: routing_settings(tenant),
    }
}

/// Builds the router plugin's input for a stored request, as if it arrived
/// again at its original `requested_at`: the dry run of a new router version
/// replays stored requests with it.
pub fn route_input_for_stored(tenant: &TenantContext, request: &ServiceRequest) -> RouteInput {
    let service = tenant.manifest.service(&request.service_code);
    let received = request.requested_at;

    RouteInput {
        service_code: request.service_code.clone(),
        service_name: request.service_name.clone(),
        service_group: service
            .map(|service| service.group.get(Locale::En).to_string())
            .filter(|group| !group.is_empty()),
        default_department: service.map_or_else(|| request.department.clone(), |service| service.department.clone()),
        description: request.description.clone(),
        lat: request.lat,
        long: request.long,
        address: request.address.clone(),
        attributes: request.attributes.clone(),
        channel: request.channel,
        received_local: tenant.calendar.local_time(received),
        after_hours: !tenant.calendar.is_open(received),
        departments: joined_departments(tenant, received),
        settings: routing_settings(tenant),
    }
}

/// Returns the departments that have joined 311 on or before the tenant's
/// local date of `received`.
pub(crate) fn joined_departments(tenant: &TenantContext, received: DateTime<Utc>) -> Vec<DepartmentRef> {
    let local_date = received.with_timezone(&tenant.calendar.time_zone).date_naive();

    tenant
        .manifest
        .departments
        .iter()
        .filter(|department| department.joined_311 <= local_date)
        .map(|department| DepartmentRef {
            code: department.code.clone(),
            name: department.name.get(Locale::En).to_string(),
        })
        .collect()
}

/// Returns the manifest's `[routing.settings]` table, or an empty map when
/// the tenant has no `[routing]` table.
pub(crate) fn routing_settings(tenant: &TenantContext) -> BTreeMap<String, String> {
    tenant
        .manifest
        .routing
        .as_ref()
        .map(|routing| routing.settings.clone())
        .unwrap_or_default()
}

/// Reason the plugin's decision was not used.
struct RoutingFailure {
    /// Stable snake_case kind, such as `timeout`, `trap` or `invalid_department`.
    kind: String,
    /// `plugin` when the tenant's plugin misbehaved, `platform` when the host failed.
    blame: &'static str,
    message: String,
}

/// Runs the tenant's active router install through the plugin manager and
/// applies its decision, or falls back. History entries are dated `at`.
/// `request_id` names the service request in call records when it is known.
pub(super) async fn route_at(
    state: &AppState,
    tenant: &TenantContext,
    input: RouteInput,
    at: DateTime<Utc>,
    request_id: Option<&str>,
) -> RoutingOutcome {
    let service_sla = tenant
        .manifest
        .service(&input.service_code)
        .and_then(|service| service.sla.to_sla());

    match state.manager.route(tenant.id, &input, request_id).await {
        RouteOutcome::NoRouter => without_plugin(tenant, &input, service_sla, at),
        RouteOutcome::Decided { plugin, decision } => match check_department(&plugin, &input, &decision) {
            Ok(()) => routed(tenant, &plugin, &input, decision, service_sla, at),
            // The manager has already counted this decision as a plugin fault for the breaker.
            Err(failure) => fallback(tenant, &plugin, &input, failure, service_sla, at),
        },
        RouteOutcome::Failed { plugin, kind, blame, message } => {
            let failure = RoutingFailure { kind, blame, message };
            fallback(tenant, &plugin, &input, failure, service_sla, at)
        }
        RouteOutcome::Skipped { plugin, reason } => skipped(tenant, &plugin, &input, &reason, service_sla, at),
    }
}

/// Checks that the department the plugin names is one the request could go to.
fn check_department(plugin: &VersionRef, input: &RouteInput, decision: &RouteDecision) -> Result<(), RoutingFailure> {
    let known = input.departments.iter().any(|department| department.code == decision.department);
    if known {
        return Ok(());
    }

    let codes: Vec<&str> = input.departments.iter().map(|department| department.code.as_str()).collect();
    Err(RoutingFailure {
        kind: "invalid_department".into(),
        blame: "plugin",
        message: format!(
            "plugin {} version {} returned department '{}', which is not one of the tenant's departments in 311: {}",
            plugin.name,
            plugin.version,
            decision.department,
            codes.join(", ")
        ),
    })
}

fn routed(
    tenant: &TenantContext,
    plugin: &VersionRef,
    input: &RouteInput,
    decision: RouteDecision,
    service_sla: Option<Sla>,
    at: DateTime<Utc>,
) -> RoutingOutcome {
    let reason = decision.reason.clone().unwrap_or_else(|| "the plugin gave no reason".into());
    tracing::debug!(tenant.id = tenant.id.0, install.id = plugin.install_id.0, plugin.name = %plugin.name, plugin.version = plugin.version, department = %decision.department, %reason, "request routed");

    let event = NewHistoryEvent {
        at,
        kind: HistoryKind::Routed,
        visibility: Visibility::Internal,
        summary: format!(
            "Routed to {} by {} version {}: {reason}",
            department_name(tenant, &decision.department),
            plugin.name,
            plugin.version
        ),
        detail: json!({
            "plugin": plugin.name,
            "version": plugin.version,
            "digest": plugin.digest,
            "install_id": plugin.install_id.0,
            "department": decision.department,
            "priority": decision.priority.as_str(),
            "queue": decision.queue,
            "assignee": decision.assignee,
            "reason": reason,
            "after_hours": input.after_hours,
        }),
        actor: Some(plugin.name.clone()),
    };

    RoutingOutcome {
        sla: decision.sla_override.or(service_sla).unwrap_or(Sla::BusinessHours(0)),
        department: decision.department,
        priority: decision.priority,
        queue: decision.queue,
        assignee: decision.assignee,
        history: vec![event],
    }
}

fn fallback(
    tenant: &TenantContext,
    plugin: &VersionRef,
    input: &RouteInput,
    failure: RoutingFailure,
    service_sla: Option<Sla>,
    at: DateTime<Utc>,
) -> RoutingOutcome {
    tracing::warn!(
        tenant.id = tenant.id.0,
        tenant.slug = %tenant.manifest.slug,
        install.id = plugin.install_id.0,
        plugin.name = %plugin.name,
        plugin.version = plugin.version,
        plugin.digest = %plugin.digest,
        error.kind = %failure.kind,
        error.blame = failure.blame,
        error = %failure.message,
        "routing plugin failed; the service's default department takes the request"
    );

    let event = NewHistoryEvent {
        at,
        kind: HistoryKind::RoutingFailed,
        visibility: Visibility::Internal,
        summary: format!(
            "Plugin {} version {} failed ({}); sent to the default department {}",
            plugin.name,
            plugin.version,
            failure.kind,
            department_name(tenant, &input.default_department)
        ),
        detail: json!({
            "plugin": plugin.name,
            "version": plugin.version,
            "digest": plugin.digest,
            "install_id": plugin.install_id.0,
            "error_kind": failure.kind,
            "error": failure.message,
            "blame": failure.blame,
            "department": input.default_department,
        }),
        actor: Some(plugin.name.clone()),
    };
    default_outcome(input, service_sla, event)
}

/// Routes to the default department because the install's circuit breaker
/// is open, so the plugin was not called.
fn skipped(
    tenant: &TenantContext,
    plugin: &VersionRef,
    input: &RouteInput,
    reason: &str,
    service_sla: Option<Sla>,
    at: DateTime<Utc>,
) -> RoutingOutcome {
    tracing::debug!(tenant.id = tenant.id.0, install.id = plugin.install_id.0, plugin.name = %plugin.name, plugin.version = plugin.version, %reason, "routing plugin skipped; the service's default department takes the request");

    let event = NewHistoryEvent {
        at,
        kind: HistoryKind::RoutingSkipped,
        visibility: Visibility::Internal,
        summary: format!(
            "Plugin {} version {} skipped ({reason}); sent to the default department {}",
            plugin.name,
            plugin.version,
            department_name(tenant, &input.default_department)
        ),
        detail: json!({
            "plugin": plugin.name,
            "version": plugin.version,
            "digest": plugin.digest,
            "install_id": plugin.install_id.0,
            "reason": reason,
            "department": input.default_department,
        }),
        actor: Some(plugin.name.clone()),
    };
    default_outcome(input, service_sla, event)
}

/// Routes to the default department when the tenant has no active router
/// install. A manifest router that could not be adopted counts as a routing failure.
fn without_plugin(tenant: &TenantContext, input: &RouteInput, service_sla: Option<Sla>, at: DateTime<Utc>) -> RoutingOutcome {
    let department = department_name(tenant, &input.default_department);
    let event = match (&tenant.router_error, tenant.router_plugin_ref()) {
        (Some(error), Some(reference)) => {
            tracing::warn!(tenant.id = tenant.id.0, plugin.id = reference, %error, "router plugin is not loaded; the service's default department takes the request");
            NewHistoryEvent {
                at,
                kind: HistoryKind::RoutingFailed,
                visibility: Visibility::Internal,
                summary: format!("Plugin {reference} is not loaded; sent to the default department {department}"),
                detail: json!({
                    "plugin": reference,
                    "version": null,
                    "digest": null,
                    "error_kind": "load_failed",
                    "error": error,
                    "blame": "plugin",
                    "department": input.default_department,
                }),
                actor: Some(reference.to_string()),
            }
        }
        _ => NewHistoryEvent {
            at,
            kind: HistoryKind::Routed,
            visibility: Visibility::Internal,
            summary: format!("Routed to the default department {department}; the tenant has no active routing plugin"),
            detail: json!({ "plugin": null, "version": null, "department": input.default_department }),
            actor: None,
        },
    };
    default_outcome(input, service_sla, event)
}

fn default_outcome(input: &RouteInput, service_sla: Option<Sla>, event: NewHistoryEvent) -> RoutingOutcome {
    RoutingOutcome {
        department: input.default_department.clone(),
        priority: Priority::Normal,
        queue: None,
        assignee: None,
        sla: service_sla.unwrap_or(Sla::BusinessHours(0)),
        history: vec![event],
    }
}

fn department_name(tenant: &TenantContext, code: &str) -> String {
    tenant
        .manifest
        .department(code)
        .map(|department| department.name.get(Locale::En).to_string())
        .unwrap_or_else(|| code.to_string())
}
