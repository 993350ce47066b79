use std::collections::BTreeMap;

use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_plugin_host::PluginError;
use civic311_plugin_manager::{AuditFilter, ManagerError, PluginSource};
use civic311_store::AuditAction;

use crate::{fixture, install, test_plugin, upload};

fn all_grants() -> Grants {
    Grants {
        logs: true,
        kv: true,
        secrets: true,
        http_hosts: vec!["127.0.0.1".to_string()],
    }
}

#[tokio::test]
async fn grants_cannot_drop_used_capability() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    upload(
        manager,
        fixture.tenant_a,
        "probe",
        test_plugin("capability-probe"),
    )
    .await;
    install(
        manager,
        fixture.tenant_a,
        Hook::Router,
        "probe",
        PluginSource::Tenant,
        all_grants(),
    )
    .await;
    manager
        .activate(fixture.tenant_a, Hook::Router, "probe", 1, "alice")
        .await
        .unwrap();
    let without_kv = Grants {
        kv: false,
        ..all_grants()
    };

    let error = manager
        .set_grants(fixture.tenant_a, Hook::Router, "probe", without_kv, "alice")
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ManagerError::Plugin(PluginError::NotGranted { capability, .. }) if capability.as_str() == "kv"),
        "{error:?}"
    );
    let stored = fixture
        .store
        .scoped(fixture.tenant_a)
        .install(Hook::Router, "probe")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.grants.kv);
}

#[tokio::test]
async fn grants_reject_invalid_host() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    upload(
        manager,
        fixture.tenant_a,
        "probe",
        test_plugin("capability-probe"),
    )
    .await;
    install(
        manager,
        fixture.tenant_a,
        Hook::Router,
        "probe",
        PluginSource::Tenant,
        all_grants(),
    )
    .await;

    for host in [
        "https://api.example.com",
        "api.example.com:443",
        "api.example.com/path",
        "",
        "*.",
    ] {
        let grants = Grants {
            http_hosts: vec![host.to_string()],
            ..all_grants()
        };
        let error = manager
            .set_grants(fixture.tenant_a, Hook::Router, "probe", grants, "alice")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ManagerError::Invalid { field, .. } if field == "grants.http_hosts"),
            "{host}: {error:?}"
        );
    }
}

#[tokio::test]
async fn settings_changes_are_audited() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    upload(
        manager,
        fixture.tenant_a,
        "probe",
        test_plugin("capability-probe"),
    )
    .await;
    install(
        manager,
        fixture.tenant_a,
        Hook::Router,
        "probe",
        PluginSource::Tenant,
        all_grants(),
    )
    .await;
    let limits = LimitOverrides {
        fuel: Some(20_000_000),
        wall_time_ms: Some(2_000),
        ..Default::default()
    };
    let config = BTreeMap::from([("account".to_string(), "acct-7731".to_string())]);

    let with_limits = manager
        .set_limits(fixture.tenant_a, Hook::Router, "probe", limits, "alice")
        .await
        .unwrap();
    let with_config = manager
        .set_config(
            fixture.tenant_a,
            Hook::Router,
            "probe",
            config.clone(),
            "bob",
        )
        .await
        .unwrap();

    assert_eq!(with_limits.limits, limits);
    assert_eq!(with_config.config, config);
    let entries = manager
        .audit(fixture.tenant_a, AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(
        (entries[0].action, entries[0].actor.as_str()),
        (AuditAction::ConfigChange, "bob")
    );
    assert_eq!(entries[0].detail.as_deref(), Some("config keys: account"));
    assert_eq!(
        (entries[1].action, entries[1].actor.as_str()),
        (AuditAction::LimitsChange, "alice")
    );
    assert_eq!(
        entries[1].detail.as_deref(),
        Some("limits: fuel=20000000, wall_time_ms=2000")
    );
}

#[tokio::test]
async fn config_and_secrets_are_checked() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    upload(
        manager,
        fixture.tenant_a,
        "probe",
        test_plugin("capability-probe"),
    )
    .await;
    install(
        manager,
        fixture.tenant_a,
        Hook::Router,
        "probe",
        PluginSource::Tenant,
        all_grants(),
    )
    .await;
    let oversized = BTreeMap::from([("notes".to_string(), "x".repeat(5000))]);

    let config = manager
        .set_config(fixture.tenant_a, Hook::Router, "probe", oversized, "alice")
        .await
        .unwrap_err();
    let name = manager
        .set_secret(
            fixture.tenant_a,
            Hook::Router,
            "probe",
            "api token",
            "value",
            "alice",
        )
        .await
        .unwrap_err();
    let missing = manager
        .delete_secret(
            fixture.tenant_a,
            Hook::Router,
            "probe",
            "never-set",
            "alice",
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&config, ManagerError::Invalid { field, .. } if field == "config"),
        "{config:?}"
    );
    assert!(config.to_string().contains("'notes'"), "{config}");
    assert!(
        matches!(&name, ManagerError::Invalid { field, .. } if field == "secret name"),
        "{name:?}"
    );
    assert!(
        matches!(&missing, ManagerError::NotFound { what: "secret", .. }),
        "{missing:?}"
    );
}
