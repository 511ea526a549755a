//! Configuration: one struct with serde defaults, layered defaults → TOML file → environment
//! (`DOCKERPULSE_*`, nested keys with `__`) → command-line flags, using figment.

use crate::brain::BrainConfig;
use crate::cli::ServeArgs;
use crate::collect::docker::DockerSourceConfig;
pub use crate::collect::StatsMode;
use crate::heal::policy::HealConfig;
use crate::hints::HintsConfig;
use crate::incident::tracker::IncidentConfig;
use crate::notify::config::AlertsConfig;
use crate::viewers::ViewerLimits;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The config file read when `--config` is not given and the file exists.
pub const DEFAULT_CONFIG_FILE: &str = "dockerpulse.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("invalid bind address {addr:?}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("invalid setting: {0}")]
    Value(String),
    #[error("demo_containers must be between 1 and 1000, got {0}")]
    DemoSize(usize),
    #[error("interval must be between 100ms and 60s, got {0:?}")]
    Interval(Duration),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the dashboard and API listen on.
    pub bind: String,
    /// Docker engine URL; `None` means `$DOCKER_HOST`, else the local socket.
    pub docker_host: Option<String>,
    /// Sampling interval.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Run the built-in simulated fleet instead of watching an engine.
    pub demo: bool,
    /// Fall back to the demo fleet when no engine answers at start.
    pub demo_when_no_engine: bool,
    /// Containers in the demo fleet: the seven services, then calm replicas (1–1000).
    pub demo_containers: usize,
    /// How long per-container history is kept in memory.
    #[serde(with = "humantime_serde")]
    pub history: Duration,
    /// How much history a newly connected viewer receives first.
    #[serde(with = "humantime_serde")]
    pub snapshot: Duration,
    pub stats: StatsMode,
    /// Where cgroup file systems are mounted (change when running in a container with the host's
    /// `/sys/fs/cgroup` mounted elsewhere).
    pub cgroup_root: PathBuf,
    /// The host's `/proc` (for container network counters).
    pub proc_root: PathBuf,
    /// Directory holding the built site (`pkg/` with the wasm bundle and CSS).
    pub site_root: PathBuf,
    /// Where incidents, interventions and counters are stored (SQLite) and the generated
    /// admin token is kept.
    pub data_dir: PathBuf,
    /// Bearer token for the action endpoints. Without one, a token is generated at first start
    /// (stored in `data_dir/admin_token`, mode 0600); a non-loopback `bind` requires one set here
    /// or in `DOCKERPULSE_ADMIN_TOKEN`.
    pub admin_token: Option<String>,
    /// Where incident reports are written (one HTML file per closed incident, hash-chained).
    pub reports_dir: PathBuf,
    /// Closed incidents and interventions older than this are pruned.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// DockerPulse's own container id, when detection from /proc does not find it.
    pub self_container: Option<String>,
    /// Forecasting, anomaly and risk tunables.
    pub brain: BrainConfig,
    /// The healing policy.
    pub heal: HealConfig,
    /// When incidents open and close.
    pub incidents: IncidentConfig,
    /// Root-cause hints: how much of a failed container's log is read.
    pub hints: HintsConfig,
    /// Container labels exposed at `/metrics` as `container_label_<name>` (none by default:
    /// labels often hold secrets).
    pub metrics_labels: Vec<String>,
    /// Where incidents are announced: Alertmanager, webhooks.
    pub alerts: AlertsConfig,
    /// Caps on live viewers (the websocket).
    pub viewers: ViewerLimits,
    /// Several hosts: this DockerPulse as a hub of agents, or as an agent of a hub.
    pub cluster: crate::cluster::ClusterConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:3000".into(),
            docker_host: None,
            interval: Duration::from_secs(1),
            demo: false,
            demo_when_no_engine: true,
            demo_containers: 7,
            history: Duration::from_secs(3600),
            snapshot: Duration::from_secs(300),
            stats: StatsMode::Auto,
            cgroup_root: "/sys/fs/cgroup".into(),
            proc_root: "/proc".into(),
            site_root: "target/site".into(),
            data_dir: "data".into(),
            admin_token: None,
            reports_dir: "generated_reports".into(),
            retention: Duration::from_secs(30 * 86_400),
            self_container: None,
            brain: BrainConfig::default(),
            heal: HealConfig::default(),
            incidents: IncidentConfig::default(),
            hints: HintsConfig::default(),
            metrics_labels: Vec::new(),
            alerts: AlertsConfig::default(),
            viewers: ViewerLimits::default(),
            cluster: crate::cluster::ClusterConfig::default(),
        }
    }
}

impl Config {
    /// Loads the layered configuration. `file` is `--config`; without it `dockerpulse.toml` in
    /// the working directory is read when present.
    pub fn load(file: Option<&Path>, flags: &ServeArgs) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::MissingFile(path.into())),
            Some(path) => fig = fig.merge(Toml::file(path)),
            None => fig = fig.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        // The environment is shared with other tools (and our own scripts), so unlike the file,
        // unknown DOCKERPULSE_* variables are ignored rather than refused.
        let known = Self::top_level_keys();
        fig = fig.merge(
            Env::prefixed("DOCKERPULSE_")
                .filter(move |k| {
                    let k = k.as_str().to_ascii_lowercase();
                    let top = k.split("__").next().unwrap_or_default();
                    known.iter().any(|f| f == top)
                })
                .split("__"),
        );
        fig = fig.merge(Serialized::defaults(FlagOverrides::from(flags)));
        let cfg: Config = fig
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The names of the top-level settings.
    fn top_level_keys() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.bind_addr()?;
        if !(1..=1000).contains(&self.demo_containers) {
            return Err(ConfigError::DemoSize(self.demo_containers));
        }
        if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&self.interval) {
            return Err(ConfigError::Interval(self.interval));
        }
        let invalid = |m: String| Err(ConfigError::Value(m));
        if let Err(m) = self.heal.validate() {
            return invalid(m);
        }
        if let Err(m) = self.hints.validate() {
            return invalid(m);
        }
        if let Err(m) = self.alerts.validate() {
            return invalid(m);
        }
        if let Err(m) = self.cluster.validate() {
            return invalid(m);
        }
        if self.viewers.max == 0 || self.viewers.max_per_client == 0 {
            return invalid("viewers: max and max_per_client must be at least 1".into());
        }
        let b = &self.brain;
        if !(0.0 < b.medium_pct && b.medium_pct < b.critical_pct && b.critical_pct <= 100.0) {
            return invalid(format!(
                "brain: need 0 < medium_pct < critical_pct <= 100, got {} and {}",
                b.medium_pct, b.critical_pct
            ));
        }
        if self
            .self_container
            .as_deref()
            .is_some_and(|s| s.trim().len() < 12)
        {
            return invalid(
                "self_container must be a container id (at least 12 hex digits)".into(),
            );
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind
            .parse()
            .map_err(|e: std::net::AddrParseError| ConfigError::Bind {
                addr: self.bind.clone(),
                reason: e.to_string(),
            })
    }

    /// The engine URL after applying `$DOCKER_HOST` and the platform default.
    pub fn docker_endpoint(&self) -> String {
        self.docker_host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
    }

    /// Number of samples per container kept in memory.
    pub fn history_len(&self) -> usize {
        samples_in(self.history, self.interval)
    }

    /// Number of samples per container sent to a new viewer.
    pub fn snapshot_len(&self) -> usize {
        samples_in(self.snapshot, self.interval)
    }

    /// Where DockerPulse's pages are reachable for whoever reads an alert.
    pub fn external_url(&self) -> String {
        match &self.alerts.external_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    /// The configuration as TOML, with the admin token, signing secrets and webhook URLs (whose
    /// paths are secrets for Slack and Teams) masked.
    pub fn to_toml(&self) -> String {
        let mut shown = self.clone();
        if shown.admin_token.is_some() {
            shown.admin_token = Some("********".into());
        }
        shown.cluster = shown.cluster.redacted();
        for w in &mut shown.alerts.webhooks {
            w.url = format!("{}/********", crate::notify::redact(&w.url));
            if w.secret.is_some() {
                w.secret = Some("********".into());
            }
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

impl From<&Config> for DockerSourceConfig {
    fn from(c: &Config) -> Self {
        Self {
            endpoint: c.docker_endpoint(),
            interval: c.interval,
            stats: c.stats,
            cgroup_root: c.cgroup_root.clone(),
            proc_root: c.proc_root.clone(),
        }
    }
}

fn samples_in(span: Duration, interval: Duration) -> usize {
    let n = span.as_millis() / interval.as_millis().max(1);
    usize::try_from(n).unwrap_or(usize::MAX).max(1)
}

/// Only the flags the user actually gave, so absent flags don't mask file or environment values.
#[derive(Serialize)]
struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    docker_host: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde::option"
    )]
    interval: Option<Duration>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    demo: bool,
}

impl From<&ServeArgs> for FlagOverrides {
    fn from(a: &ServeArgs) -> Self {
        Self {
            bind: a.bind.clone(),
            docker_host: a.docker_host.clone(),
            interval: a.interval,
            demo: a.demo,
        }
    }
}

#[cfg(test)]
// figment's Jail closures return its (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests;
