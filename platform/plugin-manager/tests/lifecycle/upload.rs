use civic311_domain::plugin::{Capability, Grants, Hook};
use civic311_plugin_host::PluginError;
use civic311_plugin_manager::{DEFAULT_MAX_UPLOAD_BYTES, ManagerError, PluginSource, Upload};
use civic311_store::StoreError;

use crate::{bundled, fixture, install, test_plugin, upload};

fn raw_upload(name: &str, wasm: Vec<u8>) -> Upload {
    Upload {
        name: name.to_string(),
        wasm,
        description: None,
        actor: "admin@city".to_string(),
    }
}

#[tokio::test]
async fn upload_rejects_non_component() {
    let fixture = fixture().await;

    let error = fixture
        .manager
        .upload(
            fixture.tenant_a,
            raw_upload("city-router", b"not a component".to_vec()),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            ManagerError::Plugin(PluginError::InvalidComponent { .. })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("city-router"), "{error}");
    let versions = fixture
        .store
        .scoped(fixture.tenant_a)
        .plugin_versions(None)
        .await
        .unwrap();
    assert!(versions.is_empty(), "{versions:?}");
}

#[tokio::test]
async fn upload_rejects_over_size_limit() {
    let fixture = fixture().await;
    let mut wasm = bundled("haverhill-router");
    wasm.resize(DEFAULT_MAX_UPLOAD_BYTES + 1, 0);

    let error = fixture
        .manager
        .upload(fixture.tenant_a, raw_upload("city-router", wasm))
        .await
        .unwrap_err();

    assert!(
        matches!(error, ManagerError::Plugin(PluginError::TooLarge { .. })),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&(DEFAULT_MAX_UPLOAD_BYTES + 1).to_string()),
        "{message}"
    );
    assert!(
        message.contains(&DEFAULT_MAX_UPLOAD_BYTES.to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn upload_rejects_invalid_name() {
    let fixture = fixture().await;

    for name in ["", "City-Router", "9router", "router/../x", &"r".repeat(65)] {
        let error = fixture
            .manager
            .upload(
                fixture.tenant_a,
                raw_upload(name, bundled("haverhill-router")),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ManagerError::Invalid { field, .. } if field == "plugin name"),
            "{name}: {error:?}"
        );
    }
}

#[tokio::test]
async fn integration_component_rejected_on_router_hook() {
    let fixture = fixture().await;
    let uploaded = upload(
        &fixture.manager,
        fixture.tenant_a,
        "viewpermit",
        test_plugin("viewpermit-integration"),
    )
    .await;
    assert_eq!(uploaded.version.hook, Hook::Integration);
    assert_eq!(uploaded.version.world, "integration");

    let request = civic311_plugin_manager::InstallRequest {
        hook: Hook::Router,
        plugin_name: "viewpermit".to_string(),
        source: PluginSource::Tenant,
        grants: Grants::default(),
        limits: Default::default(),
        config: Default::default(),
    };
    let error = fixture
        .manager
        .install(fixture.tenant_a, request, "admin@city")
        .await
        .unwrap_err();

    assert!(
        matches!(error, ManagerError::Store(StoreError::Invalid(_))),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("viewpermit"), "{message}");
    assert!(message.contains("serves the integration hook"), "{message}");
    assert!(message.contains("router hook"), "{message}");
}

#[tokio::test]
async fn router_component_rejected_under_integration_name() {
    let fixture = fixture().await;
    upload(
        &fixture.manager,
        fixture.tenant_a,
        "viewpermit",
        test_plugin("viewpermit-integration"),
    )
    .await;

    let error = fixture
        .manager
        .upload(
            fixture.tenant_a,
            raw_upload("viewpermit", bundled("haverhill-router")),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(error, ManagerError::Store(StoreError::Invalid(_))),
        "{error:?}"
    );
    assert!(error.to_string().contains("serves the integration hook"), "{error}");
}

#[tokio::test]
async fn upload_rejects_ungranted_capability() {
    let fixture = fixture().await;
    let probe = test_plugin("capability-probe");
    let first = upload(&fixture.manager, fixture.tenant_a, "probe", probe.clone()).await;
    assert_eq!(first.version.world, "router-with-capabilities");
    assert!(
        first.version.capabilities.contains(&Capability::Kv),
        "{:?}",
        first.version.capabilities
    );
    install(
        &fixture.manager,
        fixture.tenant_a,
        Hook::Router,
        "probe",
        PluginSource::Tenant,
        Grants::default(),
    )
    .await;

    let error = fixture
        .manager
        .upload(fixture.tenant_a, raw_upload("probe", probe))
        .await
        .unwrap_err();

    assert!(
        matches!(error, ManagerError::Plugin(PluginError::NotGranted { .. })),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("probe"), "{message}");
    assert!(message.contains("grant"), "{message}");
}

#[tokio::test]
async fn activation_rejects_ungranted_capability() {
    let fixture = fixture().await;
    let uploaded = upload(
        &fixture.manager,
        fixture.tenant_a,
        "probe",
        test_plugin("capability-probe"),
    )
    .await;
    let grants = Grants {
        logs: true,
        kv: true,
        secrets: false,
        http_hosts: vec!["api.example.com".to_string()],
    };
    install(
        &fixture.manager,
        fixture.tenant_a,
        Hook::Router,
        "probe",
        PluginSource::Tenant,
        grants,
    )
    .await;

    let error = fixture
        .manager
        .activate(
            fixture.tenant_a,
            Hook::Router,
            "probe",
            uploaded.version.version,
            "admin@city",
        )
        .await
        .unwrap_err();

    assert!(
        matches!(&error, ManagerError::Plugin(PluginError::NotGranted { capability, .. }) if capability.to_string() == "secrets"),
        "{error:?}"
    );
    assert!(error.to_string().contains("secrets"), "{error}");
    assert!(
        fixture
            .manager
            .registry()
            .router(fixture.tenant_a)
            .is_none()
    );
}

#[tokio::test]
async fn upload_accepts_and_numbers_versions() {
    let fixture = fixture().await;

    let first = upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    let again = upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("haverhill-router"),
    )
    .await;
    let second = upload(
        &fixture.manager,
        fixture.tenant_a,
        "city-router",
        bundled("boston-router"),
    )
    .await;

    assert!(first.created);
    assert_eq!(first.version.version, 1);
    assert_eq!(first.version.hook, Hook::Router);
    assert_eq!(first.version.world, "router");
    assert!(first.version.capabilities.is_empty());
    assert_eq!(first.version.uploaded_by, "admin@city");
    assert!(!again.created);
    assert_eq!(again.version, first.version);
    assert!(second.created);
    assert_eq!(second.version.version, 2);
    assert_ne!(second.version.digest, first.version.digest);

    let stored = fixture
        .store
        .scoped(fixture.tenant_a)
        .plugin_versions(Some("city-router"))
        .await
        .unwrap();
    assert_eq!(stored, vec![first.version.clone(), second.version.clone()]);
    let wasm = fixture
        .store
        .scoped(fixture.tenant_a)
        .plugin_wasm(first.version.id)
        .await
        .unwrap();
    assert_eq!(wasm, bundled("haverhill-router"));
}
