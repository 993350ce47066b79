//! Domain model shared by every Civic311 crate: tenants and their manifests,
//! services, service requests, channels, statuses and SLA due times.
//!
//! Nothing here touches storage, HTTP or wasmtime, so the model builds fast
//! and each outer crate depends on one vocabulary.

pub mod channel;
pub mod locale;
pub mod manifest;
pub mod plugin;
pub mod priority;
pub mod routing;
pub mod sla;
pub mod status;

pub use channel::Channel;
pub use locale::{Locale, LocalizedText};
pub use priority::Priority;
pub use status::{Status, SubStatus};
