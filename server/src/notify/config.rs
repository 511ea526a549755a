//! `[alerts]`: where incidents are announced (Alertmanager, signed webhooks, Slack, Teams),
//! which events, and how deliveries are retried and paced.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An incident event that can be announced.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An incident opened (the container turned CRITICAL or died unexpectedly).
    Opened,
    /// The container entered the critical zone (again, while an incident may be open).
    Critical,
    /// An incident closed.
    Closed,
    /// A healing action was carried out (or simulated, in dry-run), with its outcome.
    Action,
    /// A healing action was due but not taken: a guard stopped it, or its record could not be
    /// committed.
    Refused,
    /// The circuit breaker opened: DockerPulse stops acting on the container, a human is asked.
    Breaker,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Critical => "critical",
            EventKind::Closed => "closed",
            EventKind::Action => "action",
            EventKind::Refused => "refused",
            EventKind::Breaker => "breaker",
        }
    }
}

/// What a webhook speaks.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WebhookKind {
    /// JSON of the event, signed per the Standard Webhooks spec.
    Generic,
    /// A Slack incoming webhook (`text` plus `blocks`).
    Slack,
    /// A Microsoft Teams Workflows webhook (an Adaptive Card).
    Teams,
}

impl WebhookKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Generic => "generic",
            WebhookKind::Slack => "slack",
            WebhookKind::Teams => "teams",
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub kind: WebhookKind,
    /// Slack's and Teams' URLs are secrets themselves: only their scheme and host are ever shown.
    pub url: String,
    /// Shown in `/api/health`; defaults to `<kind>-<n>`.
    #[serde(default)]
    pub name: Option<String>,
    /// The signing secret (`generic`): `whsec_<base64>` as the spec has it, or any other string
    /// (its bytes are the key). Prefer `secret_env`.
    #[serde(default)]
    pub secret: Option<String>,
    /// The environment variable holding the signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// At most this many deliveries per minute to this webhook.
    #[serde(default = "default_rate")]
    pub per_minute: u32,
}

fn default_rate() -> u32 {
    30
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Alertmanager base URLs (`http://127.0.0.1:9093`); each gets every alert (as Prometheus
    /// does with an Alertmanager cluster).
    pub urls: Vec<String>,
}

/// How failed deliveries are retried.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// The first retry waits about this long; each further one twice as long (with jitter).
    #[serde(with = "humantime_serde")]
    pub initial: Duration,
    /// Longest wait between two attempts.
    #[serde(with = "humantime_serde")]
    pub max: Duration,
    /// A delivery still failing this long after its event is given up (`expired`).
    #[serde(with = "humantime_serde")]
    pub give_up_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            give_up_after: Duration::from_secs(86_400),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Where DockerPulse's pages are reachable for whoever reads an alert (links to the
    /// container page and the incident report). Default: `http://<bind>`.
    pub external_url: Option<String>,
    /// Which events webhooks receive (`opened`, `critical`, `closed`, `action`, `refused`,
    /// `breaker`). Alertmanager always gets each incident as one alert, firing while it is open
    /// and resolved when it closes.
    pub events: Vec<EventKind>,
    /// A firing alert is sent to Alertmanager again this often while the incident is open (as
    /// Prometheus does); it expires by itself after four times this without news.
    #[serde(with = "humantime_serde")]
    pub repeat_interval: Duration,
    pub alertmanager: AlertmanagerConfig,
    pub webhooks: Vec<WebhookConfig>,
    pub retry: RetryConfig,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            external_url: None,
            events: vec![EventKind::Opened, EventKind::Closed],
            repeat_interval: Duration::from_secs(60),
            alertmanager: AlertmanagerConfig::default(),
            webhooks: Vec::new(),
            retry: RetryConfig::default(),
        }
    }
}

impl AlertsConfig {
    pub fn validate(&self) -> Result<(), String> {
        for u in self
            .alertmanager
            .urls
            .iter()
            .chain(self.webhooks.iter().map(|w| &w.url))
            .chain(self.external_url.iter())
        {
            let ok = reqwest::Url::parse(u)
                .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
            if !ok {
                return Err(format!(
                    "alerts: {:?} is not an http(s) URL",
                    super::redact(u)
                ));
            }
        }
        for w in &self.webhooks {
            if w.per_minute == 0 {
                return Err("alerts.webhooks: per_minute must be at least 1".into());
            }
            if w.kind == WebhookKind::Generic && w.secret.is_none() && w.secret_env.is_none() {
                return Err(
                    "alerts.webhooks: a generic webhook needs `secret` or `secret_env` (its deliveries are signed)"
                        .into(),
                );
            }
        }
        let r = &self.retry;
        if r.initial.is_zero() || r.max < r.initial || r.give_up_after < r.max {
            return Err("alerts.retry: need 0 < initial <= max <= give_up_after".into());
        }
        if self.repeat_interval < Duration::from_secs(1) {
            return Err("alerts.repeat_interval must be at least 1s".into());
        }
        Ok(())
    }
}
