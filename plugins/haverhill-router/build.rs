//! Links the wasm32 component with a 64 KiB shadow stack instead of Rust's
//! default 1 MiB. The router needs a few KiB, and a smaller initial linear
//! memory makes each sandbox cheaper to set up. An overflow runs below
//! address 0 and traps, because the stack is placed first in memory.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
