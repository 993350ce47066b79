//! Reading service requests: by id, by token, and by search filters.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{decode_request, tenant_requests};
use crate::entity::service_request::{self, Column};
use crate::sql::{escape_like, stored_instant};
use crate::{Page, RequestQuery, ServiceRequest, StoreError, TenantStore, DEFAULT_PAGE_SIZE};

impl TenantStore {
    /// Finds a request by its public id.
    pub async fn request(&self, id: &str) -> Result<Option<ServiceRequest>, StoreError> {
        let row = tenant_requests(self.tenant)
            .filter(Column::PublicId.eq(id))
            .one(&self.db)
            .await?;
        row.map(decode_request).transpose()
    }

    /// Finds a request by the lookup token issued to a batch service.
    pub async fn request_by_token(&self, token: &str) -> Result<Option<ServiceRequest>, StoreError> {
        let row = tenant_requests(self.tenant)
            .filter(Column::Token.eq(token))
            .one(&self.db)
            .await?;
        row.map(decode_request).transpose()
    }

    /// Lists the tenant's latest `limit` requests, newest `requested_at`
    /// first, such as the sample that a plugin dry run replays.
    pub async fn recent_requests(&self, limit: u64) -> Result<Vec<ServiceRequest>, StoreError> {
        let rows = tenant_requests(self.tenant)
            .order_by_desc(Column::RequestedAt)
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(decode_request).collect()
    }

    /// Searches the tenant's requests, newest `requested_at` first with the
    /// public id as tie-breaker, and returns one page with the total count.
    pub async fn query_requests(&self, query: &RequestQuery) -> Result<Page<ServiceRequest>, StoreError> {
        let page = std::cmp::max(query.page, 1);
        let page_size = if query.page_size == 0 { DEFAULT_PAGE_SIZE } else { query.page_size };

        let select = tenant_requests(self.tenant).filter(query_condition(query));
        let total = select.clone().count(&self.db).await?;

        let rows = select
            .order_by_desc(Column::RequestedAt)
            .order_by_asc(Column::PublicId)
            .offset((page - 1).saturating_mul(page_size))
            .limit(page_size)
            .all(&self.db)
            .await?;

        let items = rows.into_iter().map(decode_request).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total, page, page_size })
    }
}

/// Builds the WHERE condition of a search, without the tenant filter that
/// [`tenant_requests`] adds. Ids, when given, replace every other filter.
fn query_condition(query: &RequestQuery) -> Condition {
    if !query.ids.is_empty() {
        return Condition::all().add(Column::PublicId.is_in(query.ids.iter().cloned()));
    }

    let mut condition = Condition::all();

    if !query.service_codes.is_empty() {
        condition = condition.add(Column::ServiceCode.is_in(query.service_codes.iter().cloned()));
    }
    if !query.statuses.is_empty() {
        condition = condition.add(Column::Status.is_in(query.statuses.iter().map(|status| status.as_str())));
    }
    if let Some(from) = query.requested_from {
        condition = condition.add(Column::RequestedAt.gte(stored_instant(from)));
    }
    if let Some(to) = query.requested_to {
        condition = condition.add(Column::RequestedAt.lte(stored_instant(to)));
    }
    if let Some(after) = query.updated_after {
        condition = condition.add(Column::UpdatedAt.gt(stored_instant(after)));
    }
    if let Some(before) = query.updated_before {
        condition = condition.add(Column::UpdatedAt.lt(stored_instant(before)));
    }
    if let Some((min_long, min_lat, max_long, max_lat)) = query.bbox {
        condition = condition
            .add(Column::Lat.between(min_lat, max_lat))
            .add(Column::Long.between(min_long, max_long));
    }
    if let Some(text) = query.text.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        condition = condition.add(text_condition(text));
    }
    if !query.departments.is_empty() {
        condition = condition.add(Column::Department.is_in(query.departments.iter().cloned()));
    }
    if !query.channels.is_empty() {
        condition = condition.add(Column::Channel.is_in(query.channels.iter().map(|channel| channel.as_str())));
    }
    if let Some(phone) = &query.contact_phone {
        condition = condition.add(Column::ContactPhone.eq(phone.as_str()));
    }

    condition
}

/// Matches `text` anywhere in the description or the address, ignoring case.
///
/// NOTE: SQLite's `LOWER` folds only ASCII letters, so on SQLite a search
/// for "é" does not match "É"; PostgreSQL folds every letter.
fn text_condition(text: &str) -> Condition {
    let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
    let matches = |column: Column| {
        Expr::expr(Func::lower(Expr::col((service_request::Entity, column))))
            .like(LikeExpr::new(pattern.clone()).escape('\\'))
    };

    Condition::any()
        .add(matches(Column::Description))
        .add(matches(Column::Address))
}
