//! Tests of the hints task's edges: requests folded per container and worded, and senders
//! that never wait.

use super::*;

fn req(what: What) -> HintRequest {
    HintRequest {
        container_id: "c1".into(),
        container_name: "web".into(),
        ts_ms: 5,
        what,
    }
}

#[test]
fn related_events_fold_into_one_request_and_read_well() {
    let mut p = Pending::new("web".into(), Instant::now());
    p.add(&req(What::Died(Some(143))));
    assert_eq!(p.trigger(Some(143)), "the container died (exit code 143)");
    p.add(&req(What::Stopped));
    assert_eq!(
        p.trigger(Some(143)),
        "the container was stopped (exit code 143)"
    );
    p.add(&req(What::IncidentOpened("i1".into())));
    p.add(&req(What::IncidentOpened("i1".into())));
    assert_eq!(p.incidents, ["i1"]);
    assert_eq!(
        p.trigger(Some(143)),
        "an incident opened: the container was stopped (exit code 143)"
    );
    let mut c = Pending::new("job".into(), Instant::now());
    c.add(&req(What::Created));
    assert!(c.only_created());
    assert_eq!(
        c.trigger(Some(127)),
        "the container could not start (exit code 127)"
    );
    c.add(&req(What::Died(Some(1))));
    assert!(!c.only_created(), "a death after the creation is a death");
    let mut q = Pending::new("db".into(), Instant::now());
    q.add(&req(What::IncidentOpened("i2".into())));
    assert_eq!(q.trigger(None), "an incident opened");
    q.add(&req(What::Oom));
    assert!(q.trigger(Some(137)).contains("OOM-killed"));
}

#[tokio::test]
async fn senders_never_wait_and_only_relevant_events_pass() {
    let (tx, mut rx) = HintsTx::channel();
    let ev = |kind| LifecycleEvent {
        ts_ms: 1,
        id: "c1".into(),
        name: "web".into(),
        kind,
    };
    tx.on_event(&ev(LifecycleKind::Start));
    tx.on_event(&ev(LifecycleKind::Die { exit_code: Some(1) }));
    for _ in 0..300 {
        tx.on_event(&ev(LifecycleKind::Oom));
    }
    assert_eq!(rx.recv().await.map(|r| r.what), Some(What::Died(Some(1))));
    let mut n = 1;
    while rx.try_recv().is_ok() {
        n += 1;
    }
    assert_eq!(
        n, 256,
        "the channel is bounded; the rest were dropped, not awaited"
    );
}
