//! The circuit breaker of one install.
//!
//! A closed breaker lets every call through and counts consecutive failures
//! that are the plugin's fault. At [`BreakerConfig::failure_threshold`] it
//! opens: calls are skipped and the tenant's fallback applies. After
//! [`BreakerConfig::cool_down`] the breaker lets one trial call through
//! (half-open). A successful trial closes it, and a failed one opens it for
//! another cool-down. An admin reset closes it at once.
//!
//! The breaker is in memory. The runtime writes each trip and close to the
//! install's row, and a registry reload rebuilds the breaker from that row
//! with [`Breaker::restore`], so every node skips calls of an open breaker.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// Settings of every install's breaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive plugin faults that open the breaker.
    pub failure_threshold: u32,
    /// Time an open breaker skips calls before it lets one trial call through.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            failure_threshold: 5,
            cool_down: Duration::from_secs(60),
        }
    }
}

/// Failure kinds that are the plugin's fault and count towards a trip: the
/// [`civic311_plugin_host::PluginError::kind`] names of traps, timeouts and
/// broken limits, plus `invalid_department` for a decision that names a
/// department the tenant does not have. A `rejected` call (the plugin's own
/// `route-error`) is a success for the breaker. A `platform` failure is not
/// the plugin's fault, so it neither counts nor resets the count.
pub const FAULT_KINDS: &[&str] = &[
    "trap",
    "timeout",
    "fuel_exhausted",
    "memory_limit",
    "invalid_output",
    "invalid_department",
];

/// Returns whether a failure of `kind` counts towards tripping the breaker.
pub fn is_plugin_fault(kind: &str) -> bool {
    FAULT_KINDS.contains(&kind)
}

/// How long a half-open breaker waits for its trial call to report before it
/// lets another trial through. It is longer than the 30 s wall-time maximum
/// of a call, so it only matters when a trial call never reported at all.
const TRIAL_LEASE: Duration = Duration::from_secs(120);

/// Result of one call as the breaker counts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallVerdict {
    /// The plugin returned a decision, records or its own rejection.
    Success,
    /// The plugin failed by its own fault. `kind` is one of [`FAULT_KINDS`].
    Fault { kind: String, message: String },
    /// The platform failed, so the call is not evidence about the plugin.
    Neutral,
}

impl CallVerdict {
    /// Classifies a failure by its [`civic311_plugin_host::PluginError::kind`].
    pub fn from_failure(kind: &str, message: &str) -> CallVerdict {
        if kind == "rejected" {
            CallVerdict::Success
        } else if is_plugin_fault(kind) {
            CallVerdict::Fault {
                kind: kind.to_string(),
                message: message.to_string(),
            }
        } else {
            CallVerdict::Neutral
        }
    }
}

/// Whether a call may run. A permit must be handed back to
/// [`Breaker::record`] with the call's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The call may run.
    Allowed(Permit),
    /// The breaker is open, so the call must not run. `reason` explains why it opened.
    Skipped { reason: String },
}

/// Permission for one call, tied to the breaker state that granted it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permit {
    /// True for the one trial call of a half-open breaker.
    pub trial: bool,
    generation: u64,
}

/// A change of state that [`Breaker::record`] or [`Breaker::reset`] made,
/// which the runtime writes to the install's row and the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to write.
    Unchanged,
    /// The breaker opened, from closed or after a failed trial call.
    Opened { reason: String, opened_at: DateTime<Utc> },
    /// The breaker closed after a successful trial call or an admin reset.
    Closed,
}

/// State of a breaker, for admins and tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls run. `consecutive_failures` counts the plugin faults in a row so far.
    Closed { consecutive_failures: u32 },
    /// Calls are skipped until the cool-down passes.
    Open { reason: String, opened_at: DateTime<Utc> },
    /// The cool-down has passed: the next call runs as a trial, or one is running.
    HalfOpen {
        reason: String,
        opened_at: DateTime<Utc>,
        trial_running: bool,
    },
}

/// The breaker of one install, shared by every call of that install.
#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    consecutive_failures: u32,
    open: Option<OpenState>,
    /// Incremented on every open and close, so that a permit granted before
    /// a change cannot close or reopen the breaker after it.
    generation: u64,
}

#[derive(Debug)]
struct OpenState {
    reason: String,
    opened_at: DateTime<Utc>,
    trial_started_at: Option<DateTime<Utc>>,
}

impl Breaker {
    /// Creates a closed breaker.
    pub fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            config,
            inner: Mutex::new(Inner {
                consecutive_failures: 0,
                open: None,
                generation: 0,
            }),
        }
    }

    /// Creates a breaker in the state stored on the install's row: open with
    /// `reason` since `opened_at` when `open` is true, closed otherwise. A
    /// row marked open without a time counts as opened at `now`.
    pub fn restore(
        config: BreakerConfig,
        open: bool,
        reason: Option<String>,
        opened_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Breaker {
        let breaker = Breaker::new(config);
        if open {
            let mut inner = breaker.lock();
            inner.open = Some(OpenState {
                reason: reason.unwrap_or_else(|| "opened on another node".to_string()),
                opened_at: opened_at.unwrap_or(now),
                trial_started_at: None,
            });
        }
        breaker
    }

    /// Returns the settings this breaker runs with.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Decides whether a call at `now` may run. When the cool-down has passed
    /// and no trial is running, the call becomes the trial.
    pub fn admit(&self, now: DateTime<Utc>) -> Admission {
        let cool_down = to_delta(self.config.cool_down);
        let lease = to_delta(TRIAL_LEASE.max(self.config.cool_down));
        let mut inner = self.lock();
        let generation = inner.generation;

        let Some(open) = inner.open.as_mut() else {
            return Admission::Allowed(Permit { trial: false, generation });
        };

        if now < open.opened_at + cool_down {
            return Admission::Skipped {
                reason: open.reason.clone(),
            };
        }

        let trial_running = open.trial_started_at.is_some_and(|started| now < started + lease);
        if trial_running {
            return Admission::Skipped {
                reason: format!("{}; a trial call is running", open.reason),
            };
        }

        open.trial_started_at = Some(now);
        Admission::Allowed(Permit { trial: true, generation })
    }

    /// Records the verdict of a call that `permit` admitted and returns the
    /// change of state to persist. Verdicts of permits granted before the
    /// last open or close are ignored.
    pub fn record(&self, permit: Permit, verdict: &CallVerdict, now: DateTime<Utc>) -> Transition {
        let threshold = self.config.failure_threshold.max(1);
        let mut inner = self.lock();
        if permit.generation != inner.generation {
            return Transition::Unchanged;
        }

        if permit.trial {
            return record_trial(&mut inner, verdict, now);
        }

        match verdict {
            CallVerdict::Success => {
                inner.consecutive_failures = 0;
                Transition::Unchanged
            }
            CallVerdict::Neutral => Transition::Unchanged,
            CallVerdict::Fault { kind, message } => {
                inner.consecutive_failures += 1;
                if inner.consecutive_failures < threshold {
                    return Transition::Unchanged;
                }
                let reason = format!(
                    "{} consecutive failures; the last was {kind}: {message}",
                    inner.consecutive_failures
                );
                open(&mut inner, reason, now)
            }
        }
    }

    /// Closes the breaker at once, as an admin reset does. Returns
    /// [`Transition::Closed`] when it was open and `Unchanged` otherwise.
    pub fn reset(&self) -> Transition {
        let mut inner = self.lock();
        inner.consecutive_failures = 0;
        if inner.open.take().is_none() {
            return Transition::Unchanged;
        }
        inner.generation += 1;
        Transition::Closed
    }

    /// Returns the state at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> BreakerState {
        let cool_down = to_delta(self.config.cool_down);
        let inner = self.lock();
        let Some(open) = inner.open.as_ref() else {
            return BreakerState::Closed {
                consecutive_failures: inner.consecutive_failures,
            };
        };

        if now < open.opened_at + cool_down {
            return BreakerState::Open {
                reason: open.reason.clone(),
                opened_at: open.opened_at,
            };
        }
        BreakerState::HalfOpen {
            reason: open.reason.clone(),
            opened_at: open.opened_at,
            trial_running: open.trial_started_at.is_some(),
        }
    }

    /// Returns whether the breaker is open or half-open.
    pub fn is_open(&self) -> bool {
        self.lock().open.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state stays consistent under a panic: every update is a few
        // plain assignments, so a poisoned lock is safe to reuse.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn record_trial(inner: &mut Inner, verdict: &CallVerdict, now: DateTime<Utc>) -> Transition {
    match verdict {
        CallVerdict::Success => {
            inner.open = None;
            inner.consecutive_failures = 0;
            inner.generation += 1;
            Transition::Closed
        }
        CallVerdict::Fault { kind, message } => {
            let reason = format!("the trial call after the cool-down failed with {kind}: {message}");
            open(inner, reason, now)
        }
        CallVerdict::Neutral => {
            // The platform failed the trial, so the next call may try again.
            if let Some(open) = inner.open.as_mut() {
                open.trial_started_at = None;
            }
            Transition::Unchanged
        }
    }
}

fn open(inner: &mut Inner, reason: String, now: DateTime<Utc>) -> Transition {
    inner.open = Some(OpenState {
        reason: reason.clone(),
        opened_at: now,
        trial_started_at: None,
    });
    inner.consecutive_failures = 0;
    inner.generation += 1;
    Transition::Opened { reason, opened_at: now }
}

fn to_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault() -> CallVerdict {
        CallVerdict::Fault {
            kind: "trap".to_string(),
            message: "unreachable".to_string(),
        }
    }

    fn permit(breaker: &Breaker, now: DateTime<Utc>) -> Permit {
        match breaker.admit(now) {
            Admission::Allowed(permit) => permit,
            Admission::Skipped { reason } => panic!("call skipped: {reason}"),
        }
    }

    fn config() -> BreakerConfig {
        BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(10),
        }
    }

    #[test]
    fn trips_at_threshold() {
        let breaker = Breaker::new(config());
        let now = Utc::now();

        for _ in 0..2 {
            let permit = permit(&breaker, now);
            assert_eq!(breaker.record(permit, &fault(), now), Transition::Unchanged);
        }
        let permit = permit(&breaker, now);
        let transition = breaker.record(permit, &fault(), now);

        let Transition::Opened { reason, opened_at } = transition else {
            panic!("expected the breaker to open, got {transition:?}");
        };
        assert_eq!(opened_at, now);
        assert!(reason.contains("3 consecutive failures"), "{reason}");
        assert!(reason.contains("trap: unreachable"), "{reason}");
        assert!(matches!(breaker.admit(now), Admission::Skipped { .. }));
    }

    #[test]
    fn success_resets_count() {
        let breaker = Breaker::new(config());
        let now = Utc::now();

        for verdict in [fault(), fault(), CallVerdict::Success, fault(), fault()] {
            let permit = permit(&breaker, now);
            breaker.record(permit, &verdict, now);
        }

        assert_eq!(breaker.state(now), BreakerState::Closed { consecutive_failures: 2 });
    }

    #[test]
    fn neutral_neither_counts_nor_resets() {
        let breaker = Breaker::new(config());
        let now = Utc::now();

        for verdict in [fault(), CallVerdict::Neutral, fault()] {
            let permit = permit(&breaker, now);
            breaker.record(permit, &verdict, now);
        }

        assert_eq!(breaker.state(now), BreakerState::Closed { consecutive_failures: 2 });
    }

    #[test]
    fn verdict_from_failure_kind() {
        assert_eq!(CallVerdict::from_failure("rejected", "no rule"), CallVerdict::Success);
        assert_eq!(CallVerdict::from_failure("platform", "no slot"), CallVerdict::Neutral);
        assert_eq!(
            CallVerdict::from_failure("fuel_exhausted", "out of fuel"),
            CallVerdict::Fault {
                kind: "fuel_exhausted".to_string(),
                message: "out of fuel".to_string()
            }
        );
    }

    #[test]
    fn half_open_lets_one_trial() {
        let breaker = Breaker::restore(config(), true, Some("tripped".to_string()), Some(Utc::now()), Utc::now());
        let later = Utc::now() + TimeDelta::seconds(11);

        let trial = permit(&breaker, later);

        assert!(trial.trial);
        assert!(matches!(breaker.admit(later), Admission::Skipped { .. }));
        assert!(matches!(breaker.state(later), BreakerState::HalfOpen { trial_running: true, .. }));
    }

    #[test]
    fn trial_success_closes() {
        let opened_at = Utc::now();
        let breaker = Breaker::restore(config(), true, Some("tripped".to_string()), Some(opened_at), opened_at);
        let later = opened_at + TimeDelta::seconds(11);

        let trial = permit(&breaker, later);

        assert_eq!(breaker.record(trial, &CallVerdict::Success, later), Transition::Closed);
        assert_eq!(breaker.state(later), BreakerState::Closed { consecutive_failures: 0 });
    }

    #[test]
    fn trial_fault_reopens() {
        let opened_at = Utc::now();
        let breaker = Breaker::restore(config(), true, Some("tripped".to_string()), Some(opened_at), opened_at);
        let later = opened_at + TimeDelta::seconds(11);

        let trial = permit(&breaker, later);
        let transition = breaker.record(trial, &fault(), later);

        assert!(matches!(transition, Transition::Opened { opened_at, .. } if opened_at == later));
        assert!(matches!(breaker.admit(later), Admission::Skipped { .. }));
    }

    #[test]
    fn stale_permit_ignored() {
        let breaker = Breaker::new(config());
        let now = Utc::now();
        let early = permit(&breaker, now);

        for _ in 0..3 {
            let permit = permit(&breaker, now);
            breaker.record(permit, &fault(), now);
        }

        assert_eq!(breaker.record(early, &CallVerdict::Success, now), Transition::Unchanged);
        assert!(breaker.is_open());
    }

    #[test]
    fn reset_closes_at_once() {
        let now = Utc::now();
        let breaker = Breaker::restore(config(), true, Some("tripped".to_string()), Some(now), now);

        assert_eq!(breaker.reset(), Transition::Closed);
        assert_eq!(breaker.reset(), Transition::Unchanged);
        assert!(matches!(breaker.admit(now), Admission::Allowed(Permit { trial: false, .. })));
    }
}
