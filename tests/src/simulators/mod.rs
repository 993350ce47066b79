//! Simulators of the telephony vendors that call Civic311's webhooks over
//! loopback: a Twilio simulator that signs requests the way Twilio does and
//! plays call flows by following the TwiML it gets back, and a RingCentral
//! simulator that sends the validation handshake and telephony-session
//! events, duplicated or reordered on demand.

pub mod ringcentral;
pub mod twilio;
