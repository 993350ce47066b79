//! Plain data types that cross the store's boundary. The sea-orm entities
//! stay private to this crate, so callers cannot build an unscoped query.

use chrono::{DateTime, Utc};
use civic311_domain::routing::AttributeValue;
use civic311_domain::{Channel, Priority, Status, SubStatus};
use serde::{Deserialize, Serialize};

/// Database id of a tenant. Every tenant-owned row carries one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TenantId(pub i64);

/// A tenant as stored, with the manifest it was last applied from.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantRecord {
    pub id: TenantId,
    pub slug: String,
    pub jurisdiction_id: String,
    /// The validated manifest, serialized as JSON.
    pub manifest: civic311_domain::manifest::TenantManifest,
    pub updated_at: DateTime<Utc>,
}

/// Whether `Store::apply_tenant` created the tenant, changed it, or found it unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    Created,
    Updated,
    Unchanged,
}

/// An Open311 API key without its secret; only the SHA-256 hash is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    /// The APIs this key may call.
    pub scope: ApiKeyScope,
    pub created_at: DateTime<Utc>,
}

/// The APIs an API key opens. Each scope includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Submits Open311 service requests (`POST requests.json`) and nothing
    /// else, for keys embedded in public web portals and mobile apps.
    Open311,
    /// Also opens the staff API under `/api/v1`, the telephony staff routes
    /// and call metrics, which show contact details and change requests.
    Staff,
    /// Also opens the tenant's plugin administration API, which uploads,
    /// activates and configures the tenant's plugins.
    Admin,
}

impl ApiKeyScope {
    /// Every scope, from least to most privilege.
    pub const ALL: [ApiKeyScope; 3] = [ApiKeyScope::Open311, ApiKeyScope::Staff, ApiKeyScope::Admin];

    /// Returns the name stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyScope::Open311 => "open311",
            ApiKeyScope::Staff => "staff",
            ApiKeyScope::Admin => "admin",
        }
    }

    /// Returns the scope named `text`, or `None` for an unknown name.
    pub fn parse(text: &str) -> Option<ApiKeyScope> {
        ApiKeyScope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    /// Returns whether a key of this scope may call an API that needs `required`.
    pub fn allows(self, required: ApiKeyScope) -> bool {
        self >= required
    }
}

impl std::fmt::Display for ApiKeyScope {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The constituent's private contact details. Never shown in public APIs or logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// Normalized to E.164 where possible, so caller history can find it.
    pub phone: Option<String>,
    pub device_id: Option<String>,
    pub account_id: Option<String>,
}

/// A service request to be inserted. The store assigns the public id.
#[derive(Clone, Debug, PartialEq)]
pub struct NewServiceRequest {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub media_url: Option<String>,
    pub attributes: Vec<AttributeValue>,
    pub contact: Contact,
    pub channel: Channel,
    pub sub_status: SubStatus,
    pub department: String,
    pub priority: Priority,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expected_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub status_notes: Option<String>,
    /// Issue a lookup token instead of returning the id (Open311 `batch` services).
    pub with_token: bool,
    /// Id in the system the request was imported from; unique per tenant.
    pub source_id: Option<String>,
    /// Public id to keep, for imported requests; `None` takes the tenant's next number.
    pub public_id: Option<String>,
    /// Telephony call during which a call taker created the request.
    pub call_id: Option<String>,
    /// Client-chosen key that makes a retried POST return the first result.
    pub idempotency_key: Option<String>,
    /// Client that sent `idempotency_key`, such as `api_key:12`. The same key
    /// from another client belongs to another request; `None` is one unnamed client.
    pub idempotency_client: Option<String>,
    /// Digest of the submitted payload. A retry whose key and client match a
    /// stored request but whose fingerprint differs fails with
    /// [`StoreError::IdempotencyKeyReused`](crate::StoreError::IdempotencyKeyReused).
    pub payload_fingerprint: Option<String>,
    /// Uploaded photos, stored in the same transaction as the request.
    pub photos: Vec<NewPhoto>,
    /// History written in the same transaction as the request.
    pub history: Vec<NewHistoryEvent>,
    /// Integration installs that owe this request a sync: the store enqueues
    /// one pending outbox job per install in the request's transaction.
    pub integration_installs: Vec<crate::InstallId>,
}

/// A photo uploaded with a request (Open311 core has only `media_url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPhoto {
    pub content_type: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// A stored photo; `index` counts from 1 within its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Photo {
    pub request_id: String,
    pub index: u32,
    pub content_type: String,
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// A stored service request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceRequest {
    pub tenant_id: TenantId,
    /// The Open311 `service_request_id`.
    pub id: String,
    pub token: Option<String>,
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub media_url: Option<String>,
    pub attributes: Vec<AttributeValue>,
    pub contact: Contact,
    pub channel: Channel,
    pub status: Status,
    pub sub_status: SubStatus,
    pub department: String,
    pub priority: Priority,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expected_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub status_notes: Option<String>,
    pub source_id: Option<String>,
    pub call_id: Option<String>,
    pub parent_request_id: Option<String>,
    /// Number of stored photos; fetch each with `TenantStore::photo`.
    pub photo_count: u32,
}

/// Kinds of entries in a request's history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Created,
    Routed,
    /// The routing plugin failed and the service's default department took the request.
    RoutingFailed,
    /// The routing plugin's circuit breaker is open, so the plugin was not
    /// called and the service's default department took the request.
    RoutingSkipped,
    StatusChanged,
    Note,
    Imported,
    CallLinked,
    /// An integration plugin created or found a record, such as a work order, in a back end.
    IntegrationSynced,
    /// An integration plugin rejected the request, or failed on every retry.
    IntegrationFailed,
}

impl HistoryKind {
    pub const ALL: [HistoryKind; 10] = [
        HistoryKind::Created,
        HistoryKind::Routed,
        HistoryKind::RoutingFailed,
        HistoryKind::RoutingSkipped,
        HistoryKind::StatusChanged,
        HistoryKind::Note,
        HistoryKind::Imported,
        HistoryKind::CallLinked,
        HistoryKind::IntegrationSynced,
        HistoryKind::IntegrationFailed,
    ];

    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryKind::Created => "created",
            HistoryKind::Routed => "routed",
            HistoryKind::RoutingFailed => "routing_failed",
            HistoryKind::RoutingSkipped => "routing_skipped",
            HistoryKind::StatusChanged => "status_changed",
            HistoryKind::Note => "note",
            HistoryKind::Imported => "imported",
            HistoryKind::CallLinked => "call_linked",
            HistoryKind::IntegrationSynced => "integration_synced",
            HistoryKind::IntegrationFailed => "integration_failed",
        }
    }
}

/// Audience of a history entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Shown to the constituent and in Open311 `notes`.
    Public,
    /// Staff only.
    Internal,
}

impl Visibility {
    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Internal => "internal",
        }
    }
}

/// A history entry to append. History is append-only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewHistoryEvent {
    pub at: DateTime<Utc>,
    pub kind: HistoryKind,
    pub visibility: Visibility,
    /// One line for lists and Open311 `notes[].summary`.
    pub summary: String,
    /// Machine-readable details, such as the plugin id and error of a routing failure.
    pub detail: serde_json::Value,
    /// Staff member, plugin or system component that caused the entry.
    pub actor: Option<String>,
}

/// A stored history entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: i64,
    pub request_id: String,
    pub at: DateTime<Utc>,
    pub kind: HistoryKind,
    pub visibility: Visibility,
    pub summary: String,
    pub detail: serde_json::Value,
    pub actor: Option<String>,
}

/// Filters of a request search; every filter is ANDed, lists inside one filter are ORed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestQuery {
    /// When not empty, every other filter is ignored (Open311 rule).
    pub ids: Vec<String>,
    pub service_codes: Vec<String>,
    pub statuses: Vec<Status>,
    /// Earliest `requested_at` to include (inclusive).
    pub requested_from: Option<DateTime<Utc>>,
    /// Latest `requested_at` to include (inclusive).
    pub requested_to: Option<DateTime<Utc>>,
    /// Keeps requests with `updated_at` strictly after this instant.
    pub updated_after: Option<DateTime<Utc>>,
    /// Keeps requests with `updated_at` strictly before this instant.
    pub updated_before: Option<DateTime<Utc>>,
    /// `(min_long, min_lat, max_long, max_lat)`.
    pub bbox: Option<(f64, f64, f64, f64)>,
    /// Case-insensitive text searched in description and address.
    pub text: Option<String>,
    pub departments: Vec<String>,
    pub channels: Vec<Channel>,
    /// E.164 phone of the requester, for caller history.
    pub contact_phone: Option<String>,
    /// 1-based page number; 0 reads as 1.
    pub page: u64,
    /// Requests per page; 0 reads as [`DEFAULT_PAGE_SIZE`].
    pub page_size: u64,
}

/// Page size of a [`RequestQuery`] that leaves `page_size` at 0.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// One page of results, newest `requested_at` first with the id as tie-breaker.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
}

/// Result of importing one historical request.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportOutcome {
    Inserted(ServiceRequest),
    /// A request with the same source id already exists; nothing changed.
    AlreadyPresent(ServiceRequest),
}

/// Volume and speed figures over a date range, for the city's analytics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestStats {
    pub total: u64,
    pub by_service: Vec<ServiceStats>,
    pub by_department: Vec<CountShare>,
    pub by_channel: Vec<CountShare>,
}

/// Counts and time to close of one service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceStats {
    pub service_code: String,
    pub service_name: String,
    pub count: u64,
    pub closed: u64,
    /// Median hours from `requested_at` to `closed_at` over closed requests.
    pub median_hours_to_close: Option<f64>,
    pub mean_hours_to_close: Option<f64>,
}

/// A count and its share of the total, in percent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CountShare {
    pub key: String,
    pub count: u64,
    pub percent: f64,
}
