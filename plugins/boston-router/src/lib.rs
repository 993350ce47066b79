//! Boston's router plugin. [`rules`] contains the routing rules in plain Rust;
//! on `wasm32` this crate also exports them as a component of the `router`
//! world. The component is `no_std`, so it imports nothing from WASI.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod rules;

#[cfg(target_arch = "wasm32")]
mod component {
    use civic311_plugin_sdk::{Decision, Guest, Priority, RouteError, ServiceRequest};

    use crate::rules;

    civic311_plugin_sdk::no_std_runtime!();

    struct BostonRouter;

    impl Guest for BostonRouter {
        fn route(request: ServiceRequest) -> Result<Decision, RouteError> {
            let attributes = request
                .attributes
                .iter()
                .filter_map(|answer| Some((answer.code.as_str(), answer.values.first()?.as_str())))
                .collect();
            let input = rules::Request {
                service_code: &request.service_code,
                default_department: &request.default_department,
                description: &request.description,
                attributes,
            };

            let decision = rules::route_request(&input);

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

    civic311_plugin_sdk::export_router!(BostonRouter);
}
