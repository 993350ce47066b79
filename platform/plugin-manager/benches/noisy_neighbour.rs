//! Tenant B's routing latency while tenant A's router misbehaves, in one
//! process and one run.
//!
//! Tenant B routes Boston requests through its boston-router, one call at a
//! time, and the bench records the latency of each `PluginManager::route`
//! call. Each round has seven phases: B alone, then B beside tenant A,
//! whose [`A_CALLERS`] concurrent callers route requests through the
//! fault-injector set to `none` (a well-behaved plugin, the control for
//! A's request volume), to `loop` and to `grow-memory`. Three more phases
//! run the same from a single caller of A, which shows what a cap of one
//! running call per install would leave. The rounds repeat, so
//! that load from other processes falls on every phase alike.
//!
//! Each of A's callers starts a call as soon as its previous call returns,
//! but at most one call per [`A_CALL_INTERVAL`]. Without that floor, a
//! breaker that skips A's calls would turn the bench into a flood of
//! skipped calls.
//!
//! The whole run happens three times:
//! - with the default breaker, which opens after 5 faults and then skips
//!   A's calls, and the default fuel budget per second;
//! - with a breaker that never opens, which leaves the fuel budget per
//!   second and the sandbox limits (fuel, memory, wall time) to contain A;
//! - with a breaker that never opens and A's fuel budget per second at the
//!   platform maximum, which leaves only the sandbox limits.
//!
//! A's breaker is reset before each of A's phases.
//!
//! Run: `cargo bench -p civic311-plugin-manager --bench noisy_neighbour`.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use civic311_domain::plugin::{Hook, LimitOverrides};
use civic311_plugin_host::HostConfig;
use civic311_domain::routing::RouteInput;
use civic311_plugin_manager::{BreakerConfig, PluginManager, RouteOutcome};
use civic311_store::TenantId;

use support::{Summary, micros};

/// Tenant B's calls measured in each phase of each round.
const B_CALLS: usize = 250;

/// Rounds of all phases.
const ROUNDS: usize = 16;

/// Tenant B's calls before the first phase, not measured.
const B_WARM_UP: usize = 300;

/// Concurrent callers of tenant A's router.
const A_CALLERS: usize = 4;

/// Minimum time between the starts of two calls of one of A's callers.
const A_CALL_INTERVAL: Duration = Duration::from_millis(1);

/// Time A's callers run before B's measurement starts, so that A's load is
/// in place when it does.
const A_LEAD_TIME: Duration = Duration::from_millis(50);

/// Tenant A's router, the fault-injector test plugin.
const NOISY_ROUTER: &str = "fault-injector";

/// Latency ratio against the baseline that the platform targets.
const TARGET_RATIO: f64 = 1.10;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("start Tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    support::print_machine();
    println!(
        "tenant B: {B_CALLS} sequential calls per phase and round, {ROUNDS} rounds; tenant A: {A_CALLERS} or 1 callers, one call per {A_CALL_INTERVAL:?} at most each"
    );

    let default_breaker = BreakerConfig::default();
    let label = format!("default breaker ({} faults, {:?} cool-down)", default_breaker.failure_threshold, default_breaker.cool_down);
    scenario(&label, default_breaker, LimitOverrides::default()).await;

    let disabled = BreakerConfig { failure_threshold: u32::MAX, ..BreakerConfig::default() };
    let default_budget = HostConfig::default().defaults.fuel_per_second;
    let label = format!("breaker disabled (threshold u32::MAX), default fuel budget ({default_budget} per second)");
    scenario(&label, disabled.clone(), LimitOverrides::default()).await;

    let maximum_budget = HostConfig::default().maxima.fuel_per_second;
    let unbudgeted = LimitOverrides { fuel_per_second: Some(maximum_budget), ..LimitOverrides::default() };
    let label = format!("breaker disabled (threshold u32::MAX), A's fuel budget at the maximum ({maximum_budget} per second)");
    scenario(&label, disabled, unbudgeted).await;
    support::print_load("at end");
}

/// Tenant A's calls by outcome kind: their count and their total latency.
type Outcomes = BTreeMap<String, (u64, Duration)>;

/// The two tenants on one manager.
struct Neighbours {
    manager: Arc<PluginManager>,
    noisy: TenantId,
    quiet: TenantId,
}

/// Phases of each round: tenant A's `fault` setting and number of
/// concurrent callers while B's latency is measured, or `None` for B alone.
const PHASES: &[Option<(&str, usize)>] = &[
    None,
    Some(("none", A_CALLERS)),
    Some(("loop", A_CALLERS)),
    Some(("grow-memory", A_CALLERS)),
    Some(("none", 1)),
    Some(("loop", 1)),
    Some(("grow-memory", 1)),
];

/// Runs every phase once per round, so that load from other processes
/// falls on all phases alike, and reports each phase against B alone.
async fn scenario(label: &str, breaker: BreakerConfig, noisy_limits: LimitOverrides) {
    println!();
    println!("== {label}");
    let folder = tempfile::tempdir().expect("create bench folder");
    let neighbours = set_up(folder.path(), breaker, noisy_limits).await;
    let quiet_input = support::boston_input();
    measure_quiet(&neighbours, &quiet_input, B_WARM_UP).await;

    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); PHASES.len()];
    let mut noisy_outcomes: Vec<Outcomes> = vec![Outcomes::new(); PHASES.len()];
    for _ in 0..ROUNDS {
        for (index, phase) in PHASES.iter().enumerate() {
            let measured = match phase {
                None => measure_quiet(&neighbours, &quiet_input, B_CALLS).await,
                Some((fault, callers)) => {
                    reset_noisy_breaker(&neighbours).await;
                    let (measured, outcomes) = measure_beside_noisy(&neighbours, &quiet_input, fault, *callers).await;
                    for (kind, (count, total)) in outcomes {
                        let (all_count, all_total) = noisy_outcomes[index].entry(kind).or_insert((0, Duration::ZERO));
                        *all_count += count;
                        *all_total += total;
                    }
                    measured
                }
            };
            latencies[index].extend(measured);
            neighbours.manager.flush().await;
        }
    }

    let alone = Summary::of(&latencies[0]);
    for (index, phase) in PHASES.iter().enumerate() {
        let summary = Summary::of(&latencies[index]);
        let Some((fault, callers)) = phase else {
            print_phase("B alone (baseline)", &summary, &alone);
            continue;
        };

        print_phase(&format!("B beside A `{fault}` x {callers} callers"), &summary, &alone);
        println!("   A's calls: {}", describe(&noisy_outcomes[index]));
        if *fault != "none" {
            let control = PHASES.iter().position(|other| *other == Some(("none", *callers))).expect("a control phase per caller count");
            let control = Summary::of(&latencies[control]);
            println!(
                "   against B beside A `none` x {callers} callers: p50 {:.2} x, p99 {:.2} x",
                summary.p50.as_secs_f64() / control.p50.as_secs_f64(),
                summary.p99.as_secs_f64() / control.p99.as_secs_f64(),
            );
        }
    }
}

/// Creates tenant A with the fault-injector and tenant B with the
/// boston-router, each as its active router, and starts the manager.
/// `noisy_limits` are tenant A's limit overrides.
async fn set_up(folder: &std::path::Path, breaker: BreakerConfig, noisy_limits: LimitOverrides) -> Neighbours {
    let store = support::sqlite_store(folder).await;
    let noisy = support::create_tenant(&store, "noisy-city").await;
    let quiet = support::create_tenant(&store, "quiet-city").await;
    let manager = support::start_manager(store, folder, breaker).await;

    support::active_router(&manager, noisy, NOISY_ROUTER, support::test_plugin(NOISY_ROUTER)).await;
    manager
        .set_limits(noisy, Hook::Router, NOISY_ROUTER, noisy_limits, support::ACTOR)
        .await
        .expect("set tenant A's limits");
    support::active_router(&manager, quiet, "boston-router", support::bundled("boston-router")).await;
    Neighbours { manager: Arc::new(manager), noisy, quiet }
}

async fn reset_noisy_breaker(neighbours: &Neighbours) {
    neighbours
        .manager
        .reset_breaker(neighbours.noisy, Hook::Router, NOISY_ROUTER, support::ACTOR)
        .await
        .expect("reset tenant A's breaker");
}

/// Routes `calls` of tenant B's requests one after another and returns each
/// call's latency. The calls run in a spawned task, on a runtime worker
/// thread as a server's request handler would.
async fn measure_quiet(neighbours: &Neighbours, input: &RouteInput, calls: usize) -> Vec<Duration> {
    let manager = Arc::clone(&neighbours.manager);
    let quiet = neighbours.quiet;
    let input = input.clone();

    let task = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(calls);
        for call in 0..calls {
            let request_id = format!("quiet-{call}");
            let started = Instant::now();
            let outcome = manager.route(quiet, &input, Some(&request_id)).await;
            latencies.push(started.elapsed());

            match outcome {
                RouteOutcome::Decided { decision, .. } => assert_eq!(decision.department, support::BOSTON_DEPARTMENT),
                other => panic!("tenant B's route did not decide: {other:?}"),
            }
        }
        latencies
    });
    task.await.expect("join tenant B's caller")
}

/// Measures tenant B while `callers` concurrent callers of tenant A route
/// requests with the `fault` setting, and returns B's latencies and A's
/// outcomes by kind.
async fn measure_beside_noisy(neighbours: &Neighbours, quiet_input: &RouteInput, fault: &str, callers: usize) -> (Vec<Duration>, Outcomes) {
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(BTreeMap::new()));
    let noisy_input = Arc::new(support::fault_input(fault));

    let mut tasks = Vec::new();
    for _ in 0..callers {
        let manager = Arc::clone(&neighbours.manager);
        let noisy = neighbours.noisy;
        let (stop, outcomes, input) = (Arc::clone(&stop), Arc::clone(&outcomes), Arc::clone(&noisy_input));
        tasks.push(tokio::spawn(async move {
            let mut interval = tokio::time::interval(A_CALL_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !stop.load(Ordering::Relaxed) {
                interval.tick().await;
                let started = Instant::now();
                let outcome = manager.route(noisy, &input, Some("noisy")).await;
                let elapsed = started.elapsed();

                let mut outcomes = outcomes.lock().unwrap();
                let (count, total) = outcomes.entry(outcome_kind(&outcome)).or_insert((0, Duration::ZERO));
                *count += 1;
                *total += elapsed;
            }
        }));
    }

    tokio::time::sleep(A_LEAD_TIME).await;
    let latencies = measure_quiet(neighbours, quiet_input, B_CALLS).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("join tenant A's caller");
    }

    let outcomes = outcomes.lock().unwrap().clone();
    (latencies, outcomes)
}

fn outcome_kind(outcome: &RouteOutcome) -> String {
    match outcome {
        RouteOutcome::NoRouter => "no_router".to_string(),
        RouteOutcome::Decided { .. } => "decided".to_string(),
        RouteOutcome::Failed { kind, .. } => format!("failed {kind}"),
        RouteOutcome::Skipped { reason, .. } => skip_cause(reason).to_string(),
    }
}

fn describe(outcomes: &Outcomes) -> String {
    let parts: Vec<String> = outcomes
        .iter()
        .map(|(kind, (count, total))| format!("{count} {kind} (mean {})", micros(*total / u32::try_from(*count).unwrap_or(u32::MAX))))
        .collect();
    parts.join(", ")
}

fn print_phase(phase: &str, summary: &Summary, baseline: &Summary) {
    let p50_ratio = summary.p50.as_secs_f64() / baseline.p50.as_secs_f64();
    let p99_ratio = summary.p99.as_secs_f64() / baseline.p99.as_secs_f64();
    let verdict = |ratio: f64| if ratio <= TARGET_RATIO { "within" } else { "over" };
    println!(
        "{phase}: p50 {} ({p50_ratio:.2} x, {} the 10 % target), p99 {} ({p99_ratio:.2} x, {}), max {}",
        micros(summary.p50),
        verdict(p50_ratio),
        micros(summary.p99),
        verdict(p99_ratio),
        micros(summary.max),
    );
}

/// Names what skipped a call of A, from the reason the runtime gave.
fn skip_cause(reason: &str) -> &'static str {
    if reason.contains("fuel units per second") {
        "skipped by the fuel budget"
    } else if reason.contains("at once") {
        "skipped for want of a call slot"
    } else {
        "skipped by the breaker"
    }
}
