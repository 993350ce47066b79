//! Host limits and the process-wide wasmtime engine they shape.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use civic311_domain::plugin::LimitOverrides;

use crate::error::PluginError;

/// Limits of one plugin call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLimits {
    /// Fuel units the call may burn before it traps. Most wasm operators cost
    /// one unit; wasmtime 46 and later charge bulk memory operations by size.
    pub fuel: u64,
    /// Bytes of linear memory the instance may grow to, summed over all its memories.
    pub max_memory_bytes: usize,
    /// Wall-clock time the call may run, enforced by an epoch deadline with a
    /// resolution of [`EPOCH_TICK`]. Outbound HTTP gets what remains of it.
    pub wall_time: Duration,
    /// Bytes of the call's output (decision or synced records) serialized as JSON.
    pub max_output_bytes: usize,
    /// Fuel units all router calls of the install may burn per second on one
    /// node, with a burst of a tenth of a second's worth. The plugin manager enforces it
    /// between calls; the host only reports each call's fuel.
    pub fuel_per_second: u64,
}

/// The platform's call limits: the defaults of every install, the maxima a
/// tenant may raise them to, and the size limit of an uploaded component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostConfig {
    pub defaults: CallLimits,
    /// Upper bounds of [`LimitOverrides`]. The engine's memory slots are sized
    /// for `maxima.max_memory_bytes`.
    pub maxima: CallLimits,
    /// Bytes of the largest component that [`crate::PluginHost::inspect`] accepts.
    pub max_component_bytes: usize,
}

impl Default for HostConfig {
    /// Limits for small plugins. A decision of the bundled routers burns less
    /// than 100,000 fuel units (checked by the host tests), and a Rust router's
    /// memory starts at about 1 MiB, mostly its stack. Fuel is the CPU
    /// budget, so the default wall-time limit is a backstop: it is long enough
    /// that a thread descheduled on a busy machine does not time out a normal call.
    fn default() -> HostConfig {
        HostConfig {
            defaults: CallLimits {
                fuel: 10_000_000,
                max_memory_bytes: 16 << 20,
                wall_time: Duration::from_secs(1),
                max_output_bytes: 64 << 10,
                // 10,000 decisions per second at the bundled routers' 100,000
                // fuel, far above a city's request rate, yet a plugin that burns
                // its whole per-call fuel runs only 100 such calls per second.
                fuel_per_second: 1_000_000_000,
            },
            maxima: CallLimits {
                fuel: 100_000_000,
                max_memory_bytes: 64 << 20,
                wall_time: Duration::from_secs(30),
                max_output_bytes: 1 << 20,
                fuel_per_second: 20_000_000_000,
            },
            max_component_bytes: 8 << 20,
        }
    }
}

impl HostConfig {
    /// Resolves an install's overrides against the defaults. An override above
    /// its maximum fails with [`PluginError::LimitAboveMaximum`], and a zero
    /// override with [`PluginError::LimitBelowMinimum`].
    pub fn limits_for(&self, overrides: &LimitOverrides) -> Result<CallLimits, PluginError> {
        let maxima = &self.maxima;
        let defaults = &self.defaults;

        let fuel = resolve("fuel", overrides.fuel, defaults.fuel, maxima.fuel)?;
        let memory = resolve(
            "memory_bytes",
            overrides.memory_bytes,
            defaults.max_memory_bytes as u64,
            maxima.max_memory_bytes as u64,
        )?;
        let wall_time_ms = resolve(
            "wall_time_ms",
            overrides.wall_time_ms,
            millis(defaults.wall_time),
            millis(maxima.wall_time),
        )?;
        let output = resolve(
            "max_output_bytes",
            overrides.max_output_bytes,
            defaults.max_output_bytes as u64,
            maxima.max_output_bytes as u64,
        )?;

        let fuel_per_second = resolve(
            "fuel_per_second",
            overrides.fuel_per_second,
            defaults.fuel_per_second,
            maxima.fuel_per_second,
        )?;

        Ok(CallLimits {
            fuel,
            max_memory_bytes: usize::try_from(memory).unwrap_or(usize::MAX),
            wall_time: Duration::from_millis(wall_time_ms),
            max_output_bytes: usize::try_from(output).unwrap_or(usize::MAX),
            fuel_per_second,
        })
    }
}

impl HostConfig {
    /// Resolves an install's overrides like [`HostConfig::limits_for`], but
    /// lowers an override above its maximum to that maximum and drops a zero
    /// one. So installs set within an earlier, higher maximum keep running
    /// after an operator lowers it. Returns the names of the limits it changed.
    pub fn limits_within_maxima(&self, overrides: &LimitOverrides) -> (CallLimits, Vec<&'static str>) {
        let maxima = &self.maxima;
        let mut changed = Vec::new();
        let mut clamp = |field: &'static str, value: Option<u64>, maximum: u64| match value {
            Some(0) => {
                changed.push(field);
                None
            }
            Some(value) if value > maximum => {
                changed.push(field);
                Some(maximum)
            }
            other => other,
        };

        let clamped = LimitOverrides {
            fuel: clamp("fuel", overrides.fuel, maxima.fuel),
            memory_bytes: clamp("memory_bytes", overrides.memory_bytes, maxima.max_memory_bytes as u64),
            wall_time_ms: clamp("wall_time_ms", overrides.wall_time_ms, millis(maxima.wall_time)),
            max_output_bytes: clamp("max_output_bytes", overrides.max_output_bytes, maxima.max_output_bytes as u64),
            fuel_per_second: clamp("fuel_per_second", overrides.fuel_per_second, maxima.fuel_per_second),
        };
        // Cannot fail: every override is now positive and within its maximum.
        let limits = self.limits_for(&clamped).unwrap_or_else(|_| self.defaults.clone());
        (limits, changed)
    }
}

fn resolve(field: &'static str, value: Option<u64>, default: u64, maximum: u64) -> Result<u64, PluginError> {
    match value {
        None => Ok(default),
        Some(0) => Err(PluginError::LimitBelowMinimum { field }),
        Some(value) if value > maximum => Err(PluginError::LimitAboveMaximum { field, value, maximum }),
        Some(value) => Ok(value),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Interval of the thread that advances the engine's epoch. A call's wall
/// time is counted in these ticks, so a deadline fires up to one tick late.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Sandboxes that may exist at once. The pooling allocator reserves this many
/// instance slots, and calls beyond it wait for a free slot.
pub const MAX_CONCURRENT_CALLS: u32 = 64;

/// Core instances one component may create. A Rust router built for
/// wasm32-wasip2 has one main module plus a few shim modules for its imports.
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 16;

/// Maximum elements per table. A small router's function table has a few hundred.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 10_000;

/// Bytes of wasm stack a call may use.
const MAX_WASM_STACK: usize = 256 << 10;

/// Bytes of instance state (the VM context) a core instance or a component
/// instance may need, which grows with its function and global count.
const MAX_INSTANCE_SIZE: usize = 1 << 20;

/// Bytes of a freed memory slot that stay mapped and are reset with `memset`
/// instead of `madvise`, so the next call takes no page faults on them. It
/// applies only where `PAGEMAP_SCAN` (Linux 6.7 and later) finds the pages a
/// call dirtied. Without it wasmtime would `memset` the lowest bytes, which a
/// Rust plugin with the default 1 MiB stack barely touches, because its stack
/// sits there and grows down from the top.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Builds the engine that every tenant's plugins share: fuel and epoch
/// interruption on, pooling allocation sized by [`MAX_CONCURRENT_CALLS`],
/// and on-demand allocation where the pool's address space cannot be reserved.
pub(crate) fn build_engine(config: &HostConfig) -> Result<Engine, PluginError> {
    let memory_limit = round_up_to_page(config.maxima.max_memory_bytes);

    let mut pooled = base_config();
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(memory_limit)));
    match Engine::new(&pooled) {
        Ok(engine) => return Ok(engine),
        Err(error) => {
            tracing::warn!(%error, "pooling allocator unavailable, falling back to on-demand instance allocation");
        }
    }

    let mut on_demand = base_config();
    on_demand.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    Engine::new(&on_demand).map_err(|error| PluginError::Platform {
        plugin: None,
        message: format!("failed to create the wasmtime engine: {error}"),
    })
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(MAX_WASM_STACK);
    config
}

fn pooling_config(memory_limit: usize) -> PoolingAllocationConfig {
    let slots = MAX_CONCURRENT_CALLS;
    let keep_resident = if PoolingAllocationConfig::is_pagemap_scan_available() {
        memory_limit.min(KEEP_RESIDENT_BYTES)
    } else {
        0
    };
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        .total_component_instances(slots)
        .total_core_instances(slots * MAX_CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * 2)
        .total_tables(slots * 4)
        .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(2)
        .max_tables_per_component(4)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_memory_size(memory_limit)
        .max_core_instance_size(MAX_INSTANCE_SIZE)
        .max_component_instance_size(MAX_INSTANCE_SIZE)
        .linear_memory_keep_resident(keep_resident)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);
    pooling
}

fn round_up_to_page(bytes: usize) -> usize {
    const WASM_PAGE: usize = 64 << 10;
    bytes.div_ceil(WASM_PAGE).max(1) * WASM_PAGE
}

/// Converts a wall-time limit to a count of epoch ticks, at least one.
pub(crate) fn wall_time_ticks(wall_time: Duration) -> u64 {
    let ticks = wall_time.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
    u64::try_from(ticks).unwrap_or(u64::MAX).max(1)
}

/// Starts the thread that advances `engine`'s epoch every [`EPOCH_TICK`]. It
/// holds only a weak reference, and ends when `stop` is set or the engine is dropped.
pub(crate) fn start_epoch_ticker(engine: &Engine, stop: Arc<AtomicBool>) -> Result<(), PluginError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("civic311-plugin-epoch".to_string())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(|_| ())
        .map_err(|error| PluginError::Platform {
            plugin: None,
            message: format!("failed to start the epoch ticker thread: {error}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_time_ticks_round_up() {
        assert_eq!(wall_time_ticks(Duration::from_micros(1500)), 2);
        assert_eq!(wall_time_ticks(Duration::ZERO), 1);
        assert_eq!(wall_time_ticks(Duration::from_millis(100)), 100);
    }

    #[test]
    fn limits_for_keeps_defaults() {
        let config = HostConfig::default();
        assert_eq!(config.limits_for(&LimitOverrides::default()).unwrap(), config.defaults);
    }

    #[test]
    fn limits_for_applies_overrides() {
        let overrides = LimitOverrides {
            fuel: Some(50_000_000),
            memory_bytes: Some(32 << 20),
            wall_time_ms: Some(2_500),
            max_output_bytes: Some(4_096),
            fuel_per_second: Some(300_000_000),
        };
        let limits = HostConfig::default().limits_for(&overrides).unwrap();
        assert_eq!(limits.fuel, 50_000_000);
        assert_eq!(limits.max_memory_bytes, 32 << 20);
        assert_eq!(limits.wall_time, Duration::from_millis(2_500));
        assert_eq!(limits.max_output_bytes, 4_096);
        assert_eq!(limits.fuel_per_second, 300_000_000);
    }

    #[test]
    fn limits_within_maxima_lowers_overrides() {
        let config = HostConfig::default();
        let overrides = LimitOverrides {
            fuel: Some(2_000_000),
            wall_time_ms: Some(60_000),
            fuel_per_second: Some(u64::MAX),
            ..LimitOverrides::default()
        };

        let (limits, changed) = config.limits_within_maxima(&overrides);

        assert_eq!(changed, vec!["wall_time_ms", "fuel_per_second"]);
        assert_eq!(limits.fuel, 2_000_000);
        assert_eq!(limits.wall_time, config.maxima.wall_time);
        assert_eq!(limits.fuel_per_second, config.maxima.fuel_per_second);
        assert_eq!(limits.max_memory_bytes, config.defaults.max_memory_bytes);
    }

    #[test]
    fn fuel_per_second_above_maximum() {
        let overrides = LimitOverrides {
            fuel_per_second: Some(20_000_000_001),
            ..LimitOverrides::default()
        };
        let error = HostConfig::default().limits_for(&overrides).unwrap_err();
        assert!(matches!(
            error,
            PluginError::LimitAboveMaximum { field: "fuel_per_second", value: 20_000_000_001, maximum: 20_000_000_000 }
        ));
    }

    #[test]
    fn limits_for_rejects_value_above_maximum() {
        let overrides = LimitOverrides {
            wall_time_ms: Some(30_001),
            ..LimitOverrides::default()
        };
        let error = HostConfig::default().limits_for(&overrides).unwrap_err();
        assert!(matches!(
            error,
            PluginError::LimitAboveMaximum { field: "wall_time_ms", value: 30_001, maximum: 30_000 }
        ));
        assert!(error.to_string().contains("wall_time_ms"), "{error}");
    }

    #[test]
    fn limits_for_rejects_zero() {
        let overrides = LimitOverrides {
            fuel: Some(0),
            ..LimitOverrides::default()
        };
        let error = HostConfig::default().limits_for(&overrides).unwrap_err();
        assert!(matches!(error, PluginError::LimitBelowMinimum { field: "fuel" }), "{error}");
    }

    #[test]
    fn round_up_to_page_keeps_whole_pages() {
        assert_eq!(round_up_to_page(1), 64 << 10);
        assert_eq!(round_up_to_page(16 << 20), 16 << 20);
    }
}
