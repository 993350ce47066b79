//! Recomputes a call's summary from its events.
//!
//! The events are first put in one total order that does not depend on
//! arrival: occurrence time, vendor sequence, kind, dedup key. Every rule
//! below reads them in that order, so any arrival order of the same set of
//! events yields the same summary.

use chrono::{DateTime, Duration, Utc};

use super::{CallEvent, CallEventKind, CallOutcome, CallProvider, CallSummary};

/// Twilio `QueueResult` values that mean an agent took the call.
const BRIDGED_RESULTS: [&str; 3] = ["bridged", "bridging-in-process", "redirected-from-bridged"];

/// Builds the summary of a call from all its events; `events` must not be empty.
pub fn summarize(provider: CallProvider, events: &[CallEvent]) -> CallSummary {
    let mut sorted: Vec<&CallEvent> = events.iter().collect();
    sorted.sort_by(|a, b| {
        (a.occurred_at, a.sequence, a.kind, &a.dedup_key).cmp(&(b.occurred_at, b.sequence, b.kind, &b.dedup_key))
    });

    let of_kind = |kind: CallEventKind| sorted.iter().copied().filter(move |event| event.kind == kind);
    let line_event = sorted.iter().find(|event| event.detail.line.is_some());
    let started_at = sorted.first().map(|event| event.occurred_at).unwrap_or_else(Utc::now);

    let enqueued_at = of_kind(CallEventKind::Enqueued).map(|event| event.occurred_at).next();
    let left_queue = of_kind(CallEventKind::LeftQueue).next();
    let bridged = left_queue.filter(|event| is_bridged(event.detail.queue_result.as_deref()));
    let first_answer = of_kind(CallEventKind::Answered).next();
    let answered = first_answer.is_some() || bridged.is_some();

    let reported_wait = of_kind(CallEventKind::Answered)
        .chain(left_queue)
        .find_map(|event| event.detail.wait_seconds);
    let answered_at = first_answer
        .map(|event| event.occurred_at)
        .or_else(|| bridged.and_then(|_| Some(enqueued_at? + Duration::seconds(reported_wait?))));

    let caller_hung_up = left_queue.is_some_and(|event| event.detail.queue_result.as_deref() == Some("hangup"));
    let ended_at = of_kind(CallEventKind::Ended)
        .map(|event| event.occurred_at)
        .chain(left_queue.filter(|_| caller_hung_up).map(|event| event.occurred_at))
        .max();

    let voicemail = of_kind(CallEventKind::Voicemail).next().is_some();
    let after_hours = of_kind(CallEventKind::AfterHours).next().is_some();
    let outcome = outcome(OutcomeFacts {
        voicemail,
        answered,
        ended: ended_at.is_some(),
        enqueued: enqueued_at.is_some(),
        left_queue_result: left_queue.and_then(|event| event.detail.queue_result.as_deref()),
        after_hours,
    });

    let wait_seconds = wait_seconds(outcome, reported_wait, enqueued_at, answered_at, ended_at);
    let handle_seconds = match (answered_at, ended_at) {
        (Some(answered), Some(ended)) => Some((ended - answered).num_seconds().max(0)),
        _ => None,
    };

    CallSummary {
        provider,
        from: sorted.iter().find_map(|event| event.detail.from.clone()),
        line: line_event.and_then(|event| event.detail.line.clone()),
        department: line_event.and_then(|event| event.detail.department.clone()),
        forwarded: line_event.is_some_and(|event| event.detail.forwarded),
        language: of_kind(CallEventKind::LanguageSelected)
            .chain(of_kind(CallEventKind::Enqueued))
            .find_map(|event| event.detail.language),
        queue: of_kind(CallEventKind::Enqueued).find_map(|event| event.detail.queue.clone()),
        started_at,
        enqueued_at,
        answered_at,
        ended_at,
        outcome,
        agent: of_kind(CallEventKind::Answered).find_map(|event| event.detail.agent.clone()),
        location: of_kind(CallEventKind::Answered).find_map(|event| event.detail.location.clone()),
        voicemail,
        after_hours,
        wait_seconds,
        handle_seconds,
        last_status: last_status(&sorted),
        event_count: sorted.len() as u32,
    }
}

fn is_bridged(queue_result: Option<&str>) -> bool {
    queue_result.is_some_and(|result| BRIDGED_RESULTS.contains(&result))
}

struct OutcomeFacts<'a> {
    voicemail: bool,
    answered: bool,
    ended: bool,
    enqueued: bool,
    left_queue_result: Option<&'a str>,
    after_hours: bool,
}

fn outcome(facts: OutcomeFacts<'_>) -> CallOutcome {
    if facts.voicemail {
        return CallOutcome::Voicemail;
    }
    if facts.answered {
        return if facts.ended { CallOutcome::Completed } else { CallOutcome::Answered };
    }

    if facts.enqueued {
        return match facts.left_queue_result {
            Some("hangup") => CallOutcome::Abandoned,
            Some(_) => CallOutcome::Unanswered,
            None if facts.ended => CallOutcome::Abandoned,
            None => CallOutcome::Queued,
        };
    }

    if facts.after_hours {
        CallOutcome::AfterHours
    } else if facts.ended {
        CallOutcome::EndedInMenu
    } else {
        CallOutcome::InMenu
    }
}

/// Prefers the vendor's own queue time; otherwise measures from the enqueue
/// to the answer, or to the end for an abandon.
fn wait_seconds(
    outcome: CallOutcome,
    reported: Option<i64>,
    enqueued_at: Option<DateTime<Utc>>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
) -> Option<i64> {
    let left_queue_at = match outcome {
        CallOutcome::Answered | CallOutcome::Completed => answered_at,
        CallOutcome::Abandoned | CallOutcome::Unanswered => ended_at,
        _ => return reported,
    };

    reported.or_else(|| Some((left_queue_at? - enqueued_at?).num_seconds().max(0)))
}

fn last_status(sorted: &[&CallEvent]) -> Option<String> {
    let with_status = sorted.iter().filter(|event| event.detail.provider_status.is_some());
    let by_sequence = with_status.clone().filter(|event| event.sequence.is_some()).max_by_key(|event| event.sequence);

    by_sequence
        .or_else(|| with_status.last())
        .and_then(|event| event.detail.provider_status.clone())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::telephony::CallEventDetail;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap() + Duration::seconds(seconds)
    }

    fn event(id: i64, seconds: i64, kind: CallEventKind, detail: CallEventDetail) -> CallEvent {
        CallEvent {
            id,
            call_id: "S1".into(),
            dedup_key: format!("k{id}"),
            kind,
            sequence: Some(id),
            occurred_at: at(seconds),
            received_at: at(seconds),
            detail,
        }
    }

    fn answered_call() -> Vec<CallEvent> {
        vec![
            event(1, 0, CallEventKind::Started, CallEventDetail { line: Some("+19785550100".into()), ..Default::default() }),
            event(2, 5, CallEventKind::Enqueued, CallEventDetail { queue: Some("en".into()), ..Default::default() }),
            event(3, 35, CallEventKind::Answered, CallEventDetail { agent: Some("ana".into()), ..Default::default() }),
            event(4, 215, CallEventKind::Ended, CallEventDetail::default()),
        ]
    }

    #[test]
    fn answered_call_times() {
        let summary = summarize(CallProvider::RingCentral, &answered_call());

        assert_eq!(summary.outcome, CallOutcome::Completed);
        assert_eq!(summary.wait_seconds, Some(30));
        assert_eq!(summary.handle_seconds, Some(180));
        assert_eq!(summary.agent.as_deref(), Some("ana"));
    }

    #[test]
    fn arrival_order_does_not_matter() {
        let forward = summarize(CallProvider::RingCentral, &answered_call());
        let mut reversed = answered_call();
        reversed.reverse();

        assert_eq!(summarize(CallProvider::RingCentral, &reversed), forward);
    }

    #[test]
    fn hangup_in_queue_is_abandon() {
        let mut events = answered_call();
        events.truncate(2);
        events.push(event(
            3,
            12,
            CallEventKind::LeftQueue,
            CallEventDetail { queue_result: Some("hangup".into()), wait_seconds: Some(7), ..Default::default() },
        ));

        let summary = summarize(CallProvider::Twilio, &events);

        assert_eq!(summary.outcome, CallOutcome::Abandoned);
        assert_eq!(summary.wait_seconds, Some(7));
        assert_eq!(summary.ended_at, Some(at(12)));
    }
}
