//! Tests of the store against a real database: a new SQLite file per test,
//! or a new PostgreSQL database per test when `TEST_DATABASE_URL` is set.

mod api_keys;
mod boston_sample;
mod common;
mod create;
mod duplicates;
mod history;
mod isolation;
mod platform_metadata;
mod plugin_installs;
mod plugin_isolation;
mod plugin_jobs;
mod plugin_records;
mod plugin_versions;
mod query;
mod stats;
mod tenants;
