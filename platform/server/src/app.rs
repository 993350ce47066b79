//! Shared state of the HTTP server and the router that mounts every API.

use std::sync::Arc;

use civic311_plugin_host::PluginHost;
use civic311_store::Store;

use crate::tenants::TenantRegistry;

/// State every handler receives.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub tenants: Arc<TenantRegistry>,
    pub plugins: Arc<PluginHost>,
}
