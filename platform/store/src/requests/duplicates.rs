//! Duplicate detection and closing requests as duplicates.

use chrono::{DateTime, Utc};
use civic311_domain::{Status, SubStatus};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter};
use serde_json::json;

use super::history::{closed_at_after_change, insert_history};
use super::{decode_request, require_request, tenant_requests, update_request};
use crate::entity::service_request::{self, Column};
use crate::sql::{begin_write, stored_instant};
use crate::{HistoryKind, NewHistoryEvent, ServiceRequest, StoreError, TenantId, TenantStore, Visibility};

/// Mean Earth radius in meters (IUGG), used by the haversine distance.
const EARTH_RADIUS_METERS: f64 = 6_371_008.8;

/// Meters per degree of latitude (111 195 m on that sphere), rounded down
/// so the SQL box is a little larger than the circle and never cuts off a
/// point that the haversine distance keeps.
const METERS_PER_DEGREE_LATITUDE: f64 = 111_000.0;

impl TenantStore {
    /// Closes `request_id` as a duplicate of `parent_id`: sets the parent link and
    /// `closed_duplicate`, and appends history to both requests. Both must exist
    /// and belong to this tenant, and a request cannot be its own parent.
    ///
    /// A parent that is itself closed as a duplicate is rejected, and the
    /// error names that parent's parent, which is the request to use instead.
    /// Requests that pointed to `request_id` as their parent move to
    /// `parent_id`, each with an internal note, so this method never builds
    /// a chain of duplicates.
    pub async fn mark_duplicate(
        &self,
        request_id: &str,
        parent_id: &str,
        actor: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<ServiceRequest, StoreError> {
        if request_id == parent_id {
            return Err(StoreError::Invalid(format!(
                "request '{request_id}' cannot be a duplicate of itself; give the id of the other request"
            )));
        }

        let at = stored_instant(at);
        let txn = begin_write(&self.db).await?;
        let request = require_request(&txn, self.tenant, request_id).await?;
        let parent = require_request(&txn, self.tenant, parent_id).await?;
        reject_duplicate_parent(&parent, request_id)?;

        let previous = request.sub_status.clone();
        let mut active: service_request::ActiveModel = request.clone().into();
        active.parent_request_id = Set(Some(parent_id.to_string()));
        active.sub_status = Set(SubStatus::ClosedDuplicate.as_str().to_string());
        active.status = Set(Status::Closed.as_str().to_string());
        active.closed_at = Set(closed_at_after_change(request.closed_at, SubStatus::ClosedDuplicate, at));
        active.updated_at = Set(at.max(request.updated_at));
        let updated = update_request(&txn, self.tenant, active).await?;

        let closed_event = NewHistoryEvent {
            at,
            kind: HistoryKind::StatusChanged,
            visibility: Visibility::Public,
            summary: format!("Closed as a duplicate of request {parent_id}"),
            detail: json!({ "from": previous, "to": SubStatus::ClosedDuplicate.as_str(), "parent_request_id": parent_id }),
            actor: actor.clone(),
        };
        let parent_event = NewHistoryEvent {
            at,
            kind: HistoryKind::Note,
            visibility: Visibility::Internal,
            summary: format!("Request {request_id} was closed as a duplicate of this request"),
            detail: json!({ "duplicate_request_id": request_id }),
            actor: actor.clone(),
        };
        insert_history(&txn, self.tenant, request.id, &closed_event).await?;
        insert_history(&txn, self.tenant, parent.id, &parent_event).await?;
        move_duplicates(&txn, self.tenant, request_id, parent_id, &actor, at).await?;
        txn.commit().await?;

        tracing::info!(tenant.id = self.tenant.0, request.id = %request_id, parent.id = %parent_id, "request closed as duplicate");
        decode_request(updated)
    }

    /// Lists open requests of the same service within `radius_meters` of the
    /// request's point, nearest first, excluding the request itself.
    ///
    /// A request without coordinates has no candidates. The database
    /// prefilters with a latitude/longitude box around the point, and the
    /// haversine distance decides.
    pub async fn duplicate_candidates(&self, request_id: &str, radius_meters: f64) -> Result<Vec<ServiceRequest>, StoreError> {
        let request = require_request(&self.db, self.tenant, request_id).await?;
        let (Some(lat), Some(long)) = (request.lat, request.long) else {
            return Ok(Vec::new());
        };
        let radius_meters = radius_meters.max(0.0);

        let (lat_delta, long_delta) = box_half_size(lat, radius_meters);
        let rows = tenant_requests(self.tenant)
            .filter(Column::ServiceCode.eq(&request.service_code))
            .filter(Column::Status.eq(Status::Open.as_str()))
            .filter(Column::Id.ne(request.id))
            .filter(Column::Lat.between(lat - lat_delta, lat + lat_delta))
            .filter(Column::Long.between(long - long_delta, long + long_delta))
            .all(&self.db)
            .await?;

        let mut nearby: Vec<(f64, service_request::Model)> = rows
            .into_iter()
            .filter_map(|row| {
                let distance = haversine_meters(lat, long, row.lat?, row.long?);
                (distance <= radius_meters).then_some((distance, row))
            })
            .collect();
        nearby.sort_by(|(a, row_a), (b, row_b)| a.total_cmp(b).then_with(|| row_a.public_id.cmp(&row_b.public_id)));

        nearby.into_iter().map(|(_, row)| decode_request(row)).collect()
    }
}

/// Rejects a parent that is itself closed as a duplicate.
fn reject_duplicate_parent(parent: &service_request::Model, request_id: &str) -> Result<(), StoreError> {
    if parent.sub_status != SubStatus::ClosedDuplicate.as_str() {
        return Ok(());
    }

    let grandparent = parent.parent_request_id.as_deref().unwrap_or("unknown");
    Err(StoreError::Invalid(format!(
        "request '{}' is itself closed as a duplicate of '{grandparent}'; \
         mark '{request_id}' as a duplicate of '{grandparent}' instead",
        parent.public_id
    )))
}

/// Points the duplicates of `from_id` to `to_id`, with an internal note on each.
async fn move_duplicates(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    from_id: &str,
    to_id: &str,
    actor: &Option<String>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let duplicates = tenant_requests(tenant)
        .filter(Column::ParentRequestId.eq(from_id))
        .all(txn)
        .await?;

    for duplicate in duplicates {
        let row_id = duplicate.id;
        let mut active: service_request::ActiveModel = duplicate.into();
        active.parent_request_id = Set(Some(to_id.to_string()));
        update_request(txn, tenant, active).await?;

        let event = NewHistoryEvent {
            at,
            kind: HistoryKind::Note,
            visibility: Visibility::Internal,
            summary: format!("Parent request changed from {from_id} to {to_id}, because {from_id} was closed as a duplicate of {to_id}"),
            detail: json!({ "from_parent_request_id": from_id, "parent_request_id": to_id }),
            actor: actor.clone(),
        };
        insert_history(txn, tenant, row_id, &event).await?;
    }
    Ok(())
}

/// Returns the half height and half width, in degrees, of a box that contains
/// every point within `radius_meters` of latitude `lat`. Near the poles the
/// box spans every longitude.
///
/// NOTE: the box does not wrap at ±180° longitude, so a point across the
/// antimeridian from the request is never a candidate.
fn box_half_size(lat: f64, radius_meters: f64) -> (f64, f64) {
    let lat_delta = radius_meters / METERS_PER_DEGREE_LATITUDE;
    let cos_lat = lat.to_radians().cos();

    let long_delta = if cos_lat < 1e-6 {
        360.0
    } else {
        (lat_delta / cos_lat).min(360.0)
    };
    (lat_delta, long_delta)
}

/// Great-circle distance in meters between two WGS84 points on a sphere.
fn haversine_meters(lat1: f64, long1: f64, lat2: f64, long2: f64) -> f64 {
    let d_lat = (lat2 - lat1).to_radians();
    let d_long = (long2 - long1).to_radians();
    let a = (d_lat / 2.0).sin().powi(2) + lat1.to_radians().cos() * lat2.to_radians().cos() * (d_long / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_METERS * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_of_one_degree_latitude() {
        let distance = haversine_meters(42.0, -71.0, 43.0, -71.0);
        assert!((distance - 111_195.0).abs() < 10.0, "got {distance}");
    }

    #[test]
    fn box_holds_points_at_radius() {
        let (lat_delta, long_delta) = box_half_size(42.77, 500.0);
        let east = haversine_meters(42.77, -71.07, 42.77, -71.07 + long_delta);
        let north = haversine_meters(42.77, -71.07, 42.77 + lat_delta, -71.07);
        assert!(east >= 500.0, "east edge at {east} m");
        assert!(north >= 500.0, "north edge at {north} m");
    }
}
