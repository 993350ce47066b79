//! Conversion between the domain routing types and the WIT types of the
//! `router` world, with the caps on what a plugin may return.

use civic311_domain::routing::{RouteDecision, RouteInput};
use civic311_domain::sla::Sla;
use civic311_domain::{Channel, Priority};

use crate::bindings::router as bindings;
use crate::error::PluginError;

/// Maximum bytes of a department code, queue or assignee in a decision.
pub const MAX_NAME_BYTES: usize = 256;

/// Maximum bytes of a decision's reason. A longer `route-error` message or
/// trap message (with its wasm backtrace) is cut to this length instead.
pub const MAX_REASON_BYTES: usize = 1024;

/// Builds the WIT request. A point is passed only when both coordinates are known.
pub(crate) fn to_wit_request(input: &RouteInput) -> bindings::ServiceRequest {
    let location = match (input.lat, input.long) {
        (Some(lat), Some(long)) => Some(bindings::Location { lat, long }),
        _ => None,
    };

    bindings::ServiceRequest {
        service_code: input.service_code.clone(),
        service_name: input.service_name.clone(),
        service_group: input.service_group.clone(),
        default_department: input.default_department.clone(),
        description: input.description.clone(),
        location,
        address: input.address.clone(),
        attributes: input
            .attributes
            .iter()
            .map(|answer| bindings::AttributeAnswer {
                code: answer.code.clone(),
                values: answer.values.clone(),
            })
            .collect(),
        channel: to_wit_channel(input.channel),
        received_local: bindings::LocalTime {
            year: input.received_local.year,
            month: input.received_local.month,
            day: input.received_local.day,
            hour: input.received_local.hour,
            minute: input.received_local.minute,
            weekday: input.received_local.weekday,
        },
        after_hours: input.after_hours,
        departments: input
            .departments
            .iter()
            .map(|department| bindings::Department {
                code: department.code.clone(),
                name: department.name.clone(),
            })
            .collect(),
        settings: input
            .settings
            .iter()
            .map(|(key, value)| bindings::Setting {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

fn to_wit_channel(channel: Channel) -> bindings::Channel {
    match channel {
        Channel::Phone => bindings::Channel::Phone,
        Channel::Web => bindings::Channel::Web,
        Channel::MobileApp => bindings::Channel::MobileApp,
        Channel::Email => bindings::Channel::Email,
        Channel::FieldApp => bindings::Channel::FieldApp,
        Channel::Import => bindings::Channel::Import,
    }
}

/// Checks the output caps and converts a plugin's decision. The department
/// is only checked for shape here; whether it exists is the caller's check.
pub(crate) fn from_wit_decision(plugin: &str, decision: bindings::Decision) -> Result<RouteDecision, PluginError> {
    let invalid = |message: String| PluginError::InvalidOutput {
        plugin: plugin.to_string(),
        message,
    };

    if decision.department.trim().is_empty() {
        return Err(invalid("the department code is empty".to_string()));
    }
    check_length("department", &decision.department, MAX_NAME_BYTES).map_err(invalid)?;
    if let Some(queue) = &decision.queue {
        check_length("queue", queue, MAX_NAME_BYTES).map_err(invalid)?;
    }
    if let Some(assignee) = &decision.assignee {
        check_length("assignee", assignee, MAX_NAME_BYTES).map_err(invalid)?;
    }
    if let Some(reason) = &decision.reason {
        check_length("reason", reason, MAX_REASON_BYTES).map_err(invalid)?;
    }

    Ok(RouteDecision {
        department: decision.department,
        priority: from_wit_priority(decision.priority),
        queue: decision.queue,
        assignee: decision.assignee,
        sla_override: decision.sla_override.map(|sla| match sla {
            bindings::Sla::BusinessHours(hours) => Sla::BusinessHours(hours),
            bindings::Sla::CalendarDays(days) => Sla::CalendarDays(days),
        }),
        reason: decision.reason,
    })
}

fn from_wit_priority(priority: bindings::Priority) -> Priority {
    match priority {
        bindings::Priority::Low => Priority::Low,
        bindings::Priority::Normal => Priority::Normal,
        bindings::Priority::High => Priority::High,
        bindings::Priority::Urgent => Priority::Urgent,
    }
}

fn check_length(field: &str, value: &str, max_bytes: usize) -> Result<(), String> {
    if value.len() > max_bytes {
        return Err(format!(
            "{field} is {} bytes long, more than the limit of {max_bytes}",
            value.len()
        ));
    }
    Ok(())
}

/// Cuts `message` to at most [`MAX_REASON_BYTES`] on a character boundary.
pub(crate) fn truncate_message(mut message: String) -> String {
    if message.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(department: &str) -> bindings::Decision {
        bindings::Decision {
            department: department.to_string(),
            priority: bindings::Priority::High,
            queue: Some("snow-ward-3".to_string()),
            assignee: None,
            sla_override: Some(bindings::Sla::BusinessHours(4)),
            reason: Some("rule".to_string()),
        }
    }

    #[test]
    fn decision_converts_every_field() {
        let converted = from_wit_decision("test", decision("dpw-highway")).unwrap();
        assert_eq!(converted.department, "dpw-highway");
        assert_eq!(converted.priority, Priority::High);
        assert_eq!(converted.queue.as_deref(), Some("snow-ward-3"));
        assert_eq!(converted.sla_override, Some(Sla::BusinessHours(4)));
        assert_eq!(converted.reason.as_deref(), Some("rule"));
    }

    #[test]
    fn decision_with_long_queue_is_invalid() {
        let mut long = decision("dpw-highway");
        long.queue = Some("q".repeat(MAX_NAME_BYTES + 1));
        let error = from_wit_decision("test", long).unwrap_err();
        assert!(matches!(error, PluginError::InvalidOutput { .. }), "{error}");
        assert!(error.to_string().contains("queue is 257 bytes"), "{error}");
    }

    #[test]
    fn decision_with_empty_department_is_invalid() {
        let error = from_wit_decision("test", decision(" ")).unwrap_err();
        assert!(error.to_string().contains("department code is empty"), "{error}");
    }

    #[test]
    fn truncate_message_respects_char_boundary() {
        let message = "é".repeat(MAX_REASON_BYTES);
        let cut = truncate_message(message);
        assert!(cut.len() <= MAX_REASON_BYTES);
        assert_eq!(cut.len(), MAX_REASON_BYTES);
    }
}
