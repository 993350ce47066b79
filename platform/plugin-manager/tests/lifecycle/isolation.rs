use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_plugin_manager::{AuditFilter, InstallRequest, ManagerError, PluginSource, Upload};
use civic311_store::StoreError;

use crate::{active_router, boston_input, bundled, fixture, install};

fn private_install(source: PluginSource) -> InstallRequest {
    InstallRequest {
        hook: Hook::Router,
        plugin_name: "city-router".to_string(),
        source,
        grants: Grants::default(),
        limits: LimitOverrides::default(),
        config: BTreeMap::new(),
    }
}

fn is_not_found(error: &ManagerError) -> bool {
    matches!(
        error,
        ManagerError::NotFound { .. } | ManagerError::Store(StoreError::NotFound { .. })
    )
}

#[tokio::test]
async fn other_tenant_cannot_use_private_plugin() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let (a, b) = (fixture.tenant_a, fixture.tenant_b);
    let owned = active_router(manager, a, "city-router", bundled("haverhill-router")).await;

    let errors = vec![
        (
            "install",
            manager
                .install(b, private_install(PluginSource::Tenant), "mallory")
                .await
                .unwrap_err(),
        ),
        (
            "install catalogue",
            manager
                .install(b, private_install(PluginSource::Catalogue), "mallory")
                .await
                .unwrap_err(),
        ),
        (
            "activate",
            manager
                .activate(b, Hook::Router, "city-router", 1, "mallory")
                .await
                .unwrap_err(),
        ),
        (
            "rollback",
            manager
                .rollback(b, Hook::Router, "city-router", Some(1), "mallory")
                .await
                .unwrap_err(),
        ),
        (
            "deactivate",
            manager
                .deactivate(b, Hook::Router, "city-router", "mallory")
                .await
                .unwrap_err(),
        ),
        (
            "dry run",
            manager
                .dry_run(
                    b,
                    "city-router",
                    1,
                    vec![("r1".to_string(), boston_input("x", "dpw"))],
                )
                .await
                .unwrap_err(),
        ),
        (
            "shadow",
            manager
                .start_shadow(b, Hook::Router, "city-router", 1, "mallory")
                .await
                .unwrap_err(),
        ),
        (
            "secret",
            manager
                .set_secret(b, Hook::Router, "city-router", "token", "x", "mallory")
                .await
                .unwrap_err(),
        ),
        (
            "artifact",
            manager
                .check_artifact(b, Hook::Router, "city-router", 1)
                .await
                .unwrap_err(),
        ),
    ];
    for (operation, error) in &errors {
        assert!(is_not_found(error), "{operation}: {error:?}");
    }

    assert!(
        manager
            .audit(b, AuditFilter::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        fixture
            .store
            .scoped(b)
            .plugin_versions(None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(manager.registry().router(b).is_none());
    let router = manager.registry().router(a).unwrap();
    assert_eq!(router.version.digest, owned.version.digest);
    let audit_a = manager.audit(a, AuditFilter::default()).await.unwrap();
    assert!(
        audit_a.iter().all(|entry| entry.actor != "mallory"),
        "{audit_a:?}"
    );
}

#[tokio::test]
async fn same_bytes_are_separate_per_tenant() {
    let fixture = fixture().await;
    let owned = crate::upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;

    let other = crate::upload(
        &fixture.manager,
        fixture.tenant_b,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;

    assert!(other.created);
    assert_eq!(other.version.version, 1);
    assert_ne!(other.version.id, owned.version.id);
    assert_eq!(other.version.owner, Some(fixture.tenant_b));
}

#[tokio::test]
async fn catalogue_plugin_installs_per_tenant() {
    let fixture = fixture().await;
    let manager = &fixture.manager;
    let upload = Upload {
        name: "shared-router".to_string(),
        wasm: bundled("boston-router"),
        description: Some("shared".to_string()),
        actor: "platform".to_string(),
    };
    let published = manager.publish(upload).await.unwrap();
    assert!(published.created);
    assert_eq!(published.version.owner, None);

    for (tenant, account) in [
        (fixture.tenant_a, "account-a"),
        (fixture.tenant_b, "account-b"),
    ] {
        install(
            manager,
            tenant,
            Hook::Router,
            "shared-router",
            PluginSource::Catalogue,
            Grants::default(),
        )
        .await;
        let config = BTreeMap::from([("account".to_string(), account.to_string())]);
        manager
            .set_config(tenant, Hook::Router, "shared-router", config, "admin")
            .await
            .unwrap();
        manager
            .set_secret(
                tenant,
                Hook::Router,
                "shared-router",
                "api-token",
                &format!("token-{account}"),
                "admin",
            )
            .await
            .unwrap();
        manager
            .activate(tenant, Hook::Router, "shared-router", 1, "admin")
            .await
            .unwrap();
    }

    let router_a = manager.registry().router(fixture.tenant_a).unwrap();
    let router_b = manager.registry().router(fixture.tenant_b).unwrap();
    assert_ne!(router_a.install.id, router_b.install.id);
    assert_eq!(router_a.version.digest, router_b.version.digest);
    assert_eq!(router_a.install.config["account"], "account-a");
    assert_eq!(router_b.install.config["account"], "account-b");
    let secrets_a = manager
        .secret_names(fixture.tenant_a, Hook::Router, "shared-router")
        .await
        .unwrap();
    assert_eq!(
        secrets_a
            .iter()
            .map(|secret| secret.name.as_str())
            .collect::<Vec<_>>(),
        vec!["api-token"]
    );

    manager
        .deactivate(fixture.tenant_b, Hook::Router, "shared-router", "admin")
        .await
        .unwrap();

    assert!(manager.registry().router(fixture.tenant_b).is_none());
    assert_eq!(
        manager
            .registry()
            .router(fixture.tenant_a)
            .unwrap()
            .install
            .id,
        router_a.install.id
    );
}

/// A log writer that keeps every line in memory.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_returned_or_logged() {
    let captured = CapturedLogs::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let secret = "s3cr3t-value-7f9a";

    let fixture = fixture().await;
    let manager = &fixture.manager;
    active_router(
        manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    manager
        .set_secret(
            fixture.tenant_a,
            Hook::Router,
            "city-router",
            "api-token",
            secret,
            "admin",
        )
        .await
        .unwrap();
    let names = manager
        .secret_names(fixture.tenant_a, Hook::Router, "city-router")
        .await
        .unwrap();
    let installs = fixture
        .store
        .scoped(fixture.tenant_a)
        .installs()
        .await
        .unwrap();
    let audit = manager
        .audit(fixture.tenant_a, AuditFilter::default())
        .await
        .unwrap();
    manager
        .delete_secret(
            fixture.tenant_a,
            Hook::Router,
            "city-router",
            "api-token",
            "admin",
        )
        .await
        .unwrap();

    let replies = [
        serde_json::to_string(&names).unwrap(),
        serde_json::to_string(&installs).unwrap(),
        serde_json::to_string(&audit).unwrap(),
    ];
    for reply in &replies {
        assert!(!reply.contains(secret), "secret in reply {reply}");
    }
    assert!(
        replies[2].contains("api-token"),
        "audit does not name the secret: {}",
        replies[2]
    );
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("plugin install"), "no logs captured: {logs}");
    assert!(!logs.contains(secret), "secret in logs");
}
