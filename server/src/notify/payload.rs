//! What is sent, pure: the event's facts rendered for Alertmanager's v2 API, a generic signed
//! webhook (`{type, timestamp, data}` as Standard Webhooks suggests), Slack (`text` plus
//! `blocks`) and Teams (an Adaptive Card as a Workflows webhook expects it).
//!
//! Container names, reasons and hints come from containers and are untrusted: JSON escaping
//! is serde's; Slack's mrkdwn gets `&`, `<`, `>` escaped so a name cannot forge a link or a
//! mention.

use super::config::EventKind;
use serde::Serialize;
use serde_json::{json, Value};

/// Everything an announcement says about an incident event.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct EventFacts {
    pub kind: EventKind,
    pub incident_id: String,
    pub container_id: String,
    pub container_name: String,
    pub host: String,
    /// LOW / MEDIUM / CRITICAL: the incident's peak so far.
    pub level: String,
    /// 0–100 %.
    pub failure_probability: f64,
    /// The brain's reasons, highest weight first.
    pub reasons: Vec<String>,
    /// Root-cause hints gathered for the incident (log evidence), most probable first.
    pub hints: Vec<String>,
    pub trigger: String,
    pub opened_ms: i64,
    pub closed_ms: Option<i64>,
    /// Why it closed.
    pub why: Option<String>,
    pub simulated: bool,
    /// When the event happened.
    pub at_ms: i64,
    /// For `action`, `refused` and `breaker` events: the healing decision.
    #[serde(default)]
    pub action: Option<ActionFacts>,
}

/// A healing decision, as announcements say it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ActionFacts {
    /// `restart`, `pause`, `isolate`, `throttle`, `escalate`, …
    pub action: String,
    /// `dry-run` or `enforce`.
    pub mode: String,
    /// `simulated`, `succeeded`, `failed`, `blocked`, `escalated`.
    pub outcome: String,
    /// Why, in words.
    pub reason: String,
    pub detail: Option<String>,
    /// Asked for by a human through the API.
    pub manual: bool,
}

/// Links for whoever reads the alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Links {
    pub container: String,
    pub report: String,
}

impl Links {
    pub fn new(external_url: &str, f: &EventFacts) -> Self {
        let base = external_url.trim_end_matches('/');
        Self {
            container: format!("{base}/containers/{}", urlencode(&f.container_name)),
            // A decision outside any incident links to the incidents page.
            report: if f.incident_id.is_empty() {
                format!("{base}/incidents")
            } else {
                format!(
                    "{base}/api/incidents/{}/report.html",
                    urlencode(&f.incident_id)
                )
            },
        }
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The top reasons in words: the hints (evidence from logs and exits) first, then the brain's
/// reasons, at most `n`, without repeats.
pub fn top_reasons(f: &EventFacts, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in f.hints.iter().chain(&f.reasons) {
        if !r.trim().is_empty() && !out.contains(r) && out.len() < n {
            out.push(r.clone());
        }
    }
    out
}

fn headline(f: &EventFacts) -> String {
    let sim = if f.simulated { " [SIMULATED]" } else { "" };
    match f.kind {
        EventKind::Opened => format!(
            "Incident opened on {}: {} ({:.0} % failure probability){sim}",
            f.container_name, f.level, f.failure_probability
        ),
        EventKind::Critical => format!(
            "{} is CRITICAL ({:.0} % failure probability){sim}",
            f.container_name, f.failure_probability
        ),
        EventKind::Closed => format!(
            "Incident closed on {}: {}{sim}",
            f.container_name,
            f.why.as_deref().unwrap_or("recovered")
        ),
        EventKind::Action | EventKind::Refused | EventKind::Breaker => {
            let Some(a) = &f.action else {
                return format!("Healing on {}{sim}", f.container_name);
            };
            match f.kind {
                EventKind::Breaker => format!(
                    "Healing stopped on {}: it needs a human ({}){sim}",
                    f.container_name, a.reason
                ),
                EventKind::Refused => format!(
                    "{} of {} not taken: {}{sim}",
                    a.action, f.container_name, a.reason
                ),
                _ => format!(
                    "{} of {} ({}): {}{sim}",
                    a.action, f.container_name, a.mode, a.outcome
                ),
            }
        }
    }
}

/// The alert name every DockerPulse alert carries.
pub const ALERTNAME: &str = "DockerPulseIncident";

/// One alert for Alertmanager's `POST /api/v2/alerts`: firing until `ends_ms` (the incident
/// is open: a time in the future that a repeat pushes on) or resolved at it (closed).
pub fn alertmanager(f: &EventFacts, links: &Links, ends_ms: i64) -> Value {
    let severity = if f.level == "CRITICAL" {
        "critical"
    } else {
        "warning"
    };
    let reasons = top_reasons(f, 3);
    json!([{
        "labels": {
            "alertname": ALERTNAME,
            "container": f.container_name,
            "host": f.host,
            "severity": severity,
            "incident_id": f.incident_id,
        },
        "annotations": {
            "summary": headline(&EventFacts { kind: EventKind::Opened, ..f.clone() }),
            "reasons": reasons.join("\n"),
            "failure_probability": format!("{:.1} %", f.failure_probability),
            "container_url": links.container,
            "report_url": links.report,
            "trigger": f.trigger,
        },
        "startsAt": rfc3339(f.opened_ms),
        "endsAt": rfc3339(ends_ms),
        "generatorURL": links.container,
    }])
}

/// The generic webhook's `type`: `incident.opened` / `.critical` / `.closed`,
/// `healing.action` / `.refused` / `.breaker`.
pub fn event_type(kind: EventKind) -> String {
    match kind {
        EventKind::Opened | EventKind::Critical | EventKind::Closed => {
            format!("incident.{}", kind.as_str())
        }
        EventKind::Action | EventKind::Refused | EventKind::Breaker => {
            format!("healing.{}", kind.as_str())
        }
    }
}

/// The generic webhook body: `{type, timestamp, data}`.
pub fn generic(f: &EventFacts, links: &Links) -> Value {
    json!({
        "type": event_type(f.kind),
        "timestamp": rfc3339(f.at_ms),
        "data": {
            "incident_id": f.incident_id,
            "container": f.container_name,
            "container_id": f.container_id,
            "host": f.host,
            "level": f.level,
            "failure_probability": f.failure_probability,
            "reasons": top_reasons(f, 5),
            "trigger": f.trigger,
            "opened_at": rfc3339(f.opened_ms),
            "closed_at": f.closed_ms.map(rfc3339),
            "closed_because": f.why,
            "simulated": f.simulated,
            "action": f.action,
            "links": { "container": links.container, "report": links.report },
        }
    })
}

/// Slack mrkdwn: the three characters Slack asks to escape.
fn mrkdwn(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack incoming-webhook message: `text` (notifications, fallback) plus `blocks`.
pub fn slack(f: &EventFacts, links: &Links) -> Value {
    let reasons: Vec<String> = top_reasons(f, 3)
        .iter()
        .map(|r| format!("• {}", mrkdwn(r)))
        .collect();
    json!({
        "text": mrkdwn(&headline(f)),
        "blocks": [
            { "type": "header", "text": { "type": "plain_text", "text": headline(f).chars().take(150).collect::<String>() } },
            { "type": "section", "text": { "type": "mrkdwn", "text": if reasons.is_empty() { "_no reasons recorded_".to_string() } else { reasons.join("\n") } } },
            { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!(
                "host {} · failure probability {:.0} % · <{}|container> · <{}|incident report>",
                mrkdwn(&f.host), f.failure_probability, links.container, links.report) } ] }
        ]
    })
}

/// A Teams Workflows webhook message: one Adaptive Card.
pub fn teams(f: &EventFacts, links: &Links) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock", "text": headline(f), "weight": "Bolder", "size": "Medium", "wrap": true
    })];
    for r in top_reasons(f, 3) {
        body.push(json!({ "type": "TextBlock", "text": format!("- {r}"), "wrap": true }));
    }
    body.push(json!({ "type": "FactSet", "facts": [
        { "title": "Container", "value": f.container_name },
        { "title": "Host", "value": f.host },
        { "title": "Failure probability", "value": format!("{:.0} %", f.failure_probability) },
        { "title": "Incident", "value": f.incident_id },
    ]}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": [
                    { "type": "Action.OpenUrl", "title": "Container", "url": links.container },
                    { "type": "Action.OpenUrl", "title": "Incident report", "url": links.report },
                ]
            }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn facts() -> EventFacts {
        EventFacts {
            kind: EventKind::Opened,
            incident_id: "inc-1".into(),
            container_id: "abc".into(),
            container_name: "web<@here>&".into(),
            host: "h1".into(),
            level: "CRITICAL".into(),
            failure_probability: 91.26,
            reasons: vec!["CPU will saturate".into(), "memory climbs".into()],
            hints: vec![
                "exited with code 137 (OOM)".into(),
                "CPU will saturate".into(),
            ],
            trigger: "turned CRITICAL".into(),
            opened_ms: 1_700_000_000_000,
            closed_ms: None,
            why: None,
            simulated: false,
            at_ms: 1_700_000_000_500,
            action: None,
        }
    }

    #[test]
    fn healing_events_say_what_was_done() {
        let mut f = facts();
        f.kind = EventKind::Refused;
        f.incident_id = String::new();
        f.action = Some(ActionFacts {
            action: "restart".into(),
            mode: "enforce".into(),
            outcome: "blocked".into(),
            reason: "cooldown: 12 s left".into(),
            detail: None,
            manual: false,
        });
        let l = Links::new("http://x", &f);
        assert_eq!(l.report, "http://x/incidents");
        let g = generic(&f, &l);
        assert_eq!(g["type"], "healing.refused");
        assert_eq!(g["data"]["action"]["outcome"], "blocked");
        assert!(slack(&f, &l)["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("restart of web") && t.contains("cooldown")));
    }

    #[test]
    fn alertmanager_alert_has_the_labels_and_annotations() {
        let f = facts();
        let l = Links::new("http://127.0.0.1:3000/", &f);
        assert_eq!(
            l.report,
            "http://127.0.0.1:3000/api/incidents/inc-1/report.html"
        );
        assert_eq!(
            l.container,
            "http://127.0.0.1:3000/containers/web%3C%40here%3E%26"
        );
        let a = &alertmanager(&f, &l, 1_700_000_300_000)[0];
        assert_eq!(a["labels"]["alertname"], ALERTNAME);
        assert_eq!(a["labels"]["container"], "web<@here>&");
        assert_eq!(a["labels"]["severity"], "critical");
        assert_eq!(a["annotations"]["failure_probability"], "91.3 %");
        assert_eq!(
            a["annotations"]["reasons"],
            "exited with code 137 (OOM)\nCPU will saturate\nmemory climbs"
        );
        assert_eq!(a["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(a["endsAt"], "2023-11-14T22:18:20.000Z");
    }

    #[test]
    fn slack_escapes_what_containers_control() {
        let f = facts();
        let s = slack(&f, &Links::new("http://x", &f));
        let text = s["text"].as_str().expect("text");
        assert!(text.contains("web&lt;@here&gt;&amp;"), "{text}");
        // Every mrkdwn field is escaped (the header is plain_text: Slack parses nothing there).
        for field in [
            &s["text"],
            &s["blocks"][1]["text"]["text"],
            &s["blocks"][2]["elements"][0]["text"],
        ] {
            assert!(!field.to_string().contains("<@here>"), "{field}");
        }
        assert_eq!(s["blocks"][0]["text"]["type"], "plain_text");
        assert_eq!(s["blocks"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn teams_is_an_adaptive_card_and_generic_names_the_event() {
        let mut f = facts();
        f.kind = EventKind::Closed;
        f.closed_ms = Some(f.opened_ms + 60_000);
        f.why = Some("LOW for 60 s".into());
        let l = Links::new("http://x", &f);
        let t = teams(&f, &l);
        assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");
        let g = generic(&f, &l);
        assert_eq!(g["type"], "incident.closed");
        assert_eq!(g["data"]["closed_because"], "LOW for 60 s");
        assert_eq!(g["data"]["reasons"].as_array().map(Vec::len), Some(3));
    }
}
