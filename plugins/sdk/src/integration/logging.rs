//! Log lines that every integration writes about a sync. They name request
//! and record ids only: no secret or token, and no description, which may
//! quote a constituent.

use alloc::format;

use super::model::{Capabilities, LogLevel, RoutedRequest, SyncFailure, SyncedRecord};

/// Logs at level debug that the install does not sync `request`.
pub fn log_not_selected(request: &RoutedRequest, capabilities: &impl Capabilities) {
    let message = format!(
        "{} not synced: department {} and service code {} are not configured",
        request.id, request.department, request.service_code
    );
    capabilities.log(LogLevel::Debug, &message);
}

/// Logs what the sync of `request` did. `record_name` names the back end's
/// record in the line, such as `Maintstar work order`.
pub fn log_outcome(request: &RoutedRequest, result: &Result<SyncedRecord, SyncFailure>, record_name: &str, capabilities: &impl Capabilities) {
    let id = &request.id;
    let (level, message) = match result {
        Ok(record) if record.created => (LogLevel::Info, format!("{id}: created {record_name} {}", record.remote_id)),
        Ok(record) => (LogLevel::Info, format!("{id}: found existing {record_name} {}", record.remote_id)),
        Err(SyncFailure::Retry(reason)) => (LogLevel::Warn, format!("{id}: will retry: {reason}")),
        Err(SyncFailure::Rejected(reason)) => (LogLevel::Error, format!("{id}: rejected: {reason}")),
    };
    capabilities.log(level, &message);
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;
    use core::cell::RefCell;

    use super::*;
    use crate::integration::model::{HttpError, HttpRequest, HttpResponse, RecordKind};

    /// Capabilities that only record log lines.
    #[derive(Default)]
    struct LogRecorder {
        lines: RefCell<Vec<(LogLevel, String)>>,
    }

    impl Capabilities for LogRecorder {
        fn send(&self, _request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            Err(HttpError::Failed("no HTTP in this test".to_string()))
        }

        fn secret(&self, _name: &str) -> Option<String> {
            None
        }

        fn log(&self, level: LogLevel, message: &str) {
            self.lines.borrow_mut().push((level, message.to_string()));
        }

        fn kv_get(&self, _key: &str) -> Result<Option<Vec<u8>>, String> {
            Ok(None)
        }

        fn kv_set(&self, _key: &str, _value: &[u8]) -> Result<(), String> {
            Ok(())
        }

        fn kv_delete(&self, _key: &str) -> Result<(), String> {
            Ok(())
        }
    }

    fn request() -> RoutedRequest {
        RoutedRequest { id: "HAV-1".into(), department: "health".into(), service_code: "noise".into(), ..RoutedRequest::default() }
    }

    #[test]
    fn not_selected_names_department_and_code() {
        let recorder = LogRecorder::default();

        log_not_selected(&request(), &recorder);

        let lines = recorder.lines.into_inner();
        assert_eq!(lines, [(LogLevel::Debug, "HAV-1 not synced: department health and service code noise are not configured".to_string())]);
    }

    #[test]
    fn outcome_level_follows_result() {
        let recorder = LogRecorder::default();
        let found = SyncedRecord { kind: RecordKind::WorkOrder, remote_id: "WO-1".into(), remote_status: None, created: false };

        log_outcome(&request(), &Ok(found), "Maintstar work order", &recorder);
        log_outcome(&request(), &Err(SyncFailure::Rejected("bad type".into())), "Maintstar work order", &recorder);

        let lines = recorder.lines.into_inner();
        assert_eq!(lines[0], (LogLevel::Info, "HAV-1: found existing Maintstar work order WO-1".to_string()));
        assert_eq!(lines[1], (LogLevel::Error, "HAV-1: rejected: bad type".to_string()));
    }
}
