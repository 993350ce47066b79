//! Builds the plugins under `plugins/` as wasm32-wasip2 components, with a
//! nested cargo run of its own, so that `cargo build` of the workspace embeds
//! up-to-date routers on a fresh machine.
//!
//! The nested build uses the `plugin` profile and its own target directory,
//! `<workspace>/target/plugins`, because the outer build holds the lock on
//! the main target directory.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Plugin crates to build: the production plugins, and the fault and
/// capability plugins for tests.
const PLUGIN_CRATES: &[&str] = &[
    "haverhill-router",
    "boston-router",
    "maintstar-integration",
    "viewpermit-integration",
    "fault-injector",
    "capability-probe",
];

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "plugin";

/// Variables of the outer build that would break or redirect the nested one:
/// host rustflags and wrappers do not apply to wasm, and the target and
/// target directory are set on the command line.
const CLEARED_VARIABLES: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MAKEFLAGS",
    "CARGO_PROFILE_RELEASE_DEBUG",
    "CARGO_LLVM_COV",
    "CARGO_LLVM_COV_TARGET_DIR",
    "LLVM_PROFILE_FILE",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace_root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("platform/bundled-plugins sits two levels below the workspace root")
        .to_path_buf();
    let plugin_target_dir = workspace_root.join("target").join("plugins");

    emit_rerun_triggers(&workspace_root);
    install_target_if_missing();
    build_plugins(&workspace_root, &plugin_target_dir);

    let output_dir = plugin_target_dir.join(TARGET).join(PROFILE);
    println!("cargo:rustc-env=CIVIC311_PLUGIN_DIR={}", output_dir.display());
}

fn emit_rerun_triggers(workspace_root: &Path) {
    println!(
        "cargo:rerun-if-changed={}",
        workspace_root.join("plugins/wit").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace_root.join("plugins/sdk/src").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace_root.join("plugins/sdk/Cargo.toml").display()
    );
    for name in PLUGIN_CRATES {
        let crate_dir = workspace_root.join("plugins").join(name);
        println!("cargo:rerun-if-changed={}", crate_dir.join("src").display());
        println!("cargo:rerun-if-changed={}", crate_dir.join("Cargo.toml").display());
        println!("cargo:rerun-if-changed={}", crate_dir.join("build.rs").display());
    }
    println!("cargo:rerun-if-changed={}", workspace_root.join("Cargo.lock").display());
}

/// Adds the plugin target with rustup when the toolchain lacks it. rustup
/// installs the targets that rust-toolchain.toml lists only when it
/// installs the toolchain itself, which it skips for a toolchain that is
/// already there or when `RUSTUP_AUTO_INSTALL=0`.
fn install_target_if_missing() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc).args(["--print", "sysroot"]).output();
    let Ok(sysroot) = sysroot else {
        return;
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return;
    }

    println!("cargo:warning=the Rust target {TARGET} is missing; running `rustup target add {TARGET}`");
    match Command::new("rustup").args(["target", "add", TARGET]).status() {
        Ok(status) if status.success() => {}
        // The plugin build below fails next and explains what to run.
        Ok(status) => println!("cargo:warning=`rustup target add {TARGET}` failed ({status})"),
        Err(error) => println!("cargo:warning=cannot run rustup to add {TARGET}: {error}"),
    }
}

fn build_plugins(workspace_root: &Path, plugin_target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root)
        .args(["build", "--locked", "--profile", PROFILE, "--target", TARGET])
        .arg("--target-dir")
        .arg(plugin_target_dir);
    for name in PLUGIN_CRATES {
        command.args(["-p", name]);
    }
    for variable in CLEARED_VARIABLES {
        command.env_remove(variable);
    }

    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "failed to run cargo for the plugin build in {}: {error}",
            workspace_root.display()
        )
    });
    if output.status.success() {
        return;
    }

    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("may not be installed") || stderr.contains("can't find crate for `core`") {
        panic!(
            "the Rust target {TARGET} is not installed, so the router plugins cannot be built. \
             Run `rustup target add {TARGET}` and build again.\n\n{stderr}"
        );
    }
    panic!(
        "building the router plugins for {TARGET} failed ({}):\n\n{stderr}",
        output.status
    );
}
