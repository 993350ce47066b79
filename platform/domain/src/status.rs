//! Open311 status and the city's finer sub-statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The Open311 status: a request is either open or closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Closed,
}

impl Status {
    /// Returns `open` or `closed`, the Open311 values.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a status other than `open` or `closed`.
#[derive(Debug, thiserror::Error)]
#[error("invalid status '{0}': expected open or closed")]
pub struct InvalidStatus(pub String);

impl FromStr for Status {
    type Err = InvalidStatus;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "open" => Ok(Status::Open),
            "closed" => Ok(Status::Closed),
            other => Err(InvalidStatus(other.to_string())),
        }
    }
}

/// The city's workflow state of a request. Each maps to one Open311 [`Status`],
/// and closed is never read as fixed: `ClosedDuplicate` and `ClosedNoAction`
/// are closed without the problem being resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubStatus {
    /// Received, not yet looked at by the department.
    Submitted,
    Acknowledged,
    InProgress,
    OnHold,
    ClosedResolved,
    /// Closed because another request reports the same problem.
    ClosedDuplicate,
    /// Closed because another agency or body is responsible.
    ClosedReferred,
    ClosedNoAction,
    ClosedCancelled,
}

impl SubStatus {
    pub const ALL: [SubStatus; 9] = [
        SubStatus::Submitted,
        SubStatus::Acknowledged,
        SubStatus::InProgress,
        SubStatus::OnHold,
        SubStatus::ClosedResolved,
        SubStatus::ClosedDuplicate,
        SubStatus::ClosedReferred,
        SubStatus::ClosedNoAction,
        SubStatus::ClosedCancelled,
    ];

    /// Returns the stable identifier used in storage, APIs and import mappings.
    pub fn as_str(self) -> &'static str {
        match self {
            SubStatus::Submitted => "submitted",
            SubStatus::Acknowledged => "acknowledged",
            SubStatus::InProgress => "in_progress",
            SubStatus::OnHold => "on_hold",
            SubStatus::ClosedResolved => "closed_resolved",
            SubStatus::ClosedDuplicate => "closed_duplicate",
            SubStatus::ClosedReferred => "closed_referred",
            SubStatus::ClosedNoAction => "closed_no_action",
            SubStatus::ClosedCancelled => "closed_cancelled",
        }
    }

    /// Returns the Open311 status this sub-status belongs to.
    pub fn status(self) -> Status {
        match self {
            SubStatus::Submitted | SubStatus::Acknowledged | SubStatus::InProgress | SubStatus::OnHold => {
                Status::Open
            }
            _ => Status::Closed,
        }
    }
}

impl fmt::Display for SubStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a sub-status name outside [`SubStatus::ALL`].
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid sub-status '{0}': expected one of submitted, acknowledged, in_progress, on_hold, \
     closed_resolved, closed_duplicate, closed_referred, closed_no_action, closed_cancelled"
)]
pub struct InvalidSubStatus(pub String);

impl FromStr for SubStatus {
    type Err = InvalidSubStatus;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        SubStatus::ALL
            .into_iter()
            .find(|sub_status| sub_status.as_str() == value.trim())
            .ok_or_else(|| InvalidSubStatus(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_status_maps_to_open311_status() {
        assert_eq!(SubStatus::OnHold.status(), Status::Open);
        assert_eq!(SubStatus::ClosedDuplicate.status(), Status::Closed);
        assert_eq!(SubStatus::Submitted.status(), Status::Open);
    }

    #[test]
    fn sub_status_round_trips_through_text() {
        for sub_status in SubStatus::ALL {
            assert_eq!(sub_status.as_str().parse::<SubStatus>().unwrap(), sub_status);
        }
    }
}
