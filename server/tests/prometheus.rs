//! DockerPulse in the Prometheus ecosystem, against the real programs (Debian's `prometheus`
//! and `prometheus-alertmanager`) and real containers on the local engine; every address on
//! loopback.
//!
//! - Prometheus scrapes `/metrics` every second; PromQL through its HTTP API finds the
//!   containers: `dockerpulse_failure_probability{name=…}` high for a container burning its CPU
//!   quota and low for an idle one, `rate(container_cpu_usage_seconds_total[30s])` near the quota
//!   for the first and near zero for the second; the target is `up` with no scrape error.
//! - Alertmanager receives DockerPulse's alert when a container turns CRITICAL and routes it to
//!   a webhook receiver in the test: firing, then resolved once the incident closes, with the
//!   labels and annotations the README lists. The time from CRITICAL (the incident's opening) to
//!   the receiver is printed.

mod common;

use common::receiver::{program_available, spawn_program, Child, Receiver};
use common::*;
use std::time::Duration;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// Fast brain warm-up and quick closing, as the other engine tests use.
const FAST: &str = "[brain]\nwarmup_samples = 5\n[brain.anomaly]\nwarmup_samples = 5\n\
                    [incidents]\nclose_after = \"2s\"\n";

async fn get_json(url: &str) -> Option<serde_json::Value> {
    let res = reqwest::get(url).await.ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.json().await.ok()
}

/// One instant PromQL query: (metric labels, value) of each series.
async fn promql(prom: &str, q: &str) -> Vec<(serde_json::Value, f64)> {
    let url = reqwest::Url::parse_with_params(&format!("{prom}/api/v1/query"), &[("query", q)])
        .expect("url");
    let Some(v) = get_json(url.as_str()).await else {
        return Vec::new();
    };
    v["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let val = r["value"][1].as_str()?.parse().ok()?;
            Some((r["metric"].clone(), val))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_dockerpulse_watching_real_containers() {
    let test = "prometheus_scrapes_dockerpulse_watching_real_containers";
    if !engine_available(test) || !program_available(test, PROMETHEUS) {
        return;
    }
    let hot = TestContainer::run("prom-hot", &["--cpus", "0.3"], &BURN);
    let calm = TestContainer::run("prom-calm", &[], &["sleep", "600"]);
    let dir = temp_data_dir();
    let (config, addr) = Server::config(&dir, FAST);
    let dp = Server::spawn(&config, addr);
    dp.ready().await;

    let port = free_port();
    let prom_dir = dir.join("prometheus");
    std::fs::create_dir_all(&prom_dir).expect("dir");
    let yml = prom_dir.join("prometheus.yml");
    std::fs::write(
        &yml,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: dockerpulse\n    static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .expect("config");
    let _prom: Child = spawn_program(
        PROMETHEUS,
        &[
            format!("--config.file={}", yml.display()),
            format!("--storage.tsdb.path={}", prom_dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        &prom_dir.join("prometheus.log"),
    );
    let prom = format!("http://127.0.0.1:{port}");

    // The target is healthy: up = 1 and no scrape error.
    let up = eventually(Duration::from_secs(60), || async {
        let t = get_json(&format!("{prom}/api/v1/targets")).await?;
        let target = t["data"]["activeTargets"].as_array()?.first()?.clone();
        (target["health"] == "up").then_some(target)
    })
    .await
    .map(|(t, _)| t)
    .unwrap_or_else(|| panic!("Prometheus scrapes DockerPulse: see {}", prom_dir.display()));
    assert_eq!(up["lastError"], "", "{up}");
    let up = promql(&prom, "up{job=\"dockerpulse\"}").await;
    assert_eq!(up.len(), 1, "{up:?}");
    assert_eq!(up[0].1, 1.0);

    // The burning container goes CRITICAL; Prometheus sees it by name.
    let q = format!("dockerpulse_failure_probability{{name=\"{}\"}}", hot.name);
    let (p, took) = eventually(Duration::from_secs(90), || async {
        promql(&prom, &q)
            .await
            .first()
            .map(|r| r.1)
            .filter(|p| *p >= 0.85)
    })
    .await
    .expect("the hot container's failure probability reaches 0.85 in Prometheus");
    println!("dockerpulse_failure_probability of the hot container: {p} after {took:?}");
    let calm_p = promql(
        &prom,
        &format!("dockerpulse_failure_probability{{name=\"{}\"}}", calm.name),
    )
    .await;
    assert_eq!(
        calm_p.len(),
        1,
        "the idle container is there too: {calm_p:?}"
    );
    assert!(calm_p[0].1 < 0.4, "idle: {calm_p:?}");
    let r = promql(
        &prom,
        &format!("dockerpulse_risk_level{{name=\"{}\"}}", hot.name),
    )
    .await;
    assert_eq!(r.first().map(|r| r.1), Some(2.0), "CRITICAL is 2: {r:?}");

    // CPU rate from the counter: ~0.3 cores for the hot one, ~0 for the idle one — once the
    // 30 s window is full (rate() divides by the whole range: a half-empty one under-reads).
    let full = format!(
        "count_over_time(container_cpu_usage_seconds_total{{name=\"{}\"}}[30s])",
        hot.name
    );
    eventually(Duration::from_secs(90), || async {
        promql(&prom, &full)
            .await
            .first()
            .filter(|r| r.1 >= 25.0)
            .map(|_| ())
    })
    .await
    .expect("30 s of samples in Prometheus");
    let q = format!(
        "rate(container_cpu_usage_seconds_total{{name=~\"{}|{}\"}}[30s])",
        hot.name, calm.name
    );
    let rates = eventually(Duration::from_secs(60), || async {
        let r = promql(&prom, &q).await;
        (r.len() == 2).then_some(r)
    })
    .await
    .map(|(r, _)| r)
    .expect("both containers have a CPU rate");
    for (labels, v) in &rates {
        let name = labels["name"].as_str().unwrap_or_default();
        assert!(
            labels["id"]
                .as_str()
                .is_some_and(|i| i.starts_with("/docker/")),
            "{labels}"
        );
        assert!(
            labels["image"].as_str().is_some_and(|i| !i.is_empty()),
            "{labels}"
        );
        if name == hot.name {
            assert!(
                (0.15..=0.45).contains(v),
                "hot container uses ~0.3 cores: {v}"
            );
        } else {
            assert_eq!(name, calm.name);
            assert!(*v < 0.05, "idle container: {v}");
        }
    }
    println!("rate(container_cpu_usage_seconds_total[30s]): {rates:?}");
    // No scrape error after all this either.
    let t = get_json(&format!("{prom}/api/v1/targets"))
        .await
        .expect("targets");
    assert_eq!(t["data"]["activeTargets"][0]["lastError"], "", "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_routes_dockerpulse_alerts_firing_then_resolved() {
    let test = "alertmanager_routes_dockerpulse_alerts_firing_then_resolved";
    if !engine_available(test) || !program_available(test, ALERTMANAGER) {
        return;
    }
    let receiver = Receiver::start().await;
    let dir = temp_data_dir();
    let am_dir = dir.join("alertmanager");
    std::fs::create_dir_all(&am_dir).expect("dir");
    let am_port = free_port();
    let yml = am_dir.join("alertmanager.yml");
    std::fs::write(
        &yml,
        format!(
            "route:\n  receiver: test\n  group_by: ['alertname', 'container']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: test\n    webhook_configs:\n      - url: '{}'\n        send_resolved: true\n",
            receiver.url("/am")
        ),
    )
    .expect("config");
    let _am: Child = spawn_program(
        ALERTMANAGER,
        &[
            format!("--config.file={}", yml.display()),
            format!("--storage.path={}", am_dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            // No cluster: it would listen on every interface.
            "--cluster.listen-address=".to_string(),
        ],
        &am_dir.join("alertmanager.log"),
    );
    let am = format!("http://127.0.0.1:{am_port}");
    eventually(Duration::from_secs(30), || async {
        get_json(&format!("{am}/api/v2/status")).await
    })
    .await
    .unwrap_or_else(|| panic!("Alertmanager starts: see {}", am_dir.display()));

    let (config, addr) = Server::config(
        &dir,
        &format!(
            "{FAST}[alerts]\nrepeat_interval = \"2s\"\nexternal_url = \"http://dockerpulse.test:3000\"\n\
             [alerts.alertmanager]\nurls = [\"{am}\"]\n"
        ),
    );
    let hot = TestContainer::run("am-hot", &["--cpus", "0.3"], &BURN);
    let dp = Server::spawn(&config, addr);
    dp.ready().await;

    let ours = |r: &common::receiver::Received, status: &str| {
        r.body["status"] == status
            && r.body["alerts"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|a| a["labels"]["container"] == hot.name.as_str())
            })
    };
    let (firing, _) = eventually(Duration::from_secs(120), || async {
        receiver.got().into_iter().find(|r| ours(r, "firing"))
    })
    .await
    .expect("Alertmanager routes the firing alert to the receiver");
    let alert = firing.body["alerts"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| a["labels"]["container"] == hot.name.as_str())
        })
        .cloned()
        .expect("our alert");
    let labels = &alert["labels"];
    assert_eq!(labels["alertname"], "DockerPulseIncident", "{alert}");
    assert_eq!(labels["severity"], "critical", "{alert}");
    assert!(
        labels["host"].as_str().is_some_and(|h| !h.is_empty()),
        "{alert}"
    );
    let ann = &alert["annotations"];
    assert!(
        ann["reasons"].as_str().is_some_and(|r| !r.is_empty()),
        "{alert}"
    );
    assert!(
        ann["failure_probability"]
            .as_str()
            .is_some_and(|p| p.ends_with('%')),
        "{alert}"
    );
    assert_eq!(
        ann["container_url"],
        format!("http://dockerpulse.test:3000/containers/{}", hot.name)
    );
    let incident = labels["incident_id"]
        .as_str()
        .expect("incident id")
        .to_string();
    assert_eq!(
        ann["report_url"],
        format!("http://dockerpulse.test:3000/api/incidents/{incident}/report.html")
    );
    // The figure: from the incident's opening (the tick that turned CRITICAL) to the receiver.
    let (_, inc) = dp
        .get(&format!("/api/incidents/{incident}"))
        .await
        .expect("incident");
    let opened = inc["opened_ms"]
        .as_i64()
        .or(inc["incident"]["opened_ms"].as_i64())
        .expect("opened_ms");
    println!(
        "CRITICAL → receiver through Alertmanager: {} ms",
        firing.at_ms - opened
    );

    // Repeated while it lasts: Alertmanager's copy has its end pushed forward by each repeat.
    let ends_at = || async {
        let url = reqwest::Url::parse_with_params(
            &format!("{am}/api/v2/alerts"),
            &[("filter", format!("container=\"{}\"", hot.name))],
        )
        .expect("url");
        let v = get_json(url.as_str()).await?;
        let e = v.as_array()?.first()?["endsAt"].as_str()?.to_string();
        chrono::DateTime::parse_from_rfc3339(&e).ok()
    };
    let first_end = ends_at().await.expect("Alertmanager holds the alert");
    let (later_end, _) = eventually(Duration::from_secs(10), || async {
        ends_at().await.filter(|e| *e > first_end)
    })
    .await
    .expect("the alert is sent again while the incident is open");
    println!("endsAt pushed from {first_end} to {later_end}");

    // Stopped, the incident closes after close_after; the alert resolves.
    hot.docker("stop");
    let (resolved, _) = eventually(Duration::from_secs(60), || async {
        receiver.got().into_iter().find(|r| ours(r, "resolved"))
    })
    .await
    .expect("the alert is resolved once the incident closes");
    let alert = resolved.body["alerts"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| a["labels"]["container"] == hot.name.as_str())
        })
        .cloned()
        .expect("our alert");
    assert_eq!(alert["status"], "resolved", "{alert}");
    assert_eq!(alert["labels"]["incident_id"], incident.as_str());
    let (_, health) = dp.get("/api/health").await.expect("health");
    let d = &health["notify"]["destinations"][0];
    assert_eq!(d["kind"], "alertmanager", "{health}");
    assert!(d["delivered"].as_u64().is_some_and(|n| n >= 2), "{d}");
}

/// Without engine or programs: `/metrics` through the real router on the demo fleet — the
/// OpenMetrics content type, `# EOF`, the fleet's series, and the same host guard as every read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_speaks_openmetrics_and_guards_its_host() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let running = start_demo(Duration::from_millis(200)).await;
    let scrape = |host: &'static str| {
        let app = dockerpulse::api::router(running.state.clone());
        async move {
            let res = app
                .oneshot(
                    Request::get("/metrics")
                        .header("host", host)
                        .body(Body::empty())
                        .expect("request"),
                )
                .await
                .expect("router answers");
            let status = res.status().as_u16();
            let ctype = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = res.into_body().collect().await.expect("body").to_bytes();
            (status, ctype, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (ctype, text) = eventually(Duration::from_secs(20), || async {
        let (status, ctype, text) = scrape("127.0.0.1:3000").await;
        // A tick is timed once it has finished: wait for both its figures and its duration.
        (status == 200
            && text.contains("dockerpulse_failure_probability{")
            && !text.contains("dockerpulse_tick_duration_seconds_count 0\n"))
        .then_some((ctype, text))
    })
    .await
    .map(|(v, _)| v)
    .expect("the demo fleet's series and a timed tick");
    assert_eq!(
        ctype,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(text.ends_with("# EOF\n"));
    assert!(
        text.contains("container_cpu_usage_seconds_total{id=\"/docker/sim-"),
        "{text}"
    );
    assert!(
        text.contains("dockerpulse_engine_state{state=\"simulated\"} 1"),
        "{text}"
    );
    assert!(text.contains("# TYPE dockerpulse_tick_duration_seconds histogram"));
    assert!(
        text.contains("dockerpulse_tick_duration_seconds_bucket{le="),
        "ticks are timed"
    );
    let (status, _, body) = scrape("evil.example:3000").await;
    assert_eq!(status, 403, "{body}");
    running.stop().await;
}
