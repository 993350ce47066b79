//! The call model: calls, their append-only events, links from calls to
//! service requests, and the agents and locations that answer calls.
//!
//! The event log is the source of truth. Each new event triggers a
//! recomputation of the call's summary from all of its events, and the
//! summary depends only on the set of events, never on their arrival order,
//! so late, duplicated and reordered webhook deliveries reach the same state.

mod entity;
mod queries;
mod summary;

use chrono::{DateTime, Utc};
use civic311_domain::Locale;
use serde::{Deserialize, Serialize};

pub use summary::summarize;

/// The telephony vendor that reported an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallProvider {
    Twilio,
    RingCentral,
}

impl CallProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            CallProvider::Twilio => "twilio",
            CallProvider::RingCentral => "ringcentral",
        }
    }
}

/// Kind of a call event, normalized across vendors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEventKind {
    /// The call reached the platform (Twilio voice webhook, RingCentral `Setup`).
    Started,
    /// The caller heard the after-hours message.
    AfterHours,
    /// The caller chose a language in the menu.
    LanguageSelected,
    /// The caller entered a queue.
    Enqueued,
    /// An agent answered.
    Answered,
    /// The caller left the queue; `queue_result` contains the reason (Twilio `QueueResult`).
    LeftQueue,
    /// The caller left a voicemail.
    Voicemail,
    /// The call ended.
    Ended,
    /// Any other progress report, kept for the record.
    Status,
}

impl CallEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallEventKind::Started => "started",
            CallEventKind::AfterHours => "after_hours",
            CallEventKind::LanguageSelected => "language_selected",
            CallEventKind::Enqueued => "enqueued",
            CallEventKind::Answered => "answered",
            CallEventKind::LeftQueue => "left_queue",
            CallEventKind::Voicemail => "voicemail",
            CallEventKind::Ended => "ended",
            CallEventKind::Status => "status",
        }
    }

    pub fn parse(value: &str) -> Option<CallEventKind> {
        let all = [
            CallEventKind::Started,
            CallEventKind::AfterHours,
            CallEventKind::LanguageSelected,
            CallEventKind::Enqueued,
            CallEventKind::Answered,
            CallEventKind::LeftQueue,
            CallEventKind::Voicemail,
            CallEventKind::Ended,
            CallEventKind::Status,
        ];
        all.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// Facts an event carries; which fields are set depends on the kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEventDetail {
    /// The caller's number. Private: never logged or shown in metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The city line the caller dialled, in E.164 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Department whose line was dialled; `None` for the main 311 line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Whether a department's line forwarded the call to 311.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forwarded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Locale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Seconds the caller waited in the queue, as the vendor reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<i64>,
    /// Call length in seconds, as the vendor reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    /// Twilio `QueueResult`, such as `bridged` or `hangup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_result: Option<String>,
    /// The vendor's own status word, such as Twilio `completed` or RingCentral `Disconnected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_status: Option<String>,
}

/// An event to record on a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCallEvent {
    pub provider: CallProvider,
    /// Twilio `CallSid` or RingCentral `telephonySessionId`; becomes the call id.
    pub call_id: String,
    /// Identifies the delivery, so a repeat is ignored, such as
    /// `ringcentral:{session}:{sequence}:{party}`.
    pub dedup_key: String,
    /// Vendor order within the call (Twilio `SequenceNumber`, RingCentral `sequence`).
    pub sequence: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub kind: CallEventKind,
    pub detail: CallEventDetail,
}

/// A stored call event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEvent {
    pub id: i64,
    pub call_id: String,
    pub dedup_key: String,
    pub kind: CallEventKind,
    pub sequence: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub detail: CallEventDetail,
}

/// Current state of a call, or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// In the menu, not yet queued.
    InMenu,
    /// Waiting in a queue.
    Queued,
    /// Talking to an agent.
    Answered,
    /// Answered and ended.
    Completed,
    /// The caller hung up while queued.
    Abandoned,
    /// Left the queue unanswered for another reason (queue full, error, redirect).
    Unanswered,
    /// The caller left a voicemail.
    Voicemail,
    /// Ended after the after-hours message.
    AfterHours,
    /// Ended in the menu before reaching a queue.
    EndedInMenu,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::InMenu => "in_menu",
            CallOutcome::Queued => "queued",
            CallOutcome::Answered => "answered",
            CallOutcome::Completed => "completed",
            CallOutcome::Abandoned => "abandoned",
            CallOutcome::Unanswered => "unanswered",
            CallOutcome::Voicemail => "voicemail",
            CallOutcome::AfterHours => "after_hours",
            CallOutcome::EndedInMenu => "ended_in_menu",
        }
    }
}

/// A call's state, recomputed from its events by [`summarize`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub provider: CallProvider,
    /// The caller's number. Private: shown only to authenticated staff.
    pub from: Option<String>,
    pub line: Option<String>,
    pub department: Option<String>,
    pub forwarded: bool,
    pub language: Option<Locale>,
    pub queue: Option<String>,
    pub started_at: DateTime<Utc>,
    pub enqueued_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: CallOutcome,
    pub agent: Option<String>,
    pub location: Option<String>,
    pub voicemail: bool,
    pub after_hours: bool,
    /// Seconds in queue until answered or abandoned.
    pub wait_seconds: Option<i64>,
    /// Seconds from answer to end (talk time; hold and wrap-up are not reported).
    pub handle_seconds: Option<i64>,
    /// The vendor status of the event with the highest sequence.
    pub last_status: Option<String>,
    pub event_count: u32,
}

/// A stored call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub id: String,
    #[serde(flatten)]
    pub summary: CallSummary,
    /// Number of service requests linked to the call.
    pub linked_requests: u32,
}

/// Result of recording an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The event was new; the call's summary now includes it.
    Recorded(Call),
    /// An event with the same dedup key exists; nothing changed.
    Duplicate(Call),
}

impl RecordOutcome {
    pub fn call(&self) -> &Call {
        match self {
            RecordOutcome::Recorded(call) | RecordOutcome::Duplicate(call) => call,
        }
    }
}

/// Relation of a request to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRelation {
    /// The call taker created the request during the call.
    Created,
    /// The call taker looked the request up during the call.
    LookedUp,
}

impl LinkRelation {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkRelation::Created => "created",
            LinkRelation::LookedUp => "looked_up",
        }
    }
}

/// A link between a call and a service request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLink {
    pub call_id: String,
    pub request_id: String,
    pub relation: LinkRelation,
    pub actor: Option<String>,
    pub linked_at: DateTime<Utc>,
}

/// A place where calls are answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLocation {
    pub code: String,
    pub name: String,
}

/// A call taker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAgent {
    pub code: String,
    pub name: String,
    pub location: String,
    pub ringcentral_extension: Option<String>,
}
