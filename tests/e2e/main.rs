//! End-to-end tests. Each module drives the civic311 server or command over
//! real HTTP on loopback, against real SQLite or PostgreSQL, Redis, plugins
//! and the simulators of the external systems. They share one test binary,
//! so the platform is linked once rather than once per module.

mod open311_support;
mod telephony_support;

mod boston_replay;
mod cli;
mod idempotency;
mod import;
mod integration_plugins;
mod integrations;
mod manifests;
mod multi_node;
mod open311;
mod open311_pitfalls;
mod plugin_admin;
mod plugin_cli;
mod plugin_secrets;
mod routing_faults;
mod server;
mod simulators;
mod telephony_scenario;
mod telephony_signatures;
mod telephony_staff;
