use crate::common::fixture;

#[tokio::test]
async fn api_key_verifies_by_secret() {
    let fixture = fixture().await;

    let (record, secret) = fixture.tenant.create_api_key("open311 app").await.unwrap();

    assert_eq!(record.name, "open311 app");
    assert_eq!(record.tenant_id, fixture.tenant.tenant_id());
    let digits = secret.strip_prefix("c311_").expect("secret starts with c311_");
    assert_eq!(digits.len(), 64);
    assert!(digits.chars().all(|c| c.is_ascii_hexdigit()), "secret {secret}");

    assert_eq!(fixture.tenant.verify_api_key(&secret).await.unwrap(), Some(record));
    assert_eq!(fixture.tenant.verify_api_key(&format!("{secret}0")).await.unwrap(), None);
    assert_eq!(fixture.tenant.verify_api_key("").await.unwrap(), None);
}

#[tokio::test]
async fn api_keys_are_distinct() {
    let fixture = fixture().await;

    let (first, first_secret) = fixture.tenant.create_api_key("first").await.unwrap();
    let (second, second_secret) = fixture.tenant.create_api_key("second").await.unwrap();

    assert_ne!(first_secret, second_secret);
    assert_ne!(first.id, second.id);
    assert_eq!(fixture.tenant.verify_api_key(&second_secret).await.unwrap(), Some(second));
}
