//! A detail view: its container in full (the history first, then after every tick) until it
//! stops watching.

use crate::common::start_demo;
use crate::{connect, join, next_msg, send_text};
use app::wire::ServerMsg;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detail_view_gets_its_container_in_full_until_it_stops_watching() {
    let running = start_demo(Duration::from_millis(100)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let name = {
        let live = running.state.live.read();
        live.containers()[0].info.name.clone()
    };
    let mut ws = connect(running.addr, None).await;
    join(&mut ws).await;
    send_text(&mut ws, &format!(r#"{{"type":"watch","id":"{name}"}}"#)).await;
    // The history first, then one detail after each fleet message.
    let mut first = None;
    let mut after_fleet = 0;
    let mut last_was_fleet = false;
    for _ in 0..30 {
        let (msg, _) = next_msg(&mut ws).await;
        match msg {
            ServerMsg::Detail(d) => {
                assert_eq!(d.container.info.name, name);
                assert!(d.container.assessment.is_some());
                if first.is_none() {
                    first = Some(d.history.clone());
                } else {
                    assert!(d.history.is_none(), "history only when the watch begins");
                    after_fleet += usize::from(last_was_fleet);
                }
                last_was_fleet = false;
            }
            ServerMsg::Fleet(_) => last_was_fleet = true,
            ServerMsg::Sparks(_) => panic!("sparklines only when joining"),
        }
    }
    let history = first
        .flatten()
        .expect("the first detail carries the history");
    assert!(history.len() >= 10, "{} points", history.len());
    assert!(
        after_fleet >= 8,
        "a detail follows each tick: {after_fleet}"
    );
    // Stop watching: only fleet messages from then on.
    send_text(&mut ws, r#"{"type":"watch","id":null}"#).await;
    let mut details_late = 0;
    for i in 0..15 {
        let (msg, _) = next_msg(&mut ws).await;
        // The first tick may already have been on its way.
        if i > 3 && matches!(msg, ServerMsg::Detail(_)) {
            details_late += 1;
        }
    }
    assert_eq!(details_late, 0);
    running.stop().await;
}
