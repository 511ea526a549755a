//! State shared by the HTTP handlers: the live store, the hub and the configuration.

use crate::auth::AdminToken;
use crate::config::Config;
use crate::hub::Hub;
use crate::pipeline::commands::Command;
use crate::report::Reporter;
use crate::store::db::Db;
use crate::store::live::LiveStore;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A value shared between the pipeline (writer) and the handlers (readers). Locks are held only
/// for short, non-async sections; a panic while holding one does not make the data unreadable.
#[derive(Debug)]
pub struct Shared<T>(Arc<RwLock<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Shared<T> {
    pub fn new(v: T) -> Self {
        Self(Arc::new(RwLock::new(v)))
    }

    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub live: Shared<LiveStore>,
    pub hub: Hub,
    /// Admission and counters of live viewers.
    pub viewers: crate::viewers::ViewerGate,
    pub db: Db,
    pub admin: AdminToken,
    /// Requests to the pipeline, which owns healing state.
    pub commands: tokio::sync::mpsc::Sender<Command>,
    pub reporter: Reporter,
    pub cfg: Arc<Config>,
    pub started_ms: i64,
    pub leptos: LeptosOptions,
    /// What `GET /metrics` encodes.
    pub metrics: Arc<crate::export::Metrics>,
    /// Alert and webhook deliveries (for `/api/health` and the incidents page).
    pub notify: crate::notify::NotifyHandle,
    /// As a hub: the agents it accepts and those connected.
    pub agents: crate::cluster::ingest::Agents,
    /// As a hub on a Swarm manager: the swarm's nodes, services and tasks.
    pub swarm: Arc<std::sync::Mutex<app::wire::SwarmView>>,
    /// As an agent: how its link to the hub stands.
    pub uplink: Option<Arc<std::sync::Mutex<crate::cluster::uplink::UplinkStatus>>>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}
