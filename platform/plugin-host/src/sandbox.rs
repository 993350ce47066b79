//! One plugin call in a fresh store: limits, fuel, deadline, and the mapping
//! of each way a call can fail to a [`PluginError`] variant.

use std::sync::{Condvar, Mutex};

use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};

use crate::bindings::integration::{IntegrationPre, RoutedRequest, SyncError, SyncedRecord};
use crate::bindings::router::{Decision, RouteError, RouterPre, ServiceRequest};
use crate::capability_host::CapabilityState;
use crate::config::{CallLimits, MAX_TABLE_ELEMENTS, wall_time_ticks};
use crate::convert::truncate_message;
use crate::error::{PluginError, RejectionKind};

/// Store data of one call.
pub(crate) struct CallState {
    limiter: CallLimiter,
    pub(crate) capabilities: CapabilityState,
}

/// [`StoreLimits`] plus a limit on the sum of all linear memories, which
/// `StoreLimits` checks only one memory at a time. It records whether a
/// memory limit was hit, so that the trap is reported as [`PluginError::MemoryLimit`].
struct CallLimiter {
    limits: StoreLimits,
    max_total_memory_bytes: usize,
    total_memory_bytes: usize,
    memory_limit_hit: bool,
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.total_memory_bytes.saturating_sub(current).saturating_add(desired);
        if total > self.max_total_memory_bytes {
            self.memory_limit_hit = true;
            return Err(wasmtime::format_err!(
                "linear memories would grow to {total} bytes in total, more than the limit of {} bytes",
                self.max_total_memory_bytes
            ));
        }

        let result = self.limits.memory_growing(current, desired, maximum);
        match result {
            Ok(true) => self.total_memory_bytes = total,
            _ => self.memory_limit_hit = true,
        }
        result
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Creates a store for one call with the memory, table and instance limits,
/// the fuel budget and the epoch deadline of `limits`.
pub(crate) fn new_store(
    engine: &wasmtime::Engine,
    limits: &CallLimits,
    capabilities: CapabilityState,
) -> Result<Store<CallState>, PluginError> {
    let store_limits = StoreLimitsBuilder::new()
        .memory_size(limits.max_memory_bytes)
        .table_elements(MAX_TABLE_ELEMENTS)
        .instances(64)
        .tables(64)
        .memories(4)
        .trap_on_grow_failure(true)
        .build();
    let mut store = Store::new(
        engine,
        CallState {
            limiter: CallLimiter {
                limits: store_limits,
                max_total_memory_bytes: limits.max_memory_bytes,
                total_memory_bytes: 0,
                memory_limit_hit: false,
            },
            capabilities,
        },
    );
    store.limiter(|state| &mut state.limiter);

    store
        .set_fuel(limits.fuel)
        .map_err(|error| PluginError::Platform {
            plugin: None,
            message: format!("failed to set fuel on a new store: {error}"),
        })?;
    store.set_epoch_deadline(wall_time_ticks(limits.wall_time));
    store.epoch_deadline_trap();
    Ok(store)
}

/// Instantiates the plugin in `store` and calls its `route` export.
pub(crate) fn call_route(
    store: &mut Store<CallState>,
    pre: &RouterPre<CallState>,
    request: &ServiceRequest,
) -> wasmtime::Result<Result<Decision, RouteError>> {
    let router = pre.instantiate(&mut *store)?;
    router.call_route(&mut *store, request)
}

/// Instantiates the plugin in `store` and calls its `sync-request` export.
pub(crate) fn call_sync_request(
    store: &mut Store<CallState>,
    pre: &IntegrationPre<CallState>,
    request: &RoutedRequest,
) -> wasmtime::Result<Result<Vec<SyncedRecord>, SyncError>> {
    let integration = pre.instantiate(&mut *store)?;
    integration.call_sync_request(&mut *store, request)
}

/// Maps a failed instantiation or call to the [`PluginError`] that names its cause.
pub(crate) fn classify_failure(
    plugin: &str,
    limits: &CallLimits,
    store: &Store<CallState>,
    error: wasmtime::Error,
) -> PluginError {
    let plugin = plugin.to_string();
    if store.data().limiter.memory_limit_hit {
        return PluginError::MemoryLimit {
            plugin,
            limit_bytes: limits.max_memory_bytes,
        };
    }

    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => PluginError::Timeout {
            plugin,
            limit: limits.wall_time,
        },
        Some(Trap::OutOfFuel) => PluginError::FuelExhausted {
            plugin,
            fuel: limits.fuel,
        },
        _ => PluginError::Trap {
            plugin,
            message: truncate_message(format!("{error:#}")),
        },
    }
}

/// Converts the plugin's own `route-error` to [`PluginError::Rejected`].
pub(crate) fn rejection(plugin: &str, error: RouteError) -> PluginError {
    let (kind, message) = match error {
        RouteError::NoRule(message) => (RejectionKind::NoRule, message),
        RouteError::InvalidInput(message) => (RejectionKind::InvalidInput, message),
    };
    PluginError::Rejected {
        plugin: plugin.to_string(),
        kind,
        message: truncate_message(message),
    }
}

/// A counting semaphore that keeps the number of live sandboxes within the
/// pooling allocator's instance slots; callers block while all are taken.
pub(crate) struct CallSlots {
    free: Mutex<u32>,
    released: Condvar,
}

/// A taken slot, given back on drop.
pub(crate) struct CallSlot<'a> {
    slots: &'a CallSlots,
}

impl CallSlots {
    pub(crate) fn new(count: u32) -> CallSlots {
        CallSlots {
            free: Mutex::new(count),
            released: Condvar::new(),
        }
    }

    pub(crate) fn acquire(&self) -> CallSlot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while *free == 0 {
            free = self
                .released
                .wait(free)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        *free -= 1;
        CallSlot { slots: self }
    }
}

impl Drop for CallSlot<'_> {
    fn drop(&mut self) {
        let mut free = self.slots.free.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *free += 1;
        self.slots.released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(max_bytes: usize) -> CallLimiter {
        CallLimiter {
            limits: StoreLimitsBuilder::new()
                .memory_size(max_bytes)
                .trap_on_grow_failure(true)
                .build(),
            max_total_memory_bytes: max_bytes,
            total_memory_bytes: 0,
            memory_limit_hit: false,
        }
    }

    #[test]
    fn limiter_counts_all_memories() {
        let mut limiter = limiter(16 << 20);

        let first = limiter.memory_growing(0, 10 << 20, None);
        let second = limiter.memory_growing(0, 10 << 20, None);

        assert!(matches!(first, Ok(true)));
        assert!(second.is_err());
        assert!(limiter.memory_limit_hit);
        assert_eq!(limiter.total_memory_bytes, 10 << 20);
    }

    #[test]
    fn limiter_counts_growth_once() {
        let mut limiter = limiter(16 << 20);

        let initial = limiter.memory_growing(0, 1 << 20, None);
        let grown = limiter.memory_growing(1 << 20, 8 << 20, None);

        assert!(matches!(initial, Ok(true)));
        assert!(matches!(grown, Ok(true)));
        assert_eq!(limiter.total_memory_bytes, 8 << 20);
        assert!(!limiter.memory_limit_hit);
    }
}
