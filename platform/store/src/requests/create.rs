//! Creating and importing service requests.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter};

use super::history::insert_history;
use super::{decode_request, tenant_requests, SERVICE_REQUEST};
use crate::entity::{request_counter, request_photo, service_request};
use crate::plugins::insert_pending_jobs;
use crate::sql::{begin_write, is_unique_violation, stored_instant};
use crate::tenants::FIRST_REQUEST_NUMBER;
use crate::{ImportOutcome, NewServiceRequest, ServiceRequest, StoreError, TenantId, TenantStore};

/// Random bytes in a lookup token of a batch service request (32 hex digits).
const TOKEN_BYTES: usize = 16;

/// The unique key that makes a repeated insert return the stored request.
#[derive(Clone, Copy)]
enum RepeatKey<'a> {
    IdempotencyKey { client: &'a str, key: &'a str },
    SourceId(&'a str),
    None,
}

/// Whether an insert wrote a new request or found the one stored earlier.
enum Inserted {
    New(service_request::Model),
    Existing(service_request::Model),
}

impl TenantStore {
    /// Takes the tenant's next public request id in its own transaction, so
    /// that routing can name the request in plugin call records before the
    /// request is stored with that id. An id that is never stored leaves a
    /// gap in the tenant's numbering.
    pub async fn reserve_public_id(&self) -> Result<String, StoreError> {
        let txn = begin_write(&self.db).await?;
        let public_id = next_public_id(&txn, self.tenant).await?;
        txn.commit().await?;
        Ok(public_id)
    }

    /// Inserts a request with its photos, history and integration outbox
    /// jobs in one transaction.
    ///
    /// With an idempotency key already used by the same client of this
    /// tenant, returns the first request and writes nothing, or fails with
    /// `IdempotencyKeyReused` when the payload fingerprints differ. A
    /// concurrent retry that loses the race on the unique key re-reads the
    /// winner's request and checks it the same way.
    pub async fn create_request(&self, new: NewServiceRequest) -> Result<ServiceRequest, StoreError> {
        let repeat_key = match &new.idempotency_key {
            Some(key) => RepeatKey::IdempotencyKey {
                client: idempotency_client(&new),
                key,
            },
            None => RepeatKey::None,
        };

        match self.insert_once(&new, repeat_key).await? {
            Inserted::New(row) => {
                tracing::info!(tenant.id = self.tenant.0, request.id = %row.public_id, service_code = %row.service_code, "service request created");
                decode_request(row)
            }
            Inserted::Existing(row) => {
                self.check_replay(&row, new.payload_fingerprint.as_deref())?;
                decode_request(row)
            }
        }
    }

    /// Finds the request stored with idempotency key `key` from `client`
    /// (`None` is the unnamed client), so that intake can return it for a
    /// retry before any routing work.
    ///
    /// Fails with `IdempotencyKeyReused` when that request's payload
    /// fingerprint differs from `fingerprint`. A request stored without a
    /// fingerprint, or a lookup without one, matches any payload.
    pub async fn request_by_idempotency_key(
        &self,
        client: Option<&str>,
        key: &str,
        fingerprint: Option<&str>,
    ) -> Result<Option<ServiceRequest>, StoreError> {
        let repeat_key = RepeatKey::IdempotencyKey {
            client: client.unwrap_or(""),
            key,
        };
        let Some(row) = find_by_repeat_key(&self.db, self.tenant, repeat_key).await? else {
            return Ok(None);
        };

        self.check_replay(&row, fingerprint)?;
        decode_request(row).map(Some)
    }

    /// Accepts a retry whose payload matches the stored request's payload.
    fn check_replay(&self, row: &service_request::Model, fingerprint: Option<&str>) -> Result<(), StoreError> {
        let key = row.idempotency_key.clone().unwrap_or_default();
        match (row.payload_fingerprint.as_deref(), fingerprint) {
            (Some(stored), Some(sent)) if stored != sent => {
                tracing::info!(tenant.id = self.tenant.0, request.id = %row.public_id, "idempotency key reused with a different payload");
                Err(StoreError::IdempotencyKeyReused { key })
            }
            _ => {
                tracing::info!(tenant.id = self.tenant.0, request.id = %row.public_id, "idempotency key repeated; returning the stored request");
                Ok(())
            }
        }
    }

    /// Inserts a historical request unless one with the same source id exists.
    ///
    /// The request keeps `public_id` when given; a public id already used by
    /// another request of the tenant fails with `Conflict`.
    pub async fn import_request(&self, new: NewServiceRequest) -> Result<ImportOutcome, StoreError> {
        let repeat_key = match &new.source_id {
            Some(source_id) => RepeatKey::SourceId(source_id),
            None => RepeatKey::None,
        };

        match self.insert_once(&new, repeat_key).await? {
            Inserted::New(row) => {
                tracing::debug!(tenant.id = self.tenant.0, request.id = %row.public_id, "service request imported");
                Ok(ImportOutcome::Inserted(decode_request(row)?))
            }
            Inserted::Existing(row) => Ok(ImportOutcome::AlreadyPresent(decode_request(row)?)),
        }
    }

    /// Inserts the request unless a row with its repeat key exists, and
    /// resolves a unique-key race by re-reading that row.
    async fn insert_once(&self, new: &NewServiceRequest, repeat_key: RepeatKey<'_>) -> Result<Inserted, StoreError> {
        let error = match self.insert_in_transaction(new, repeat_key).await {
            Ok(inserted) => return Ok(inserted),
            Err(StoreError::Database(error)) if is_unique_violation(&error) => error,
            Err(error) => return Err(error),
        };

        // Another transaction committed a row with the same unique key after
        // this one checked. When that key is the repeat key, its row is the result.
        if let Some(row) = find_by_repeat_key(&self.db, self.tenant, repeat_key).await? {
            return Ok(Inserted::Existing(row));
        }

        tracing::warn!(tenant.id = self.tenant.0, error = %error, "service request insert hit a unique key");
        Err(StoreError::Conflict {
            entity: SERVICE_REQUEST,
            id: new
                .public_id
                .clone()
                .or_else(|| new.source_id.clone())
                .or_else(|| new.idempotency_key.clone())
                .unwrap_or_else(|| "(new request)".to_string()),
        })
    }

    async fn insert_in_transaction(&self, new: &NewServiceRequest, repeat_key: RepeatKey<'_>) -> Result<Inserted, StoreError> {
        let txn = begin_write(&self.db).await?;

        if let Some(existing) = find_by_repeat_key(&txn, self.tenant, repeat_key).await? {
            txn.rollback().await?;
            return Ok(Inserted::Existing(existing));
        }

        let public_id = match &new.public_id {
            Some(public_id) => public_id.clone(),
            None => next_public_id(&txn, self.tenant).await?,
        };
        let token = new.with_token.then(random_token);

        let row = new_request_row(self.tenant, new, public_id, token)?.insert(&txn).await?;
        insert_photos(&txn, self.tenant, row.id, new).await?;
        for event in &new.history {
            insert_history(&txn, self.tenant, row.id, event).await?;
        }
        insert_pending_jobs(&txn, self.tenant, &row.public_id, &new.integration_installs, Utc::now()).await?;

        txn.commit().await?;
        Ok(Inserted::New(row))
    }
}

async fn find_by_repeat_key<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    repeat_key: RepeatKey<'_>,
) -> Result<Option<service_request::Model>, StoreError> {
    let select = match repeat_key {
        RepeatKey::IdempotencyKey { client, key } => tenant_requests(tenant)
            .filter(service_request::Column::IdempotencyClient.eq(client))
            .filter(service_request::Column::IdempotencyKey.eq(key)),
        RepeatKey::SourceId(source_id) => tenant_requests(tenant).filter(service_request::Column::SourceId.eq(source_id)),
        RepeatKey::None => return Ok(None),
    };
    Ok(select.one(conn).await?)
}

/// Takes the tenant's next request number, skipping numbers that imported
/// requests already use as their public id.
async fn next_public_id(txn: &DatabaseTransaction, tenant: TenantId) -> Result<String, StoreError> {
    loop {
        let candidate = take_request_number(txn, tenant).await?.to_string();
        let requests_with_id = tenant_requests(tenant)
            .filter(service_request::Column::PublicId.eq(&candidate))
            .count(txn)
            .await?;
        if requests_with_id == 0 {
            return Ok(candidate);
        }
    }
}

/// Increments the tenant's counter row and returns the number it held. The
/// update locks the row on PostgreSQL until the transaction ends, so two
/// transactions never take the same number.
async fn take_request_number(txn: &DatabaseTransaction, tenant: TenantId) -> Result<i64, StoreError> {
    let updated = request_counter::Entity::update_many()
        .col_expr(
            request_counter::Column::NextNumber,
            Expr::col(request_counter::Column::NextNumber).add(1),
        )
        .filter(request_counter::Column::TenantId.eq(tenant.0))
        .exec(txn)
        .await?;

    if updated.rows_affected == 0 {
        // Tenants get a counter row when created; this recreates a missing one.
        request_counter::ActiveModel {
            tenant_id: Set(tenant.0),
            next_number: Set(FIRST_REQUEST_NUMBER + 1),
        }
        .insert(txn)
        .await?;
        return Ok(FIRST_REQUEST_NUMBER);
    }

    let counter = request_counter::Entity::find_by_id(tenant.0)
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            what: "request counter",
            message: format!("the counter row of tenant {} vanished during an update", tenant.0),
        })?;
    Ok(counter.next_number - 1)
}

/// Returns the client stored with an idempotency key; the empty string is
/// the unnamed client, because a NULL column would escape the unique index.
fn idempotency_client(new: &NewServiceRequest) -> &str {
    new.idempotency_client.as_deref().unwrap_or("")
}

fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    // The OS random source fails only on a broken system, where no key is safe to issue.
    getrandom::fill(&mut bytes).expect("the operating system random source failed");
    hex::encode(bytes)
}

fn new_request_row(
    tenant: TenantId,
    new: &NewServiceRequest,
    public_id: String,
    token: Option<String>,
) -> Result<service_request::ActiveModel, StoreError> {
    let attributes_json = serde_json::to_string(&new.attributes).map_err(|error| {
        StoreError::Invalid(format!("attributes of the {} request cannot be stored as JSON: {error}", new.service_code))
    })?;

    Ok(service_request::ActiveModel {
        tenant_id: Set(tenant.0),
        public_id: Set(public_id),
        token: Set(token),
        service_code: Set(new.service_code.clone()),
        service_name: Set(new.service_name.clone()),
        description: Set(new.description.clone()),
        lat: Set(new.lat),
        long: Set(new.long),
        address: Set(new.address.clone()),
        address_id: Set(new.address_id.clone()),
        zipcode: Set(new.zipcode.clone()),
        media_url: Set(new.media_url.clone()),
        attributes_json: Set(attributes_json),
        contact_first_name: Set(new.contact.first_name.clone()),
        contact_last_name: Set(new.contact.last_name.clone()),
        contact_email: Set(new.contact.email.clone()),
        contact_phone: Set(new.contact.phone.clone()),
        contact_device_id: Set(new.contact.device_id.clone()),
        contact_account_id: Set(new.contact.account_id.clone()),
        channel: Set(new.channel.as_str().to_string()),
        status: Set(new.sub_status.status().as_str().to_string()),
        sub_status: Set(new.sub_status.as_str().to_string()),
        department: Set(new.department.clone()),
        priority: Set(new.priority.as_str().to_string()),
        queue: Set(new.queue.clone()),
        assignee: Set(new.assignee.clone()),
        requested_at: Set(stored_instant(new.requested_at)),
        updated_at: Set(stored_instant(new.updated_at)),
        expected_at: Set(new.expected_at.map(stored_instant)),
        closed_at: Set(new.closed_at.map(stored_instant)),
        status_notes: Set(new.status_notes.clone()),
        source_id: Set(new.source_id.clone()),
        call_id: Set(new.call_id.clone()),
        idempotency_key: Set(new.idempotency_key.clone()),
        idempotency_client: Set(new.idempotency_key.as_ref().map(|_| idempotency_client(new).to_string())),
        payload_fingerprint: Set(new.idempotency_key.as_ref().and(new.payload_fingerprint.clone())),
        parent_request_id: Set(None),
        photo_count: Set(i32::try_from(new.photos.len()).unwrap_or(i32::MAX)),
        ..Default::default()
    })
}

async fn insert_photos(
    txn: &DatabaseTransaction,
    tenant: TenantId,
    request_row_id: i64,
    new: &NewServiceRequest,
) -> Result<(), StoreError> {
    let created_at = stored_instant(Utc::now());

    for (offset, photo) in new.photos.iter().enumerate() {
        request_photo::ActiveModel {
            tenant_id: Set(tenant.0),
            request_id: Set(request_row_id),
            position: Set(i32::try_from(offset + 1).unwrap_or(i32::MAX)),
            content_type: Set(photo.content_type.clone()),
            file_name: Set(photo.file_name.clone()),
            bytes: Set(photo.bytes.clone()),
            created_at: Set(created_at),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}
