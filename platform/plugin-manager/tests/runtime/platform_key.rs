use civic311_domain::plugin::Grants;
use civic311_plugin_manager::ManagerConfig;

use crate::{active_router, captured_logs, fixture, start_manager, test_plugin};

const FOREIGN_KEY_ERROR: &str = "fails its MAC under this process's platform key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_platform_key_logged_at_start() {
    let fixture = fixture().await;
    active_router(&fixture.manager, fixture.tenant_a, "city-router", test_plugin("fault-injector"), Grants::default()).await;

    // A second node with the same key file trusts the stored artifact.
    let _same_key = fixture.second_manager(ManagerConfig::default()).await;
    assert!(!captured_logs().contains(FOREIGN_KEY_ERROR), "the same platform key was reported as foreign");

    // A command started in another folder creates a key of its own.
    let other_folder = tempfile::tempdir().expect("create another data folder");
    let config = ManagerConfig { data_dir: other_folder.path().to_path_buf(), ..ManagerConfig::default() };
    let _foreign_key = start_manager(fixture.store.clone(), config).await;

    assert!(captured_logs().contains(FOREIGN_KEY_ERROR), "no error about the foreign platform key was logged");
}
