//! Limits on the calls of one install that run at once, so a tenant whose
//! plugin burns its whole fuel budget on every call takes at most its share
//! of the cores and leaves the rest to other tenants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use civic311_store::InstallId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many calls of one install may run at once, and how long a call
/// waits for a free slot, or for its install's fuel budget, before the
/// fallback applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallSlotConfig {
    pub per_install: usize,
    pub max_wait: Duration,
}

impl Default for CallSlotConfig {
    /// Returns half the machine's cores per install, at least one, so two
    /// misbehaving tenants cannot take every core between them. The wait is
    /// long enough for a queue of a few thousand normal routing calls.
    fn default() -> CallSlotConfig {
        let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
        CallSlotConfig {
            per_install: (cores / 2).max(1),
            max_wait: Duration::from_millis(250),
        }
    }
}

/// One semaphore per install, created on the install's first call.
pub(crate) struct CallSlots {
    config: CallSlotConfig,
    by_install: Mutex<HashMap<InstallId, Arc<Semaphore>>>,
}

impl CallSlots {
    pub(crate) fn new(config: CallSlotConfig) -> CallSlots {
        CallSlots {
            config,
            by_install: Mutex::new(HashMap::new()),
        }
    }

    /// Waits up to `max_wait` for a call slot of `install`. Returns `None`
    /// when every slot stayed taken, so the caller skips the plugin.
    pub(crate) async fn acquire(&self, install: InstallId) -> Option<OwnedSemaphorePermit> {
        let semaphore = self.semaphore(install);
        match tokio::time::timeout(self.config.max_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => None,
        }
    }

    /// Returns how long a call waits for a slot, and for its install's fuel budget.
    pub(crate) fn max_wait(&self) -> Duration {
        self.config.max_wait
    }

    /// Returns the reason recorded for a call that found no free slot.
    pub(crate) fn busy_reason(&self) -> String {
        format!(
            "the install already ran {} call(s) at once for {} ms, its limit on one node; \
             the plugin was not called. A plugin that uses its whole per-call fuel on each \
             call keeps its slots busy: check its call records",
            self.config.per_install,
            self.config.max_wait.as_millis()
        )
    }

    fn semaphore(&self, install: InstallId) -> Arc<Semaphore> {
        let mut by_install = self.by_install.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let per_install = self.config.per_install.max(1);
        Arc::clone(by_install.entry(install).or_insert_with(|| Arc::new(Semaphore::new(per_install))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(per_install: usize) -> CallSlots {
        CallSlots::new(CallSlotConfig {
            per_install,
            max_wait: Duration::from_millis(20),
        })
    }

    #[tokio::test]
    async fn second_call_waits_then_gives_up() {
        let slots = slots(1);

        let first = slots.acquire(InstallId(1)).await;
        let second = slots.acquire(InstallId(1)).await;

        assert!(first.is_some());
        assert!(second.is_none());
    }

    #[tokio::test]
    async fn installs_have_separate_slots() {
        let slots = slots(1);

        let first = slots.acquire(InstallId(1)).await;
        let other = slots.acquire(InstallId(2)).await;

        assert!(first.is_some());
        assert!(other.is_some());
    }

    #[tokio::test]
    async fn released_slot_is_reused() {
        let slots = slots(1);

        drop(slots.acquire(InstallId(1)).await);
        let again = slots.acquire(InstallId(1)).await;

        assert!(again.is_some());
    }
}
