//! Telephony queries on [`TenantStore`]. Every query filters on the store's tenant.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
    TryInsertResult,
};

use super::entity::{agent, call, call_event, call_link, location};
use super::{
    Call, CallAgent, CallEvent, CallEventKind, CallLink, CallLocation, CallOutcome, CallSummary,
    LinkRelation, NewCallEvent, RecordOutcome, summarize,
};
use crate::{HistoryKind, NewHistoryEvent, StoreError, TenantStore, Visibility};

impl TenantStore {
    /// Appends an event to its call, creating the call on its first event,
    /// and recomputes the call's summary from all its events in the same
    /// transaction. An event whose dedup key was already recorded changes
    /// nothing and returns [`RecordOutcome::Duplicate`].
    pub async fn record_call_event(&self, event: NewCallEvent) -> Result<RecordOutcome, StoreError> {
        let txn = self.db.begin().await?;
        let tenant_id = self.tenant.0;

        insert_call_if_absent(&txn, tenant_id, &event).await?;
        lock_call(&txn, tenant_id, &event.call_id).await?;

        if !insert_event(&txn, tenant_id, &event).await? {
            txn.rollback().await?;
            let call = self.call(&event.call_id).await?.ok_or_else(|| not_found_call(&event.call_id))?;
            return Ok(RecordOutcome::Duplicate(call));
        }

        let events = load_events(&txn, tenant_id, &event.call_id).await?;
        let summary = summarize(event.provider, &events);
        let row = store_summary(&txn, tenant_id, &event.call_id, &summary).await?;
        txn.commit().await?;

        Ok(RecordOutcome::Recorded(call_from_row(row)?))
    }

    pub async fn call(&self, call_id: &str) -> Result<Option<Call>, StoreError> {
        let row = call::Entity::find()
            .filter(call::Column::TenantId.eq(self.tenant.0))
            .filter(call::Column::CallId.eq(call_id))
            .one(&self.db)
            .await?;

        row.map(call_from_row).transpose()
    }

    /// Returns the call's events in occurrence order, then vendor sequence.
    pub async fn call_events(&self, call_id: &str) -> Result<Vec<CallEvent>, StoreError> {
        let mut events = load_events(&self.db, self.tenant.0, call_id).await?;
        events.sort_by(|a, b| (a.occurred_at, a.sequence, a.id).cmp(&(b.occurred_at, b.sequence, b.id)));
        Ok(events)
    }

    /// Lists calls that started in `[from, to)`, oldest first.
    pub async fn calls_started_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Call>, StoreError> {
        let rows = call::Entity::find()
            .filter(call::Column::TenantId.eq(self.tenant.0))
            .filter(call::Column::StartedAt.gte(from))
            .filter(call::Column::StartedAt.lt(to))
            .order_by_asc(call::Column::StartedAt)
            .order_by_asc(call::Column::Id)
            .all(&self.db)
            .await?;

        rows.into_iter().map(call_from_row).collect()
    }

    /// Lists calls that have not ended and started at or after `since`, oldest first.
    pub async fn live_calls(&self, since: DateTime<Utc>) -> Result<Vec<Call>, StoreError> {
        let rows = call::Entity::find()
            .filter(call::Column::TenantId.eq(self.tenant.0))
            .filter(call::Column::EndedAt.is_null())
            .filter(call::Column::StartedAt.gte(since))
            .order_by_asc(call::Column::StartedAt)
            .all(&self.db)
            .await?;

        rows.into_iter().map(call_from_row).collect()
    }

    /// Links a call to one of the tenant's requests and notes the link in the
    /// request's history. Linking the same pair again changes nothing and
    /// returns the first link.
    pub async fn link_call_request(
        &self,
        call_id: &str,
        request_id: &str,
        relation: LinkRelation,
        actor: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<CallLink, StoreError> {
        self.call(call_id).await?.ok_or_else(|| not_found_call(call_id))?;
        self.request(request_id).await?.ok_or_else(|| StoreError::NotFound {
            entity: "service request",
            id: request_id.to_string(),
        })?;

        if let Some(existing) = self.find_link(call_id, request_id).await? {
            return Ok(existing);
        }

        let link = CallLink {
            call_id: call_id.to_string(),
            request_id: request_id.to_string(),
            relation,
            actor,
            linked_at: at,
        };
        if self.insert_link(&link).await? {
            self.append_history(request_id, link_history(&link)).await?;
        }

        Ok(self.find_link(call_id, request_id).await?.unwrap_or(link))
    }

    /// Lists the requests linked to a call, oldest link first.
    pub async fn call_links(&self, call_id: &str) -> Result<Vec<CallLink>, StoreError> {
        let rows = call_link::Entity::find()
            .filter(call_link::Column::TenantId.eq(self.tenant.0))
            .filter(call_link::Column::CallId.eq(call_id))
            .order_by_asc(call_link::Column::LinkedAt)
            .order_by_asc(call_link::Column::Id)
            .all(&self.db)
            .await?;

        rows.into_iter().map(link_from_row).collect()
    }

    /// Replaces the tenant's answering locations and agents with the given lists.
    pub async fn replace_call_directory(&self, locations: &[CallLocation], agents: &[CallAgent]) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
        let tenant_id = self.tenant.0;

        agent::Entity::delete_many().filter(agent::Column::TenantId.eq(tenant_id)).exec(&txn).await?;
        location::Entity::delete_many().filter(location::Column::TenantId.eq(tenant_id)).exec(&txn).await?;

        for item in locations {
            let row = location::ActiveModel {
                tenant_id: Set(tenant_id),
                code: Set(item.code.clone()),
                name: Set(item.name.clone()),
                ..Default::default()
            };
            location::Entity::insert(row).exec_without_returning(&txn).await?;
        }
        for item in agents {
            let row = agent::ActiveModel {
                tenant_id: Set(tenant_id),
                code: Set(item.code.clone()),
                name: Set(item.name.clone()),
                location_code: Set(item.location.clone()),
                ringcentral_extension: Set(item.ringcentral_extension.clone()),
                ..Default::default()
            };
            agent::Entity::insert(row).exec_without_returning(&txn).await?;
        }

        txn.commit().await?;
        Ok(())
    }

    pub async fn call_locations(&self) -> Result<Vec<CallLocation>, StoreError> {
        let rows = location::Entity::find()
            .filter(location::Column::TenantId.eq(self.tenant.0))
            .order_by_asc(location::Column::Code)
            .all(&self.db)
            .await?;

        Ok(rows.into_iter().map(|row| CallLocation { code: row.code, name: row.name }).collect())
    }

    pub async fn call_agents(&self) -> Result<Vec<CallAgent>, StoreError> {
        let rows = agent::Entity::find()
            .filter(agent::Column::TenantId.eq(self.tenant.0))
            .order_by_asc(agent::Column::Code)
            .all(&self.db)
            .await?;

        let agents = rows.into_iter().map(|row| CallAgent {
            code: row.code,
            name: row.name,
            location: row.location_code,
            ringcentral_extension: row.ringcentral_extension,
        });
        Ok(agents.collect())
    }

    async fn find_link(&self, call_id: &str, request_id: &str) -> Result<Option<CallLink>, StoreError> {
        let row = call_link::Entity::find()
            .filter(call_link::Column::TenantId.eq(self.tenant.0))
            .filter(call_link::Column::CallId.eq(call_id))
            .filter(call_link::Column::RequestId.eq(request_id))
            .one(&self.db)
            .await?;

        row.map(link_from_row).transpose()
    }

    /// Inserts the link and bumps the call's link count; returns `false` when
    /// a concurrent call inserted the same link first.
    async fn insert_link(&self, link: &CallLink) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let row = call_link::ActiveModel {
            tenant_id: Set(self.tenant.0),
            call_id: Set(link.call_id.clone()),
            request_id: Set(link.request_id.clone()),
            relation: Set(link.relation.as_str().to_string()),
            actor: Set(link.actor.clone()),
            linked_at: Set(link.linked_at),
            ..Default::default()
        };
        let result = call_link::Entity::insert(row)
            .on_conflict_do_nothing_on([call_link::Column::TenantId, call_link::Column::CallId, call_link::Column::RequestId])
            .exec_without_returning(&txn)
            .await?;
        if !inserted(result) {
            txn.rollback().await?;
            return Ok(false);
        }

        call::Entity::update_many()
            .col_expr(call::Column::LinkedRequests, Expr::col(call::Column::LinkedRequests).add(1))
            .filter(call::Column::TenantId.eq(self.tenant.0))
            .filter(call::Column::CallId.eq(link.call_id.as_str()))
            .exec(&txn)
            .await?;

        txn.commit().await?;
        Ok(true)
    }
}

fn inserted(result: TryInsertResult<u64>) -> bool {
    matches!(result, TryInsertResult::Inserted(rows) if rows > 0)
}

fn not_found_call(call_id: &str) -> StoreError {
    StoreError::NotFound { entity: "call", id: call_id.to_string() }
}

async fn insert_call_if_absent(db: &impl ConnectionTrait, tenant_id: i64, event: &NewCallEvent) -> Result<(), StoreError> {
    let row = call::ActiveModel {
        tenant_id: Set(tenant_id),
        call_id: Set(event.call_id.clone()),
        provider: Set(event.provider.as_str().to_string()),
        from_number: Set(None),
        started_at: Set(event.occurred_at),
        ended_at: Set(None),
        outcome: Set(CallOutcome::InMenu.as_str().to_string()),
        summary_json: Set("null".to_string()),
        linked_requests: Set(0),
        revision: Set(0),
        ..Default::default()
    };

    call::Entity::insert(row)
        .on_conflict_do_nothing_on([call::Column::TenantId, call::Column::CallId])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Bumps the call's revision, which takes the row lock on PostgreSQL (and the
/// write lock on SQLite) so concurrent events of one call recompute in turn.
async fn lock_call(db: &impl ConnectionTrait, tenant_id: i64, call_id: &str) -> Result<(), StoreError> {
    call::Entity::update_many()
        .col_expr(call::Column::Revision, Expr::col(call::Column::Revision).add(1))
        .filter(call::Column::TenantId.eq(tenant_id))
        .filter(call::Column::CallId.eq(call_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Inserts the event; returns `false` when its dedup key is already stored.
async fn insert_event(db: &impl ConnectionTrait, tenant_id: i64, event: &NewCallEvent) -> Result<bool, StoreError> {
    let detail_json = serde_json::to_string(&event.detail).map_err(|error| StoreError::Corrupt {
        what: "call event detail",
        message: error.to_string(),
    })?;
    let row = call_event::ActiveModel {
        tenant_id: Set(tenant_id),
        call_id: Set(event.call_id.clone()),
        dedup_key: Set(event.dedup_key.clone()),
        kind: Set(event.kind.as_str().to_string()),
        sequence: Set(event.sequence),
        occurred_at: Set(event.occurred_at),
        received_at: Set(Utc::now()),
        detail_json: Set(detail_json),
        ..Default::default()
    };

    let result = call_event::Entity::insert(row)
        .on_conflict_do_nothing_on([call_event::Column::TenantId, call_event::Column::DedupKey])
        .exec_without_returning(db)
        .await?;
    Ok(inserted(result))
}

async fn load_events(db: &impl ConnectionTrait, tenant_id: i64, call_id: &str) -> Result<Vec<CallEvent>, StoreError> {
    let rows = call_event::Entity::find()
        .filter(call_event::Column::TenantId.eq(tenant_id))
        .filter(call_event::Column::CallId.eq(call_id))
        .all(db)
        .await?;

    rows.into_iter().map(event_from_row).collect()
}

async fn store_summary(
    db: &impl ConnectionTrait,
    tenant_id: i64,
    call_id: &str,
    summary: &CallSummary,
) -> Result<call::Model, StoreError> {
    let summary_json = serde_json::to_string(summary).map_err(|error| StoreError::Corrupt {
        what: "call summary",
        message: error.to_string(),
    })?;

    call::Entity::update_many()
        .col_expr(call::Column::FromNumber, Expr::value(summary.from.clone()))
        .col_expr(call::Column::StartedAt, Expr::value(summary.started_at))
        .col_expr(call::Column::EndedAt, Expr::value(summary.ended_at))
        .col_expr(call::Column::Outcome, Expr::value(summary.outcome.as_str()))
        .col_expr(call::Column::SummaryJson, Expr::value(summary_json))
        .filter(call::Column::TenantId.eq(tenant_id))
        .filter(call::Column::CallId.eq(call_id))
        .exec(db)
        .await?;

    call::Entity::find()
        .filter(call::Column::TenantId.eq(tenant_id))
        .filter(call::Column::CallId.eq(call_id))
        .one(db)
        .await?
        .ok_or_else(|| not_found_call(call_id))
}

fn call_from_row(row: call::Model) -> Result<Call, StoreError> {
    let summary: CallSummary = serde_json::from_str(&row.summary_json).map_err(|error| StoreError::Corrupt {
        what: "call summary",
        message: format!("call '{}': {error}", row.call_id),
    })?;

    Ok(Call { id: row.call_id, summary, linked_requests: u32::try_from(row.linked_requests).unwrap_or(0) })
}

fn event_from_row(row: call_event::Model) -> Result<CallEvent, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt { what: "call event", message };
    let kind = CallEventKind::parse(&row.kind).ok_or_else(|| corrupt(format!("unknown kind '{}'", row.kind)))?;
    let detail = serde_json::from_str(&row.detail_json).map_err(|error| corrupt(format!("event {}: {error}", row.id)))?;

    Ok(CallEvent {
        id: row.id,
        call_id: row.call_id,
        dedup_key: row.dedup_key,
        kind,
        sequence: row.sequence,
        occurred_at: row.occurred_at,
        received_at: row.received_at,
        detail,
    })
}

fn link_from_row(row: call_link::Model) -> Result<CallLink, StoreError> {
    let relation = match row.relation.as_str() {
        "created" => LinkRelation::Created,
        "looked_up" => LinkRelation::LookedUp,
        other => {
            return Err(StoreError::Corrupt { what: "call link", message: format!("unknown relation '{other}'") });
        }
    };

    Ok(CallLink {
        call_id: row.call_id,
        request_id: row.request_id,
        relation,
        actor: row.actor,
        linked_at: row.linked_at,
    })
}

fn link_history(link: &CallLink) -> NewHistoryEvent {
    let summary = match link.relation {
        LinkRelation::Created => "Created during a phone call",
        LinkRelation::LookedUp => "Looked up during a phone call",
    };

    NewHistoryEvent {
        at: link.linked_at,
        kind: HistoryKind::CallLinked,
        visibility: Visibility::Internal,
        summary: summary.to_string(),
        detail: serde_json::json!({ "call_id": link.call_id, "relation": link.relation.as_str() }),
        actor: link.actor.clone(),
    }
}
