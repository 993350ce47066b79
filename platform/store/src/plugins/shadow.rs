//! Shadow results: a candidate version's decision beside the active
//! version's, on live requests, recorded without effect.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::entity::shadow_result;
use super::{decode_json, encode_json, install_not_found_on_foreign_key, InstallId, NewShadowResult, ShadowResult, ShadowSummary, DEFAULT_LIST_LIMIT};
use crate::sql::stored_instant;
use crate::{StoreError, TenantStore};

impl TenantStore {
    /// Records one shadow comparison. Fails with `NotFound` for an install
    /// that is not the tenant's.
    pub async fn insert_shadow_result(&self, result: NewShadowResult) -> Result<ShadowResult, StoreError> {
        let row = shadow_result::ActiveModel {
            tenant_id: Set(self.tenant.0),
            install_id: Set(result.install.0),
            request_id: Set(result.request_id),
            active_version: Set(result.active_version),
            candidate_version: Set(result.candidate_version),
            active_decision: Set(encode_json("active decision", &result.active_decision)?),
            candidate_decision: Set(encode_json("candidate decision", &result.candidate_decision)?),
            agrees: Set(result.agrees),
            at: Set(stored_instant(result.at)),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|error| install_not_found_on_foreign_key(error, result.install))?;
        decode_shadow(row)
    }

    /// Lists the install's shadow comparisons, newest first, of candidate
    /// `candidate_version` or of all, optionally only the disagreements.
    pub async fn shadow_results(
        &self,
        install: InstallId,
        candidate_version: Option<i32>,
        disagreements_only: bool,
        limit: u64,
    ) -> Result<Vec<ShadowResult>, StoreError> {
        let mut select = self.shadow_query(install, candidate_version);
        if disagreements_only {
            select = select.filter(shadow_result::Column::Agrees.eq(false));
        }

        let limit = if limit == 0 { DEFAULT_LIST_LIMIT } else { limit };
        let rows = select
            .order_by_desc(shadow_result::Column::At)
            .order_by_desc(shadow_result::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter().map(decode_shadow).collect()
    }

    /// Counts the install's shadow comparisons, of candidate `candidate_version` or of all.
    pub async fn shadow_summary(&self, install: InstallId, candidate_version: Option<i32>) -> Result<ShadowSummary, StoreError> {
        let total = self.shadow_query(install, candidate_version).count(&self.db).await?;
        let disagreeing = self
            .shadow_query(install, candidate_version)
            .filter(shadow_result::Column::Agrees.eq(false))
            .count(&self.db)
            .await?;

        Ok(ShadowSummary { total, agreeing: total - disagreeing, disagreeing })
    }

    fn shadow_query(&self, install: InstallId, candidate_version: Option<i32>) -> Select<shadow_result::Entity> {
        let mut select = shadow_result::Entity::find()
            .filter(shadow_result::Column::TenantId.eq(self.tenant.0))
            .filter(shadow_result::Column::InstallId.eq(install.0));
        if let Some(version) = candidate_version {
            select = select.filter(shadow_result::Column::CandidateVersion.eq(version));
        }
        select
    }
}

fn decode_shadow(row: shadow_result::Model) -> Result<ShadowResult, StoreError> {
    let owner = format!("shadow result {}", row.id);
    Ok(ShadowResult {
        id: row.id,
        install: InstallId(row.install_id),
        active_decision: decode_json("shadow decision", &owner, &row.active_decision)?,
        candidate_decision: decode_json("shadow decision", &owner, &row.candidate_decision)?,
        request_id: row.request_id,
        active_version: row.active_version,
        candidate_version: row.candidate_version,
        agrees: row.agrees,
        at: row.at,
    })
}
