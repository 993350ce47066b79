use civic311_domain::{Channel, SubStatus};
use civic311_store::{CountShare, RequestStats, ServiceStats, TenantStore};

use crate::common::{at, create, fixture, new_request};

/// Creates a request and, when `closed_at` is given, closes it then.
async fn add(tenant: &TenantStore, service_code: &str, department: &str, channel: Channel, requested_at: &str, closed_at: Option<&str>) {
    let mut new = new_request(service_code, requested_at);
    new.department = department.into();
    new.channel = channel;
    let id = create(tenant, new).await;

    if let Some(closed_at) = closed_at {
        tenant
            .change_status(&id, SubStatus::ClosedResolved, None, None, at(closed_at))
            .await
            .unwrap();
    }
}

/// Seven requests in March 2024 and one in April.
async fn seed(tenant: &TenantStore) {
    add(tenant, "pothole", "dpw", Channel::Web, "2024-03-01T00:00:00Z", Some("2024-03-01T10:00:00Z")).await; // 10 h
    add(tenant, "pothole", "dpw", Channel::Web, "2024-03-02T00:00:00Z", Some("2024-03-03T06:00:00Z")).await; // 30 h
    add(tenant, "pothole", "dpw", Channel::Web, "2024-03-03T00:00:00Z", Some("2024-03-03T02:00:00Z")).await; // 2 h
    add(tenant, "pothole", "dpw", Channel::Email, "2024-03-04T00:00:00Z", None).await;
    add(tenant, "streetlight", "dpw", Channel::Phone, "2024-03-02T00:00:00Z", Some("2024-03-02T04:00:00Z")).await; // 4 h
    add(tenant, "streetlight", "dpw", Channel::Phone, "2024-03-05T00:00:00Z", None).await;
    add(tenant, "graffiti", "parks", Channel::MobileApp, "2024-03-06T00:00:00Z", None).await;
    add(tenant, "pothole", "dpw", Channel::Web, "2024-04-01T00:00:00Z", Some("2024-04-01T01:00:00Z")).await; // 1 h
}

fn share(key: &str, count: u64, total: u64) -> CountShare {
    CountShare { key: key.into(), count, percent: count as f64 * 100.0 / total as f64 }
}

#[tokio::test]
async fn stats_over_march() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;

    let stats = fixture
        .tenant
        .stats(Some(at("2024-03-01T00:00:00Z")), Some(at("2024-03-31T23:59:59Z")))
        .await
        .unwrap();

    let expected = RequestStats {
        total: 7,
        by_service: vec![
            ServiceStats {
                service_code: "pothole".into(),
                service_name: "pothole name".into(),
                count: 4,
                closed: 3,
                // Hours to close 2, 10 and 30.
                median_hours_to_close: Some(10.0),
                mean_hours_to_close: Some((2.0 + 10.0 + 30.0) / 3.0),
            },
            ServiceStats {
                service_code: "streetlight".into(),
                service_name: "streetlight name".into(),
                count: 2,
                closed: 1,
                median_hours_to_close: Some(4.0),
                mean_hours_to_close: Some(4.0),
            },
            ServiceStats {
                service_code: "graffiti".into(),
                service_name: "graffiti name".into(),
                count: 1,
                closed: 0,
                median_hours_to_close: None,
                mean_hours_to_close: None,
            },
        ],
        by_department: vec![share("dpw", 6, 7), share("parks", 1, 7)],
        by_channel: vec![share("web", 3, 7), share("phone", 2, 7), share("email", 1, 7), share("mobile_app", 1, 7)],
    };
    assert_eq!(stats, expected);
}

#[tokio::test]
async fn stats_without_range_counts_all() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;

    let stats = fixture.tenant.stats(None, None).await.unwrap();

    assert_eq!(stats.total, 8);
    let pothole = &stats.by_service[0];
    assert_eq!(pothole.service_code, "pothole");
    assert_eq!(pothole.count, 5);
    assert_eq!(pothole.closed, 4);
    // Hours to close 1, 2, 10 and 30: the median is the mean of 2 and 10.
    assert_eq!(pothole.median_hours_to_close, Some(6.0));
    assert_eq!(pothole.mean_hours_to_close, Some((1.0 + 2.0 + 10.0 + 30.0) / 4.0));
    assert_eq!(stats.by_department[0], share("dpw", 7, 8));
}

#[tokio::test]
async fn stats_of_empty_range() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;

    let stats = fixture
        .tenant
        .stats(Some(at("2023-01-01T00:00:00Z")), Some(at("2023-12-31T00:00:00Z")))
        .await
        .unwrap();

    assert_eq!(stats, RequestStats::default());
}
