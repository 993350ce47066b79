/// Errors at the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {url}: {message}")]
    Connect { url: String, message: String },

    #[error("database migration failed: {0}")]
    Migrate(String),

    #[error("{entity} '{id}' not found")]
    NotFound { entity: &'static str, id: String },

    #[error("{entity} '{id}' already exists")]
    Conflict { entity: &'static str, id: String },

    #[error("stored {what} is unreadable: {message}")]
    Corrupt { what: &'static str, message: String },

    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}
