//! The integration outbox: each new service request gets one job per active
//! integration install, written in the request's own transaction, and a
//! worker on every node claims due jobs, calls the install's plugin and
//! stores what it synced.

mod history;
mod request;
mod worker;

pub use request::integration_request;
pub use worker::{IntegrationWorker, WorkerConfig};
