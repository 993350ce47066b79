//! The runtime of installed plugins: the circuit breaker of each install,
//! routing calls, integration calls, call records and the capabilities a
//! plugin reaches.

pub mod breaker;

pub use breaker::{Admission, Breaker, BreakerConfig, BreakerState, CallVerdict, Permit, Transition};
