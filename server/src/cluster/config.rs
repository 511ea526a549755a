//! `[cluster]`: this DockerPulse as a hub of other nodes' agents, or as an agent streaming to a
//! hub, or (the default) neither.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// An agent a hub accepts: its node name and the token it proves itself with.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentCredential {
    pub node: String,
    pub token: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// As a hub: the agents allowed to stream to this DockerPulse, each with its own token.
    pub agents: Vec<AgentCredential>,
    /// As a hub: a node silent this long is shown as lost.
    #[serde(with = "humantime_serde")]
    pub lost_after: Duration,
    /// As a hub: watch this host's engine too. Off when an agent runs on the hub's own node
    /// (in Swarm, a global agent service does), or every container there would show twice.
    pub watch_local: bool,
    /// As an agent: the hub to stream to, `ws://host:port` or `wss://…` (TLS).
    pub hub: Option<String>,
    /// As an agent: this node's name at the hub [default: the host name].
    pub node: Option<String>,
    /// As an agent: the token the hub knows this node by.
    pub token: Option<String>,
    /// As an agent: a PEM bundle of the CAs to trust for a `wss://` hub (a private CA behind a
    /// reverse proxy). When set, only these are trusted, not the public roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            agents: Vec::new(),
            lost_after: Duration::from_secs(5),
            watch_local: true,
            hub: None,
            node: None,
            token: None,
            ca_file: None,
        }
    }
}

/// Tokens shorter than this are refused: a per-agent secret must not be guessable.
pub const MIN_TOKEN_LEN: usize = 16;

/// Whether `name` is usable as a node name (it appears in URLs, labels and file names).
pub fn valid_node_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// This host's name as a node name (characters a node name cannot hold become '-').
pub fn host_name() -> String {
    let name: String = sysinfo::System::host_name()
        .unwrap_or_else(|_| String::from("node"))
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    if name.is_empty() {
        "node".into()
    } else {
        name
    }
}

impl ClusterConfig {
    /// The name this node goes by at its hub: `node`, else the host's name.
    pub fn node_name(&self) -> String {
        self.node.clone().unwrap_or_else(host_name)
    }

    pub fn is_hub(&self) -> bool {
        !self.agents.is_empty()
    }

    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for a in &self.agents {
            if !valid_node_name(&a.node) {
                return Err(format!(
                    "cluster.agents: node name {:?} must be 1–63 letters, digits, '-', '_' or '.'",
                    a.node
                ));
            }
            if a.token.len() < MIN_TOKEN_LEN {
                return Err(format!(
                    "cluster.agents: the token of {:?} must be at least {MIN_TOKEN_LEN} characters",
                    a.node
                ));
            }
            if !seen.insert(a.node.as_str()) {
                return Err(format!("cluster.agents: node {:?} is listed twice", a.node));
            }
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(600)).contains(&self.lost_after) {
            return Err("cluster.lost_after must be between 1s and 10m".into());
        }
        if let Some(hub) = &self.hub {
            if !(hub.starts_with("ws://") || hub.starts_with("wss://")) {
                return Err(format!(
                    "cluster.hub must start with ws:// or wss:// (TLS), got {hub:?}"
                ));
            }
            match &self.token {
                Some(t) if t.len() >= MIN_TOKEN_LEN => {}
                _ => {
                    return Err(format!(
                        "an agent needs its token (cluster.token or DOCKERPULSE_CLUSTER__TOKEN), \
                         at least {MIN_TOKEN_LEN} characters"
                    ))
                }
            }
        }
        // Read now, so a wrong path or a file without a certificate stops the start with the
        // reason instead of failing every connection later.
        if let Some(path) = &self.ca_file {
            super::tls::load_ca_file(path).map_err(|e| format!("cluster.ca_file: {e}"))?;
        }
        if let Some(node) = &self.node {
            if !valid_node_name(node) {
                return Err(format!(
                    "cluster.node {node:?} must be 1–63 letters, digits, '-', '_' or '.'"
                ));
            }
        }
        Ok(())
    }

    /// The same, with every secret replaced (for `dockerpulse config`).
    pub fn redacted(&self) -> Self {
        let mut c = self.clone();
        for a in &mut c.agents {
            a.token = "********".into();
        }
        if c.token.is_some() {
            c.token = Some("********".into());
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(node: &str, token: &str) -> AgentCredential {
        AgentCredential {
            node: node.into(),
            token: token.into(),
        }
    }

    #[test]
    fn defaults_are_a_single_host() {
        let c = ClusterConfig::default();
        assert!(!c.is_hub());
        assert!(c.hub.is_none());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let long = "0123456789abcdef";
        let cases = [
            (
                ClusterConfig {
                    agents: vec![agent("n1", "short")],
                    ..Default::default()
                },
                "at least 16",
            ),
            (
                ClusterConfig {
                    agents: vec![agent("n 1", long)],
                    ..Default::default()
                },
                "node name",
            ),
            (
                ClusterConfig {
                    agents: vec![agent("n1", long), agent("n1", long)],
                    ..Default::default()
                },
                "twice",
            ),
            (
                ClusterConfig {
                    hub: Some("http://hub:3000".into()),
                    token: Some(long.into()),
                    ..Default::default()
                },
                "ws://",
            ),
            (
                ClusterConfig {
                    hub: Some("ws://hub:3000".into()),
                    ..Default::default()
                },
                "needs its token",
            ),
            (
                ClusterConfig {
                    hub: Some("wss://hub:3000".into()),
                    token: Some(long.into()),
                    ca_file: Some("/nonexistent/dockerpulse-ca.pem".into()),
                    ..Default::default()
                },
                "cluster.ca_file: cannot read the CA file /nonexistent/dockerpulse-ca.pem",
            ),
        ];
        for (c, says) in cases {
            let e = c.validate().expect_err("must be refused");
            assert!(e.contains(says), "{e:?} should say {says:?}");
        }
    }

    #[test]
    fn redacted_hides_every_token() {
        let c = ClusterConfig {
            agents: vec![agent("n1", "0123456789abcdef-secret")],
            token: Some("agent-secret-0123456".into()),
            ..Default::default()
        };
        let shown = format!("{:?}", c.redacted());
        assert!(!shown.contains("secret"));
    }
}
