//! The plugin host: inspecting, compiling and caching plugins, and running calls.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use civic311_domain::plugin::{Capability, Grants, Hook, IntegrationRequest, SyncedRecord};
use civic311_domain::routing::{RouteDecision, RouteInput};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::{Engine, Store};

use crate::bindings::integration::IntegrationPre;
use crate::bindings::router::RouterPre;
use crate::bindings::{http, kv, log, secrets};
use crate::capabilities::{CallContext, CallReport, NoCapabilities};
use crate::capability_host::CapabilityState;
use crate::config::{CallLimits, HostConfig, MAX_CONCURRENT_CALLS, build_engine, start_epoch_ticker};
use crate::convert::{from_wit_decision, to_wit_request};
use crate::convert_integration::{check_output_size, from_wit_records, sync_failure, to_wit_routed_request};
use crate::error::PluginError;
use crate::inspect::{Imports, Inspection, read_hook, read_imports, world_name};
use crate::sandbox::{CallSlots, CallState, call_route, call_sync_request, classify_failure, new_store, rejection};

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
    /// The compiled component, kept so that [`PluginHost::precompile`] of
    /// bytes already inspected serializes it instead of compiling again.
    component: Component,
    hook: Hook,
    imports: Imports,
    entry: Entry,
}

/// The pre-instantiated component, typed by its hook.
enum Entry {
    Router(RouterPre<CallState>),
    Integration(IntegrationPre<CallState>),
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

    /// Returns the hook the component implements.
    pub fn hook(&self) -> Hook {
        self.compiled.hook
    }

    /// Returns the capabilities the component imports, in [`Capability::ALL`] order.
    pub fn capabilities(&self) -> &[Capability] {
        &self.compiled.imports.capabilities
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("digest", &self.compiled.digest)
            .field("hook", &self.compiled.hook)
            .field("capabilities", &self.compiled.imports.capabilities)
            .finish()
    }
}

/// One wasmtime engine shared by all tenants, with a compile cache keyed by
/// the component digest.
pub struct PluginHost {
    engine: Engine,
    config: HostConfig,
    compatibility_hash: String,
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
        let compatibility_hash = hash_engine(&engine);

        Ok(PluginHost {
            engine,
            config,
            compatibility_hash,
            cache: Mutex::new(HashMap::new()),
            slots: CallSlots::new(MAX_CONCURRENT_CALLS),
            stop_ticker,
        })
    }

    /// Returns the platform's default and maximum limits.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Validates an upload: size, component header, compilation, the hook
    /// from its exports, the import policy, and a trial instantiation under
    /// the default limits. The compiled component stays cached, so a
    /// following [`PluginHost::load`] of the same bytes does not compile again.
    pub fn inspect(&self, name: &str, wasm: &[u8]) -> Result<Inspection, PluginError> {
        let compiled = self.compile_cached(name, wasm)?;

        Ok(Inspection {
            digest: compiled.digest.clone(),
            hook: compiled.hook,
            world: world_name(compiled.hook, &compiled.imports.capabilities).to_string(),
            capabilities: compiled.imports.capabilities.clone(),
            wasi_imports: compiled.imports.wasi.clone(),
            size_bytes: wasm.len(),
        })
    }

    /// Fails with [`PluginError::NotGranted`] naming the first capability
    /// that the component imports and `grants` does not allow.
    pub fn check_grants(name: &str, inspection: &Inspection, grants: &Grants) -> Result<(), PluginError> {
        crate::inspect::check_grants(name, inspection, grants)
    }

    /// Compiles `wasm` to this engine's precompiled form, for
    /// [`PluginHost::load_precompiled`] on any node with the same
    /// [`PluginHost::compatibility_hash`].
    /// Bytes that [`PluginHost::inspect`] or [`PluginHost::load`] compiled
    /// before are serialized from the cache, so an upload compiles once.
    pub fn precompile(&self, wasm: &[u8]) -> Result<Vec<u8>, PluginError> {
        let invalid = |error: wasmtime::Error| PluginError::InvalidComponent {
            plugin: "upload".to_string(),
            message: format!("{error:#}"),
        };

        let digest = hex::encode(Sha256::digest(wasm));
        if let Some(compiled) = self.cached(&digest) {
            return compiled.component.serialize().map_err(invalid);
        }

        check_component_header("upload", wasm)?;
        self.engine.precompile_component(wasm).map_err(invalid)
    }

    /// Returns a hex hash of the engine's version and configuration. Artifacts
    /// precompiled by an engine with another hash must not be loaded.
    pub fn compatibility_hash(&self) -> String {
        self.compatibility_hash.clone()
    }

    /// Compiles `wasm` once per digest and pre-instantiates it, after the
    /// checks of [`PluginHost::inspect`].
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let compiled = self.compile_cached(name, wasm)?;
        Ok(LoadedPlugin {
            name: name.into(),
            compiled,
        })
    }

    /// Loads a plugin from an artifact of [`PluginHost::precompile`] without
    /// compiling it, or from the cache when `digest` is already loaded.
    ///
    /// The caller must pass only bytes that this platform's `precompile`
    /// produced for the component with hex SHA-256 `digest`, checked by the
    /// caller's HMAC over the artifact, because wasmtime runs the machine
    /// code inside the artifact without validating it.
    pub fn load_precompiled(&self, name: &str, digest: &str, artifact: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let span = tracing::info_span!("plugin.load_precompiled", plugin.name = name, plugin.digest = digest);
        let _entered = span.enter();

        if let Some(compiled) = self.cached(digest) {
            return Ok(LoadedPlugin {
                name: name.into(),
                compiled,
            });
        }

        // SAFETY: the caller guarantees that `artifact` is an unmodified
        // output of `Engine::precompile_component` of an engine with this
        // engine's compatibility hash (see the method's documentation), and
        // wasmtime itself rejects an artifact of an incompatible engine.
        let component = unsafe { Component::deserialize(&self.engine, artifact) }.map_err(|error| PluginError::Platform {
            plugin: Some(name.to_string()),
            message: format!("failed to load the precompiled artifact: {error:#}; precompile the component again"),
        })?;

        let compiled = self.prepare(name, &component, digest.to_string())?;
        tracing::info!(bytes = artifact.len(), "plugin loaded from its artifact");
        Ok(LoadedPlugin {
            name: name.into(),
            compiled: self.insert_cached(compiled),
        })
    }

    /// Runs one routing decision in a fresh store with the default limits,
    /// nothing granted and [`NoCapabilities`].
    pub fn route(&self, plugin: &LoadedPlugin, input: &RouteInput) -> Result<RouteDecision, PluginError> {
        let call = CallContext {
            limits: self.config.defaults.clone(),
            grants: Grants::default(),
            capabilities: Arc::new(NoCapabilities),
        };
        self.route_with(plugin, input, &call).result
    }

    /// Runs one routing decision in a fresh store under `call`'s limits and
    /// grants. Blocks for at most the wall-time limit, plus any wait for a
    /// free sandbox slot.
    pub fn route_with(&self, plugin: &LoadedPlugin, input: &RouteInput, call: &CallContext) -> CallReport<RouteDecision> {
        let span = tracing::debug_span!("plugin.route", plugin.name = plugin.name(), plugin.digest = plugin.digest());
        let _entered = span.enter();

        let Entry::Router(pre) = &plugin.compiled.entry else {
            return CallReport::failed(wrong_hook(plugin, Hook::Router));
        };
        let request = to_wit_request(input);

        self.run(plugin, call, |store| call_route(store, pre, &request), |outcome| {
            let decision = match outcome {
                Ok(decision) => from_wit_decision(plugin.name(), decision)?,
                Err(route_error) => return Err(rejection(plugin.name(), route_error)),
            };
            check_output_size(plugin.name(), &decision, call.limits.max_output_bytes)?;
            Ok(decision)
        })
    }

    /// Sends one routed service request to an integration in a fresh store
    /// under `call`'s limits and grants. The plugin's own `sync-error`
    /// becomes [`PluginError::SyncFailed`].
    pub fn sync_request(
        &self,
        plugin: &LoadedPlugin,
        request: &IntegrationRequest,
        call: &CallContext,
    ) -> CallReport<Vec<SyncedRecord>> {
        let span = tracing::debug_span!("plugin.sync_request", plugin.name = plugin.name(), plugin.digest = plugin.digest());
        let _entered = span.enter();

        let Entry::Integration(pre) = &plugin.compiled.entry else {
            return CallReport::failed(wrong_hook(plugin, Hook::Integration));
        };
        let request = to_wit_routed_request(request);

        self.run(plugin, call, |store| call_sync_request(store, pre, &request), |outcome| {
            let records = match outcome {
                Ok(records) => from_wit_records(plugin.name(), records)?,
                Err(sync_error) => return Err(sync_failure(plugin.name(), sync_error)),
            };
            check_output_size(plugin.name(), &records, call.limits.max_output_bytes)?;
            Ok(records)
        })
    }

    /// Creates a store and instantiates `plugin` without calling it, to
    /// measure the sandbox setup on its own in benchmarks.
    #[doc(hidden)]
    pub fn instantiate_only(&self, plugin: &LoadedPlugin) -> Result<(), PluginError> {
        let limits = &self.config.defaults;
        let _slot = self.slots.acquire();
        let mut store = new_store(&self.engine, limits, self.unprivileged_state(plugin.name(), limits))?;
        match instantiate(&mut store, &plugin.compiled.entry) {
            Ok(()) => Ok(()),
            Err(error) => Err(classify_failure(plugin.name(), limits, &store, error)),
        }
    }

    /// Runs `invoke` in a fresh store under `call`, converts its outcome with
    /// `finish`, and measures the call.
    fn run<W, T>(
        &self,
        plugin: &LoadedPlugin,
        call: &CallContext,
        invoke: impl FnOnce(&mut Store<CallState>) -> wasmtime::Result<W>,
        finish: impl FnOnce(W) -> Result<T, PluginError>,
    ) -> CallReport<T> {
        let _slot = self.slots.acquire();
        let started = Instant::now();

        let capabilities = CapabilityState::new(
            plugin.name.clone(),
            call.grants.clone(),
            Arc::clone(&call.capabilities),
            call.limits.wall_time,
        );
        let mut store = match new_store(&self.engine, &call.limits, capabilities) {
            Ok(store) => store,
            Err(error) => return CallReport::failed(error),
        };

        let result = match invoke(&mut store) {
            Ok(outcome) => finish(outcome),
            Err(error) => Err(classify_failure(plugin.name(), &call.limits, &store, error)),
        };

        let fuel_used = call.limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let report = CallReport {
            result,
            duration: started.elapsed(),
            fuel_used,
            dropped_log_lines: store.data().capabilities.dropped_log_lines,
        };
        log_outcome(&report);
        report
    }

    fn cached(&self, digest: &str) -> Option<Arc<Compiled>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(digest)
            .cloned()
    }

    fn insert_cached(&self, compiled: Compiled) -> Arc<Compiled> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(cache.entry(compiled.digest.clone()).or_insert_with(|| Arc::new(compiled)))
    }

    /// Returns the cached compilation of `wasm`, or checks, compiles and caches it.
    fn compile_cached(&self, name: &str, wasm: &[u8]) -> Result<Arc<Compiled>, PluginError> {
        let digest = hex::encode(Sha256::digest(wasm));
        let span = tracing::info_span!("plugin.load", plugin.name = name, plugin.digest = %digest);
        let _entered = span.enter();

        if let Some(compiled) = self.cached(&digest) {
            tracing::debug!("plugin already compiled");
            return Ok(compiled);
        }

        if wasm.len() > self.config.max_component_bytes {
            return Err(PluginError::TooLarge {
                plugin: name.to_string(),
                size: wasm.len(),
                limit: self.config.max_component_bytes,
            });
        }
        check_component_header(name, wasm)?;

        let component = Component::new(&self.engine, wasm).map_err(|error| PluginError::InvalidComponent {
            plugin: name.to_string(),
            message: format!("{error:#}"),
        })?;
        let compiled = self.prepare(name, &component, digest)?;

        tracing::info!(bytes = wasm.len(), hook = %compiled.hook, "plugin compiled");
        Ok(self.insert_cached(compiled))
    }

    /// Reads the hook and imports of a compiled component, links it, and
    /// checks that it instantiates within the default limits.
    fn prepare(&self, name: &str, component: &Component, digest: String) -> Result<Compiled, PluginError> {
        let hook = read_hook(name, &self.engine, component)?;
        let imports = read_imports(name, &self.engine, component)?;
        let instance_pre = self.link(name, component, &imports)?;

        let wrong_world = |error: wasmtime::Error| PluginError::WrongWorld {
            plugin: name.to_string(),
            message: format!("{error:#}"),
        };
        let entry = match hook {
            Hook::Router => Entry::Router(RouterPre::new(instance_pre).map_err(wrong_world)?),
            Hook::Integration => Entry::Integration(IntegrationPre::new(instance_pre).map_err(wrong_world)?),
        };

        self.check_instantiates(name, &entry)?;
        Ok(Compiled {
            digest,
            component: component.clone(),
            hook,
            imports,
            entry,
        })
    }

    /// Links the capability interfaces the component imports and stubs its
    /// WASI imports with functions that trap, so the plugin instantiates but
    /// reaches nothing. The import policy already rejected every other import.
    fn link(&self, name: &str, component: &Component, imports: &Imports) -> Result<InstancePre<CallState>, PluginError> {
        let platform_error = |error: wasmtime::Error| PluginError::Platform {
            plugin: Some(name.to_string()),
            message: format!("failed to link the capability imports: {error:#}"),
        };
        let mut linker = Linker::<CallState>::new(&self.engine);
        for capability in &imports.capabilities {
            let linked = match capability {
                Capability::Logs => log::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state),
                Capability::Kv => kv::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state),
                Capability::Secrets => {
                    secrets::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state)
                }
                Capability::Http => http::add_to_linker::<CallState, HasSelf<CallState>>(&mut linker, |state| state),
            };
            linked.map_err(platform_error)?;
        }

        let wrong_world = |error: wasmtime::Error| PluginError::WrongWorld {
            plugin: name.to_string(),
            message: format!("{error:#}"),
        };
        linker.define_unknown_imports_as_traps(component).map_err(wrong_world)?;
        linker.instantiate_pre(component).map_err(wrong_world)
    }

    fn check_instantiates(&self, name: &str, entry: &Entry) -> Result<(), PluginError> {
        let limits = &self.config.defaults;
        let _slot = self.slots.acquire();
        let mut store = new_store(&self.engine, limits, self.unprivileged_state(name, limits))?;
        match instantiate(&mut store, entry) {
            Ok(()) => Ok(()),
            Err(error) => Err(match classify_failure(name, limits, &store, error) {
                PluginError::Trap { plugin, message } => PluginError::InvalidComponent {
                    plugin,
                    message: format!("instantiation failed within the sandbox limits: {message}"),
                },
                other => other,
            }),
        }
    }

    /// Returns capability state with nothing granted, for calls that run no plugin code.
    fn unprivileged_state(&self, name: &str, limits: &CallLimits) -> CapabilityState {
        CapabilityState::new(name.into(), Grants::default(), Arc::new(NoCapabilities), limits.wall_time)
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

fn instantiate(store: &mut Store<CallState>, entry: &Entry) -> wasmtime::Result<()> {
    match entry {
        Entry::Router(pre) => pre.instantiate(store).map(|_| ()),
        Entry::Integration(pre) => pre.instantiate(store).map(|_| ()),
    }
}

fn wrong_hook(plugin: &LoadedPlugin, expected: Hook) -> PluginError {
    PluginError::WrongHook {
        plugin: plugin.name().to_string(),
        expected,
        found: plugin.hook(),
    }
}

fn log_outcome<T>(report: &CallReport<T>) {
    let fuel_used = report.fuel_used;
    match &report.result {
        Ok(_) => tracing::debug!(fuel_used, duration = ?report.duration, "plugin call succeeded"),
        // The caller logs the failure at warn level with the tenant and
        // request ids, which the host does not have.
        Err(error) => {
            tracing::debug!(%error, blame = error.blame(), kind = error.kind(), fuel_used, "plugin call failed")
        }
    }
}

/// Hashes the engine's compatibility hash into hex SHA-256, which stays the
/// same across processes of the same build and configuration.
fn hash_engine(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
}

/// A [`Hasher`] that feeds every byte into SHA-256, unlike the std hashers,
/// whose output may change between Rust releases.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]))
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
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
