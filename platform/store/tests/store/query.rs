use civic311_domain::{Channel, Status, SubStatus};
use civic311_store::{RequestQuery, TenantStore, DEFAULT_PAGE_SIZE};

use crate::common::{at, create, fixture, new_request};

struct Seed {
    service_code: &'static str,
    channel: Channel,
    department: &'static str,
    requested_at: &'static str,
    updated_at: &'static str,
    point: Option<(f64, f64)>,
    description: &'static str,
    address: Option<&'static str>,
    phone: Option<&'static str>,
    sub_status: SubStatus,
}

/// Creates requests 1001 to 1005; each test below names the ids it expects.
async fn seed(tenant: &TenantStore) {
    let seeds = [
        Seed {
            service_code: "pothole",
            channel: Channel::Web,
            department: "dpw",
            requested_at: "2024-03-01T08:00:00Z",
            updated_at: "2024-03-01T08:00:00Z",
            point: Some((42.776, -71.077)),
            description: "Deep hole near the crosswalk",
            address: Some("4 Summer St"),
            phone: Some("+19785550100"),
            sub_status: SubStatus::Submitted,
        },
        Seed {
            service_code: "streetlight",
            channel: Channel::Phone,
            department: "dpw",
            requested_at: "2024-03-02T08:00:00Z",
            updated_at: "2024-03-02T08:00:00Z",
            point: Some((42.780, -71.090)),
            description: "Light flickering all night",
            address: Some("12 Main St"),
            phone: Some("+19785550199"),
            sub_status: SubStatus::ClosedResolved,
        },
        Seed {
            service_code: "graffiti",
            channel: Channel::MobileApp,
            department: "parks",
            requested_at: "2024-03-03T08:00:00Z",
            updated_at: "2024-03-03T08:00:00Z",
            point: Some((42.700, -71.200)),
            description: "Tag on the 100% recycled bench",
            address: None,
            phone: None,
            sub_status: SubStatus::Acknowledged,
        },
        Seed {
            service_code: "pothole",
            channel: Channel::Email,
            department: "dpw",
            requested_at: "2024-03-03T08:00:00Z",
            updated_at: "2024-03-10T08:00:00Z",
            point: None,
            description: "Huge POTHOLE by the bridge",
            address: Some("Water St"),
            phone: Some("+19785550100"),
            sub_status: SubStatus::InProgress,
        },
        Seed {
            service_code: "pothole",
            channel: Channel::Web,
            department: "parks",
            requested_at: "2024-03-05T08:00:00Z",
            updated_at: "2024-03-05T08:00:00Z",
            point: Some((42.777, -71.078)),
            description: "Small dip",
            address: Some("Summer St park"),
            phone: None,
            sub_status: SubStatus::Submitted,
        },
    ];

    for seed in seeds {
        let mut new = new_request(seed.service_code, seed.requested_at);
        new.channel = seed.channel;
        new.department = seed.department.into();
        new.updated_at = at(seed.updated_at);
        new.lat = seed.point.map(|(lat, _)| lat);
        new.long = seed.point.map(|(_, long)| long);
        new.description = seed.description.into();
        new.address = seed.address.map(String::from);
        new.contact.phone = seed.phone.map(String::from);
        new.sub_status = seed.sub_status;
        create(tenant, new).await;
    }
}

async fn ids(tenant: &TenantStore, query: RequestQuery) -> Vec<String> {
    let page = tenant.query_requests(&query).await.unwrap();
    assert_eq!(page.total as usize, page.items.len(), "query {query:?} has more than one page");
    page.items.into_iter().map(|request| request.id).collect()
}

#[tokio::test]
async fn every_filter_returns_exact_ids() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;
    let tenant = &fixture.tenant;

    let cases: Vec<(&str, RequestQuery, Vec<&str>)> = vec![
        ("no filter", RequestQuery::default(), vec!["1005", "1003", "1004", "1002", "1001"]),
        (
            "ids override other filters",
            RequestQuery {
                ids: vec!["1002".into(), "1004".into(), "9999".into()],
                service_codes: vec!["graffiti".into()],
                ..Default::default()
            },
            vec!["1004", "1002"],
        ),
        (
            "service codes are ORed",
            RequestQuery { service_codes: vec!["pothole".into(), "streetlight".into()], ..Default::default() },
            vec!["1005", "1004", "1002", "1001"],
        ),
        ("closed status", RequestQuery { statuses: vec![Status::Closed], ..Default::default() }, vec!["1002"]),
        (
            "open status",
            RequestQuery { statuses: vec![Status::Open], ..Default::default() },
            vec!["1005", "1003", "1004", "1001"],
        ),
        (
            "requested range is inclusive",
            RequestQuery {
                requested_from: Some(at("2024-03-02T08:00:00Z")),
                requested_to: Some(at("2024-03-03T08:00:00Z")),
                ..Default::default()
            },
            vec!["1003", "1004", "1002"],
        ),
        (
            "updated after is exclusive",
            RequestQuery { updated_after: Some(at("2024-03-05T08:00:00Z")), ..Default::default() },
            vec!["1004"],
        ),
        (
            "updated before is exclusive",
            RequestQuery { updated_before: Some(at("2024-03-02T08:00:00Z")), ..Default::default() },
            vec!["1001"],
        ),
        (
            "bounding box",
            RequestQuery { bbox: Some((-71.1, 42.75, -71.07, 42.79)), ..Default::default() },
            vec!["1005", "1002", "1001"],
        ),
        ("text ignores case", RequestQuery { text: Some("pothole".into()), ..Default::default() }, vec!["1004"]),
        ("text in address", RequestQuery { text: Some("SUMMER".into()), ..Default::default() }, vec!["1005", "1001"]),
        ("text percent is literal", RequestQuery { text: Some("100%".into()), ..Default::default() }, vec!["1003"]),
        ("text underscore is literal", RequestQuery { text: Some("_".into()), ..Default::default() }, vec![]),
        (
            "departments",
            RequestQuery { departments: vec!["parks".into()], ..Default::default() },
            vec!["1005", "1003"],
        ),
        (
            "channels are ORed",
            RequestQuery { channels: vec![Channel::Phone, Channel::Email], ..Default::default() },
            vec!["1004", "1002"],
        ),
        (
            "contact phone",
            RequestQuery { contact_phone: Some("+19785550100".into()), ..Default::default() },
            vec!["1004", "1001"],
        ),
        (
            "filters are ANDed",
            RequestQuery {
                service_codes: vec!["pothole".into()],
                departments: vec!["dpw".into()],
                statuses: vec![Status::Open],
                ..Default::default()
            },
            vec!["1004", "1001"],
        ),
    ];

    for (name, query, expected) in cases {
        assert_eq!(ids(tenant, query).await, expected, "case: {name}");
    }
}

#[tokio::test]
async fn pagination_is_stable() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;
    let page_of = |page: u64| RequestQuery { page, page_size: 2, ..Default::default() };

    let mut seen = Vec::new();
    for (page, expected) in [(1, vec!["1005", "1003"]), (2, vec!["1004", "1002"]), (3, vec!["1001"]), (4, vec![])] {
        let result = fixture.tenant.query_requests(&page_of(page)).await.unwrap();
        let page_ids: Vec<String> = result.items.iter().map(|request| request.id.clone()).collect();

        assert_eq!(page_ids, expected, "page {page}");
        assert_eq!(result.total, 5, "total on page {page}");
        assert_eq!(result.page, page);
        assert_eq!(result.page_size, 2);
        seen.extend(page_ids);
    }
    assert_eq!(seen, ["1005", "1003", "1004", "1002", "1001"]);

    let repeated = fixture.tenant.query_requests(&page_of(2)).await.unwrap();
    let repeated_ids: Vec<&str> = repeated.items.iter().map(|request| request.id.as_str()).collect();
    assert_eq!(repeated_ids, ["1004", "1002"]);
}

#[tokio::test]
async fn page_zero_reads_as_first_page() {
    let fixture = fixture().await;
    seed(&fixture.tenant).await;

    let result = fixture.tenant.query_requests(&RequestQuery::default()).await.unwrap();

    assert_eq!(result.page, 1);
    assert_eq!(result.page_size, DEFAULT_PAGE_SIZE);
    assert_eq!(result.items.len(), 5);
}
