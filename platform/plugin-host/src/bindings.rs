//! Host bindings of the `router` world in `plugins/wit/router.wit`.

wasmtime::component::bindgen!({
    path: "../../plugins/wit",
    world: "router",
});
