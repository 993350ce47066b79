//! Priority of a service request.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How urgently a department should act on a service request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    /// Needs action outside business hours (for example ice on a main road at night).
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

    /// Returns the stable identifier used in storage and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a priority name outside [`Priority::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("invalid priority '{0}': expected one of low, normal, high, urgent")]
pub struct InvalidPriority(pub String);

impl FromStr for Priority {
    type Err = InvalidPriority;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|priority| priority.as_str() == value.trim())
            .ok_or_else(|| InvalidPriority(value.to_string()))
    }
}
