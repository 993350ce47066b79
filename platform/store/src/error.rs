/// Errors at the storage boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened; a configuration or operations problem.
    #[error("cannot open database {url}: {message}")]
    Connect { url: String, message: String },

    /// A schema migration failed while connecting.
    #[error("database migration failed: {0}")]
    Migrate(String),

    /// The named row does not exist in this tenant (HTTP 404).
    #[error("{entity} '{id}' not found")]
    NotFound { entity: &'static str, id: String },

    /// A unique key of this tenant is already taken (HTTP 409).
    #[error("{entity} '{id}' already exists")]
    Conflict { entity: &'static str, id: String },

    /// The operation is not allowed on the rows as they are (HTTP 422); the
    /// message names the value and what to do instead.
    #[error("{0}")]
    Invalid(String),

    /// The idempotency key and client match a stored request whose payload
    /// differs (HTTP 422); the client must send a new key for a new request.
    #[error("Idempotency-Key '{key}' was already used for a different request; send a new key for a new request")]
    IdempotencyKeyReused { key: String },

    /// A stored value could not be decoded; the database was changed outside the store.
    #[error("stored {what} is unreadable: {message}")]
    Corrupt { what: &'static str, message: String },

    /// Any other database failure (HTTP 500).
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}
