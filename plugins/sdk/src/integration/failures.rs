//! Classification of HTTP requests that got no response from the back end.

use alloc::format;

use super::model::{HttpError, SyncFailure};

/// Classifies a request to `backend` that got no response while doing
/// `action`. A denied host or an invalid URL is an error in the install's
/// configuration, so it is rejected, and the message points at
/// `url_keys`, the config entries that hold the URLs. A timeout or another
/// failure is transient and retried.
pub fn transport_failure(backend: &str, url_keys: &str, action: &str, error: HttpError) -> SyncFailure {
    match error {
        HttpError::Denied(detail) => SyncFailure::Rejected(format!(
            "the platform denied the request to {backend} ({detail}); add its host to the install's HTTP \
             allow-list, or ask the operator to allow private networks if {backend} runs on one"
        )),
        HttpError::InvalidUrl(detail) => {
            SyncFailure::Rejected(format!("the {backend} URL is invalid ({detail}); check install config {url_keys}"))
        }
        HttpError::Timeout => SyncFailure::Retry(format!("{backend} timed out when {action}")),
        HttpError::Failed(detail) => SyncFailure::Retry(format!("the request to {backend} failed when {action}: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_rejected() {
        let denied = transport_failure("Maintstar", "base_url", "creating", HttpError::Denied("ms.example.gov".into()));
        let invalid = transport_failure("Maintstar", "base_url", "creating", HttpError::InvalidUrl("no host".into()));

        assert_eq!(
            denied,
            SyncFailure::Rejected(
                "the platform denied the request to Maintstar (ms.example.gov); add its host to the install's HTTP \
                 allow-list, or ask the operator to allow private networks if Maintstar runs on one"
                    .into()
            )
        );
        assert_eq!(invalid, SyncFailure::Rejected("the Maintstar URL is invalid (no host); check install config base_url".into()));
    }

    #[test]
    fn transient_errors_are_retried() {
        let timeout = transport_failure("ViewPermit", "base_url", "looking up", HttpError::Timeout);
        let failed = transport_failure("ViewPermit", "base_url", "looking up", HttpError::Failed("reset".into()));

        assert_eq!(timeout, SyncFailure::Retry("ViewPermit timed out when looking up".into()));
        assert_eq!(failed, SyncFailure::Retry("the request to ViewPermit failed when looking up: reset".into()));
    }
}
