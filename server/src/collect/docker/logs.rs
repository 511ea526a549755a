//! Reading what a container said and how it ended, for root-cause hints: the last lines of its
//! log through the engine's logs API (bounded, timestamps on, stdout and stderr apart) and the
//! facts of `docker inspect` (exit code, OOM kill, the engine's error, health-check outputs).
//! A thin edge: the bounding and cleaning of the text is `hints::text`, the reasoning `hints`.

use super::{connect, EngineError};
use crate::hints::text::{clean_line, Assembler, Bounds};
use crate::hints::{HealthRun, LogLine, Stream};
use bollard::container::LogOutput;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// The label with which a container opts out of having its log read.
pub const LOGS_LABEL: &str = "dockerpulse.logs";

/// Whether the container's labels allow reading its log.
pub fn logs_allowed(labels: &BTreeMap<String, String>) -> bool {
    labels
        .get(LOGS_LABEL)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("off"))
}

/// A slow engine must not hold up the next diagnosis for long.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("reading the log took longer than {0:?}")]
    Timeout(Duration),
}

/// What `docker inspect` says about how the container is and how it ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub running: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub error: Option<String>,
    /// Health-check runs, oldest first, their output cleaned and cut.
    pub health: Vec<HealthRun>,
    pub pids_limit: Option<u64>,
    pub labels: BTreeMap<String, String>,
}

/// The facts hints need from an inspect answer. Health outputs are container text: they are
/// cleaned like log lines.
pub fn facts_from_inspect(i: &ContainerInspectResponse, line_bytes: usize) -> Facts {
    let state = i.state.as_ref();
    let health = state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.log.as_ref())
        .map(|log| {
            log.iter()
                .map(|r| HealthRun {
                    ts_ms: r.end.as_deref().and_then(super::inspect::parse_engine_time),
                    exit_code: r.exit_code.unwrap_or(0),
                    output: clean_line(
                        r.output
                            .as_deref()
                            .unwrap_or("")
                            .replace('\n', " ")
                            .as_bytes(),
                        line_bytes,
                    )
                    .0,
                })
                .collect()
        })
        .unwrap_or_default();
    Facts {
        running: state.and_then(|s| s.running).unwrap_or(false),
        exit_code: state.and_then(|s| s.exit_code),
        oom_killed: state.and_then(|s| s.oom_killed).unwrap_or(false),
        error: state
            .and_then(|s| s.error.clone())
            .map(|e| clean_line(e.as_bytes(), line_bytes).0)
            .filter(|e| !e.is_empty()),
        health,
        pids_limit: i
            .host_config
            .as_ref()
            .and_then(|h| h.pids_limit)
            .and_then(|p| u64::try_from(p).ok())
            .filter(|p| *p > 0),
        labels: i
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
            .into_iter()
            .collect(),
    }
}

/// The lines read and how much was read for them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogRead {
    pub lines: Vec<LogLine>,
    pub raw_bytes: u64,
    pub truncated: bool,
}

/// Reads logs and inspects containers on one engine connection.
#[derive(Clone)]
pub struct LogReader {
    docker: Docker,
}

impl LogReader {
    pub async fn connect(endpoint: &str) -> Result<Self, LogsError> {
        let (docker, _) = connect(endpoint).await?;
        Ok(Self { docker })
    }

    /// The inspect facts; `None` when the container is gone.
    pub async fn facts(&self, id: &str, line_bytes: usize) -> Result<Option<Facts>, LogsError> {
        match self.docker.inspect_container(id, None).await {
            Ok(i) => Ok(Some(facts_from_inspect(&i, line_bytes))),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The last `bounds.max_lines` lines (at most `bounds.max_bytes` of text, the newest kept).
    pub async fn read(&self, id: &str, bounds: Bounds) -> Result<LogRead, LogsError> {
        let tail = bounds.max_lines.to_string();
        let opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .follow(false)
            .tail(&tail)
            .build();
        let mut asm = Assembler::new(bounds);
        let mut stream = self.docker.logs(id, Some(opts));
        let read = async {
            while let Some(frame) = stream.next().await {
                match frame? {
                    LogOutput::StdErr { message } => asm.push(Stream::Stderr, &message, true),
                    LogOutput::StdOut { message } | LogOutput::Console { message } => {
                        asm.push(Stream::Stdout, &message, true)
                    }
                    LogOutput::StdIn { .. } => {}
                }
            }
            Ok::<(), LogsError>(())
        };
        tokio::time::timeout(READ_TIMEOUT, read)
            .await
            .map_err(|_| LogsError::Timeout(READ_TIMEOUT))??;
        let (raw_bytes, truncated) = (asm.raw_bytes, asm.truncated);
        Ok(LogRead {
            lines: asm.finish(),
            raw_bytes,
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState, Health, HealthcheckResult, HostConfig};

    #[test]
    fn the_opt_out_label_is_honoured() {
        let mut l = BTreeMap::new();
        assert!(logs_allowed(&l));
        l.insert(LOGS_LABEL.to_string(), "OFF ".to_string());
        assert!(!logs_allowed(&l));
        l.insert(LOGS_LABEL.to_string(), "on".to_string());
        assert!(logs_allowed(&l));
    }

    #[test]
    fn inspect_facts_are_mapped_and_health_output_cleaned() {
        let i = ContainerInspectResponse {
            state: Some(ContainerState {
                running: Some(false),
                exit_code: Some(137),
                oom_killed: Some(true),
                error: Some(String::new()),
                health: Some(Health {
                    log: Some(vec![HealthcheckResult {
                        end: Some("2026-11-26T10:32:21.5Z".into()),
                        exit_code: Some(1),
                        output: Some("curl: (7) refused\n\x1b[31m<b>x</b>".into()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                pids_limit: Some(64),
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                labels: Some([(LOGS_LABEL.to_string(), "off".to_string())].into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let f = facts_from_inspect(&i, 200);
        assert!(!f.running && f.oom_killed);
        assert_eq!(f.exit_code, Some(137));
        assert_eq!(f.error, None, "an empty engine error is no error");
        assert_eq!(f.pids_limit, Some(64));
        assert_eq!(f.health.len(), 1);
        assert_eq!(f.health[0].output, "curl: (7) refused <b>x</b>");
        assert_eq!(f.health[0].ts_ms, Some(1_795_689_141_500));
        assert!(!logs_allowed(&f.labels));
    }
}
