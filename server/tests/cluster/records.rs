//! A node whose store cannot read its records for a while: what it holds reaches the hub once
//! the store reads again, without the node having to record anything new. The test plays the
//! hub itself, so it decides when the agent is welcomed and sees every message it sends.

use crate::common::{self, Server};
use crate::{DEMO, T1};
use app::wire::{HealAction, HealMode, Intervention, Outcome};
use dockerpulse::cluster::protocol::{AgentMsg, HubMsg};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type HubSide = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// The interventions of the next `records` message the agent sends within `within`, counting
/// the ticks that came meanwhile; `None` when none came.
async fn next_records(ws: &mut HubSide, within: Duration) -> (Option<Vec<Intervention>>, usize) {
    let mut ticks = 0;
    let end = tokio::time::Instant::now() + within;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(end, ws.next()).await {
        match msg {
            // Ticks travel deflated.
            Message::Binary(_) => ticks += 1,
            Message::Text(t) => {
                if let Ok(AgentMsg::Records { interventions, .. }) = serde_json::from_str(&t) {
                    return (Some(interventions), ticks);
                }
            }
            _ => {}
        }
    }
    (None, ticks)
}

fn rename(db: &rusqlite::Connection, from: &str, to: &str) {
    db.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}"))
        .expect("the test renames the table");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_the_store_could_not_read_reach_the_hub_once_it_can() {
    // The node's store already holds an intervention when the agent starts.
    let dir = common::temp_data_dir().join("agent-unread");
    let data = dir.join("data");
    let store = dockerpulse::store::db::Db::open(&data).expect("the node's store");
    store
        .insert_intervention(&Intervention {
            id: 0,
            incident_id: None,
            container_id: "c0ffee".into(),
            container_name: "unread-web".into(),
            // Recent: the store prunes what is older than its retention when it opens.
            decided_ms: chrono::Utc::now().timestamp_millis() - 60_000,
            started_ms: None,
            finished_ms: None,
            action: HealAction::Restart,
            mode: HealMode::DryRun,
            manual: false,
            outcome: Outcome::Simulated,
            reason: "recorded before the agent started".into(),
            detail: None,
            failure_probability: 91.0,
            held: None,
            verification: None,
        })
        .expect("recorded");
    drop(store);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the test's hub binds");
    let hub = listener.local_addr().expect("addr");
    let extra =
        format!("{DEMO}\n[cluster]\nhub = \"ws://{hub}\"\nnode = \"n1\"\ntoken = \"{T1}\"\n");
    let (config, addr) = Server::config(&dir, &extra);
    let _agent = Server::spawn(&config, addr);
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .expect("the agent connects")
        .expect("accepted");
    let mut ws = tokio_tungstenite::accept_async(tcp)
        .await
        .expect("websocket");
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("\"hello\"") => break,
            Some(Ok(_)) => {}
            other => panic!("no hello: {other:?}"),
        }
    }

    // Before the agent is welcomed (its first records go right after), its store loses the
    // table: every read of its records fails.
    let db = rusqlite::Connection::open(data.join("dockerpulse.db")).expect("the store's file");
    db.busy_timeout(Duration::from_secs(10)).expect("timeout");
    rename(&db, "interventions", "interventions_away");
    let welcome = HubMsg::Welcome {
        node: "n1".into(),
        since_ms: None,
    };
    let text = serde_json::to_string(&welcome).expect("serialises");
    ws.send(Message::Text(text.into())).await.expect("welcomed");
    let (records, ticks) = next_records(&mut ws, Duration::from_secs(3)).await;
    assert!(
        ticks >= 2,
        "ticks go on while the store cannot read ({ticks})"
    );
    assert_eq!(records, None, "nothing could be read, so nothing is sent");

    // The store reads again: the records come with one of the next ticks, with nothing new
    // recorded meanwhile.
    rename(&db, "interventions_away", "interventions");
    let (records, _) = next_records(&mut ws, Duration::from_secs(5)).await;
    let records = records.expect("the records reach the hub once the store can read them");
    assert!(
        records.iter().any(|i| i.container_name == "unread-web"),
        "{records:?}"
    );
}
