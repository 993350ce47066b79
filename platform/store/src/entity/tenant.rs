use sea_orm::entity::prelude::*;

/// A city on the platform. The manifest is stored as JSON in two parts,
/// because `TenantManifest` skips its services when serialized.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub slug: String,
    pub jurisdiction_id: String,
    #[sea_orm(column_type = "Text")]
    pub manifest_json: String,
    #[sea_orm(column_type = "Text")]
    pub services_json: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
