//! Tests of the notifier task: a destination disabled by a 410 across restarts.

use super::*;
use crate::notify::config::{WebhookConfig, WebhookKind};
use app::wire::DeliveryState;

fn cfg(url: &str) -> AlertsConfig {
    AlertsConfig {
        webhooks: vec![WebhookConfig {
            kind: WebhookKind::Slack,
            url: url.into(),
            name: Some("chat".into()),
            secret: None,
            secret_env: None,
            per_minute: 30,
        }],
        ..AlertsConfig::default()
    }
}

/// A destination a 410 disabled stays disabled across restarts, until its URL changes.
#[tokio::test]
async fn a_disabled_destination_comes_back_only_with_a_new_url() {
    let db = Db::open_in_memory().expect("db");
    let old = "https://hooks.example/old";
    let fp = Destination::all(&cfg(old))[0].fingerprint();
    db.outbox_disable("chat", &fp, "answered 410 Gone", 1)
        .expect("disable");

    let (mut same, handle) = Notifier::new(cfg(old), "http://x".into(), db.clone());
    same.start().await;
    assert_eq!(
        handle.status().destinations[0].state,
        DeliveryState::Disabled
    );

    let (mut moved, handle) = Notifier::new(
        cfg("https://hooks.example/new"),
        "http://x".into(),
        db.clone(),
    );
    moved.start().await;
    assert_eq!(handle.status().destinations[0].state, DeliveryState::Ok);
    assert!(db.outbox_destinations().expect("rows").is_empty());
}
