//! A test plugin that misbehaves on purpose, so that tests can check how the
//! plugin host contains each failure. The routing setting `fault` picks the
//! behaviour; see [`Fault`]. It is never bundled into the production binary.

use std::str::FromStr;

/// The misbehaviour that the `fault` setting selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Routes to the default department, like a well-behaved plugin.
    None,
    /// Spins in an infinite loop until the host stops it.
    Loop,
    /// Allocates memory without bound until the host stops it.
    GrowMemory,
    /// Executes `unreachable`, trapping at once.
    Trap,
    /// Returns [`WRONG_DEPARTMENT`], a department code no tenant has.
    WrongDepartment,
    /// Reads an environment variable through std, which calls the WASI
    /// import `wasi:cli/environment`, an import the router world does not grant.
    ReadEnvironment,
}

/// The department code that [`Fault::WrongDepartment`] returns.
pub const WRONG_DEPARTMENT: &str = "no-such-department";

impl FromStr for Fault {
    type Err = String;

    fn from_str(text: &str) -> Result<Fault, String> {
        match text {
            "none" => Ok(Fault::None),
            "loop" => Ok(Fault::Loop),
            "grow-memory" => Ok(Fault::GrowMemory),
            "trap" => Ok(Fault::Trap),
            "wrong-department" => Ok(Fault::WrongDepartment),
            "read-environment" => Ok(Fault::ReadEnvironment),
            other => Err(format!(
                "invalid fault '{other}': expected one of none, loop, grow-memory, trap, \
                 wrong-department, read-environment"
            )),
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod component {
    use civic311_plugin_sdk::{Decision, Guest, Priority, RouteError, ServiceRequest, setting};

    use crate::{Fault, WRONG_DEPARTMENT};

    struct FaultInjector;

    impl Guest for FaultInjector {
        fn route(request: ServiceRequest) -> Result<Decision, RouteError> {
            let fault = setting(&request, "fault")
                .unwrap_or("none")
                .parse::<Fault>()
                .map_err(RouteError::InvalidInput)?;

            match fault {
                Fault::None => Ok(decision(
                    request.default_department,
                    "fault = none: the default department.",
                )),
                Fault::Loop => spin_forever(),
                Fault::GrowMemory => grow_memory_forever(),
                Fault::Trap => core::arch::wasm32::unreachable(),
                Fault::WrongDepartment => Ok(decision(
                    WRONG_DEPARTMENT.to_string(),
                    "fault = wrong-department: a department that does not exist.",
                )),
                Fault::ReadEnvironment => {
                    let home = std::env::var("HOME").unwrap_or_default();
                    Ok(decision(
                        request.default_department,
                        &format!("fault = read-environment: HOME is '{home}'."),
                    ))
                }
            }
        }
    }

    fn decision(department: String, reason: &str) -> Decision {
        Decision {
            department,
            priority: Priority::Normal,
            queue: None,
            assignee: None,
            sla_override: None,
            reason: Some(reason.to_string()),
        }
    }

    /// Loops for ever; `black_box` keeps the optimizer from removing the loop.
    fn spin_forever() -> ! {
        let mut counter: u64 = 0;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }

    /// Allocates 1 MiB blocks for ever and keeps them, so the allocator grows
    /// linear memory for each one. The blocks are not filled: wasmtime charges
    /// fuel for bulk memory writes by their size, and filling them would let
    /// the fuel budget stop the plugin before the memory limit does.
    fn grow_memory_forever() -> ! {
        const BLOCK_BYTES: usize = 1 << 20;

        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            blocks.push(std::hint::black_box(Vec::with_capacity(BLOCK_BYTES)));
        }
    }

    civic311_plugin_sdk::export_router!(FaultInjector);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_parses_each_name() {
        assert_eq!("grow-memory".parse::<Fault>(), Ok(Fault::GrowMemory));
        assert_eq!("wrong-department".parse::<Fault>(), Ok(Fault::WrongDepartment));
        assert_eq!("read-environment".parse::<Fault>(), Ok(Fault::ReadEnvironment));
    }

    #[test]
    fn fault_rejects_unknown_name() {
        assert!("explode".parse::<Fault>().unwrap_err().contains("'explode'"));
    }
}
