//! DockerPulse server library: the collector, brain, healer, stores, websocket hub and API that
//! the `dockerpulse` binary wires together.

pub mod brain;
pub mod eval;
