//! Destinations and one delivery attempt over HTTP (reqwest, rustls). Nothing here writes the
//! store or decides what follows an attempt: it sends, and says what came back.

use super::config::{AlertsConfig, WebhookKind};
use super::payload::{self, EventFacts, Links};
use super::retry::parse_retry_after;
use super::sign::Secret;
use crate::clock::now_ms;
use crate::util::ms;
use std::time::Duration;

/// One attempt may take this long before it counts as failed.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Alertmanager,
    Webhook(WebhookKind),
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Alertmanager => "alertmanager",
            Kind::Webhook(k) => k.as_str(),
        }
    }
}

/// A configured destination.
#[derive(Debug, Clone)]
pub struct Destination {
    pub name: String,
    pub kind: Kind,
    /// The full URL (a secret for Slack and Teams: never logged or shown).
    url: String,
    /// Scheme, host and port: what may be shown.
    pub target: String,
    secret: Option<Secret>,
    /// Deliveries per minute (`None`: not paced — Alertmanager does its own grouping).
    pub per_minute: Option<u32>,
    /// Why it cannot be used (a missing secret), when it cannot.
    pub misconfigured: Option<String>,
}

impl Destination {
    /// Every destination of the config, named.
    pub fn all(cfg: &AlertsConfig) -> Vec<Destination> {
        let mut out = Vec::new();
        for (i, u) in cfg.alertmanager.urls.iter().enumerate() {
            out.push(Destination {
                name: format!("alertmanager-{}", i + 1),
                kind: Kind::Alertmanager,
                url: format!("{}/api/v2/alerts", u.trim_end_matches('/')),
                target: super::redact(u),
                secret: None,
                per_minute: None,
                misconfigured: None,
            });
        }
        for (i, w) in cfg.webhooks.iter().enumerate() {
            let (secret, misconfigured) = match w.kind {
                WebhookKind::Generic => {
                    match Secret::resolve(w.secret.as_deref(), w.secret_env.as_deref()) {
                        Ok(s) => (Some(s), None),
                        Err(e) => (None, Some(e.to_string())),
                    }
                }
                _ => (None, None),
            };
            out.push(Destination {
                name: w
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}-{}", w.kind.as_str(), i + 1)),
                kind: Kind::Webhook(w.kind),
                url: w.url.clone(),
                target: super::redact(&w.url),
                secret,
                per_minute: Some(w.per_minute),
                misconfigured,
            });
        }
        out
    }

    /// What the store remembers a disabled destination by: its target and a hash of its URL,
    /// so that a new URL in the config re-enables it (and no secret is stored).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(self.url.as_bytes());
        let hex: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("{} #{hex}", self.target)
    }
}

/// What an attempt got back.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub status: Option<u16>,
    pub retry_after_ms: Option<i64>,
    /// The failure in words (never with the URL).
    pub error: Option<String>,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        // A webhook that redirects elsewhere is not followed: where deliveries go is the
        // config's decision, not the endpoint's.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("DockerPulse/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// The error in words, without the URL (reqwest puts it in its message; a Slack URL is a
/// secret).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// Renders `facts` for `dest` and posts it once. `id` is the delivery's idempotency id.
pub async fn attempt(
    client: &reqwest::Client,
    dest: &Destination,
    cfg: &AlertsConfig,
    external_url: &str,
    id: &str,
    facts: &EventFacts,
) -> Sent {
    let links = Links::new(external_url, facts);
    let body = match &dest.kind {
        Kind::Alertmanager => {
            let ends = match facts.closed_ms {
                Some(closed) => closed,
                None => now_ms() + 4 * ms(cfg.repeat_interval),
            };
            payload::alertmanager(facts, &links, ends)
        }
        Kind::Webhook(WebhookKind::Generic) => payload::generic(facts, &links),
        Kind::Webhook(WebhookKind::Slack) => payload::slack(facts, &links),
        Kind::Webhook(WebhookKind::Teams) => payload::teams(facts, &links),
    };
    let body = body.to_string().into_bytes();
    let mut req = client
        .post(&dest.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", id);
    if let Some(secret) = &dest.secret {
        let ts = now_ms().div_euclid(1000);
        req = req
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", secret.sign(id, ts, &body));
    }
    match req.body(body).send().await {
        Ok(res) => {
            let retry_after_ms = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now_ms()));
            let status = res.status();
            let error = (!status.is_success()).then(|| format!("answered {status}"));
            Sent {
                status: Some(status.as_u16()),
                retry_after_ms,
                error,
            }
        }
        Err(e) => Sent {
            status: None,
            retry_after_ms: None,
            error: Some(describe(e)),
        },
    }
}
