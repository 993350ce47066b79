use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use civic311_domain::plugin::{Capability, Grants, Hook, LimitOverrides};
use civic311_domain::routing::AttributeValue;
use civic311_domain::{Channel, Priority, SubStatus};
use civic311_store::test_support::{sample_manifest, TestDatabase};
use civic311_store::{
    AuditAction, AuditNote, Contact, HistoryKind, NewHistoryEvent, NewInstall, NewPluginVersion, NewServiceRequest, PluginInstall,
    PluginVersion, Store, TenantId, TenantStore, Visibility,
};

/// A fresh database with one tenant applied from the sample manifest.
pub struct Fixture {
    /// Dropped last, after the store's connections.
    pub _database: TestDatabase,
    pub store: Store,
    pub tenant: TenantStore,
}

pub async fn fixture() -> Fixture {
    let database = TestDatabase::create().await;
    let store = database.store().await;
    let tenant = add_tenant(&store, "haverhill", "haverhillma.gov").await;
    Fixture { _database: database, store, tenant }
}

pub async fn add_tenant(store: &Store, slug: &str, jurisdiction_id: &str) -> TenantStore {
    let (record, _) = store
        .apply_tenant(&sample_manifest(slug, jurisdiction_id))
        .await
        .expect("apply sample manifest");
    store.scoped(record.id)
}

/// Parses an RFC 3339 instant such as `2024-03-01T10:00:00Z`.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("bad instant {text}: {error}"))
        .with_timezone(&Utc)
}

/// Builds a submitted request of `service_code` at a point in Haverhill, received at `requested_at`.
pub fn new_request(service_code: &str, requested_at: &str) -> NewServiceRequest {
    let requested_at = at(requested_at);
    NewServiceRequest {
        service_code: service_code.to_string(),
        service_name: format!("{service_code} name"),
        description: "Deep hole near the crosswalk".to_string(),
        lat: Some(42.7762),
        long: Some(-71.0773),
        address: Some("4 Summer St".to_string()),
        address_id: None,
        zipcode: Some("01830".to_string()),
        media_url: None,
        attributes: vec![AttributeValue { code: "depth".into(), values: vec!["deep".into()] }],
        contact: Contact {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            email: Some("ada@example.org".into()),
            phone: Some("+19785550100".into()),
            device_id: None,
            account_id: None,
        },
        channel: Channel::Web,
        sub_status: SubStatus::Submitted,
        department: "dpw".to_string(),
        priority: Priority::Normal,
        queue: None,
        assignee: None,
        requested_at,
        updated_at: requested_at,
        expected_at: None,
        closed_at: None,
        status_notes: None,
        with_token: false,
        source_id: None,
        public_id: None,
        call_id: None,
        idempotency_key: None,
        idempotency_client: None,
        payload_fingerprint: None,
        photos: Vec::new(),
        history: vec![created_event(requested_at)],
        integration_installs: Vec::new(),
    }
}

pub fn created_event(at: DateTime<Utc>) -> NewHistoryEvent {
    NewHistoryEvent {
        at,
        kind: HistoryKind::Created,
        visibility: Visibility::Public,
        summary: "Request received".into(),
        detail: serde_json::json!({}),
        actor: None,
    }
}

/// Inserts `new` and returns its public id.
pub async fn create(tenant: &TenantStore, new: NewServiceRequest) -> String {
    tenant.create_request(new).await.expect("create request").id
}

/// Builds an upload of plugin `name` whose bytes are `bytes`; the store
/// keeps bytes as given, so tests need no real component here.
pub fn new_version(name: &str, hook: Hook, bytes: &[u8]) -> NewPluginVersion {
    NewPluginVersion {
        name: name.to_string(),
        hook,
        world: match hook {
            Hook::Router => "router".to_string(),
            Hook::Integration => "integration".to_string(),
        },
        digest: hex_digest(bytes),
        capabilities: vec![Capability::Logs],
        wasm: bytes.to_vec(),
        description: format!("{name} test build"),
        uploaded_by: "admin@example.org".to_string(),
        uploaded_at: at("2026-12-01T10:00:00Z"),
    }
}

/// Returns the SHA-256 of `bytes` as lowercase hex, as the plugin host computes digests.
pub fn hex_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Builds an install of plugin `name` on `hook` with nothing granted.
pub fn new_install(name: &str, hook: Hook, owner: Option<TenantId>) -> NewInstall {
    NewInstall {
        hook,
        plugin_name: name.to_string(),
        plugin_owner: owner,
        config: BTreeMap::new(),
        grants: Grants::default(),
        limits: LimitOverrides::default(),
    }
}

/// Uploads one private version of `name` for the tenant and installs it, without activating it.
pub async fn installed(tenant: &TenantStore, name: &str, hook: Hook) -> (PluginVersion, PluginInstall) {
    let (version, _) = tenant
        .insert_plugin_version(new_version(name, hook, name.as_bytes()))
        .await
        .expect("upload version");
    let install = tenant
        .create_install(new_install(name, hook, Some(tenant.tenant_id())), at("2026-12-01T10:05:00Z"))
        .await
        .expect("create install");
    (version, install)
}

/// Builds an audit note by `admin@example.org` at `2026-12-01T11:00:00Z`.
pub fn note(action: AuditAction) -> AuditNote {
    AuditNote {
        actor: "admin@example.org".to_string(),
        action,
        detail: None,
        at: at("2026-12-01T11:00:00Z"),
    }
}
