//! Tests of the hub's registry of agents: each node gets in with its own token only, and a
//! command goes to the node's newest connection; a lease is the hub loop's answer, and refused
//! when the loop is gone, drops the question or does not answer in time.

use super::*;
use axum::http::HeaderValue;

fn agents() -> Agents {
    let (tx, _rx) = mpsc::channel(1);
    let (commands, _) = mpsc::channel(1);
    Agents::new(
        vec![
            AgentCredential {
                node: "n1".into(),
                token: "token-of-node-one-0001".into(),
            },
            AgentCredential {
                node: "n2".into(),
                token: "token-of-node-two-0002".into(),
            },
        ],
        tx,
        commands,
    )
}

fn headers(node: Option<&str>, token: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(n) = node {
        h.insert(NODE_HEADER, HeaderValue::from_str(n).expect("header"));
    }
    if let Some(t) = token {
        h.insert(
            axum::http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {t}")).expect("header"),
        );
    }
    h
}

#[test]
fn each_node_gets_in_with_its_own_token_only() {
    let a = agents();
    assert_eq!(
        a.authenticate(&headers(Some("n1"), Some("token-of-node-one-0001"))),
        Ok("n1".into())
    );
    // Another node's token is not this node's.
    assert_eq!(
        a.authenticate(&headers(Some("n1"), Some("token-of-node-two-0002"))),
        Err(RefusedAgent::Denied("n1".into()))
    );
    assert_eq!(
        a.authenticate(&headers(Some("n3"), Some("token-of-node-one-0001"))),
        Err(RefusedAgent::Denied("n3".into()))
    );
    assert_eq!(
        a.authenticate(&headers(None, Some("token-of-node-one-0001"))),
        Err(RefusedAgent::NoNode)
    );
    assert_eq!(
        a.authenticate(&headers(Some("n1"), None)),
        Err(RefusedAgent::NoToken)
    );
}

#[test]
fn a_single_host_refuses_every_agent() {
    let (tx, _rx) = mpsc::channel(1);
    let (commands, _) = mpsc::channel(1);
    let a = Agents::new(Vec::new(), tx, commands);
    assert_eq!(
        a.authenticate(&headers(Some("n1"), Some("anything-at-all-here"))),
        Err(RefusedAgent::NotAHub)
    );
}

#[tokio::test]
async fn a_command_to_a_node_that_is_not_connected_fails_at_once() {
    let a = agents();
    let r = a
        .command("n1", "web".into(), app::wire::HealAction::Restart)
        .await;
    assert_eq!(r, Err(CommandFailed::NotConnected("n1".into())));
}

#[tokio::test]
async fn a_newer_connection_replaces_the_older_and_only_it_detaches() {
    let a = agents();
    let (tx1, _rx1) = mpsc::channel(1);
    let (tx2, mut rx2) = mpsc::channel(1);
    let g1 = a.attach("n1", tx1);
    let g2 = a.attach("n1", tx2);
    assert!(
        !a.detach("n1", g1),
        "the old connection must not remove the new one"
    );
    assert_eq!(a.connected(), ["n1"]);
    // Commands go to the newer connection.
    let a2 = a.clone();
    let asked = tokio::spawn(async move {
        a2.command("n1", "web".into(), app::wire::HealAction::Pause)
            .await
    });
    let Some(HubMsg::Command { id, .. }) = rx2.recv().await else {
        panic!("no command on the new connection");
    };
    a.answered(
        id,
        Answer::Refused {
            message: "not opted in".into(),
        },
    );
    let got = asked.await.expect("task");
    assert_eq!(
        got,
        Ok(Answer::Refused {
            message: "not opted in".into()
        })
    );
    assert!(a.detach("n1", g2));
    assert!(a.connected().is_empty());
}

/// The registry with the hub's loop end of its command channel.
fn agents_with_loop() -> (Agents, mpsc::Receiver<crate::pipeline::commands::Command>) {
    let (tx, _rx) = mpsc::channel(1);
    let (commands, loop_rx) = mpsc::channel(1);
    (Agents::new(Vec::new(), tx, commands), loop_rx)
}

/// Answers the next lease the loop receives with `answer`, or drops it unanswered (`None`).
fn answer_next_lease(
    mut loop_rx: mpsc::Receiver<crate::pipeline::commands::Command>,
    answer: Option<Result<(), crate::pipeline::commands::CommandError>>,
) -> tokio::task::JoinHandle<(String, String)> {
    use crate::pipeline::commands::Command;
    tokio::spawn(async move {
        let Some(Command::Lease {
            node,
            service,
            reply,
            ..
        }) = loop_rx.recv().await
        else {
            panic!("no lease reached the loop");
        };
        if let Some(a) = answer {
            let _ = reply.send(a);
        }
        (node, service)
    })
}

#[tokio::test]
async fn a_lease_is_the_hub_loops_answer() {
    use crate::pipeline::commands::CommandError;
    let (a, loop_rx) = agents_with_loop();
    let asked = answer_next_lease(loop_rx, Some(Ok(())));
    assert_eq!(a.lease("n1", "web".into(), "c1".into()).await, Ok(()));
    assert_eq!(asked.await.expect("task"), ("n1".into(), "web".into()));

    let (a, loop_rx) = agents_with_loop();
    let cap = "2 of 4 tasks of web already acted on in this window";
    let asked = answer_next_lease(loop_rx, Some(Err(CommandError::Refused(cap.into()))));
    assert_eq!(
        a.lease("n1", "web".into(), "c1".into()).await,
        Err(cap.into())
    );
    asked.await.expect("task");
}

#[tokio::test]
async fn no_lease_when_the_hub_loop_is_gone_or_drops_the_question() {
    // The loop has stopped (DockerPulse is shutting down): refused at once.
    let (a, loop_rx) = agents_with_loop();
    drop(loop_rx);
    assert_eq!(
        a.lease("n1", "web".into(), "c1".into()).await,
        Err("the hub is stopping".into())
    );
    // The loop took the question and went away without answering.
    let (a, loop_rx) = agents_with_loop();
    let asked = answer_next_lease(loop_rx, None);
    assert_eq!(
        a.lease("n1", "web".into(), "c1".into()).await,
        Err("the hub's loop did not answer".into())
    );
    asked.await.expect("task");
}

#[tokio::test]
async fn no_lease_when_the_hub_loop_does_not_answer_in_time() {
    // Held, never answered: refused after HUB_DECIDES_WITHIN, well before the agent gives up.
    let (a, mut loop_rx) = agents_with_loop();
    let held = tokio::spawn(async move {
        let got = loop_rx.recv().await;
        tokio::time::sleep(crate::heal::lease::LEASE_TIMEOUT).await;
        drop(got);
    });
    assert_eq!(
        a.lease("n1", "web".into(), "c1".into()).await,
        Err("the hub's loop did not answer".into())
    );
    held.abort();
}
