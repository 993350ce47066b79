//! Photos stored with service requests.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::tenant_requests;
use crate::entity::{request_photo, service_request};
use crate::{Photo, StoreError, TenantStore};

impl TenantStore {
    /// Returns photo `index` (from 1) of a request, or `None` when the request
    /// or the photo does not exist in this tenant.
    pub async fn photo(&self, request_id: &str, index: u32) -> Result<Option<Photo>, StoreError> {
        let Some(request) = tenant_requests(self.tenant)
            .filter(service_request::Column::PublicId.eq(request_id))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let Ok(position) = i32::try_from(index) else {
            return Ok(None);
        };

        let row = request_photo::Entity::find()
            .filter(request_photo::Column::TenantId.eq(self.tenant.0))
            .filter(request_photo::Column::RequestId.eq(request.id))
            .filter(request_photo::Column::Position.eq(position))
            .one(&self.db)
            .await?;

        Ok(row.map(|row| Photo {
            request_id: request_id.to_string(),
            index,
            content_type: row.content_type,
            file_name: row.file_name,
            bytes: row.bytes,
            created_at: row.created_at,
        }))
    }
}
