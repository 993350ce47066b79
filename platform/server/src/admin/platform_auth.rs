//! The platform admin token that opens the catalogue and cost-share routes.

use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::staff::bearer_token;

/// Environment variable that contains the platform admin token.
pub const PLATFORM_ADMIN_TOKEN_VAR: &str = "CIVIC311_PLATFORM_ADMIN_TOKEN";

/// Checks that `headers` carry `Authorization: Bearer <platform admin token>`.
///
/// Returns 503 when the server has no token configured, 401 without a
/// token, and 403 for a wrong token.
pub fn authorize_platform(headers: &HeaderMap) -> Result<(), ApiError> {
    let configured = std::env::var(PLATFORM_ADMIN_TOKEN_VAR)
        .ok()
        .filter(|token| !token.trim().is_empty())
        .ok_or_else(|| ApiError::Status {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "platform_admin_disabled",
            field: None,
            message: format!(
                "the platform admin API is disabled because {PLATFORM_ADMIN_TOKEN_VAR} is not set; \
                 set it to a long random token in the server's environment and restart the server"
            ),
        })?;

    let presented = bearer_token(headers).map_err(|_| {
        ApiError::Unauthorized("missing header `Authorization: Bearer <platform admin token>`".into())
    })?;
    if tokens_equal(presented, configured.trim()) {
        return Ok(());
    }

    tracing::warn!("platform admin API call with a wrong token");
    Err(ApiError::Forbidden(format!(
        "wrong platform admin token; send the value of {PLATFORM_ADMIN_TOKEN_VAR} as the Bearer token"
    )))
}

/// Compares two tokens in time that does not depend on where they differ.
/// Hashing first hides the length of the configured token as well.
fn tokens_equal(presented: &str, configured: &str) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    let configured = Sha256::digest(configured.as_bytes());
    presented.as_slice().ct_eq(configured.as_slice()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_tokens_match() {
        assert!(tokens_equal("s3cret-token", "s3cret-token"));
    }

    #[test]
    fn different_tokens_do_not_match() {
        assert!(!tokens_equal("s3cret-token", "s3cret-tokem"));
        assert!(!tokens_equal("s3cret", "s3cret-token"));
        assert!(!tokens_equal("", "s3cret-token"));
    }
}
