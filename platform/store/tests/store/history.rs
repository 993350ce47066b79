use civic311_domain::{Status, SubStatus};
use civic311_store::{HistoryKind, NewHistoryEvent, StoreError, Visibility};
use serde_json::json;

use crate::common::{at, create, fixture, new_request};

fn note(at_text: &str, summary: &str) -> NewHistoryEvent {
    NewHistoryEvent {
        at: at(at_text),
        kind: HistoryKind::Note,
        visibility: Visibility::Internal,
        summary: summary.into(),
        detail: json!({ "source": "test" }),
        actor: Some("clerk@haverhill".into()),
    }
}

#[tokio::test]
async fn history_in_time_order() {
    let fixture = fixture().await;
    let mut new = new_request("pothole", "2024-03-01T10:00:00Z");
    new.history.push(NewHistoryEvent {
        at: at("2024-03-01T10:00:00Z"),
        kind: HistoryKind::Routed,
        visibility: Visibility::Internal,
        summary: "Routed to dpw".into(),
        detail: json!({ "plugin": "haverhill-router", "department": "dpw" }),
        actor: Some("plugin:haverhill-router".into()),
    });
    let id = create(&fixture.tenant, new).await;

    fixture.tenant.append_history(&id, note("2024-03-01T12:00:00Z", "later note")).await.unwrap();
    let appended = fixture.tenant.append_history(&id, note("2024-03-01T11:00:00Z", "earlier note")).await.unwrap();
    assert_eq!(appended.request_id, id);
    assert_eq!(appended.summary, "earlier note");

    let history = fixture.tenant.history(&id).await.unwrap();
    let summaries: Vec<&str> = history.iter().map(|event| event.summary.as_str()).collect();
    assert_eq!(summaries, ["Request received", "Routed to dpw", "earlier note", "later note"]);

    let routed = &history[1];
    assert_eq!(routed.kind, HistoryKind::Routed);
    assert_eq!(routed.visibility, Visibility::Internal);
    assert_eq!(routed.detail, json!({ "plugin": "haverhill-router", "department": "dpw" }));
    assert_eq!(routed.actor.as_deref(), Some("plugin:haverhill-router"));
    assert_eq!(routed.at, at("2024-03-01T10:00:00Z"));
    assert_eq!(history[2], appended);
}

#[tokio::test]
async fn append_history_moves_updated_at_forward() {
    let fixture = fixture().await;
    let id = create(&fixture.tenant, new_request("pothole", "2024-03-01T10:00:00Z")).await;

    fixture.tenant.append_history(&id, note("2024-03-02T09:00:00Z", "checked")).await.unwrap();
    let request = fixture.tenant.request(&id).await.unwrap().unwrap();
    assert_eq!(request.updated_at, at("2024-03-02T09:00:00Z"));

    fixture.tenant.append_history(&id, note("2024-03-01T11:00:00Z", "backdated")).await.unwrap();
    let request = fixture.tenant.request(&id).await.unwrap().unwrap();
    assert_eq!(request.updated_at, at("2024-03-02T09:00:00Z"));
}

#[tokio::test]
async fn change_status_closes_and_sets_closed_at() {
    let fixture = fixture().await;
    let id = create(&fixture.tenant, new_request("pothole", "2024-03-01T10:00:00Z")).await;

    let closed = fixture
        .tenant
        .change_status(&id, SubStatus::ClosedResolved, Some("Filled with asphalt".into()), Some("crew-4".into()), at("2024-03-02T15:30:00Z"))
        .await
        .unwrap();

    assert_eq!(closed.status, Status::Closed);
    assert_eq!(closed.sub_status, SubStatus::ClosedResolved);
    assert_eq!(closed.closed_at, Some(at("2024-03-02T15:30:00Z")));
    assert_eq!(closed.updated_at, at("2024-03-02T15:30:00Z"));
    assert_eq!(closed.status_notes.as_deref(), Some("Filled with asphalt"));
    assert_eq!(fixture.tenant.request(&id).await.unwrap(), Some(closed));

    let history = fixture.tenant.history(&id).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.kind, HistoryKind::StatusChanged);
    assert_eq!(last.visibility, Visibility::Public);
    assert_eq!(last.actor.as_deref(), Some("crew-4"));
    assert_eq!(last.detail["from"], "submitted");
    assert_eq!(last.detail["to"], "closed_resolved");
    assert_eq!(last.detail["note"], "Filled with asphalt");
}

#[tokio::test]
async fn closed_at_kept_then_cleared_on_reopen() {
    let fixture = fixture().await;
    let id = create(&fixture.tenant, new_request("pothole", "2024-03-01T10:00:00Z")).await;
    let tenant = &fixture.tenant;

    tenant.change_status(&id, SubStatus::ClosedResolved, None, None, at("2024-03-02T10:00:00Z")).await.unwrap();
    let reclassified = tenant
        .change_status(&id, SubStatus::ClosedNoAction, None, None, at("2024-03-03T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(reclassified.closed_at, Some(at("2024-03-02T10:00:00Z")));
    assert_eq!(reclassified.sub_status, SubStatus::ClosedNoAction);
    assert_eq!(reclassified.status_notes, None);

    let reopened = tenant
        .change_status(&id, SubStatus::InProgress, None, None, at("2024-03-04T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(reopened.status, Status::Open);
    assert_eq!(reopened.closed_at, None);
    assert_eq!(tenant.history(&id).await.unwrap().len(), 4);
}

#[tokio::test]
async fn unknown_request_is_not_found() {
    let fixture = fixture().await;
    let tenant = &fixture.tenant;

    let errors = [
        tenant.history("9999").await.unwrap_err(),
        tenant.append_history("9999", note("2024-03-01T10:00:00Z", "x")).await.unwrap_err(),
        tenant
            .change_status("9999", SubStatus::ClosedResolved, None, None, at("2024-03-01T10:00:00Z"))
            .await
            .unwrap_err(),
    ];

    for error in errors {
        assert!(matches!(&error, StoreError::NotFound { id, .. } if id == "9999"), "got {error:?}");
    }
}
