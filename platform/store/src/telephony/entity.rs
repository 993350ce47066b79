//! Private sea-orm entities of the telephony tables.

pub(crate) mod call {
    use sea_orm::entity::prelude::*;

    /// One call; `summary_json` is the [`crate::telephony::CallSummary`]
    /// recomputed from the call's events, `revision` counts recomputations.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "telephony_calls")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub call_id: String,
        pub provider: String,
        pub from_number: Option<String>,
        pub started_at: DateTimeUtc,
        pub ended_at: Option<DateTimeUtc>,
        pub outcome: String,
        #[sea_orm(column_type = "Text")]
        pub summary_json: String,
        pub linked_requests: i64,
        pub revision: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod call_event {
    use sea_orm::entity::prelude::*;

    /// One append-only call event; `(tenant_id, dedup_key)` is unique.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "telephony_call_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub call_id: String,
        pub dedup_key: String,
        pub kind: String,
        pub sequence: Option<i64>,
        pub occurred_at: DateTimeUtc,
        pub received_at: DateTimeUtc,
        #[sea_orm(column_type = "Text")]
        pub detail_json: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod call_link {
    use sea_orm::entity::prelude::*;

    /// A link from a call to a service request's public id.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "telephony_call_links")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub call_id: String,
        pub request_id: String,
        pub relation: String,
        pub actor: Option<String>,
        pub linked_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod location {
    use sea_orm::entity::prelude::*;

    /// A place where calls are answered.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "telephony_locations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub code: String,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod agent {
    use sea_orm::entity::prelude::*;

    /// A call taker and the location where they usually answer.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "telephony_agents")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub tenant_id: i64,
        pub code: String,
        pub name: String,
        pub location_code: String,
        pub ringcentral_extension: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
