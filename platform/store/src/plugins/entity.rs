//! Private sea-orm entities of the plugin tables. JSON columns are text.

pub(crate) mod version {
    use sea_orm::entity::prelude::*;

    /// An immutable uploaded plugin version. `owner_key` is the owner's tenant
    /// id, or 0 for the catalogue, so that unique keys also hold for the catalogue.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_versions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub owner_tenant_id: Option<i64>,
        pub owner_key: i64,
        pub name: String,
        pub version: i32,
        pub hook: String,
        pub world: String,
        pub digest: String,
        pub size_bytes: i64,
        /// `Vec<Capability>` as JSON.
        #[sea_orm(column_type = "Text")]
        pub capabilities: String,
        #[sea_orm(column_type = "Blob")]
        pub wasm: Vec<u8>,
        #[sea_orm(column_type = "Text")]
        pub description: String,
        pub uploaded_by: String,
        pub uploaded_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod artifact {
    use sea_orm::entity::prelude::*;

    /// A precompiled version, keyed by `{digest}-{engine_hash}`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_artifacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub digest: String,
        pub engine_hash: String,
        #[sea_orm(column_type = "Blob")]
        pub artifact: Vec<u8>,
        #[sea_orm(column_type = "Blob")]
        pub mac: Vec<u8>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod install {
    use sea_orm::entity::prelude::*;

    /// A tenant's use of one plugin on one hook.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_installs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub hook: String,
        pub plugin_name: String,
        pub plugin_owner_tenant_id: Option<i64>,
        pub active_version_id: Option<i64>,
        pub shadow_version_id: Option<i64>,
        /// `BTreeMap<String, String>` as JSON.
        #[sea_orm(column_type = "Text")]
        pub config: String,
        /// `Grants` as JSON.
        #[sea_orm(column_type = "Text")]
        pub grants: String,
        /// `LimitOverrides` as JSON.
        #[sea_orm(column_type = "Text")]
        pub limits: String,
        pub breaker_open: bool,
        #[sea_orm(column_type = "Text", nullable)]
        pub breaker_reason: Option<String>,
        pub breaker_opened_at: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod audit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_audit")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub install_id: Option<i64>,
        pub hook: String,
        pub plugin_name: String,
        pub action: String,
        pub actor: String,
        pub from_version: Option<i32>,
        pub to_version: Option<i32>,
        #[sea_orm(column_type = "Text", nullable)]
        pub detail: Option<String>,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod call {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_calls")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub install_id: i64,
        pub version: i32,
        pub hook: String,
        pub request_id: Option<String>,
        pub at: DateTimeUtc,
        pub duration_us: i64,
        pub fuel_used: i64,
        pub outcome: String,
        pub error_kind: Option<String>,
        pub shadow: bool,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod kv {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_kv")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub install_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        #[sea_orm(column_type = "Blob")]
        pub value: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod secret {
    use sea_orm::entity::prelude::*;

    /// A secret sealed by the platform key; the store never decrypts it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_secrets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub install_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        #[sea_orm(column_type = "Blob")]
        pub ciphertext: Vec<u8>,
        #[sea_orm(column_type = "Blob")]
        pub nonce: Vec<u8>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod log_line {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_logs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub install_id: i64,
        pub version: i32,
        pub request_id: Option<String>,
        pub level: String,
        #[sea_orm(column_type = "Text")]
        pub message: String,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod usage {
    use sea_orm::entity::prelude::*;

    /// Counts of one install on one UTC day.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_usage")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub install_id: i64,
        pub tenant_id: i64,
        pub plugin_owner_tenant_id: Option<i64>,
        pub plugin_name: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        pub calls: i64,
        pub work_orders: i64,
        pub inspections: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod shadow_result {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plugin_shadow_results")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub install_id: i64,
        pub request_id: String,
        pub active_version: i32,
        pub candidate_version: i32,
        #[sea_orm(column_type = "Text")]
        pub active_decision: String,
        #[sea_orm(column_type = "Text")]
        pub candidate_decision: String,
        pub agrees: bool,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod job {
    use sea_orm::entity::prelude::*;

    /// One integration call owed for one request; the outbox row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "integration_jobs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub install_id: i64,
        pub request_id: String,
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub claimed_until: Option<DateTimeUtc>,
        #[sea_orm(column_type = "Text", nullable)]
        pub last_error: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod record {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "integration_records")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub install_id: i64,
        pub request_id: String,
        pub kind: String,
        pub remote_id: String,
        pub remote_status: Option<String>,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod platform_metadata {
    use sea_orm::entity::prelude::*;

    /// A platform-wide value that describes the database, such as the
    /// platform key's fingerprint. It belongs to no tenant.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "platform_metadata")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        #[sea_orm(column_type = "Text")]
        pub value: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
