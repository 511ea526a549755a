//! REST API behaviour: lookups, the 404 and 400 cases, and the SIMULATED label. Runs on the
//! demo fleet, which needs no engine.

mod common;

use common::*;
use std::time::Duration;

#[tokio::test]
async fn lookups_errors_and_labels() {
    let running = start_demo(Duration::from_millis(100)).await;
    eventually(Duration::from_secs(5), || async {
        (running.state.live.read().len() == 7).then_some(())
    })
    .await
    .expect("the seven demo services appear");

    let (status, health) = get_json(&running, "/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["simulated"], true, "{health}");
    assert_eq!(health["engine"]["state"], "simulated");
    assert_eq!(health["containers"], 7);

    let (status, list) = get_json(&running, "/api/containers").await;
    assert_eq!(status, 200);
    let list = list.as_array().expect("array").clone();
    assert_eq!(list.len(), 7);
    assert!(list.iter().all(|c| c["simulated"] == true));
    let id = list[0]["info"]["id"].as_str().expect("id").to_string();
    let name = list[0]["info"]["name"].as_str().expect("name").to_string();

    for key in [&id, &name] {
        let (status, c) = get_json(&running, &format!("/api/containers/{key}")).await;
        assert_eq!(status, 200, "{key}: {c}");
        assert_eq!(c["info"]["id"], id.as_str());
    }

    let (status, err) = get_json(&running, "/api/containers/no-such-container").await;
    assert_eq!(status, 404);
    assert_eq!(err["error"], "not found");
    assert!(
        err["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no-such-container")),
        "{err}"
    );

    let (status, err) = get_json(&running, "/api/containers/no-such-container/history").await;
    assert_eq!(status, 404, "{err}");

    let (status, err) = get_json(&running, "/api/nothing-here").await;
    assert_eq!(status, 404, "{err}");
    assert!(err["detail"]
        .as_str()
        .is_some_and(|d| d.contains("/api/nothing-here")));

    for bad in [
        "seconds=abc",
        "seconds=0",
        "seconds=999999",
        "seconds=-5",
        "secs=10",
    ] {
        let (status, err) =
            get_json(&running, &format!("/api/containers/{name}/history?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {err}");
        assert_eq!(err["error"], "bad request");
        assert!(
            err["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{bad}: {err}"
        );
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, h) = get_json(
        &running,
        &format!("/api/containers/{name}/history?seconds=60"),
    )
    .await;
    assert_eq!(status, 200, "{h}");
    let points = h["points"].as_array().expect("points");
    assert!(points.len() >= 3, "{h}");
    assert_eq!(h["simulated"], true);
    let ts: Vec<i64> = points.iter().filter_map(|p| p["ts_ms"].as_i64()).collect();
    assert!(
        ts.windows(2).all(|w| w[0] < w[1]),
        "history is in time order"
    );
    running.stop().await;
}

#[tokio::test]
async fn the_page_is_rendered_on_the_server() {
    let running = start_demo(Duration::from_millis(200)).await;
    let app = dockerpulse::api::router(running.state.clone());
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = app
        .oneshot(
            axum::http::Request::get("/")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("router answers");
    assert_eq!(res.status(), 200);
    let html = String::from_utf8(
        res.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf-8");
    assert!(html.contains("DockerPulse"), "{html}");
    assert!(
        html.contains("/pkg/dockerpulse.js"),
        "hydration script is linked"
    );
    running.stop().await;
}

#[tokio::test]
async fn incident_reports_download_as_html_and_json() {
    let mut cfg = dockerpulse::config::Config {
        demo: true,
        interval: Duration::from_millis(200),
        ..test_config()
    };
    cfg.brain.warmup_samples = 10;
    cfg.brain.anomaly.warmup_samples = 10;
    let running = dockerpulse::serve::start(cfg).await.expect("starts");
    // The demo fleet stages a CPU storm 12 s in.
    let opened = eventually(Duration::from_secs(60), || async {
        let (_, page) = get_json(&running, "/api/incidents?state=open").await;
        page["items"].as_array()?.first()?["id"]
            .as_str()
            .map(str::to_string)
    })
    .await;
    let (id, _) = opened.expect("an incident opens on the demo fleet");

    let app = dockerpulse::api::router(running.state.clone());
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = app
        .oneshot(
            axum::http::Request::get(format!("/api/incidents/{id}/report.html"))
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("router answers");
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(&id),
        "{disposition}"
    );
    assert!(res.headers()["content-type"]
        .to_str()
        .is_ok_and(|c| c.starts_with("text/html")));
    let html = String::from_utf8(
        res.into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf-8");
    assert!(html.contains(&id) && html.contains("PROVISIONAL") && html.contains("SIMULATED"));

    let (status, facts) = get_json(&running, &format!("/api/incidents/{id}/report.json")).await;
    assert_eq!(status, 200);
    assert_eq!(facts["incident"]["id"], id.as_str());
    assert_eq!(facts["incident"]["simulated"], true);
    assert!(facts["samples"].as_array().is_some_and(|s| !s.is_empty()));

    let (status, _) = get_json(&running, "/api/incidents/nope/report.html").await;
    assert_eq!(status, 404);
    let (status, _) = get_json(&running, "/api/incidents/nope/report.json").await;
    assert_eq!(status, 404);
    let (status, list) = get_json(&running, "/api/reports").await;
    assert_eq!(status, 200);
    assert!(list.as_array().is_some(), "{list}");
    running.stop().await;
}

#[tokio::test]
async fn actions_are_locked_down_without_an_engine_too() {
    let running = start_demo(Duration::from_millis(100)).await;
    eventually(Duration::from_secs(5), || async {
        (running.state.live.read().len() == 7).then_some(())
    })
    .await
    .expect("the demo fleet is up");
    for action in ["restart", "pause", "unpause", "isolate", "throttle"] {
        let uri = format!("/api/containers/nginx/{action}");
        let (s, body) = call(&running, "POST", &uri, None, None).await;
        assert_eq!(s, 401, "{action}: {body}");
        let (s, _) = call(&running, "POST", &uri, Some("not-the-token-at-all"), None).await;
        assert_eq!(s, 401, "{action} with a wrong token");
    }
    let t = Some(ADMIN_TOKEN);
    let (s, body) = call(&running, "POST", "/api/containers/ghost/restart", t, None).await;
    assert_eq!(s, 404, "{body}");
    let (s, body) = call(
        &running,
        "POST",
        "/api/containers/oracle-db/restart",
        t,
        None,
    )
    .await;
    assert_eq!(s, 403, "oracle-db opted out: {body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("opted out")),
        "{body}"
    );
    let (s, body) = call(&running, "POST", "/api/containers/nginx/restart", t, None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["outcome"], "simulated",
        "dry-run by default: recorded, nothing touched"
    );
    let (s, body) = call(&running, "GET", "/api/containers/nginx/restart", t, None).await;
    assert_eq!(s, 405, "{body}");
    assert_eq!(body["error"], "method not allowed");
    running.stop().await;
}

#[tokio::test]
async fn loopback_answers_only_to_loopback_host_names() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let running = start_demo(Duration::from_millis(200)).await;
    for (host, expected) in [
        ("127.0.0.1:3000", 200),
        ("localhost:3000", 200),
        ("[::1]:3000", 200),
        ("rebound.evil.example:3000", 403),
    ] {
        let res = dockerpulse::api::router(running.state.clone())
            .oneshot(
                axum::http::Request::get("/api/health")
                    .header("host", host)
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
            .expect("router answers");
        assert_eq!(res.status(), expected, "Host: {host}");
        let _ = res.into_body().collect().await;
    }
    running.stop().await;
}

#[tokio::test]
async fn responses_are_compressed_for_browsers_that_ask() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let running = start_demo(Duration::from_millis(100)).await;
    // Tiny bodies are sent as they are; seven containers make a body worth compressing.
    eventually(Duration::from_secs(5), || async {
        (running.state.live.read().len() == 7).then_some(())
    })
    .await
    .expect("the seven demo services appear");
    for (accept, expected) in [
        (Some("gzip"), Some("gzip")),
        (Some("br"), Some("br")),
        (None, None),
    ] {
        let mut req = axum::http::Request::get("/api/containers");
        if let Some(a) = accept {
            req = req.header("accept-encoding", a);
        }
        let res = dockerpulse::api::router(running.state.clone())
            .oneshot(req.body(axum::body::Body::empty()).expect("request"))
            .await
            .expect("router answers");
        assert_eq!(res.status(), 200);
        let encoding = res
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(encoding.as_deref(), expected, "Accept-Encoding: {accept:?}");
        let body = res.into_body().collect().await.expect("body").to_bytes();
        if expected.is_none() {
            let json: serde_json::Value = serde_json::from_slice(&body).expect("plain JSON");
            assert!(json.is_array());
        }
    }
    running.stop().await;
}
