//! Simulators of the telephony vendors that call Civic311's webhooks over
//! loopback: a Twilio simulator that signs requests the way Twilio does and
//! plays call flows by following the TwiML it gets back, and a RingCentral
//! simulator that sends the validation handshake and telephony-session
//! events, duplicated or reordered on demand. The back-end simulators,
//! Maintstar (work orders) and ViewPermit (inspections), are the servers
//! that integration plugins call, and fail on demand.

pub mod backend;
pub mod maintstar;
pub mod ringcentral;
pub mod twilio;
pub mod viewpermit;
