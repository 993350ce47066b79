//! Telephony webhook events ingested per second over real HTTP on loopback,
//! against `GET /healthz` on the same server as the baseline.
//!
//! The server runs in this process on 127.0.0.1 with a fresh SQLite file
//! and the repository's `tenants/` folder. Eight client tasks send requests
//! concurrently. Each Twilio request is a signed voice webhook for a new
//! call: signature check, one event, summary recomputed, TwiML reply. Each
//! RingCentral request is one single-party session event of a new session.
//! Criterion bounds each benchmark by its measurement time.
//!
//! Run: `cargo bench -p civic311-server --bench telephony_ingest`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use civic311_server::app;
use civic311_server::telephony::signature::{form_params, sign};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Concurrent client tasks.
const CLIENTS: u64 = 8;
const TWILIO_TOKEN: &str = "dev-haverhill-twilio-token";
const RINGCENTRAL_TOKEN: &str = "dev-haverhill-ringcentral-token";
const PUBLIC_BASE: &str = "https://311.haverhillma.gov";

struct Bench {
    runtime: Runtime,
    base_url: String,
    client: reqwest::Client,
    counter: Arc<AtomicU64>,
    _folder: tempfile::TempDir,
}

fn start() -> Bench {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let folder = tempfile::tempdir().expect("temporary folder");
    let database_url = format!("sqlite://{}?mode=rwc", folder.path().join("bench.db").display());
    let tenants = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tenants");

    let base_url = runtime.block_on(async {
        let state = app::build_state(&database_url, &tenants).await.expect("server state builds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(app::serve(listener, state, std::future::pending()));
        format!("http://{address}")
    });

    Bench { runtime, base_url, client: reqwest::Client::new(), counter: Arc::new(AtomicU64::new(0)), _folder: folder }
}

/// Sends `total` requests built by `make` from `CLIENTS` tasks and returns the elapsed time.
fn run<F>(bench: &Bench, total: u64, make: F) -> Duration
where
    F: Fn(&reqwest::Client, &str, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    bench.runtime.block_on(async {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for client_index in 0..CLIENTS {
            let share = total / CLIENTS + u64::from(client_index < total % CLIENTS);
            let (client, base, counter, make) = (bench.client.clone(), bench.base_url.clone(), Arc::clone(&bench.counter), Arc::clone(&make));
            tasks.push(tokio::spawn(async move {
                for _ in 0..share {
                    let id = counter.fetch_add(1, Ordering::Relaxed);
                    let response = make(&client, &base, id).send().await.expect("request reaches the server");
                    assert!(response.status().is_success(), "bench request failed with {}", response.status());
                    response.bytes().await.expect("reply body");
                }
            }));
        }
        for task in tasks {
            task.await.expect("client task");
        }
        started.elapsed()
    })
}

fn healthz(client: &reqwest::Client, base: &str, _id: u64) -> reqwest::RequestBuilder {
    client.get(format!("{base}/healthz"))
}

fn twilio_voice(client: &reqwest::Client, base: &str, id: u64) -> reqwest::RequestBuilder {
    let path = "/telephony/haverhill/twilio/voice";
    let body = format!(
        "CallSid=CAbench{id:012}&From=%2B1978555{:04}&To=%2B19785550100&CallStatus=ringing&Timestamp=Tue%2C+1+Dec+2026+14%3A00%3A00+%2B0000",
        id % 10_000
    );
    let signature = sign(TWILIO_TOKEN, &format!("{PUBLIC_BASE}{path}"), &form_params(body.as_bytes()));

    client
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
}

fn ringcentral_event(client: &reqwest::Client, base: &str, id: u64) -> reqwest::RequestBuilder {
    let envelope = serde_json::json!({
        "event": "/restapi/v1.0/account/~/telephony/sessions",
        "body": {
            "telephonySessionId": format!("s-bench-{id}"),
            "sequence": 1,
            "eventTime": "2026-12-01T14:00:00Z",
            "parties": [{
                "id": format!("p-{id}"),
                "from": { "phoneNumber": "+19785550999" },
                "to": { "phoneNumber": "+19785550100", "extensionId": "3101" },
                "status": { "code": "Proceeding" }
            }]
        }
    });

    client
        .post(format!("{base}/telephony/haverhill/ringcentral/webhook"))
        .header("content-type", "application/json")
        .header("verification-token", RINGCENTRAL_TOKEN)
        .body(envelope.to_string())
}

fn ingest(c: &mut Criterion) {
    let bench = start();
    let mut group = c.benchmark_group("telephony_ingest");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("healthz_baseline", |b| b.iter_custom(|iters| run(&bench, iters, healthz)));
    group.bench_function("twilio_voice_webhook", |b| b.iter_custom(|iters| run(&bench, iters, twilio_voice)));
    group.bench_function("ringcentral_session_event", |b| b.iter_custom(|iters| run(&bench, iters, ringcentral_event)));
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
