use sea_orm::entity::prelude::*;

/// A service request. `id` is the internal key that photos and history
/// point to; `public_id` is the Open311 `service_request_id`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "service_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub public_id: String,
    pub token: Option<String>,
    pub service_code: String,
    pub service_name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub media_url: Option<String>,
    /// `Vec<AttributeValue>` as JSON.
    #[sea_orm(column_type = "Text")]
    pub attributes_json: String,
    pub contact_first_name: Option<String>,
    pub contact_last_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub contact_device_id: Option<String>,
    pub contact_account_id: Option<String>,
    pub channel: String,
    /// `open` or `closed`, derived from `sub_status` and stored for filtering.
    pub status: String,
    pub sub_status: String,
    pub department: String,
    pub priority: String,
    pub queue: Option<String>,
    pub assignee: Option<String>,
    pub requested_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub expected_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub status_notes: Option<String>,
    pub source_id: Option<String>,
    pub call_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// Client that sent `idempotency_key`; the empty string for an unnamed client.
    pub idempotency_client: Option<String>,
    /// SHA-256 of the normalized payload that came with `idempotency_key`.
    pub payload_fingerprint: Option<String>,
    /// Public id of the request this one duplicates.
    pub parent_request_id: Option<String>,
    pub photo_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
