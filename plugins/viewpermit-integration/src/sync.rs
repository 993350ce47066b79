//! One sync of a routed service request to ViewPermit. The sync gets a
//! bearer token, cached in the install's key-value store, and looks the
//! inspection request up by source id. It creates the inspection request
//! only when it is missing, so a retried call never files a second one.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use civic311_plugin_sdk::integration::logging::{log_not_selected, log_outcome};

use crate::api;
use crate::config::{self, InspectionPlan};
use crate::model::{Capabilities, HttpRequest, HttpResponse, LogLevel, RoutedRequest, SyncFailure, SyncedRecord};

/// Key-value key of the cached token. The value is the client id, a line
/// feed and the token, so that a token of another client id is not reused.
pub const TOKEN_KEY: &str = "oauth-token";

/// Syncs `request`: returns the inspection request created or found, or an
/// empty list when the install does not sync this request.
pub fn sync_request(request: &RoutedRequest, capabilities: &impl Capabilities) -> Result<Vec<SyncedRecord>, SyncFailure> {
    let Some(plan) = config::plan(request)? else {
        log_not_selected(request, capabilities);
        return Ok(Vec::new());
    };

    let Some(client_secret) = capabilities.secret(&plan.client_secret_name) else {
        let message = format!("the install has no secret {}; set it to the ViewPermit client secret", plan.client_secret_name);
        capabilities.log(LogLevel::Error, &message);
        return Err(SyncFailure::Retry(message));
    };

    let mut session = Session { plan: &plan, client_secret, capabilities, token: None, renewed: false };
    let result = session.find_or_create();
    log_outcome(request, &result, "ViewPermit inspection request", capabilities);
    result.map(|record| vec![record])
}

/// The calls of one sync, with the bearer token they share.
struct Session<'a, C: Capabilities> {
    plan: &'a InspectionPlan,
    client_secret: String,
    capabilities: &'a C,
    token: Option<String>,
    /// Whether this sync already renewed a token after a 401.
    renewed: bool,
}

impl<C: Capabilities> Session<'_, C> {
    fn find_or_create(&mut self) -> Result<SyncedRecord, SyncFailure> {
        let plan = self.plan;
        let source_id = &plan.inspection.source_system_id;

        let response = self.call_api(|token| api::lookup_request(&plan.base_url, token, source_id), "looking up the inspection request")?;
        if let Some(found) = api::read_lookup(&response)? {
            return Ok(found);
        }

        let response = self.call_api(|token| api::create_request(&plan.base_url, token, &plan.inspection), "creating the inspection request")?;
        api::read_create(&response)
    }

    /// Sends the request that `build` makes with the current token. On a
    /// 401, renews the token once per sync and sends it again.
    fn call_api(&mut self, build: impl Fn(&str) -> HttpRequest, action: &str) -> Result<HttpResponse, SyncFailure> {
        let token = self.token()?;
        let response = self.send(&build(&token), action)?;
        if response.status != 401 || self.renewed {
            return Ok(response);
        }

        self.capabilities.log(LogLevel::Info, "ViewPermit refused the access token (401); requesting a new one");
        self.renewed = true;
        if let Err(error) = self.capabilities.kv_delete(TOKEN_KEY) {
            self.capabilities.log(LogLevel::Warn, &format!("cannot delete the cached ViewPermit token: {error}"));
        }
        let token = self.authenticate()?;
        self.send(&build(&token), action)
    }

    /// Returns the token of this sync, else the cached one, else a new one.
    fn token(&mut self) -> Result<String, SyncFailure> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        if let Some(cached) = self.cached_token() {
            self.token = Some(cached.clone());
            return Ok(cached);
        }
        self.authenticate()
    }

    fn cached_token(&self) -> Option<String> {
        let value = match self.capabilities.kv_get(TOKEN_KEY) {
            Ok(value) => value?,
            Err(error) => {
                self.capabilities.log(LogLevel::Warn, &format!("cannot read the cached ViewPermit token: {error}"));
                return None;
            }
        };
        let text = String::from_utf8(value).ok()?;
        let (client_id, token) = text.split_once('\n')?;
        (client_id == self.plan.client_id && !token.is_empty()).then(|| token.to_string())
    }

    /// Requests a token with the client credentials and caches it.
    fn authenticate(&mut self) -> Result<String, SyncFailure> {
        let request = api::token_request(&self.plan.token_url, &self.plan.client_id, &self.client_secret);
        let response = self.send(&request, "requesting an access token")?;
        let token = api::read_token(&response)?;

        let cached = format!("{}\n{token}", self.plan.client_id);
        if let Err(error) = self.capabilities.kv_set(TOKEN_KEY, cached.as_bytes()) {
            self.capabilities.log(LogLevel::Warn, &format!("cannot cache the ViewPermit token: {error}"));
        }
        self.capabilities.log(LogLevel::Info, "obtained a new ViewPermit access token");
        self.token = Some(token.clone());
        Ok(token)
    }

    fn send(&self, request: &HttpRequest, action: &str) -> Result<HttpResponse, SyncFailure> {
        self.capabilities
            .send(request)
            .map_err(|error| api::transport_failure(action, error))
    }
}
