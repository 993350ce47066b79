//! Uploaded plugin versions and their precompiled artifacts.

use civic311_domain::plugin::Capability;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};

use super::audit::insert_audit;
use super::entity::{artifact, version};
use super::{
    decode_json, encode_json, owner_key, parse_text, to_i64, to_u64, AuditAction, NewArtifact, NewAuditEntry, NewPluginVersion,
    PluginArtifact, PluginVersion, PluginVersionId, PLUGIN_VERSION,
};
use crate::sql::{begin_write, is_unique_violation, stored_instant};
use crate::{Store, StoreError, TenantId, TenantStore};

/// Concurrent uploads of one plugin may pick the same next version number;
/// the loser retries this many times in all.
const UPLOAD_ATTEMPTS: u32 = 5;

/// The columns of `plugin_versions` without the component bytes.
const METADATA_COLUMNS: [version::Column; 13] = [
    version::Column::Id,
    version::Column::OwnerTenantId,
    version::Column::OwnerKey,
    version::Column::Name,
    version::Column::Version,
    version::Column::Hook,
    version::Column::World,
    version::Column::Digest,
    version::Column::SizeBytes,
    version::Column::Capabilities,
    version::Column::Description,
    version::Column::UploadedBy,
    version::Column::UploadedAt,
];

/// A version row without its `wasm` column.
#[derive(sea_orm::FromQueryResult)]
pub(super) struct VersionRow {
    id: i64,
    owner_tenant_id: Option<i64>,
    name: String,
    version: i32,
    hook: String,
    world: String,
    digest: String,
    size_bytes: i64,
    capabilities: String,
    description: String,
    uploaded_by: String,
    uploaded_at: chrono::DateTime<chrono::Utc>,
}

impl Store {
    /// Stores `new` as the next version of plugin `(owner, name)`; `owner`
    /// `None` is the platform catalogue. Returns the version and whether it
    /// was created: bytes already stored under the same owner and name
    /// return the existing version.
    ///
    /// Fails with `Invalid` when earlier versions of the plugin use another hook.
    pub async fn insert_plugin_version(&self, owner: Option<TenantId>, new: NewPluginVersion) -> Result<(PluginVersion, bool), StoreError> {
        insert_version(&self.db, owner, &new, AuditUpload::No).await
    }

    /// Lists catalogue versions, of plugin `name` or of all, by name and version.
    pub async fn catalogue_versions(&self, name: Option<&str>) -> Result<Vec<PluginVersion>, StoreError> {
        let mut select = metadata().filter(version::Column::OwnerKey.eq(owner_key(None)));
        if let Some(name) = name {
            select = select.filter(version::Column::Name.eq(name));
        }
        list_versions(&self.db, select).await
    }

    /// Finds version `version` of catalogue plugin `name`.
    pub async fn catalogue_version(&self, name: &str, version: i32) -> Result<Option<PluginVersion>, StoreError> {
        // The key is bound as a 64-bit integer, as in `TenantStore::plugin_version`,
        // whose query text is the same. sqlx caches a prepared statement per
        // PostgreSQL connection by its text, with the parameter types of its
        // first use, so a 32-bit 0 here made that lookup fail with error 22P03.
        let select = metadata()
            .filter(version::Column::OwnerKey.eq(owner_key(None)))
            .filter(version::Column::Name.eq(name))
            .filter(version::Column::Version.eq(version));
        first_version(&self.db, select).await
    }

    /// Stores a precompiled artifact; a key already stored keeps its first row.
    pub async fn insert_artifact(&self, new: NewArtifact) -> Result<(), StoreError> {
        let row = artifact::ActiveModel {
            key: Set(new.key.clone()),
            digest: Set(new.digest),
            engine_hash: Set(new.engine_hash),
            artifact: Set(new.artifact),
            mac: Set(new.mac),
            created_at: Set(stored_instant(chrono::Utc::now())),
        };
        artifact::Entity::insert(row)
            .on_conflict_do_nothing_on([artifact::Column::Key])
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// Stores a precompiled artifact, overwriting a row with the same key,
    /// such as one that failed its MAC check.
    pub async fn replace_artifact(&self, new: NewArtifact) -> Result<(), StoreError> {
        let row = artifact::ActiveModel {
            key: Set(new.key.clone()),
            digest: Set(new.digest),
            engine_hash: Set(new.engine_hash),
            artifact: Set(new.artifact),
            mac: Set(new.mac),
            created_at: Set(stored_instant(chrono::Utc::now())),
        };
        let on_conflict = OnConflict::column(artifact::Column::Key)
            .update_columns([
                artifact::Column::Digest,
                artifact::Column::EngineHash,
                artifact::Column::Artifact,
                artifact::Column::Mac,
                artifact::Column::CreatedAt,
            ])
            .to_owned();
        artifact::Entity::insert(row).on_conflict(on_conflict).exec_without_returning(&self.db).await?;

        tracing::info!(artifact.key = %new.key, "plugin artifact replaced");
        Ok(())
    }

    /// Finds the artifact stored under `key` (`{digest}-{engine_hash}`).
    pub async fn artifact(&self, key: &str) -> Result<Option<PluginArtifact>, StoreError> {
        let row = artifact::Entity::find_by_id(key.to_string()).one(&self.db).await?;
        Ok(row.map(|row| PluginArtifact {
            key: row.key,
            digest: row.digest,
            engine_hash: row.engine_hash,
            artifact: row.artifact,
            mac: row.mac,
            created_at: row.created_at,
        }))
    }
}

impl TenantStore {
    /// Stores `new` as the next version of this tenant's private plugin
    /// `new.name`; see [`Store::insert_plugin_version`].
    pub async fn insert_plugin_version(&self, new: NewPluginVersion) -> Result<(PluginVersion, bool), StoreError> {
        insert_version(&self.db, Some(self.tenant), &new, AuditUpload::No).await
    }

    /// Stores `new` as [`TenantStore::insert_plugin_version`] does and, when
    /// the version is created, its `upload` audit entry in the same
    /// transaction, so no version exists without the entry. Bytes that are
    /// already stored return the existing version and add no entry.
    pub async fn upload_plugin_version(&self, new: NewPluginVersion) -> Result<(PluginVersion, bool), StoreError> {
        insert_version(&self.db, Some(self.tenant), &new, AuditUpload::Yes).await
    }

    /// Lists the versions this tenant may use: its own and the catalogue's,
    /// of plugin `name` or of all. Catalogue versions come first, then by name and version.
    pub async fn plugin_versions(&self, name: Option<&str>) -> Result<Vec<PluginVersion>, StoreError> {
        let mut select = self.visible_versions();
        if let Some(name) = name {
            select = select.filter(version::Column::Name.eq(name));
        }
        list_versions(&self.db, select).await
    }

    /// Finds version `version` of plugin `name` of `owner`: this tenant, or
    /// `None` for the catalogue. Another tenant as owner finds nothing.
    pub async fn plugin_version(&self, owner: Option<TenantId>, name: &str, version: i32) -> Result<Option<PluginVersion>, StoreError> {
        if owner.is_some_and(|owner| owner != self.tenant) {
            return Ok(None);
        }
        let select = metadata()
            .filter(version::Column::OwnerKey.eq(owner_key(owner)))
            .filter(version::Column::Name.eq(name))
            .filter(version::Column::Version.eq(version));
        first_version(&self.db, select).await
    }

    /// Finds a version by id among this tenant's own and the catalogue's.
    pub async fn plugin_version_by_id(&self, id: PluginVersionId) -> Result<Option<PluginVersion>, StoreError> {
        let select = self.visible_versions().filter(version::Column::Id.eq(id.0));
        first_version(&self.db, select).await
    }

    /// Returns the component bytes of a version that this tenant may use.
    pub async fn plugin_wasm(&self, id: PluginVersionId) -> Result<Vec<u8>, StoreError> {
        let row = version::Entity::find_by_id(id.0)
            .filter(visible_to(self.tenant))
            .select_only()
            .column(version::Column::Wasm)
            .into_tuple::<Vec<u8>>()
            .one(&self.db)
            .await?;
        row.ok_or_else(|| StoreError::NotFound { entity: PLUGIN_VERSION, id: id.to_string() })
    }

    fn visible_versions(&self) -> Select<version::Entity> {
        metadata().filter(visible_to(self.tenant))
    }
}

/// Matches versions owned by `tenant` or by the catalogue.
fn visible_to(tenant: TenantId) -> Condition {
    Condition::any()
        .add(version::Column::OwnerKey.eq(tenant.0))
        .add(version::Column::OwnerKey.eq(owner_key(None)))
}

/// Starts a query on version metadata, leaving out the component bytes.
fn metadata() -> Select<version::Entity> {
    version::Entity::find().select_only().columns(METADATA_COLUMNS)
}

async fn list_versions<C: ConnectionTrait>(conn: &C, select: Select<version::Entity>) -> Result<Vec<PluginVersion>, StoreError> {
    let rows = select
        .order_by_asc(version::Column::OwnerKey)
        .order_by_asc(version::Column::Name)
        .order_by_asc(version::Column::Version)
        .into_model::<VersionRow>()
        .all(conn)
        .await?;
    rows.into_iter().map(decode_version).collect()
}

async fn first_version<C: ConnectionTrait>(conn: &C, select: Select<version::Entity>) -> Result<Option<PluginVersion>, StoreError> {
    let row = select.into_model::<VersionRow>().one(conn).await?;
    row.map(decode_version).transpose()
}

/// Loads the versions with ids `ids`, without checking their owner.
pub(super) async fn versions_by_ids<C: ConnectionTrait>(conn: &C, ids: Vec<i64>) -> Result<Vec<PluginVersion>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    list_versions(conn, metadata().filter(version::Column::Id.is_in(ids))).await
}

/// Loads one version row by id, with the owner and name it must have.
pub(super) async fn version_of_plugin<C: ConnectionTrait>(
    conn: &C,
    id: PluginVersionId,
    owner: Option<TenantId>,
    name: &str,
) -> Result<Option<PluginVersion>, StoreError> {
    let select = metadata()
        .filter(version::Column::Id.eq(id.0))
        .filter(version::Column::OwnerKey.eq(owner_key(owner)))
        .filter(version::Column::Name.eq(name));
    first_version(conn, select).await
}

/// Returns the hook of the first version of plugin `(owner, name)`, or
/// `None` when the plugin has no version.
pub(super) async fn plugin_hook<C: ConnectionTrait>(conn: &C, owner: Option<TenantId>, name: &str) -> Result<Option<String>, StoreError> {
    let hook = version::Entity::find()
        .select_only()
        .column(version::Column::Hook)
        .filter(version::Column::OwnerKey.eq(owner_key(owner)))
        .filter(version::Column::Name.eq(name))
        .order_by_asc(version::Column::Version)
        .into_tuple::<String>()
        .one(conn)
        .await?;
    Ok(hook)
}

/// Whether [`insert_version`] also writes the `upload` audit entry of a
/// created tenant version.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AuditUpload {
    Yes,
    No,
}

/// Stores `new` as the next version of `(owner, name)`, retrying when a
/// concurrent upload takes the version number.
async fn insert_version(
    db: &sea_orm::DatabaseConnection,
    owner: Option<TenantId>,
    new: &NewPluginVersion,
    audit_upload: AuditUpload,
) -> Result<(PluginVersion, bool), StoreError> {
    let mut attempt = 1;
    loop {
        match insert_version_once(db, owner, new, audit_upload).await {
            Err(StoreError::Database(error)) if is_unique_violation(&error) && attempt < UPLOAD_ATTEMPTS => {
                tracing::debug!(plugin.name = %new.name, attempt, "concurrent upload took the version number; retrying");
                attempt += 1;
            }
            Ok((stored, created)) => {
                if created {
                    tracing::info!(tenant.id = ?owner.map(|tenant| tenant.0), plugin.name = %stored.name, plugin.version = stored.version, "plugin version stored");
                }
                return Ok((stored, created));
            }
            Err(error) => return Err(error),
        }
    }
}

async fn insert_version_once(
    db: &sea_orm::DatabaseConnection,
    owner: Option<TenantId>,
    new: &NewPluginVersion,
    audit_upload: AuditUpload,
) -> Result<(PluginVersion, bool), StoreError> {
    let txn = begin_write(db).await?;
    let key = owner_key(owner);

    let same_bytes = metadata()
        .filter(version::Column::OwnerKey.eq(key))
        .filter(version::Column::Name.eq(&new.name))
        .filter(version::Column::Digest.eq(&new.digest));
    if let Some(existing) = first_version(&txn, same_bytes).await? {
        txn.rollback().await?;
        return Ok((existing, false));
    }

    if let Some(hook) = plugin_hook(&txn, owner, &new.name).await?
        && hook != new.hook.as_str()
    {
        return Err(StoreError::Invalid(format!(
            "plugin '{}' serves the {hook} hook, but the upload serves the {} hook; upload it under another plugin name",
            new.name, new.hook
        )));
    }

    let latest = version::Entity::find()
        .select_only()
        .column_as(version::Column::Version.max(), "latest")
        .filter(version::Column::OwnerKey.eq(key))
        .filter(version::Column::Name.eq(&new.name))
        .into_tuple::<Option<i32>>()
        .one(&txn)
        .await?
        .flatten();

    let row = version::ActiveModel {
        owner_tenant_id: Set(owner.map(|tenant| tenant.0)),
        owner_key: Set(key),
        name: Set(new.name.clone()),
        version: Set(latest.unwrap_or(0) + 1),
        hook: Set(new.hook.as_str().to_string()),
        world: Set(new.world.clone()),
        digest: Set(new.digest.clone()),
        size_bytes: Set(to_i64(new.wasm.len() as u64)),
        capabilities: Set(encode_json("plugin capabilities", &new.capabilities)?),
        wasm: Set(new.wasm.clone()),
        description: Set(new.description.clone()),
        uploaded_by: Set(new.uploaded_by.clone()),
        uploaded_at: Set(stored_instant(new.uploaded_at)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let stored = decode_model(row)?;

    // The catalogue has no tenant, and audit entries belong to a tenant.
    if let (AuditUpload::Yes, Some(tenant)) = (audit_upload, owner) {
        insert_audit(&txn, tenant, &upload_entry(&stored)).await?;
    }
    txn.commit().await?;

    Ok((stored, true))
}

/// Builds the `upload` audit entry of a created version.
fn upload_entry(version: &PluginVersion) -> NewAuditEntry {
    NewAuditEntry {
        install: None,
        hook: version.hook,
        plugin_name: version.name.clone(),
        action: AuditAction::Upload,
        actor: version.uploaded_by.clone(),
        from_version: None,
        to_version: Some(version.version),
        detail: Some(format!("{} bytes, sha256 {}", version.size_bytes, version.digest)),
        at: version.uploaded_at,
    }
}

fn decode_model(row: version::Model) -> Result<PluginVersion, StoreError> {
    decode_version(VersionRow {
        id: row.id,
        owner_tenant_id: row.owner_tenant_id,
        name: row.name,
        version: row.version,
        hook: row.hook,
        world: row.world,
        digest: row.digest,
        size_bytes: row.size_bytes,
        capabilities: row.capabilities,
        description: row.description,
        uploaded_by: row.uploaded_by,
        uploaded_at: row.uploaded_at,
    })
}

fn decode_version(row: VersionRow) -> Result<PluginVersion, StoreError> {
    let owner = format!("plugin '{}' version {}", row.name, row.version);
    let capabilities: Vec<Capability> = decode_json("plugin capabilities", &owner, &row.capabilities)?;

    Ok(PluginVersion {
        id: PluginVersionId(row.id),
        owner: row.owner_tenant_id.map(TenantId),
        hook: parse_text("plugin hook", &owner, &row.hook)?,
        capabilities,
        name: row.name,
        version: row.version,
        world: row.world,
        digest: row.digest,
        size_bytes: to_u64(row.size_bytes),
        description: row.description,
        uploaded_by: row.uploaded_by,
        uploaded_at: row.uploaded_at,
    })
}
