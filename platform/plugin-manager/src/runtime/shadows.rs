//! At most one shadow call per install at a time. A candidate that loops
//! or runs slowly would otherwise pile up a call per live request and take
//! sandbox slots and threads from every tenant. So a request that arrives
//! while the install's shadow call runs is not shadowed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use civic311_store::InstallId;

/// Installs whose shadow candidate is running.
#[derive(Clone, Default)]
pub(crate) struct ShadowSlots {
    running: Arc<Mutex<HashSet<InstallId>>>,
}

impl ShadowSlots {
    /// Claims the install's shadow slot, or returns `None` when its shadow call is running.
    pub(crate) fn claim(&self, install: InstallId) -> Option<ShadowClaim> {
        let inserted = self.lock().insert(install);
        inserted.then(|| ShadowClaim { slots: self.clone(), install })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<InstallId>> {
        self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A claimed slot, released when dropped, also when its task panics or is aborted.
pub(crate) struct ShadowClaim {
    slots: ShadowSlots,
    install: InstallId,
}

impl Drop for ShadowClaim {
    fn drop(&mut self) {
        self.slots.lock().remove(&self.install);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_install() {
        let slots = ShadowSlots::default();

        let first = slots.claim(InstallId(1));
        assert!(first.is_some());
        assert!(slots.claim(InstallId(1)).is_none());
        assert!(slots.claim(InstallId(2)).is_some());

        drop(first);
        assert!(slots.claim(InstallId(1)).is_some());
    }
}
