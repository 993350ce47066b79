//! Host bindings of the WIT worlds in `plugins/wit/`.
//!
//! The `router` world gives the `route` export. A router of world
//! `router-with-capabilities` has the same export, so one pre-instantiated
//! [`router::RouterPre`] serves both. Its capability imports are linked
//! from the interfaces generated for the `integration` world.

pub(crate) mod router {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit",
        world: "router",
    });
}

pub(crate) mod integration {
    // Every capability import may trap, so that a `log` call without the
    // grant stops the plugin instead of vanishing silently.
    wasmtime::component::bindgen!({
        path: "../../plugins/wit",
        world: "integration",
        imports: { default: trappable },
    });
}

pub(crate) use integration::civic311::plugins::{http, kv, log, secrets};
