//! Small helpers shared by the queries of every module.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait};

/// Starts a transaction that writes. On SQLite it begins with `BEGIN
/// IMMEDIATE`, so it takes the write lock at once and waits for it within
/// the busy timeout, instead of failing when a read lock cannot be upgraded.
/// PostgreSQL ignores the SQLite mode.
pub(crate) async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Checks whether the error is a unique-key violation, on either backend.
pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Truncates an instant to whole microseconds, the precision of a
/// PostgreSQL `timestamptz`, so both backends return what was stored.
pub(crate) fn stored_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(at)
}

/// Escapes `%`, `_` and `\` so that `text` matches itself in a `LIKE`
/// pattern that declares `\` as its escape character.
pub(crate) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}
