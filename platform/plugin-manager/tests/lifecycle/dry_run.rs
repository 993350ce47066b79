use std::path::Path;

use chrono::{DateTime, Utc};
use civic311_domain::plugin::{Grants, Hook};
use civic311_domain::routing::RouteInput;
use civic311_domain::{Channel, Priority, SubStatus};
use civic311_plugin_manager::{DecisionOrError, DryRunReport, ManagerError, PluginSource};
use civic311_store::{Contact, NewServiceRequest, ServiceRequest, TenantId, TenantStore};

use crate::{
    Fixture, active_router, attribute, boston_input, bundled, fixture, install, test_plugin, upload,
};

/// Applies the real Boston manifest as a third tenant.
async fn boston_tenant(fixture: &Fixture) -> TenantId {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tenants/boston");
    let manifest = civic311_domain::manifest::load(&folder).expect("load the Boston manifest");
    let (record, _) = fixture
        .store
        .apply_tenant(&manifest)
        .await
        .expect("apply the Boston tenant");
    record.id
}

/// Stores a submitted request of `input`'s service, as intake would after routing.
async fn store_request(tenant: &TenantStore, input: &RouteInput) -> ServiceRequest {
    let requested_at: DateTime<Utc> = "2026-12-02T15:30:00Z".parse().unwrap();
    let new = NewServiceRequest {
        service_code: input.service_code.clone(),
        service_name: input.service_name.clone(),
        description: input.description.clone(),
        lat: None,
        long: None,
        address: None,
        address_id: None,
        zipcode: None,
        media_url: None,
        attributes: input.attributes.clone(),
        contact: Contact::default(),
        channel: Channel::Web,
        sub_status: SubStatus::Submitted,
        department: input.default_department.clone(),
        priority: Priority::Normal,
        queue: None,
        assignee: None,
        requested_at,
        updated_at: requested_at,
        expected_at: None,
        closed_at: None,
        status_notes: None,
        with_token: false,
        source_id: None,
        public_id: None,
        call_id: None,
        idempotency_key: None,
        idempotency_client: None,
        payload_fingerprint: None,
        photos: Vec::new(),
        history: Vec::new(),
        integration_installs: Vec::new(),
    };
    tenant.create_request(new).await.expect("store request")
}

/// Three Boston requests whose routing the boston-router refines.
fn boston_inputs() -> Vec<RouteInput> {
    let mut signal = boston_input("pwd-graffiti", "PWDx");
    signal
        .attributes
        .push(attribute("surface", "traffic-signal"));
    vec![
        boston_input("parking-enforcement", "BTDT"),
        boston_input("needle-pickup", "GEN_"),
        signal,
    ]
}

fn changes_of(report: &DryRunReport, request_id: &str) -> Vec<String> {
    let row = report
        .rows
        .iter()
        .find(|row| row.request_id == request_id)
        .expect("row of request");
    row.changes.clone()
}

#[tokio::test]
async fn dry_run_lists_exact_changes() {
    let fixture = fixture().await;
    let boston = boston_tenant(&fixture).await;
    let tenant_store = fixture.store.scoped(boston);
    let manager = &fixture.manager;
    active_router(manager, boston, "boston-router", bundled("boston-router")).await;
    upload(
        manager,
        boston,
        "fault-router",
        test_plugin("fault-injector"),
    )
    .await;
    install(
        manager,
        boston,
        Hook::Router,
        "fault-router",
        PluginSource::Tenant,
        Grants::default(),
    )
    .await;

    let mut inputs = Vec::new();
    for input in boston_inputs() {
        let stored = store_request(&tenant_store, &input).await;
        inputs.push((stored.id, input));
    }
    let ids: Vec<String> = inputs.iter().map(|(id, _)| id.clone()).collect();
    let stored_before = tenant_store.recent_requests(10).await.unwrap();

    let report = manager
        .dry_run(boston, "fault-router", 1, inputs)
        .await
        .unwrap();

    assert_eq!(report.total, 3);
    assert_eq!(report.changed_count, 3);
    assert_eq!(report.candidate.name, "fault-router");
    assert_eq!(
        report.active.as_ref().map(|active| active.name.as_str()),
        Some("boston-router")
    );
    assert_eq!(
        changes_of(&report, &ids[0]),
        vec!["queue: BTDT_Parking Enforcement -> none".to_string()]
    );
    assert_eq!(
        changes_of(&report, &ids[1]),
        vec![
            "priority: high -> normal".to_string(),
            "queue: GEN_Needle_Pickup -> none".to_string()
        ]
    );
    let signal = changes_of(&report, &ids[2]);
    assert_eq!(signal[0], "department: BTDT -> PWDx");
    assert!(
        signal.contains(&"queue: BTDT_Traffic Signal_Graffiti -> none".to_string()),
        "{signal:?}"
    );
    for row in &report.rows {
        assert!(
            matches!(row.active, DecisionOrError::Decision { .. }),
            "{row:?}"
        );
        assert!(
            matches!(row.candidate, DecisionOrError::Decision { .. }),
            "{row:?}"
        );
    }

    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    assert!(
        tenant_store
            .calls_since(None, epoch)
            .await
            .unwrap()
            .is_empty(),
        "dry run recorded calls"
    );
    assert_eq!(
        tenant_store.recent_requests(10).await.unwrap(),
        stored_before
    );
    let usage = tenant_store
        .plugin_usage(epoch.date_naive(), Utc::now().date_naive())
        .await
        .unwrap();
    assert!(usage.is_empty(), "dry run metered usage: {usage:?}");
}

#[tokio::test]
async fn dry_run_of_active_version_changes_nothing() {
    let fixture = fixture().await;
    active_router(
        &fixture.manager,
        fixture.tenant_a,
        "boston-router",
        bundled("boston-router"),
    )
    .await;
    let inputs: Vec<(String, RouteInput)> = boston_inputs()
        .into_iter()
        .enumerate()
        .map(|(index, input)| (format!("r{index}"), input))
        .collect();

    let report = fixture
        .manager
        .dry_run(fixture.tenant_a, "boston-router", 1, inputs)
        .await
        .unwrap();

    assert_eq!(report.total, 3);
    assert_eq!(report.changed_count, 0);
    assert!(
        report
            .rows
            .iter()
            .all(|row| row.changes.is_empty() && row.active == row.candidate),
        "{report:?}"
    );
}

#[tokio::test]
async fn dry_run_reports_candidate_errors() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "boston-router",
        bundled("boston-router"),
    )
    .await;
    upload(
        manager,
        fixture.tenant_a,
        "fault-router",
        test_plugin("fault-injector"),
    )
    .await;
    install(
        manager,
        fixture.tenant_a,
        Hook::Router,
        "fault-router",
        PluginSource::Tenant,
        Grants::default(),
    )
    .await;
    let mut input = boston_input("parking-enforcement", "BTDT");
    input
        .settings
        .insert("fault".to_string(), "trap".to_string());

    let report = manager
        .dry_run(
            fixture.tenant_a,
            "fault-router",
            1,
            vec![("r1".to_string(), input)],
        )
        .await
        .unwrap();

    assert_eq!(report.changed_count, 1);
    let row = &report.rows[0];
    assert!(
        matches!(&row.candidate, DecisionOrError::Error { kind, .. } if kind == "trap"),
        "{row:?}"
    );
    assert_eq!(
        row.changes,
        vec!["outcome: decision (department BTDT) -> error (trap)".to_string()]
    );
}

#[tokio::test]
async fn dry_run_without_router_compares_default() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    upload(
        manager,
        fixture.tenant_a,
        "boston-router",
        bundled("boston-router"),
    )
    .await;
    install(
        manager,
        fixture.tenant_a,
        Hook::Router,
        "boston-router",
        PluginSource::Tenant,
        Grants::default(),
    )
    .await;
    let mut signal = boston_input("pwd-graffiti", "PWDx");
    signal
        .attributes
        .push(attribute("surface", "traffic-signal"));

    let report = manager
        .dry_run(
            fixture.tenant_a,
            "boston-router",
            1,
            vec![("r1".to_string(), signal)],
        )
        .await
        .unwrap();

    assert!(report.active.is_none());
    assert_eq!(
        report.rows[0].changes,
        vec!["department: PWDx (no router) -> BTDT".to_string()]
    );
}

#[tokio::test]
async fn dry_run_discards_kv_writes() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "boston-router",
        bundled("boston-router"),
    )
    .await;
    upload(
        manager,
        fixture.tenant_a,
        "probe",
        test_plugin("capability-probe"),
    )
    .await;
    let grants = Grants {
        logs: true,
        kv: true,
        secrets: true,
        http_hosts: vec!["127.0.0.1".to_string()],
    };
    let probe = install(
        manager,
        fixture.tenant_a,
        Hook::Router,
        "probe",
        PluginSource::Tenant,
        grants,
    )
    .await;
    let mut input = boston_input("parking-enforcement", "BTDT");
    input
        .settings
        .insert("probe".to_string(), "kv-counter".to_string());
    let inputs = vec![("r1".to_string(), input.clone()), ("r2".to_string(), input)];

    let report = manager
        .dry_run(fixture.tenant_a, "probe", 1, inputs)
        .await
        .unwrap();

    for row in &report.rows {
        let DecisionOrError::Decision { decision } = &row.candidate else {
            panic!("probe failed: {row:?}");
        };
        assert!(
            decision
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("counter=1"),
            "{decision:?}"
        );
    }
    let keys = fixture
        .store
        .scoped(fixture.tenant_a)
        .kv_keys(probe.id)
        .await
        .unwrap();
    assert!(keys.is_empty(), "dry run wrote KV keys {keys:?}");
}

#[tokio::test]
async fn dry_run_rejects_missing_plugin_or_version() {
    let fixture = fixture().await;
    active_router(
        &fixture.manager,
        fixture.tenant_a,
        "boston-router",
        bundled("boston-router"),
    )
    .await;

    let missing = fixture
        .manager
        .dry_run(fixture.tenant_a, "no-such-router", 1, Vec::new())
        .await
        .unwrap_err();
    let unknown_version = fixture
        .manager
        .dry_run(fixture.tenant_a, "boston-router", 9, Vec::new())
        .await
        .unwrap_err();

    assert!(
        matches!(missing, ManagerError::NotFound { .. }),
        "{missing:?}"
    );
    assert!(
        matches!(
            unknown_version,
            ManagerError::VersionNotFound { version: 9, .. }
        ),
        "{unknown_version:?}"
    );
}
