use sea_orm::entity::prelude::*;

/// One append-only history entry of a service request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant_id: i64,
    pub request_id: i64,
    pub at: DateTimeUtc,
    pub kind: String,
    pub visibility: String,
    #[sea_orm(column_type = "Text")]
    pub summary: String,
    /// `serde_json::Value` as JSON text.
    #[sea_orm(column_type = "Text")]
    pub detail_json: String,
    pub actor: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
