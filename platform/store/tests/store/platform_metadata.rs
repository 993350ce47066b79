//! Platform metadata values: stored once, and never replaced.

use crate::common::{at, fixture};

#[tokio::test]
async fn missing_value_is_none() {
    let fixture = fixture().await;

    assert_eq!(fixture.store.platform_value("platform_key_fingerprint").await.unwrap(), None);
}

#[tokio::test]
async fn first_value_is_stored() {
    let fixture = fixture().await;

    let stored = fixture.store.insert_platform_value_if_absent("fingerprint", "aa11", at("2026-12-05T01:00:00Z")).await.unwrap();

    assert_eq!(stored, "aa11");
    assert_eq!(fixture.store.platform_value("fingerprint").await.unwrap().as_deref(), Some("aa11"));
}

#[tokio::test]
async fn later_value_keeps_first() {
    let fixture = fixture().await;
    fixture.store.insert_platform_value_if_absent("fingerprint", "aa11", at("2026-12-05T01:00:00Z")).await.unwrap();

    let stored = fixture.store.insert_platform_value_if_absent("fingerprint", "bb22", at("2026-12-05T02:00:00Z")).await.unwrap();

    assert_eq!(stored, "aa11");
    assert_eq!(fixture.store.platform_value("fingerprint").await.unwrap().as_deref(), Some("aa11"));
}

#[tokio::test]
async fn values_are_kept_per_name() {
    let fixture = fixture().await;
    fixture.store.insert_platform_value_if_absent("first", "one", at("2026-12-05T01:00:00Z")).await.unwrap();

    let stored = fixture.store.insert_platform_value_if_absent("second", "two", at("2026-12-05T01:00:00Z")).await.unwrap();

    assert_eq!(stored, "two");
    assert_eq!(fixture.store.platform_value("first").await.unwrap().as_deref(), Some("one"));
}
