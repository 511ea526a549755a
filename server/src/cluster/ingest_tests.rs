//! Tests of the hub's registry of agents: each node gets in with its own token only, and a
//! command goes to the node's newest connection.

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
