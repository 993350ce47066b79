//! Intake channels of a service request.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The way a service request reached the city.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A call taker entered it during a phone call.
    Phone,
    /// The public web portal.
    Web,
    /// A constituent mobile app speaking Open311.
    MobileApp,
    /// An email to the 311 center.
    Email,
    /// City staff in the field.
    FieldApp,
    /// A historical record brought in by `civic311 import requests`.
    Import,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Phone,
        Channel::Web,
        Channel::MobileApp,
        Channel::Email,
        Channel::FieldApp,
        Channel::Import,
    ];

    /// Returns the stable identifier used in storage, APIs and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Web => "web",
            Channel::MobileApp => "mobile_app",
            Channel::Email => "email",
            Channel::FieldApp => "field_app",
            Channel::Import => "import",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a channel name that is not one of [`Channel::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("invalid channel '{0}': expected one of phone, web, mobile_app, email, field_app, import")]
pub struct InvalidChannel(pub String);

impl FromStr for Channel {
    type Err = InvalidChannel;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|channel| channel.as_str() == value.trim())
            .ok_or_else(|| InvalidChannel(value.to_string()))
    }
}
