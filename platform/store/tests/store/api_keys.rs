use civic311_store::ApiKeyScope;

use crate::common::fixture;

#[tokio::test]
async fn api_key_verifies_by_secret() {
    let fixture = fixture().await;

    let (record, secret) = fixture.tenant.create_api_key("open311 app").await.unwrap();

    assert_eq!(record.name, "open311 app");
    assert_eq!(record.scope, ApiKeyScope::Open311, "a key without a scope gets the least privilege");
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

#[tokio::test]
async fn api_key_scope_is_stored() {
    let fixture = fixture().await;

    let (portal, portal_secret) = fixture.tenant.create_api_key_with_scope("web portal", ApiKeyScope::Open311).await.unwrap();
    let (staff, staff_secret) = fixture.tenant.create_api_key_with_scope("call center", ApiKeyScope::Staff).await.unwrap();

    assert_eq!(portal.scope, ApiKeyScope::Open311);
    assert_eq!(staff.scope, ApiKeyScope::Staff);
    let verified_portal = fixture.tenant.verify_api_key(&portal_secret).await.unwrap().expect("portal key verifies");
    let verified_staff = fixture.tenant.verify_api_key(&staff_secret).await.unwrap().expect("staff key verifies");
    assert_eq!(verified_portal.scope, ApiKeyScope::Open311);
    assert_eq!(verified_staff.scope, ApiKeyScope::Staff);
}

#[test]
fn api_key_scope_allows() {
    let cases = [
        (ApiKeyScope::Open311, ApiKeyScope::Open311, true),
        (ApiKeyScope::Open311, ApiKeyScope::Staff, false),
        (ApiKeyScope::Staff, ApiKeyScope::Open311, true),
        (ApiKeyScope::Staff, ApiKeyScope::Staff, true),
        (ApiKeyScope::Staff, ApiKeyScope::Admin, false),
        (ApiKeyScope::Open311, ApiKeyScope::Admin, false),
        (ApiKeyScope::Admin, ApiKeyScope::Staff, true),
        (ApiKeyScope::Admin, ApiKeyScope::Open311, true),
        (ApiKeyScope::Admin, ApiKeyScope::Admin, true),
    ];
    for (scope, required, expected) in cases {
        assert_eq!(scope.allows(required), expected, "{scope} key on an API that needs {required}");
    }
}

#[test]
fn api_key_scope_names_round_trip() {
    for scope in ApiKeyScope::ALL {
        assert_eq!(ApiKeyScope::parse(scope.as_str()), Some(scope));
    }
    assert_eq!(ApiKeyScope::parse("admin"), Some(ApiKeyScope::Admin));
    assert_eq!(ApiKeyScope::parse("owner"), None);
    assert_eq!(ApiKeyScope::parse("Staff"), None, "names are lowercase");
}
