//! The plugin host: loading and caching compiled plugins, and routing calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use civic311_domain::routing::{RouteDecision, RouteInput};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::bindings::RouterPre;
use crate::config::{HostConfig, MAX_CONCURRENT_CALLS, build_engine, start_epoch_ticker};
use crate::convert::{from_wit_decision, to_wit_request};
use crate::error::PluginError;
use crate::sandbox::{CallSlots, CallState, call_route, classify_failure, new_store, rejection};

/// Header of a WebAssembly binary: the magic bytes `\0asm`.
const WASM_MAGIC: [u8; 4] = *b"\0asm";

/// Version and layer fields that mark a component (version 0x0d, layer 1).
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// A compiled, pre-instantiated plugin version, cheap to clone.
#[derive(Clone)]
pub struct LoadedPlugin {
    name: Arc<str>,
    compiled: Arc<Compiled>,
}

/// Compiled state shared by every plugin loaded from the same bytes.
struct Compiled {
    digest: String,
    pre: RouterPre<CallState>,
}

impl LoadedPlugin {
    /// Returns the name the plugin was loaded under, such as `boston-router`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the hex SHA-256 of the component bytes.
    pub fn digest(&self) -> &str {
        &self.compiled.digest
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("digest", &self.compiled.digest)
            .finish()
    }
}

/// One wasmtime engine shared by all tenants, with a compile cache keyed by
/// the component digest.
pub struct PluginHost {
    engine: Engine,
    config: HostConfig,
    /// Compiled plugins by hex SHA-256. NOTE: entries are never evicted, so
    /// every distinct version loaded stays in memory until the host is dropped.
    cache: Mutex<HashMap<String, Arc<Compiled>>>,
    slots: CallSlots,
    stop_ticker: Arc<AtomicBool>,
}

impl PluginHost {
    /// Creates the engine and starts the epoch ticker thread.
    pub fn new(config: HostConfig) -> Result<PluginHost, PluginError> {
        let engine = build_engine(&config)?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        start_epoch_ticker(&engine, Arc::clone(&stop_ticker))?;

        Ok(PluginHost {
            engine,
            config,
            cache: Mutex::new(HashMap::new()),
            slots: CallSlots::new(MAX_CONCURRENT_CALLS),
            stop_ticker,
        })
    }

    /// Returns the limits every call runs under.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Compiles `wasm` once per digest and pre-instantiates it against the
    /// router world. A trial instantiation checks that the plugin fits the
    /// sandbox limits, so a plugin too large fails here and not at its first call.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let digest = hex::encode(Sha256::digest(wasm));
        let span = tracing::info_span!("plugin.load", plugin.name = name, plugin.digest = %digest);
        let _entered = span.enter();

        if let Some(compiled) = self.cached(&digest) {
            tracing::debug!("plugin already compiled");
            return Ok(LoadedPlugin {
                name: name.into(),
                compiled,
            });
        }

        let compiled = Arc::new(self.compile(name, wasm, digest.clone())?);
        self.check_instantiates(name, &compiled.pre)?;

        let compiled = Arc::clone(
            self.cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(digest)
                .or_insert(compiled),
        );
        tracing::info!(bytes = wasm.len(), "plugin loaded");
        Ok(LoadedPlugin {
            name: name.into(),
            compiled,
        })
    }

    /// Runs one routing decision in a fresh store. Blocks for at most the
    /// wall-time limit, plus any wait for a free sandbox slot.
    pub fn route(&self, plugin: &LoadedPlugin, input: &RouteInput) -> Result<RouteDecision, PluginError> {
        let span = tracing::debug_span!(
            "plugin.route",
            plugin.name = plugin.name(),
            plugin.digest = plugin.digest()
        );
        let _entered = span.enter();

        let request = to_wit_request(input);
        let _slot = self.slots.acquire();
        let mut store = new_store(&self.engine, &self.config)?;

        let outcome = call_route(&mut store, &plugin.compiled.pre, &request);

        let result = match outcome {
            Ok(Ok(decision)) => from_wit_decision(plugin.name(), decision),
            Ok(Err(route_error)) => Err(rejection(plugin.name(), route_error)),
            Err(error) => Err(classify_failure(plugin.name(), &self.config, &store, error)),
        };
        let fuel_consumed = self.config.fuel_per_call.saturating_sub(store.get_fuel().unwrap_or(0));
        match &result {
            Ok(decision) => tracing::debug!(fuel_consumed, department = %decision.department, "plugin call succeeded"),
            // The caller logs the failure at warn level with the tenant and
            // request ids, which the host does not have.
            Err(error) => {
                tracing::debug!(%error, blame = error.blame(), kind = error.kind(), fuel_consumed, "plugin call failed")
            }
        }
        result
    }

    /// Creates a store and instantiates `plugin` without calling it, to
    /// measure the sandbox setup on its own in benchmarks.
    #[doc(hidden)]
    pub fn instantiate_only(&self, plugin: &LoadedPlugin) -> Result<(), PluginError> {
        let _slot = self.slots.acquire();
        let mut store = new_store(&self.engine, &self.config)?;
        match plugin.compiled.pre.instantiate(&mut store) {
            Ok(_) => Ok(()),
            Err(error) => Err(classify_failure(plugin.name(), &self.config, &store, error)),
        }
    }

    fn cached(&self, digest: &str) -> Option<Arc<Compiled>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(digest)
            .cloned()
    }

    fn compile(&self, name: &str, wasm: &[u8], digest: String) -> Result<Compiled, PluginError> {
        check_component_header(name, wasm)?;

        let component = Component::new(&self.engine, wasm).map_err(|error| PluginError::InvalidComponent {
            plugin: name.to_string(),
            message: format!("{error:#}"),
        })?;

        // The router world imports nothing. Other imports, such as the WASI
        // interfaces that Rust's std links for panics, become functions that
        // trap when called, so the plugin still instantiates but reaches nothing.
        let mut linker = Linker::<CallState>::new(&self.engine);
        linker
            .define_unknown_imports_as_traps(&component)
            .map_err(|error| PluginError::WrongWorld {
                plugin: name.to_string(),
                message: format!("{error:#}"),
            })?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|error| PluginError::WrongWorld {
                plugin: name.to_string(),
                message: format!("{error:#}"),
            })?;
        let pre = RouterPre::new(instance_pre).map_err(|error| PluginError::WrongWorld {
            plugin: name.to_string(),
            message: format!("{error:#}"),
        })?;

        Ok(Compiled { digest, pre })
    }

    fn check_instantiates(&self, name: &str, pre: &RouterPre<CallState>) -> Result<(), PluginError> {
        let _slot = self.slots.acquire();
        let mut store = new_store(&self.engine, &self.config)?;
        match pre.instantiate(&mut store) {
            Ok(_) => Ok(()),
            Err(error) => Err(match classify_failure(name, &self.config, &store, error) {
                PluginError::Trap { plugin, message } => PluginError::InvalidComponent {
                    plugin,
                    message: format!("instantiation failed within the sandbox limits: {message}"),
                },
                other => other,
            }),
        }
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// Rejects bytes that are not a component, with a hint for core modules.
fn check_component_header(name: &str, wasm: &[u8]) -> Result<(), PluginError> {
    let invalid = |message: &str| PluginError::InvalidComponent {
        plugin: name.to_string(),
        message: message.to_string(),
    };

    if wasm.len() < 8 || wasm[..4] != WASM_MAGIC {
        return Err(invalid("the file does not start with the WebAssembly magic bytes"));
    }
    if wasm[4..8] != COMPONENT_VERSION {
        return Err(invalid(
            "the file is a core WebAssembly module, not a component; build it for wasm32-wasip2 \
             or wrap it with `wasm-tools component new`",
        ));
    }
    Ok(())
}
