//! Service requests of one tenant: creation, queries, history, photos,
//! duplicates and statistics. Every query starts from [`tenant_requests`]
//! or filters the child tables on `tenant_id` itself.

mod create;
mod duplicates;
mod history;
mod photos;
mod query;
mod stats;

use std::str::FromStr;

use civic311_domain::routing::AttributeValue;
use civic311_domain::{Priority, Status, SubStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};

use crate::entity::service_request;
use crate::{Contact, ServiceRequest, StoreError, TenantId};

/// Entity name used in `NotFound` and `Conflict` errors.
pub(crate) const SERVICE_REQUEST: &str = "service request";

/// Starts a query on the tenant's service requests.
fn tenant_requests(tenant: TenantId) -> Select<service_request::Entity> {
    service_request::Entity::find().filter(service_request::Column::TenantId.eq(tenant.0))
}

/// Loads the tenant's request with the public id, or fails with `NotFound`.
async fn require_request<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    public_id: &str,
) -> Result<service_request::Model, StoreError> {
    tenant_requests(tenant)
        .filter(service_request::Column::PublicId.eq(public_id))
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: SERVICE_REQUEST,
            id: public_id.to_string(),
        })
}

/// Writes the changed columns of a request row, filtered on the tenant too.
async fn update_request<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    active: service_request::ActiveModel,
) -> Result<service_request::Model, StoreError> {
    let updated = service_request::Entity::update(active)
        .validate()?
        .filter(service_request::Column::TenantId.eq(tenant.0))
        .exec(conn)
        .await?;
    Ok(updated)
}

/// Converts a stored row into the public type, parsing its enum columns.
fn decode_request(row: service_request::Model) -> Result<ServiceRequest, StoreError> {
    let attributes: Vec<AttributeValue> = serde_json::from_str(&row.attributes_json).map_err(|error| corrupt(&row, "attributes", error))?;

    Ok(ServiceRequest {
        tenant_id: TenantId(row.tenant_id),
        channel: parse_column(&row, "channel", &row.channel)?,
        status: parse_column::<Status>(&row, "status", &row.status)?,
        sub_status: parse_column::<SubStatus>(&row, "sub_status", &row.sub_status)?,
        priority: parse_column::<Priority>(&row, "priority", &row.priority)?,
        photo_count: u32::try_from(row.photo_count).unwrap_or_default(),
        attributes,
        contact: Contact {
            first_name: row.contact_first_name,
            last_name: row.contact_last_name,
            email: row.contact_email,
            phone: row.contact_phone,
            device_id: row.contact_device_id,
            account_id: row.contact_account_id,
        },
        id: row.public_id,
        token: row.token,
        service_code: row.service_code,
        service_name: row.service_name,
        description: row.description,
        lat: row.lat,
        long: row.long,
        address: row.address,
        address_id: row.address_id,
        zipcode: row.zipcode,
        media_url: row.media_url,
        department: row.department,
        queue: row.queue,
        assignee: row.assignee,
        requested_at: row.requested_at,
        updated_at: row.updated_at,
        expected_at: row.expected_at,
        closed_at: row.closed_at,
        status_notes: row.status_notes,
        source_id: row.source_id,
        call_id: row.call_id,
        parent_request_id: row.parent_request_id,
    })
}

fn parse_column<T>(row: &service_request::Model, column: &str, value: &str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|error| corrupt(row, column, error))
}

fn corrupt(row: &service_request::Model, column: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        what: "service request",
        message: format!("request '{}' of tenant {} has an invalid {column}: {error}", row.public_id, row.tenant_id),
    }
}
