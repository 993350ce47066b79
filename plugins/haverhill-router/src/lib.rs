//! Haverhill, MA router plugin. [`rules`] contains the routing rules in plain
//! Rust; on `wasm32` this crate also exports them as a component of the
//! `router` world. The component is `no_std`, so it imports nothing from WASI.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod rules;

#[cfg(target_arch = "wasm32")]
mod component {
    use civic311_plugin_sdk::{Decision, Guest, Priority, RouteError, ServiceRequest};

    use crate::rules;

    civic311_plugin_sdk::no_std_runtime!();

    struct HaverhillRouter;

    impl Guest for HaverhillRouter {
        fn route(request: ServiceRequest) -> Result<Decision, RouteError> {
            let input = rules::Request {
                attributes: request
                    .attributes
                    .into_iter()
                    .filter_map(|answer| Some((answer.code, answer.values.into_iter().next()?)))
                    .collect(),
                point: request.location.map(|location| (location.lat, location.long)),
                month: request.received_local.month,
                after_hours: request.after_hours,
                departments: request
                    .departments
                    .into_iter()
                    .map(|department| department.code)
                    .collect(),
                settings: request
                    .settings
                    .into_iter()
                    .map(|setting| (setting.key, setting.value))
                    .collect(),
                service_code: request.service_code,
                service_group: request.service_group,
                default_department: request.default_department,
            };

            let decision = rules::route_request(&input).map_err(|error| match error {
                rules::RuleError::InvalidSetting(message) => RouteError::InvalidInput(message),
                rules::RuleError::NoDepartment(message) => RouteError::NoRule(message),
            })?;

            Ok(Decision {
                department: decision.department,
                priority: match decision.priority {
                    rules::Priority::Low => Priority::Low,
                    rules::Priority::Normal => Priority::Normal,
                    rules::Priority::High => Priority::High,
                    rules::Priority::Urgent => Priority::Urgent,
                },
                queue: decision.queue,
                assignee: None,
                sla_override: None,
                reason: Some(decision.reason),
            })
        }
    }

    civic311_plugin_sdk::export_router!(HaverhillRouter);
}
