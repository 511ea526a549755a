//! Turning the engine's container descriptions into [`ContainerInfo`].

use app::wire::{ContainerInfo, ContainerStatus, Health};
use bollard::models::{ContainerInspectResponse, EventMessage};
use std::collections::BTreeMap;

/// What the collector needs from `docker inspect`: the info and the main process's pid.
pub fn info_from_inspect(i: &ContainerInspectResponse) -> (ContainerInfo, Option<u32>) {
    let state = i.state.as_ref();
    let host = i.host_config.as_ref();
    let config = i.config.as_ref();
    let status = state
        .and_then(|s| s.status)
        .map_or(ContainerStatus::Created, |s| {
            ContainerStatus::parse(s.as_ref())
        });
    let health = state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .and_then(|h| Health::parse(h.as_ref()));
    let pid = state
        .and_then(|s| s.pid)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0);
    let cpu_quota_pct = host.and_then(|h| {
        let nano = h.nano_cpus.unwrap_or(0);
        let (quota, period) = (h.cpu_quota.unwrap_or(0), h.cpu_period.unwrap_or(0));
        if nano > 0 {
            Some(nano as f64 / 1e9 * 100.0)
        } else if quota > 0 {
            let period = if period > 0 { period } else { 100_000 };
            Some(quota as f64 / period as f64 * 100.0)
        } else {
            None
        }
    });
    let labels: BTreeMap<String, String> = config
        .and_then(|c| c.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let info = ContainerInfo {
        node: None,
        id: i.id.clone().unwrap_or_default(),
        name: i
            .name
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config
            .and_then(|c| c.image.clone())
            .or_else(|| i.image.clone())
            .unwrap_or_default(),
        status,
        health,
        restart_count: i
            .restart_count
            .and_then(|r| u64::try_from(r).ok())
            .unwrap_or(0),
        started_at_ms: state
            .and_then(|s| s.started_at.as_deref())
            .and_then(parse_engine_time),
        cpu_quota_pct,
        mem_limited: host.and_then(|h| h.memory).unwrap_or(0) > 0,
        labels,
        healthcheck_start_period_ms: config
            .and_then(|c| c.healthcheck.as_ref())
            .filter(|h| {
                h.test
                    .as_ref()
                    .is_some_and(|t| !t.is_empty() && t[0] != "NONE")
            })
            .map(|h| h.start_period.unwrap_or(0).max(0) / 1_000_000),
    };
    (info, pid)
}

/// RFC 3339 from the engine to epoch ms; the engine's "never" (`0001-01-01…`) is `None`.
pub fn parse_engine_time(s: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let ms = t.timestamp_millis();
    (ms > 0).then_some(ms)
}

/// The container id, name and exit code of an engine event.
pub fn event_actor(ev: &EventMessage) -> Option<(String, String, Option<i64>)> {
    let actor = ev.actor.as_ref()?;
    let id = actor.id.clone()?;
    let attrs = actor.attributes.as_ref();
    let name = attrs
        .and_then(|a| a.get("name").cloned())
        .unwrap_or_else(|| id.chars().take(12).collect());
    let exit = attrs
        .and_then(|a| a.get("exitCode"))
        .and_then(|c| c.parse().ok());
    Some((id, name, exit))
}

/// Event time in ms (the engine gives ns and s; prefer ns).
pub fn event_time_ms(ev: &EventMessage) -> Option<i64> {
    ev.time_nano
        .map(|ns| ns / 1_000_000)
        .or(ev.time.map(|s| s.saturating_mul(1000)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState, ContainerStateStatusEnum, HostConfig};

    #[test]
    fn inspect_maps_limits_names_and_state() {
        let i = ContainerInspectResponse {
            id: Some("abc".into()),
            name: Some("/web".into()),
            image: Some("sha256:1".into()),
            restart_count: Some(2),
            state: Some(ContainerState {
                status: Some(ContainerStateStatusEnum::RUNNING),
                pid: Some(42),
                started_at: Some("2026-11-26T09:00:00.123456789Z".into()),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                memory: Some(64 << 20),
                nano_cpus: Some(1_500_000_000),
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                image: Some("nginx:alpine".into()),
                labels: Some([("dockerpulse.heal".to_string(), "restart".to_string())].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (info, pid) = info_from_inspect(&i);
        assert_eq!(pid, Some(42));
        assert_eq!(info.name, "web");
        assert_eq!(info.image, "nginx:alpine");
        assert_eq!(info.status, ContainerStatus::Running);
        assert_eq!(info.restart_count, 2);
        assert_eq!(info.cpu_quota_pct, Some(150.0));
        assert!(info.mem_limited);
        assert_eq!(info.started_at_ms, Some(1_795_683_600_123));
        assert_eq!(
            info.labels.get("dockerpulse.heal").map(String::as_str),
            Some("restart")
        );
    }

    #[test]
    fn never_started_is_none() {
        assert_eq!(parse_engine_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_engine_time("garbage"), None);
    }
}
