//! DockerPulse server library: the collector, brain, healer, stores, websocket hub and API that
//! the `dockerpulse` binary wires together.
//!
//! Data flows one way: `collect` (sources) → `pipeline` (brain) → `store` + `hub` → `api`.

// Nothing outside tests may unwrap: a bad input or a lost engine is an error, never a crash.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod brain;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod collect;
pub mod config;
pub mod deflate;
pub mod eval;
pub mod export;
pub mod heal;
pub mod hints;
pub mod hub;
pub mod incident;
pub mod notify;
pub mod pipeline;
pub mod record;
pub mod report;
pub mod serve;
pub mod state;
pub mod store;
pub mod util;
pub mod viewers;
