//! Private sea-orm entities, one file per table. They stay inside the crate
//! so that only [`crate::TenantStore`] builds queries on tenant-owned tables.

pub(crate) mod api_key;
pub(crate) mod request_counter;
pub(crate) mod request_history;
pub(crate) mod request_photo;
pub(crate) mod service_request;
pub(crate) mod tenant;
