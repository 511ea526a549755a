//! The built-in demo fleet: the seven target services simulated with noisy, realistic baselines
//! and a schedule of staged incidents (a CPU storm and a memory leak within 30 s of start, then
//! another incident every few minutes). Everything it produces is labelled SIMULATED.
//!
//! [`DemoFleet`] is a pure, seeded simulation stepped one tick at a time; [`DemoSource`] drives it
//! with the clock and accepts actions (restart, pause, …) so healing can be shown end to end.
//!
//! This file holds the services' profiles; the simulation is in `fleet`, the clock-driven
//! source and its control handle in `source`.

mod fleet;
mod source;
pub use fleet::{DemoAction, DemoFleet};
pub use source::{DemoControl, DemoSource};

/// A service of the demo fleet and its calm behaviour.
struct Profile {
    name: &'static str,
    image: &'static str,
    cpu_base: f64,
    cpu_noise: f64,
    cpu_quota: Option<f64>,
    mem_base_mib: f64,
    mem_limit_mib: f64,
    pids: f64,
    net_bps: f64,
    heal: &'static str,
}

const PROFILES: [Profile; 7] = [
    Profile {
        name: "oracle-db",
        image: "gvenzl/oracle-free:23-slim",
        cpu_base: 32.0,
        cpu_noise: 5.0,
        cpu_quota: Some(200.0),
        mem_base_mib: 1650.0,
        mem_limit_mib: 2560.0,
        pids: 62.0,
        net_bps: 180e3,
        heal: "off",
    },
    Profile {
        name: "nginx",
        image: "nginx:1.27-alpine",
        cpu_base: 3.0,
        cpu_noise: 1.0,
        cpu_quota: Some(50.0),
        mem_base_mib: 11.0,
        mem_limit_mib: 128.0,
        pids: 5.0,
        net_bps: 1.6e6,
        heal: "restart",
    },
    Profile {
        name: "redis",
        image: "redis:7-alpine",
        cpu_base: 5.0,
        cpu_noise: 1.5,
        cpu_quota: Some(100.0),
        mem_base_mib: 38.0,
        mem_limit_mib: 256.0,
        pids: 6.0,
        net_bps: 420e3,
        heal: "restart",
    },
    Profile {
        name: "postgres",
        image: "postgres:16-alpine",
        cpu_base: 11.0,
        cpu_noise: 3.0,
        cpu_quota: Some(150.0),
        mem_base_mib: 175.0,
        mem_limit_mib: 512.0,
        pids: 14.0,
        net_bps: 260e3,
        heal: "off",
    },
    Profile {
        name: "rabbitmq",
        image: "rabbitmq:3.13-management-alpine",
        cpu_base: 7.0,
        cpu_noise: 2.0,
        cpu_quota: Some(100.0),
        mem_base_mib: 138.0,
        mem_limit_mib: 512.0,
        pids: 31.0,
        net_bps: 150e3,
        heal: "throttle",
    },
    Profile {
        name: "flask-api",
        image: "dockerpulse-demo/flask-api:latest",
        cpu_base: 14.0,
        cpu_noise: 4.0,
        cpu_quota: Some(100.0),
        mem_base_mib: 58.0,
        mem_limit_mib: 256.0,
        pids: 4.0,
        net_bps: 90e3,
        heal: "restart",
    },
    Profile {
        name: "node-service",
        image: "dockerpulse-demo/node-service:latest",
        cpu_base: 9.0,
        cpu_noise: 2.5,
        cpu_quota: Some(100.0),
        mem_base_mib: 92.0,
        mem_limit_mib: 256.0,
        pids: 11.0,
        net_bps: 70e3,
        heal: "restart",
    },
];
