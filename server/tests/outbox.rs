//! The notification outbox against a real webhook receiver, with DockerPulse as its own process
//! watching the local engine; incidents come from test containers that die with a non-zero
//! exit code (an unexpected death opens an incident; it closes `close_after` later).
//!
//! - A receiver that fails the first three attempts, then accepts, gets exactly one accepted
//!   delivery per event, every attempt of an event with the same `webhook-id` and a valid
//!   Standard Webhooks signature; the retry schedule is printed.
//! - DockerPulse SIGKILLed while retrying delivers after its restart (same `webhook-id`).
//! - A 410 disables the destination: nothing more is sent, and `/api/health` says so.
//!
//! Other tests' containers may die meanwhile (DockerPulse watches the whole engine), so
//! deliveries are told apart by the container they are about.

mod common;

use common::receiver::{Received, Receiver};
use common::*;
use dockerpulse::notify::sign::Secret;
use std::collections::HashMap;
use std::time::Duration;

const SECRET: &str = "whsec_dGVzdC1zZWNyZXQtZm9yLWRvY2tlcnB1bHNl";
const SECRET_ENV: &str = "DOCKERPULSE_TEST_WEBHOOK_SECRET";

fn config(receiver: &Receiver, extra: &str) -> String {
    format!(
        "[incidents]\nclose_after = \"2s\"\n\
         [alerts]\nevents = [\"opened\", \"closed\"]\n\
         [alerts.retry]\ninitial = \"1s\"\nmax = \"8s\"\ngive_up_after = \"1h\"\n\
         [[alerts.webhooks]]\nkind = \"generic\"\nname = \"test-hook\"\nurl = \"{}\"\nsecret_env = \"{SECRET_ENV}\"\nper_minute = 600\n{extra}",
        receiver.url("/hook")
    )
}

/// A DockerPulse process with the signing secret in its environment.
fn spawn(config: &std::path::Path, addr: std::net::SocketAddr) -> Server {
    // Server::spawn passes the environment through.
    std::env::set_var(SECRET_ENV, SECRET);
    Server::spawn(config, addr)
}

fn about<'a>(got: &'a [Received], name: &str) -> Vec<&'a Received> {
    got.iter()
        .filter(|r| r.body["data"]["container"] == name)
        .collect()
}

fn header<'a>(r: &'a Received, h: &str) -> &'a str {
    r.headers.get(h).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn signed(r: &Received) -> bool {
    let secret = Secret::parse(SECRET).expect("secret");
    let ts: i64 = header(r, "webhook-timestamp").parse().unwrap_or(0);
    secret.verify(
        header(r, "webhook-id"),
        ts,
        &r.raw,
        header(r, "webhook-signature"),
    )
}

/// A container that dies with exit code 3 after `secs`.
fn dying(hint: &str, secs: u32) -> TestContainer {
    TestContainer::run(hint, &[], &["sh", "-c", &format!("sleep {secs}; exit 3")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receiver_gets_each_event_exactly_once_signed() {
    if !engine_available("failing_receiver_gets_each_event_exactly_once_signed") {
        return;
    }
    let receiver = Receiver::start().await;
    receiver.script(&[(500, None), (503, Some("2")), (502, None)]);
    // Slack and Teams webhooks on another receiver that accepts everything.
    let chat = Receiver::start().await;
    let extra = format!(
        "[[alerts.webhooks]]\nkind = \"slack\"\nurl = \"{}\"\n\
         [[alerts.webhooks]]\nkind = \"teams\"\nurl = \"{}\"\n",
        chat.url("/slack/T0/B0/secret"),
        chat.url("/teams/workflows/secret")
    );
    let dir = temp_data_dir();
    let (cfg, addr) = Server::config(&dir, &config(&receiver, &extra));
    let dp = spawn(&cfg, addr);
    dp.ready().await;
    let c = dying("outbox-retry", 3);

    let done = eventually(Duration::from_secs(90), || async {
        let got = receiver.got();
        let ours = about(&got, &c.name);
        let ok: Vec<_> = ours.iter().filter(|r| r.status == 200).collect();
        (ok.len() >= 2).then(|| got.clone())
    })
    .await
    .map(|(g, _)| g)
    .expect("opened and closed are delivered");
    // Give a wrong duplicate time to show up.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = receiver.got();
    assert!(got.len() >= done.len());
    // Every attempt is signed; each event has one id across its attempts; one 2xx per id.
    let mut by_id: HashMap<String, Vec<&Received>> = HashMap::new();
    for r in &got {
        assert!(
            signed(r),
            "valid signature on every attempt: {:?}",
            r.headers
        );
        assert_eq!(header(r, "idempotency-key"), header(r, "webhook-id"));
        by_id
            .entry(header(r, "webhook-id").to_string())
            .or_default()
            .push(r);
    }
    for (id, attempts) in &by_id {
        let accepted = attempts.iter().filter(|r| r.status == 200).count();
        assert!(accepted <= 1, "event {id} accepted {accepted} times");
        let bodies: Vec<_> = attempts.iter().map(|r| &r.raw).collect();
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "same event, same body"
        );
    }
    let ours = about(&got, &c.name);
    let types: Vec<(String, u16)> = ours
        .iter()
        .map(|r| (r.body["type"].as_str().unwrap_or("").to_string(), r.status))
        .collect();
    let accepted: Vec<&str> = types
        .iter()
        .filter(|t| t.1 == 200)
        .map(|t| t.0.as_str())
        .collect();
    assert_eq!(
        accepted,
        ["incident.opened", "incident.closed"],
        "{types:?}"
    );
    // The first three attempts overall failed; their schedule, as observed.
    let first = &got[..4.min(got.len())];
    assert_eq!(
        first.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 503, 502, 200]
    );
    let gaps: Vec<u128> = first
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_millis())
        .collect();
    println!("outbox retry schedule (ms between attempts after 500, 503 + Retry-After: 2, 502): {gaps:?}");
    assert!(gaps[1] >= 1_950, "Retry-After: 2 honoured: {gaps:?}");
    let (_, health) = dp.get("/api/health").await.expect("health");
    let d = &health["notify"]["destinations"][0];
    assert_eq!(d["name"], "test-hook", "{health}");
    assert_eq!(d["state"], "ok", "{d}");
    assert!(d["delivered"].as_u64().is_some_and(|n| n >= 2), "{d}");
    assert!(
        !health.to_string().contains("/hook"),
        "no URL path shown: {health}"
    );
    assert!(
        !health.to_string().contains("secret"),
        "no URL path shown: {health}"
    );

    // Slack: text plus blocks; Teams: an Adaptive Card; both for the opening and the closing.
    let chat_got = chat.got();
    let slack: Vec<&Received> = chat_got
        .iter()
        .filter(|r| {
            r.path.starts_with("/slack/")
                && r.body["text"].as_str().is_some_and(|t| t.contains(&c.name))
        })
        .collect();
    assert_eq!(slack.len(), 2, "opened and closed: {slack:?}");
    assert!(slack[0].body["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("Incident opened")));
    assert!(slack[1].body["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("Incident closed")));
    assert!(slack
        .iter()
        .all(|r| r.body["blocks"].as_array().is_some_and(|b| b.len() == 3)));
    let teams: Vec<&Received> = chat_got
        .iter()
        .filter(|r| r.path.starts_with("/teams/") && r.body.to_string().contains(&c.name))
        .collect();
    assert_eq!(teams.len(), 2, "{teams:?}");
    for t in teams {
        let card = &t.body["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_retrying_delivers_after_restart() {
    if !engine_available("killed_while_retrying_delivers_after_restart") {
        return;
    }
    let receiver = Receiver::start().await;
    receiver.then(500);
    let dir = temp_data_dir();
    let (cfg, addr) = Server::config(&dir, &config(&receiver, ""));
    let mut dp = spawn(&cfg, addr);
    dp.ready().await;
    let c = dying("outbox-kill", 2);
    let (failing, _) = eventually(Duration::from_secs(60), || async {
        let got = receiver.got();
        let ours: Vec<Received> = about(&got, &c.name).into_iter().cloned().collect();
        (ours.len() >= 2).then_some(ours)
    })
    .await
    .expect("the opening is attempted and retried");
    let id = header(&failing[0], "webhook-id").to_string();
    let (_, health) = dp.get("/api/health").await.expect("health");
    assert_eq!(
        health["notify"]["destinations"][0]["state"], "retrying",
        "{health}"
    );
    dp.kill9();
    receiver.then(200);
    let before = receiver.got().len();
    let dp = spawn(&cfg, addr);
    dp.ready().await;
    let (accepted, _) = eventually(Duration::from_secs(60), || async {
        receiver.got()[before..]
            .iter()
            .find(|r| r.status == 200 && header(r, "webhook-id") == id)
            .cloned()
    })
    .await
    .expect("the pending delivery goes out after the restart");
    assert!(signed(&accepted));
    assert_eq!(accepted.body["type"], "incident.opened");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = receiver.got();
    let accepted_opened = about(&got, &c.name)
        .iter()
        .filter(|r| r.status == 200 && r.body["type"] == "incident.opened")
        .count();
    assert_eq!(accepted_opened, 1, "delivered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_endpoint_is_disabled_and_says_so() {
    if !engine_available("gone_endpoint_is_disabled_and_says_so") {
        return;
    }
    let receiver = Receiver::start().await;
    receiver.then(410);
    let dir = temp_data_dir();
    let (cfg, addr) = Server::config(&dir, &config(&receiver, ""));
    let dp = spawn(&cfg, addr);
    dp.ready().await;
    let c = dying("outbox-gone", 2);
    let (health, _) = eventually(Duration::from_secs(60), || async {
        let (_, h) = dp.get("/api/health").await?;
        (h["notify"]["destinations"][0]["state"] == "disabled").then_some(h)
    })
    .await
    .expect("a 410 disables the destination");
    let d = &health["notify"]["destinations"][0];
    assert!(
        d["reason"].as_str().is_some_and(|r| r.contains("410")),
        "{d}"
    );
    // The incident closes (another event): nothing more goes to a gone endpoint.
    let _ = eventually(Duration::from_secs(30), || async {
        let (_, p) = dp
            .get(&format!("/api/incidents?container={}&state=closed", c.name))
            .await?;
        (p["total"].as_u64() >= Some(1)).then_some(())
    })
    .await
    .expect("the incident closes");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.got().len(), 1, "one attempt, then nothing");
    let (_, health) = dp.get("/api/health").await.expect("health");
    let d = &health["notify"]["destinations"][0];
    assert_eq!(d["state"], "disabled", "{d}");
    assert!(
        d["disabled"].as_u64() >= Some(1),
        "deliveries not sent are counted: {d}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healing_decisions_are_announced_when_asked() {
    if !engine_available("healing_decisions_are_announced_when_asked") {
        return;
    }
    let receiver = Receiver::start().await;
    let dir = temp_data_dir();
    let hot = TestContainer::run("outbox-heal", &["--cpus", "0.3"], &BURN);
    let extra = format!(
        "[brain]\nwarmup_samples = 5\n[brain.anomaly]\nwarmup_samples = 5\n{}",
        opt_in(&hot.name, "restart")
    );
    // `events` replaced: only healing decisions (dry-run: simulated restarts).
    let (cfg, addr) = Server::config(
        &dir,
        &config(&receiver, &extra)
            .replace("events = [\"opened\", \"closed\"]", "events = [\"action\"]"),
    );
    let dp = spawn(&cfg, addr);
    dp.ready().await;
    let (got, _) = eventually(Duration::from_secs(90), || async {
        receiver
            .got()
            .into_iter()
            .find(|r| r.body["data"]["container"] == hot.name.as_str())
    })
    .await
    .expect("the simulated restart is announced");
    assert!(signed(&got));
    assert_eq!(got.body["type"], "healing.action", "{}", got.body);
    let a = &got.body["data"]["action"];
    assert_eq!(
        (
            a["action"].as_str(),
            a["mode"].as_str(),
            a["outcome"].as_str()
        ),
        (Some("restart"), Some("dry-run"), Some("simulated")),
        "{a}"
    );
    assert!(
        receiver
            .got()
            .iter()
            .all(|r| r.body["type"] != "incident.opened"),
        "openings are not asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_paced_per_destination() {
    if !engine_available("deliveries_are_paced_per_destination") {
        return;
    }
    let receiver = Receiver::start().await;
    let dir = temp_data_dir();
    // 6 a minute: one at once, then one every 10 s.
    let (cfg, addr) = Server::config(
        &dir,
        &config(&receiver, "").replace("per_minute = 600", "per_minute = 6"),
    );
    let dp = spawn(&cfg, addr);
    dp.ready().await;
    let c = dying("outbox-pace", 1);
    let (got, _) = eventually(Duration::from_secs(60), || async {
        let got = receiver.got();
        let ours = about(&got, &c.name);
        (ours.len() >= 2).then(|| got.clone())
    })
    .await
    .expect("opened and closed are delivered");
    let gaps: Vec<u128> = got
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_millis())
        .collect();
    println!("paced deliveries, ms apart: {gaps:?}");
    assert!(gaps.iter().all(|g| *g >= 9_500), "{gaps:?}");
}
