//! The Civic311 hosted core: HTTP API (Open311 GeoReport v2, telephony
//! webhooks), request intake with plugin routing, and the `civic311` command.

pub mod admin;
pub mod app;
pub mod cli;
pub mod error;
pub mod i18n;
pub mod import;
pub mod integrations;
pub mod intake;
pub mod open311;
pub mod platform_config;
pub mod staff;
pub mod telephony;
pub mod tenants;

pub use app::{build_state, serve, AppState};
