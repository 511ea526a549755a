//! Wire types: what the server sends to browsers (websocket and REST) and what the browser
//! decodes. Shared by both sides so they cannot drift; versioned by [`PROTOCOL_VERSION`].
//!
//! Server-internal state never appears here directly: the server converts into these types at
//! its edge. Every timestamp is milliseconds since the Unix epoch (UTC).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod fleet;
mod hints;
mod node;
mod notify;
pub use fleet::*;
pub use hints::*;
pub use node::*;
pub use notify::*;

/// Bumped on any incompatible change of the messages below.
pub const PROTOCOL_VERSION: u32 = 4;

/// Most bytes a binary feed message (deflated JSON: the whole fleet, the sparklines) may
/// inflate to; the server's parts of 100 containers are far smaller. Both ends refuse more.
pub const FEED_INFLATED_MAX: usize = 16 << 20;

/// Where the fleet's data comes from. `Simulated` must be shown to users wherever data appears.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    #[default]
    Docker,
    Simulated,
}

impl SourceKind {
    pub fn is_simulated(self) -> bool {
        matches!(self, SourceKind::Simulated)
    }
}

/// Connection state of the Docker engine, as the collector sees it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    #[default]
    Connecting,
    Connected,
    Unreachable,
    /// The built-in demo fleet is running; there is no engine.
    Simulated,
    /// A hub that watches no engine of its own: its nodes' agents do.
    NotWatched,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct EngineStatus {
    pub state: EngineState,
    /// Where the collector connects, e.g. `unix:///var/run/docker.sock`.
    pub endpoint: String,
    pub version: Option<String>,
    pub api_version: Option<String>,
    /// How container metrics are read: `cgroup` (files, cheapest), `engine` (stats API) or `demo`.
    pub stats_via: Option<String>,
    /// Since when the engine is in this state.
    pub since_ms: i64,
    /// Last error when unreachable.
    pub error: Option<String>,
}

/// Whether the durable store is writing.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StoreState {
    #[default]
    Ok,
    /// Writes fail (disk full, database locked, I/O error); DockerPulse keeps retrying and takes
    /// no action whose record it cannot commit.
    Failing,
}

/// The durable store's state, as the writer sees it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct StoreStatus {
    pub state: StoreState,
    /// Since when the store is in this state.
    pub since_ms: i64,
    /// The last error while failing.
    pub error: Option<String>,
    /// Records waiting to be written.
    pub queued: u64,
    /// Incident samples not stored because the write queue was full (the window is thinned).
    pub samples_dropped: u64,
    /// Actions not taken because their record could not be committed in time.
    pub actions_refused: u64,
    /// Records the database rejected outright (a bug if ever non-zero; logged).
    pub records_lost: u64,
}

/// Host-wide metrics.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HostSample {
    pub ts_ms: i64,
    pub hostname: String,
    /// Whole-host CPU use, 0–100 %.
    pub cpu_pct: f64,
    pub cpus: u32,
    pub mem_used_bytes: u64,
    pub mem_total_bytes: u64,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
}

/// One container's metrics at one tick. Rates are per second over the last tick.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct Sample {
    pub ts_ms: i64,
    /// CPU as the docker CLI shows it: 100 % is one full core.
    pub cpu_pct: f64,
    /// Memory in use without page cache, as the docker CLI shows it.
    pub mem_bytes: u64,
    /// The container's memory limit; the host's memory when it has none (as the docker CLI shows).
    pub mem_limit_bytes: u64,
    pub net_rx_bps: f64,
    pub net_tx_bps: f64,
    pub blk_read_bps: f64,
    pub blk_write_bps: f64,
    pub pids: u64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ContainerStatus {
    Created,
    #[default]
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
    Removing,
}

impl ContainerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Running => "running",
            ContainerStatus::Paused => "paused",
            ContainerStatus::Restarting => "restarting",
            ContainerStatus::Exited => "exited",
            ContainerStatus::Dead => "dead",
            ContainerStatus::Removing => "removing",
        }
    }

    /// Parses the engine's spelling; unknown states read as `Created` rather than failing.
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => ContainerStatus::Running,
            "paused" => ContainerStatus::Paused,
            "restarting" => ContainerStatus::Restarting,
            "exited" => ContainerStatus::Exited,
            "dead" => ContainerStatus::Dead,
            "removing" => ContainerStatus::Removing,
            _ => ContainerStatus::Created,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "starting" => Some(Health::Starting),
            "healthy" => Some(Health::Healthy),
            "unhealthy" => Some(Health::Unhealthy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// What is known about a container apart from its metrics.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ContainerInfo {
    /// Full 64-hex id (a `sim-…` id for the demo fleet).
    pub id: String,
    pub name: String,
    pub image: String,
    pub status: ContainerStatus,
    pub health: Option<Health>,
    pub restart_count: u64,
    pub started_at_ms: Option<i64>,
    /// CPU quota in percent of one core (150 = 1.5 cores); `None` when unlimited.
    pub cpu_quota_pct: Option<f64>,
    /// Whether a memory limit is set (otherwise `Sample::mem_limit_bytes` is the host's memory).
    pub mem_limited: bool,
    /// Labels. Frames carry only `dockerpulse.*` labels; REST detail carries all.
    pub labels: BTreeMap<String, String>,
    /// When it has a health check: the check's start period in ms (no automatic action while
    /// inside it). `None`: no health check.
    #[serde(default)]
    pub healthcheck_start_period_ms: Option<i64>,
    /// The node it runs on, when a hub merges several (`None`: this host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl ContainerInfo {
    pub fn short_id(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

/// A forecast of one metric `horizon_s` seconds ahead, with prediction intervals.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct Forecast {
    pub horizon_s: f64,
    pub value: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

/// Robust z-scores of the latest sample against the container's own baseline.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Default)]
pub struct ZScores {
    pub cpu: f64,
    pub mem: f64,
    pub net: f64,
    pub pids: f64,
}

#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RiskLevel {
    #[default]
    Low,
    Medium,
    Critical,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "LOW",
            RiskLevel::Medium => "MEDIUM",
            RiskLevel::Critical => "CRITICAL",
        }
    }

    /// A shape as well as a colour, so the level never depends on colour vision.
    pub fn icon(self) -> &'static str {
        match self {
            RiskLevel::Low => "●",
            RiskLevel::Medium => "▲",
            RiskLevel::Critical => "■",
        }
    }
}

/// One reason behind an assessment, in plain words, with its share of the risk.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Reason {
    /// Contribution to the failure probability, 0–1; reasons are ordered by it, highest first.
    pub weight: f64,
    pub text: String,
}

/// The brain's verdict on one container at one tick.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Assessment {
    pub ts_ms: i64,
    /// True while the baseline is still being learnt; no alarm is raised then.
    pub warming_up: bool,
    pub cpu: Forecast,
    pub mem: Forecast,
    /// Seconds until memory reaches its limit at the current trend; `None` when not trending up
    /// or when there is no limit.
    pub time_to_limit_s: Option<f64>,
    pub z: ZScores,
    /// Probability of failure within the horizon, 0–100 %.
    pub failure_probability: f64,
    pub level: RiskLevel,
    /// Ordered by weight, highest first.
    pub reasons: Vec<Reason>,
    /// The strongest anomaly among the metrics, 0–1 (how far the present exceeds anything
    /// recently seen; what the risk uses). 0 during warm-up.
    #[serde(default)]
    pub anomaly: f64,
}

/// How DockerPulse may act on a container.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HealMode {
    /// Decisions are recorded and counted; nothing is touched.
    #[default]
    DryRun,
    /// Real actions on containers that opted in.
    Enforce,
}

impl HealMode {
    pub fn as_str(self) -> &'static str {
        match self {
            HealMode::DryRun => "dry-run",
            HealMode::Enforce => "enforce",
        }
    }
}

/// What healing can do to a container.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum HealAction {
    Restart,
    Pause,
    Unpause,
    /// Disconnect from its networks.
    Isolate,
    /// Lower its CPU quota.
    Throttle,
    /// Stop acting and ask a human.
    Escalate,
}

impl HealAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HealAction::Restart => "restart",
            HealAction::Pause => "pause",
            HealAction::Unpause => "unpause",
            HealAction::Isolate => "isolate",
            HealAction::Throttle => "throttle",
            HealAction::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "restart" => Some(HealAction::Restart),
            "pause" => Some(HealAction::Pause),
            "unpause" => Some(HealAction::Unpause),
            "isolate" => Some(HealAction::Isolate),
            "throttle" => Some(HealAction::Throttle),
            "escalate" => Some(HealAction::Escalate),
            _ => None,
        }
    }
}

/// The healing state of one container, as the cards show it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HealView {
    pub mode: HealMode,
    /// The action it opted in to (`dockerpulse.heal` label or config); `None` when not opted in.
    pub opted_in: Option<HealAction>,
    /// `dockerpulse.heal=off`, or DockerPulse's own container.
    pub excluded: bool,
    /// Automatic interventions so far (simulated ones included).
    pub interventions: u64,
    /// Times the container entered the critical zone.
    pub critical_entries: u64,
    /// The circuit breaker is open: DockerPulse stopped acting and asks for a human.
    pub needs_human: bool,
    /// The open incident, if any (UUID).
    pub open_incident: Option<String>,
    /// The last decision, in words.
    pub last_decision: Option<String>,
}

/// Fleet-wide healing settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct HealingStatus {
    pub mode: HealMode,
    /// Failure probability (%) at which healing acts.
    pub threshold_pct: f64,
    /// Consecutive ticks above the threshold before acting.
    pub streak: u32,
    /// Interventions today, fleet-wide.
    pub interventions_today: u64,
}

/// One container in a live frame.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ContainerFrame {
    pub info: ContainerInfo,
    pub sample: Option<Sample>,
    pub assessment: Option<Assessment>,
    #[serde(default)]
    pub heal: HealView,
}

/// The whole fleet at one tick: what the pipeline publishes, and what the browser rebuilds from
/// the fleet feed ([`Fleet`]) to render.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Frame {
    pub v: u32,
    pub seq: u64,
    pub ts_ms: i64,
    pub source: SourceKind,
    pub engine: EngineStatus,
    pub host: Option<HostSample>,
    pub containers: Vec<ContainerFrame>,
    #[serde(default)]
    pub healing: HealingStatus,
    /// Bumped whenever an incident or intervention is recorded: viewers refetch their lists.
    #[serde(default)]
    pub incidents_rev: u64,
    #[serde(default)]
    pub store: StoreStatus,
    /// The nodes whose agents stream to this hub (empty on a single host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeStatus>,
}

/// Column-oriented history of one container, oldest first (compact on the wire).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct SeriesHistory {
    pub id: String,
    pub ts_ms: Vec<i64>,
    pub cpu_pct: Vec<f32>,
    pub mem_bytes: Vec<u64>,
    pub mem_limit_bytes: Vec<u64>,
    /// CPU forecast made at each timestamp for `ts + horizon` (NaN-free: 0 before warm-up).
    pub cpu_forecast: Vec<f32>,
    pub cpu_lo95: Vec<f32>,
    pub cpu_hi95: Vec<f32>,
    pub failure_probability: Vec<f32>,
}

impl SeriesHistory {
    pub fn len(&self) -> usize {
        self.ts_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts_ms.is_empty()
    }
}

/// Each container's recent CPU for the cards' sparklines: what a joining viewer receives after
/// the whole fleet (in parts of a hundred containers; empty before the first tick).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Sparks {
    pub v: u32,
    pub sparks: Vec<Spark>,
}

/// A container's recent CPU (% of one core, to 0.1), one value a second, the last at the fleet
/// message's time.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Spark {
    pub slot: u32,
    pub cpu: Vec<f64>,
}

/// One container in full, for a viewer that watches it (the detail view): sent every tick after
/// the fleet message, and with its history when the watch begins.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Detail {
    pub v: u32,
    pub seq: u64,
    /// The tick's time (the fleet message's).
    pub ts_ms: i64,
    pub container: ContainerFrame,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<SeriesHistory>,
}

/// A websocket message from server to browser.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
// Messages are built once and moved, never kept in bulk: their size on the stack is no concern.
#[allow(clippy::large_enum_variant)]
pub enum ServerMsg {
    Fleet(Fleet),
    Sparks(Sparks),
    Detail(Detail),
}

impl ServerMsg {
    pub fn version(&self) -> u32 {
        match self {
            ServerMsg::Sparks(s) => s.v,
            ServerMsg::Fleet(f) => f.v,
            ServerMsg::Detail(d) => d.v,
        }
    }
}

/// A websocket message from browser to server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Send this container in full every tick (id, name or id prefix), or stop (`None`).
    Watch { id: Option<String> },
    /// The viewer lost track of the fleet feed: send the whole state with the next tick.
    Resync,
}

/// The largest message a viewer may send, in bytes.
pub const CLIENT_MSG_MAX: usize = 4096;

/// What came of an intervention.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Dry-run: recorded and counted, nothing touched.
    Simulated,
    /// Sent to the engine, not yet answered.
    Pending,
    Succeeded,
    Failed,
    /// Due, but a guard (opt-in, cooldown, backoff, caps, breaker) stopped it.
    Blocked,
    /// Handed over to a human (circuit breaker open).
    Escalated,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Simulated => "simulated",
            Outcome::Pending => "pending",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Blocked => "blocked",
            Outcome::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Outcome::Simulated,
            Outcome::Pending,
            Outcome::Succeeded,
            Outcome::Failed,
            Outcome::Blocked,
            Outcome::Escalated,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// Counts as an intervention (performed or simulated), as opposed to a decision not to act.
    pub fn is_intervention(self) -> bool {
        matches!(
            self,
            Outcome::Simulated | Outcome::Pending | Outcome::Succeeded | Outcome::Failed
        )
    }
}

/// One healing decision and what came of it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Intervention {
    pub id: i64,
    pub incident_id: Option<String>,
    pub container_id: String,
    pub container_name: String,
    /// When the policy decided (the tick's timestamp).
    pub decided_ms: i64,
    /// When the engine call started and finished (enforced actions only).
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub action: HealAction,
    pub mode: HealMode,
    /// Asked for through the API by a human rather than decided by the policy.
    pub manual: bool,
    pub outcome: Outcome,
    /// Why, in words.
    pub reason: String,
    /// The engine's answer or error.
    pub detail: Option<String>,
    pub failure_probability: f64,
    /// For restarts: whether the container held afterwards (running, and healthy when it has a
    /// health check) within the verification time; `None` until checked.
    #[serde(default)]
    pub held: Option<bool>,
    /// What the verification saw, in words.
    #[serde(default)]
    pub verification: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Open,
    Closed,
}

/// An incident: from a container turning CRITICAL or dying unexpectedly until it is calm again.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Incident {
    /// UUID v4.
    pub id: String,
    pub container_id: String,
    pub container_name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    pub host: String,
    pub engine_version: String,
    pub simulated: bool,
    pub state: IncidentState,
    pub opened_ms: i64,
    pub closed_ms: Option<i64>,
    /// What opened it, in words.
    pub trigger: String,
    pub close_reason: Option<String>,
    pub peak_probability: f64,
    pub peak_level: RiskLevel,
    /// The brain's reasons at the peak, highest weight first.
    pub reasons: Vec<Reason>,
    /// The container's CPU quota (% of one core) when the incident opened.
    pub cpu_quota_pct: Option<f64>,
    /// Interventions (performed or simulated) during the incident.
    pub interventions: u64,
    /// A restart was performed (not simulated) during the incident.
    pub forced_restart: bool,
}

/// One page of a list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub items: Vec<T>,
}

/// JSON error body of every failed API call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ApiError {
    pub error: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_msg_is_tagged_and_round_trips() {
        let msg = ServerMsg::Fleet(Fleet {
            v: PROTOCOL_VERSION,
            seq: 7,
            source: SourceKind::Simulated,
            ..Fleet::default()
        });
        let json = serde_json::to_string(&msg).expect("serialise");
        assert!(json.starts_with(r#"{"type":"fleet""#), "{json}");
        assert!(json.contains(r#""source":"simulated""#));
        let back: ServerMsg = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, msg);
    }

    #[test]
    fn client_messages_read_as_documented() {
        let watch: ClientMsg =
            serde_json::from_str(r#"{"type":"watch","id":"web"}"#).expect("parses");
        assert_eq!(
            watch,
            ClientMsg::Watch {
                id: Some("web".into())
            }
        );
        let stop: ClientMsg =
            serde_json::from_str(r#"{"type":"watch","id":null}"#).expect("parses");
        assert_eq!(stop, ClientMsg::Watch { id: None });
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"shutdown"}"#).is_err());
    }

    #[test]
    fn risk_levels_order_and_spell_like_the_ui() {
        assert!(RiskLevel::Low < RiskLevel::Medium && RiskLevel::Medium < RiskLevel::Critical);
        assert_eq!(
            serde_json::to_string(&RiskLevel::Critical).expect("serialise"),
            r#""CRITICAL""#
        );
    }

    #[test]
    fn status_parse_covers_engine_spellings() {
        for s in [
            "created",
            "running",
            "paused",
            "restarting",
            "exited",
            "dead",
            "removing",
        ] {
            assert_eq!(ContainerStatus::parse(s).as_str(), s);
        }
    }
}
