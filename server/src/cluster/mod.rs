//! Several hosts: DockerPulse as an agent on each node, streaming to one hub that shows every
//! node's containers in one fleet.
//!
//! An agent runs exactly what a single host runs (collector, brain, incidents, healing, its
//! own store and dashboard) and adds an [`uplink`] to the hub. The hub accepts its agents at
//! `GET /agent` ([`ingest`]), merges their ticks into its live store with each container's node,
//! shows each node's health (connected or lost, last seen, lag, version), and forwards manual
//! actions on a node's containers to that node's agent. The hub never assesses or heals another
//! node's containers itself; it mirrors each node's incidents and interventions ([`records`]),
//! which the agent resends after every reconnect; and, on a Swarm manager, it reads the swarm's
//! nodes, services and tasks ([`swarm`]). The messages are in [`protocol`];
//! the roots the agent trusts for a `wss://` hub in [`tls`].

pub mod backlog;
pub mod config;
pub mod ingest;
pub mod protocol;
pub mod records;
pub mod swarm;
pub mod tls;
pub mod uplink;

pub use config::{AgentCredential, ClusterConfig};
