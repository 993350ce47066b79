//! The tenants the server knows, with what each request needs at hand:
//! manifest, business calendar and loaded router plugin.

/// In-memory view of every applied tenant, looked up by slug or jurisdiction id.
pub struct TenantRegistry {}
