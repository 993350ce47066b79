//! Errors of the staff JSON API, mapped to HTTP once.
//!
//! Every error body reads `{ "error": { "code", "field", "message" } }`.
//! Server-side failures (5xx) log their cause and return generic text, so
//! no database detail reaches the client. The Open311 API renders its own
//! error format in its own module.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use civic311_plugin_host::PluginError;
use civic311_plugin_manager::ManagerError;
use civic311_store::StoreError;
use serde::Serialize;

use crate::intake::IntakeError;

/// An error a staff API handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no `Authorization: Bearer` key, or a key that matches no tenant.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a valid key of another tenant.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the tenant or the resource does not exist.
    #[error("{what} '{id}' not found")]
    NotFound { what: &'static str, id: String },
    /// 422: a field of the request body or query is invalid.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// 409: the change conflicts with stored data.
    #[error("{0}")]
    Conflict(String),
    /// 500: a failure on the server side; the cause is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
    /// Any other client error with its own status and stable code, such as a
    /// plugin upload that the host rejects (`wrong_world`, 422) or one above
    /// the size limit (`too_large`, 413).
    #[error("{message}")]
    Status {
        status: StatusCode,
        code: &'static str,
        field: Option<String>,
        message: String,
    },
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Status { status, .. } => *status,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::Conflict(_) => "conflict",
            ApiError::Internal(_) => "internal",
            ApiError::Status { code, .. } => code,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound { entity, id } => ApiError::NotFound { what: entity, id },
            StoreError::Conflict { .. } => ApiError::Conflict(error.to_string()),
            // The store rejects a change that stored data does not allow, such as
            // marking a request as a duplicate of itself. Its message names the value.
            StoreError::Invalid(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(error: IntakeError) -> ApiError {
        match error {
            IntakeError::UnknownService { .. } => ApiError::InvalidField {
                field: "service_code".into(),
                message: error.to_string(),
            },
            IntakeError::InvalidField { field, problem } => ApiError::InvalidField { field, message: problem },
            IntakeError::IdempotencyKeyReused { .. } => ApiError::InvalidField {
                field: "Idempotency-Key".into(),
                message: error.to_string(),
            },
            IntakeError::Store(store) => store.into(),
        }
    }
}

impl From<ManagerError> for ApiError {
    fn from(error: ManagerError) -> ApiError {
        let code = error.kind();
        let message = error.to_string();
        let status = |status: StatusCode, field: Option<&str>| ApiError::Status {
            status,
            code,
            field: field.map(str::to_string),
            message: message.clone(),
        };

        match error {
            ManagerError::Plugin(plugin) => from_plugin_error(&plugin),
            // The plugin store returns `Invalid` for a request that stored
            // data does not allow, such as installing an integration plugin
            // on the router hook, so it is the client's to fix.
            ManagerError::Store(StoreError::Invalid(problem)) => ApiError::Status {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code,
                field: None,
                message: problem,
            },
            ManagerError::Store(store) => store.into(),
            ManagerError::Invalid { field, problem } => ApiError::InvalidField { field, message: problem },
            ManagerError::NotFound { .. } => status(StatusCode::NOT_FOUND, None),
            ManagerError::VersionNotFound { .. } => status(StatusCode::NOT_FOUND, Some("version")),
            ManagerError::WrongHook { .. } => status(StatusCode::UNPROCESSABLE_ENTITY, Some("hook")),
            ManagerError::NothingToRollBack { .. } => status(StatusCode::CONFLICT, None),
            // The vault's messages name no key or secret value, but they
            // describe the server's key set-up, so they stay in the log.
            #[allow(unreachable_patterns)]
            _ => ApiError::Internal(message),
        }
    }
}

/// Maps a plugin host error met while uploading or activating a plugin.
/// Rejections of the component are the client's to fix (413 or 422); a
/// host failure is the platform's (500).
fn from_plugin_error(error: &PluginError) -> ApiError {
    if let PluginError::LimitAboveMaximum { field, .. } | PluginError::LimitBelowMinimum { field } = error {
        return ApiError::Status {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: error.kind(),
            field: Some(field.to_string()),
            message: error.to_string(),
        };
    }

    let kind = error.kind();
    let (status, field) = match kind {
        "too_large" => (StatusCode::PAYLOAD_TOO_LARGE, Some("body")),
        "not_granted" => (StatusCode::UNPROCESSABLE_ENTITY, Some("grants")),
        "limit_above_maximum" => (StatusCode::UNPROCESSABLE_ENTITY, Some("limits")),
        "wrong_hook" => (StatusCode::UNPROCESSABLE_ENTITY, Some("hook")),
        "platform" => return ApiError::Internal(error.to_string()),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, None),
    };
    ApiError::Status {
        status,
        code: kind,
        field: field.map(str::to_string),
        message: error.to_string(),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    field: Option<&'a str>,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "staff API request failed");
                "internal server error; the cause is in the server log".to_string()
            }
            other => other.to_string(),
        };
        let field = match &self {
            ApiError::InvalidField { field, .. } => Some(field.as_str()),
            ApiError::Status { field, .. } => field.as_deref(),
            _ => None,
        };
        let message = match &self {
            ApiError::InvalidField { message, .. } => message.clone(),
            _ => message,
        };

        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                field,
                message,
            },
        };
        (status, Json(body)).into_response()
    }
}
