//! A budget of fuel per second for the router calls of each install on one
//! node. The fuel limit of one call stops a plugin that loops forever, but
//! not one whose every call burns most of that limit and still succeeds, so
//! the breaker never opens. The budget gives such a plugin a bounded share
//! of the CPU and leaves the rest to the other tenants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use civic311_store::InstallId;

/// Share of a second's fuel that an idle install saves up. A tenth keeps a
/// greedy plugin's burst after a quiet spell to a tenth of a second's
/// worth, and a busy router's short bursts wait briefly for the refill
/// instead.
const BURST_DIVISOR: u64 = 10;

/// Token bucket of fuel units for one install. Its balance is at most a
/// tenth of a second's worth and refills at `per_second`. A call is admitted while the
/// balance is above zero, so one call may overdraw it by up to its own fuel
/// limit. The calls after it wait until the refill has paid that debt back.
#[derive(Debug)]
pub struct FuelBudget {
    per_second: u64,
    /// Largest balance: `per_second` / [`BURST_DIVISOR`], at least one unit.
    capacity: i128,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    /// Fuel units left; negative after a call burned more than was left.
    balance: i128,
    refilled_at: Instant,
}

/// A call that the budget did not admit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Throttled {
    pub per_second: u64,
    /// Time until the balance is above zero again, if no call burns fuel meanwhile.
    pub retry_after: Duration,
}

impl Throttled {
    /// Returns the reason recorded for a call the budget skipped.
    pub fn reason(&self) -> String {
        format!(
            "the install burned its budget of {} fuel units per second on this node, so the \
             plugin was not called; calls run again in about {} ms. Check its call records \
             for calls that burn much fuel, or raise the install's fuel_per_second limit",
            self.per_second,
            self.retry_after.as_millis().max(1)
        )
    }
}

impl FuelBudget {
    /// Creates a full budget of `per_second` fuel units per second.
    pub fn new(per_second: u64, now: Instant) -> FuelBudget {
        let capacity = i128::from((per_second / BURST_DIVISOR).max(1));
        FuelBudget {
            per_second,
            capacity,
            state: Mutex::new(BudgetState {
                balance: capacity,
                refilled_at: now,
            }),
        }
    }

    /// Returns the fuel units per second this budget refills at.
    pub fn per_second(&self) -> u64 {
        self.per_second
    }

    /// Creates a budget of `per_second` that keeps this budget's balance, at
    /// most the new capacity, so a debt survives a change of the limit.
    pub fn resized(&self, per_second: u64, now: Instant) -> FuelBudget {
        let mut state = self.lock();
        self.refill(&mut state, now);

        let resized = FuelBudget::new(per_second, now);
        {
            let mut new_state = resized.lock();
            new_state.balance = state.balance.min(resized.capacity);
        }
        resized
    }

    /// Admits a call at `now` when the balance is above zero.
    pub fn admit(&self, now: Instant) -> Result<(), Throttled> {
        let mut state = self.lock();
        self.refill(&mut state, now);

        if state.balance > 0 {
            return Ok(());
        }

        Err(Throttled {
            per_second: self.per_second,
            retry_after: self.time_to_repay(state.balance),
        })
    }

    /// Takes the fuel a finished call burned from the balance.
    pub fn charge(&self, fuel_used: u64, now: Instant) {
        let mut state = self.lock();
        self.refill(&mut state, now);
        state.balance -= i128::from(fuel_used);
    }

    fn refill(&self, state: &mut BudgetState, now: Instant) {
        let elapsed = now.saturating_duration_since(state.refilled_at);
        let earned = i128::from(self.per_second) * elapsed.as_nanos() as i128 / 1_000_000_000;

        if earned <= 0 {
            return;
        }

        if state.balance + earned >= self.capacity {
            state.balance = self.capacity;
            state.refilled_at = now;
            return;
        }

        // The clock moves on by the time the whole units took, so frequent
        // calls keep the fraction of a unit that each interval earned.
        state.balance += earned;
        let spent_nanos = earned * 1_000_000_000 / i128::from(self.per_second.max(1));
        state.refilled_at += Duration::from_nanos(u64::try_from(spent_nanos).unwrap_or(u64::MAX));
    }

    /// Returns the time the refill needs to bring `balance` above zero.
    fn time_to_repay(&self, balance: i128) -> Duration {
        let debt = (1 - balance).max(0) as u128;
        let per_second = u128::from(self.per_second.max(1));
        let nanos = debt.saturating_mul(1_000_000_000).div_ceil(per_second);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The fuel budgets of the router installs on this node. The registry
/// looks an install's budget up here when it loads the install, so that a
/// reload, which any change of its settings causes, keeps its balance and debt.
#[derive(Debug, Default)]
pub(crate) struct FuelBudgets {
    by_install: Mutex<HashMap<InstallId, Arc<FuelBudget>>>,
}

impl FuelBudgets {
    /// Returns the install's budget at `per_second`. A new install starts
    /// full, and a changed limit keeps the balance.
    pub(crate) fn of(&self, install: InstallId, per_second: u64) -> Arc<FuelBudget> {
        let mut by_install = self.by_install.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();

        let budget = match by_install.get(&install) {
            Some(budget) if budget.per_second() == per_second => return Arc::clone(budget),
            Some(budget) => Arc::new(budget.resized(per_second, now)),
            None => Arc::new(FuelBudget::new(per_second, now)),
        };
        by_install.insert(install, Arc::clone(&budget));
        budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn full_budget_admits() {
        let start = Instant::now();
        let budget = FuelBudget::new(1_000, start);

        assert_eq!(budget.admit(start), Ok(()));
    }

    #[test]
    fn overdrawn_budget_throttles() {
        let start = Instant::now();
        let budget = FuelBudget::new(1_000, start);
        budget.charge(600, start);

        let throttled = budget.admit(start).unwrap_err();

        assert_eq!(throttled.per_second, 1_000);
        // The full balance is 100 units, so the debt is 500 units plus one,
        // at 1,000 units per second.
        assert_eq!(throttled.retry_after, Duration::from_micros(501_000));
    }

    #[test]
    fn one_call_may_overdraw() {
        let start = Instant::now();
        let budget = FuelBudget::new(1_000, start);
        budget.charge(99, start);

        assert_eq!(budget.admit(start), Ok(()));
        budget.charge(10_000, start);
        assert!(budget.admit(start).is_err());
    }

    #[test]
    fn refill_repays_debt() {
        let start = Instant::now();
        let budget = FuelBudget::new(1_000, start);
        budget.charge(600, start);

        assert!(budget.admit(start + 500 * MS).is_err());
        assert_eq!(budget.admit(start + 501 * MS), Ok(()));
    }

    #[test]
    fn refill_stops_at_burst() {
        let start = Instant::now();
        let budget = FuelBudget::new(1_000, start);

        // An hour idle refills a tenth of a second's worth, 100 units.
        budget.charge(100, start + Duration::from_secs(3_600));

        assert!(budget.admit(start + Duration::from_secs(3_600)).is_err());
    }

    #[test]
    fn short_intervals_keep_fractions() {
        let start = Instant::now();
        let budget = FuelBudget::new(1_000, start);
        budget.charge(101, start);

        // 1,000 units per second earn one unit per millisecond; ten checks
        // 0.1 ms apart earn one unit between them.
        for step in 1..=10 {
            let _ = budget.admit(start + Duration::from_micros(100 * step));
        }

        assert!(budget.admit(start + MS).is_err());
        assert_eq!(budget.admit(start + 2 * MS), Ok(()));
    }

    #[test]
    fn resized_budget_keeps_debt() {
        let start = Instant::now();
        let budget = FuelBudget::new(1_000, start);
        budget.charge(600, start);

        let resized = budget.resized(2_000, start);

        // The debt of 500 units is repaid at 2,000 units per second.
        assert!(resized.admit(start + 250 * MS).is_err());
        assert_eq!(resized.admit(start + 251 * MS), Ok(()));
    }

    #[test]
    fn budgets_survive_lookup() {
        let budgets = FuelBudgets::default();
        let install = InstallId(7);
        // One unit per second: the debt of 599 units lasts ten minutes.
        budgets.of(install, 1).charge(600, Instant::now());

        let again = budgets.of(install, 1);

        assert!(again.admit(Instant::now()).is_err());
        assert_eq!(budgets.of(InstallId(8), 1).admit(Instant::now()), Ok(()));
    }

    #[test]
    fn throttled_reason_names_limit() {
        let throttled = Throttled { per_second: 2_000, retry_after: Duration::from_millis(40) };

        let reason = throttled.reason();

        assert!(reason.contains("2000 fuel units per second"), "{reason}");
        assert!(reason.contains("fuel_per_second"), "{reason}");
        assert!(reason.contains("about 40 ms"), "{reason}");
    }
}
