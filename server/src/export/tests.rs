use super::*;
use app::wire::{Assessment, ContainerInfo, Forecast, RiskLevel, Sample, SourceKind};
use proptest::prelude::*;

fn metrics_with(live: &Shared<LiveStore>, labels: &[&str]) -> Metrics {
    let sources = Sources {
        live: live.clone(),
        viewers: crate::viewers::ViewerGate::new(Default::default()),
        db: Db::open_in_memory().expect("db"),
        container_labels: labels.iter().map(|s| s.to_string()).collect(),
    };
    Metrics::new(sources, tick_histogram())
}

fn container(id: &str, name: &str) -> ContainerInfo {
    let mut info = ContainerInfo {
        id: id.into(),
        name: name.into(),
        image: "busybox:latest".into(),
        cpu_quota_pct: Some(50.0),
        mem_limited: true,
        started_at_ms: Some(1_700_000_000_000),
        ..ContainerInfo::default()
    };
    info.labels.insert("team".into(), "core".into());
    info.labels.insert("secret.token".into(), "hunter2".into());
    info
}

fn sample(ts_ms: i64) -> Sample {
    Sample {
        ts_ms,
        cpu_pct: 50.0,
        mem_bytes: 1000,
        mem_limit_bytes: 4000,
        net_rx_bps: 10.0,
        pids: 3,
        ..Sample::default()
    }
}

fn assessment() -> Assessment {
    Assessment {
        cpu: Forecast {
            value: 60.0,
            lo80: 55.0,
            hi80: 65.0,
            lo95: 50.0,
            hi95: 70.0,
            horizon_s: 10.0,
        },
        time_to_limit_s: Some(42.0),
        failure_probability: 91.0,
        level: RiskLevel::Critical,
        anomaly: 0.25,
        ..Assessment::default()
    }
}

#[test]
fn exposition_has_cadvisor_and_dockerpulse_metrics() {
    let live = Shared::new(LiveStore::new(60, SourceKind::Docker));
    {
        let mut l = live.write();
        l.record(
            container("abc", "web"),
            Some(sample(1_000)),
            Some(assessment()),
        );
        l.record(
            container("abc", "web"),
            Some(sample(3_000)),
            Some(assessment()),
        );
        // Hostile names stay inside their quotes.
        l.record(container("def", "x\"} evil 1\n"), Some(sample(3_000)), None);
    }
    let m = metrics_with(&live, &["team"]);
    let text = m.encode().expect("encodes");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let web = r#"{id="/docker/abc",name="web",image="busybox:latest",container_label_team="core"}"#;
    for line in [
        format!("container_cpu_usage_seconds_total{web} 1.0"),
        format!("container_memory_working_set_bytes{web} 1000.0"),
        format!("container_spec_memory_limit_bytes{web} 4000.0"),
        format!("container_spec_cpu_quota{web} 50000.0"),
        format!("container_spec_cpu_period{web} 100000.0"),
        format!("container_network_receive_bytes_total{web} 20.0"),
        format!("container_processes{web} 3.0"),
        format!("container_start_time_seconds{web} 1700000000.0"),
        format!("container_last_seen{web} 3.0"),
        format!("dockerpulse_failure_probability{web} 0.91"),
        format!("dockerpulse_risk_level{web} 2.0"),
        format!("dockerpulse_anomaly_score{web} 0.25"),
        format!("dockerpulse_memory_time_to_limit_seconds{web} 42.0"),
        format!("dockerpulse_cpu_forecast_percent{web} 60.0"),
        r#"dockerpulse_cpu_forecast_upper_percent{id="/docker/abc",name="web",image="busybox:latest",container_label_team="core",interval="95"} 70.0"#.to_string(),
        "# TYPE container_cpu_usage_seconds counter".to_string(),
        "# TYPE dockerpulse_tick_duration_seconds histogram".to_string(),
        "dockerpulse_containers 2.0".to_string(),
        "dockerpulse_store_up 1.0".to_string(),
        r#"dockerpulse_engine_state{state="connecting"} 1.0"#.to_string(),
        "dockerpulse_incidents_open 0.0".to_string(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains(r#"name="x\"} evil 1\n""#), "{text}");
    assert!(!text.contains("hunter2"), "labels not opted in stay out");
    // The container without an assessment has no brain metrics.
    assert!(!text.contains(r#"dockerpulse_risk_level{id="/docker/def""#));
}

#[test]
fn label_names_are_sanitised() {
    assert_eq!(
        label_name("com.example/team-a"),
        "container_label_com_example_team_a"
    );
}

proptest! {
    /// Counters never go down, whatever the samples (late, repeated, NaN, negative rates).
    #[test]
    fn counters_are_monotonic(steps in proptest::collection::vec(
        (-2_000i64..5_000, prop_oneof![Just(f64::NAN), Just(-1.0), 0.0f64..400.0], 0.0f64..1e9), 1..60)) {
        let mut l = LiveStore::new(10, SourceKind::Docker);
        let mut ts = 0;
        let mut last = crate::store::live::Totals::default();
        for (dt, cpu, rx) in steps {
            ts += dt;
            let s = Sample { ts_ms: ts, cpu_pct: cpu, net_rx_bps: rx, ..Sample::default() };
            l.record(container("a", "a"), Some(s), None);
            let t = l.get("a").expect("tracked").totals;
            prop_assert!(t.cpu_seconds >= last.cpu_seconds && t.net_rx_bytes >= last.net_rx_bytes);
            prop_assert!(t.cpu_seconds.is_finite());
            last = t;
        }
    }
}
