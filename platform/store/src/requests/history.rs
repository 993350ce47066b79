//! Request history: reading it, appending to it, and status changes.

use chrono::{DateTime, Utc};
use civic311_domain::SubStatus;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::{decode_request, require_request, update_request};
use crate::entity::{request_history, service_request};
use crate::sql::{begin_write, stored_instant};
use crate::{HistoryEvent, HistoryKind, NewHistoryEvent, ServiceRequest, StoreError, TenantId, TenantStore, Visibility};

impl TenantStore {
    /// Returns the request's history, oldest first. Entries with the same
    /// instant keep the order in which they were written.
    pub async fn history(&self, request_id: &str) -> Result<Vec<HistoryEvent>, StoreError> {
        let request = require_request(&self.db, self.tenant, request_id).await?;

        let rows = request_history::Entity::find()
            .filter(request_history::Column::TenantId.eq(self.tenant.0))
            .filter(request_history::Column::RequestId.eq(request.id))
            .order_by_asc(request_history::Column::At)
            .order_by_asc(request_history::Column::Id)
            .all(&self.db)
            .await?;

        rows.into_iter().map(|row| decode_history(row, request_id)).collect()
    }

    /// Appends an entry to the request's history. The request's `updated_at`
    /// moves forward to the entry's instant when that is later, so Open311
    /// clients that poll by update time see the change.
    pub async fn append_history(&self, request_id: &str, event: NewHistoryEvent) -> Result<HistoryEvent, StoreError> {
        let txn = begin_write(&self.db).await?;
        let request = require_request(&txn, self.tenant, request_id).await?;

        let at = stored_instant(event.at);
        if at > request.updated_at {
            set_updated_at(&txn, self.tenant, request.id, at).await?;
        }

        let row = insert_history(&txn, self.tenant, request.id, &event).await?;
        txn.commit().await?;

        tracing::debug!(tenant.id = self.tenant.0, request.id = %request_id, kind = event.kind.as_str(), "history appended");
        decode_history(row, request_id)
    }

    /// Changes the sub-status, sets `closed_at` when it closes, and appends a
    /// `status_changed` history entry, all in one transaction.
    ///
    /// A request that is already closed keeps its first `closed_at`; one that
    /// reopens loses it. Any sub-status other than `closed_duplicate` clears
    /// the parent link that [`TenantStore::mark_duplicate`] set. `note`, when
    /// given, replaces `status_notes`.
    pub async fn change_status(
        &self,
        request_id: &str,
        sub_status: SubStatus,
        note: Option<String>,
        actor: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<ServiceRequest, StoreError> {
        let at = stored_instant(at);
        let txn = begin_write(&self.db).await?;
        let request = require_request(&txn, self.tenant, request_id).await?;
        let previous = request.sub_status.clone();

        let mut active: service_request::ActiveModel = request.clone().into();
        active.sub_status = Set(sub_status.as_str().to_string());
        active.status = Set(sub_status.status().as_str().to_string());
        active.closed_at = Set(closed_at_after_change(request.closed_at, sub_status, at));
        active.updated_at = Set(at.max(request.updated_at));
        if sub_status != SubStatus::ClosedDuplicate {
            active.parent_request_id = Set(None);
        }
        if let Some(note) = &note {
            active.status_notes = Set(Some(note.clone()));
        }
        let updated = update_request(&txn, self.tenant, active).await?;

        let event = NewHistoryEvent {
            at,
            kind: HistoryKind::StatusChanged,
            visibility: Visibility::Public,
            summary: format!("Status changed from {previous} to {sub_status}"),
            detail: json!({ "from": previous, "to": sub_status.as_str(), "note": note }),
            actor,
        };
        insert_history(&txn, self.tenant, request.id, &event).await?;
        txn.commit().await?;

        tracing::info!(tenant.id = self.tenant.0, request.id = %request_id, from = %previous, to = %sub_status, "status changed");
        decode_request(updated)
    }
}

/// Returns `closed_at` after a change to `sub_status` at `at`.
pub(super) fn closed_at_after_change(
    closed_at: Option<DateTime<Utc>>,
    sub_status: SubStatus,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match sub_status.status() {
        civic311_domain::Status::Open => None,
        civic311_domain::Status::Closed => Some(closed_at.unwrap_or(at)),
    }
}

/// Writes one history row of the request with internal id `request_row_id`.
pub(super) async fn insert_history<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    request_row_id: i64,
    event: &NewHistoryEvent,
) -> Result<request_history::Model, StoreError> {
    let row = request_history::ActiveModel {
        tenant_id: Set(tenant.0),
        request_id: Set(request_row_id),
        at: Set(stored_instant(event.at)),
        kind: Set(event.kind.as_str().to_string()),
        visibility: Set(event.visibility.as_str().to_string()),
        summary: Set(event.summary.clone()),
        detail_json: Set(event.detail.to_string()),
        actor: Set(event.actor.clone()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(row)
}

pub(super) async fn set_updated_at<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    request_row_id: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    service_request::Entity::update_many()
        .col_expr(service_request::Column::UpdatedAt, sea_orm::sea_query::Expr::value(at))
        .filter(service_request::Column::TenantId.eq(tenant.0))
        .filter(service_request::Column::Id.eq(request_row_id))
        .exec(conn)
        .await?;
    Ok(())
}

fn decode_history(row: request_history::Model, request_id: &str) -> Result<HistoryEvent, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        what: "history entry",
        message: format!("entry {} of request '{request_id}': {message}", row.id),
    };

    let kind = HistoryKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == row.kind)
        .ok_or_else(|| corrupt(format!("unknown kind '{}'", row.kind)))?;
    let visibility = match row.visibility.as_str() {
        "public" => Visibility::Public,
        "internal" => Visibility::Internal,
        other => return Err(corrupt(format!("unknown visibility '{other}'"))),
    };
    let detail = serde_json::from_str(&row.detail_json).map_err(|error| corrupt(format!("invalid detail JSON: {error}")))?;

    Ok(HistoryEvent {
        id: row.id,
        request_id: request_id.to_string(),
        at: row.at,
        kind,
        visibility,
        summary: row.summary,
        detail,
        actor: row.actor,
    })
}
