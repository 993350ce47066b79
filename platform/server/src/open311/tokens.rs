//! GET `tokens/{token}`: the service request id behind a batch service's token.

use axum::http::StatusCode;
use axum::response::Response;

use super::Call;
use super::errors::Open311Error;
use super::format::{Document, Node, Record};

/// Replies with a list of one `request{service_request_id, token}`.
pub async fn lookup(call: &Call, token: &str) -> Result<Response, Open311Error> {
    let tenant = call.tenant()?;
    let request =
        tenant
            .store
            .request_by_token(token)
            .await?
            .ok_or_else(|| Open311Error::TokenNotFound {
                token: token.to_string(),
                jurisdiction: tenant.manifest.jurisdiction_id.clone(),
            })?;

    let record = Record::new()
        .field("service_request_id", request.id.as_str())
        .field("token", token);
    Ok(Document::new(
        "service_requests",
        Node::list("request", vec![record.into()]),
    )
    .into_response(call.format, StatusCode::OK))
}
