//! Open311 errors and their one mapping to the GeoReport v2 error body,
//! `errors/error{code, description}`, in the format the path asked for.

use axum::http::StatusCode;
use axum::response::Response;

use super::format::{Document, Format, Node, Record};
use crate::intake::IntakeError;

/// Failure of an Open311 call. Each variant's doc names its HTTP status, and
/// the body's `code` repeats that status.
#[derive(Debug, thiserror::Error)]
pub enum Open311Error {
    /// Status 400. GeoReport v2 lists "jurisdiction_id was not provided" under 400
    /// and "not found" under 404, so a missing id is 400 here.
    #[error(
        "jurisdiction_id is missing; this server hosts several jurisdictions ({known}), \
         so add jurisdiction_id with one of them"
    )]
    JurisdictionRequired { known: String },

    /// Status 404.
    #[error(
        "jurisdiction_id '{0}' not found; GET discovery or ask the city for its jurisdiction id"
    )]
    UnknownJurisdiction(String),

    /// Status 404.
    #[error(
        "service_code '{code}' not found for jurisdiction {jurisdiction}; GET services lists the codes"
    )]
    ServiceNotFound { code: String, jurisdiction: String },

    /// Status 404.
    #[error("service_request_id '{id}' not found for jurisdiction {jurisdiction}")]
    RequestNotFound { id: String, jurisdiction: String },

    /// Status 404.
    #[error("token '{token}' not found for jurisdiction {jurisdiction}")]
    TokenNotFound { token: String, jurisdiction: String },

    /// Status 404.
    #[error(
        "photo {index} of service request '{request_id}' not found for jurisdiction {jurisdiction}"
    )]
    PhotoNotFound {
        request_id: String,
        index: String,
        jurisdiction: String,
    },

    /// Status 404: an unknown endpoint, or a suffix other than `.json` or `.xml`.
    #[error(
        "'{path}' is not an Open311 resource; use discovery, services, requests or tokens with .json or .xml"
    )]
    ResourceNotFound { path: String },

    /// Status 403.
    #[error(
        "api_key is missing; POST requests need the api_key the city issued to your application"
    )]
    ApiKeyMissing,

    /// Status 403.
    #[error(
        "api_key is invalid for jurisdiction {jurisdiction}; check the key or ask the city for a new one"
    )]
    ApiKeyInvalid { jurisdiction: String },

    /// Status 400: a parameter or form field that is missing or malformed; the
    /// message starts with the parameter's name.
    #[error("{name}: {problem}")]
    InvalidParameter { name: String, problem: String },

    /// Status 422: the client sent an `Idempotency-Key` it used before with
    /// another payload. GeoReport v2 has no code for this, so the status is
    /// the one draft-ietf-httpapi-idempotency-key-header-06 gives this case.
    #[error(
        "Idempotency-Key '{key}' was already used for a different request; send a new key for a new request"
    )]
    IdempotencyKeyReused { key: String },

    /// Status 500: the cause is logged and the client gets a generic description.
    /// GeoReport v2 files back-end failures under 400, but a 5xx keeps them
    /// visible to monitoring and signals to clients that a retry may work.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Open311Error {
    pub fn invalid(name: impl Into<String>, problem: impl Into<String>) -> Open311Error {
        Open311Error::InvalidParameter {
            name: name.into(),
            problem: problem.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Open311Error {
        Open311Error::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Open311Error::JurisdictionRequired { .. } | Open311Error::InvalidParameter { .. } => {
                StatusCode::BAD_REQUEST
            }
            Open311Error::UnknownJurisdiction(_)
            | Open311Error::ServiceNotFound { .. }
            | Open311Error::RequestNotFound { .. }
            | Open311Error::TokenNotFound { .. }
            | Open311Error::PhotoNotFound { .. }
            | Open311Error::ResourceNotFound { .. } => StatusCode::NOT_FOUND,
            Open311Error::ApiKeyMissing | Open311Error::ApiKeyInvalid { .. } => {
                StatusCode::FORBIDDEN
            }
            Open311Error::IdempotencyKeyReused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Open311Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Builds the `errors` reply. Internal causes are logged, never sent.
    pub fn into_response(self, format: Format) -> Response {
        let status = self.status();
        let description = match &self {
            Open311Error::Internal(cause) => {
                tracing::error!(error = %cause, "open311 call failed");
                "the server failed to process the call; try again later".to_string()
            }
            other => {
                tracing::debug!(status = status.as_u16(), error = %other, "open311 call rejected");
                other.to_string()
            }
        };

        let error = Record::new()
            .field("code", u32::from(status.as_u16()))
            .field("description", description);
        Document::new("errors", Node::list("error", vec![error.into()]))
            .into_response(format, status)
    }
}

impl Open311Error {
    /// Maps an intake rejection. An unknown service is 404, because
    /// GeoReport v2 lists "service_code was not found" under 404 for POST
    /// as well; a field problem is 400 naming the field.
    pub fn from_intake(error: IntakeError, jurisdiction: &str) -> Open311Error {
        match error {
            IntakeError::UnknownService { code } => Open311Error::ServiceNotFound {
                code,
                jurisdiction: jurisdiction.to_string(),
            },
            IntakeError::InvalidField { field, problem } => Open311Error::InvalidParameter {
                name: field,
                problem,
            },
            IntakeError::IdempotencyKeyReused { key } => {
                Open311Error::IdempotencyKeyReused { key }
            }
            IntakeError::Store(error) => Open311Error::internal(error),
        }
    }
}

impl From<civic311_store::StoreError> for Open311Error {
    fn from(error: civic311_store::StoreError) -> Open311Error {
        Open311Error::internal(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_names_status_and_problem() {
        let error = Open311Error::invalid("start_date", "'2022-01-01' has no time zone");

        let body = Document::new(
            "errors",
            Node::list(
                "error",
                vec![
                    Record::new()
                        .field("code", 400u32)
                        .field("description", error.to_string())
                        .into(),
                ],
            ),
        );

        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            body.render(Format::Json),
            r#"[{"code":400,"description":"start_date: '2022-01-01' has no time zone"}]"#
        );
    }

    #[test]
    fn api_key_errors_are_forbidden() {
        assert_eq!(Open311Error::ApiKeyMissing.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Open311Error::ApiKeyInvalid {
                jurisdiction: "cityofboston.gov".into()
            }
            .status(),
            StatusCode::FORBIDDEN
        );
    }
}
