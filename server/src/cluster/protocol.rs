//! What agents and their hub say to each other over the agent's websocket (`GET /agent`), as
//! JSON messages `{"type": …, "data": …}`: text, or deflated in a binary message (ticks).
//! Versioned by [`PROTOCOL`].

use crate::collect::remote::NodeTick;
use crate::pipeline::commands::CommandError;
use app::wire::{ContainerFrame, EngineStatus, HealAction, HostSample, Incident, Intervention};
use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change of the messages below.
/// 2: leases for actions on Swarm tasks ([`AgentMsg::Lease`], [`HubMsg::Lease`]).
pub const PROTOCOL: u32 = 2;

/// The largest message either side accepts: a tick of a thousand containers is ~1.3 MB of
/// JSON, sent deflated.
pub const MAX_MESSAGE: usize = 16 << 20;
/// The most a deflated message may inflate to.
pub const MAX_INFLATED: usize = 64 << 20;

/// The hub pings each agent this often; an agent that hears nothing from its hub for
/// [`PING_SILENCE`] takes the link for dead and reconnects (a cut cable sends no reset).
pub const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
pub const PING_SILENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Request headers of the agent's connection.
pub const NODE_HEADER: &str = "x-dockerpulse-node";
pub const VERSION_HEADER: &str = "x-dockerpulse-version";

/// Agent → hub.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum AgentMsg {
    /// First message of every connection.
    Hello {
        node: String,
        version: String,
        protocol: u32,
    },
    /// Every tick of the agent's own loop.
    Tick(Box<NodeTick>),
    /// The outcome of a [`HubMsg::Command`].
    Answer { id: u64, result: Answer },
    /// The node's newest incidents and interventions as its store holds them: after every
    /// (re)connect, and again whenever it records something.
    Records {
        incidents: Vec<Incident>,
        interventions: Vec<Intervention>,
    },
    /// May this node act on `container`, a task of Swarm service `service`, now? Asked after
    /// the action's record is committed and before the engine is told; the hub counts every
    /// node's actions against the service-wide cap.
    Lease {
        id: u64,
        service: String,
        container: String,
        manual: bool,
    },
}

/// What became of a command.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Answer {
    Done { intervention: Box<Intervention> },
    NotFound { message: String },
    Refused { message: String },
    Invalid { message: String },
}

impl From<Result<Intervention, CommandError>> for Answer {
    fn from(r: Result<Intervention, CommandError>) -> Self {
        match r {
            Ok(i) => Self::Done {
                intervention: Box::new(i),
            },
            Err(CommandError::NotFound(message)) => Self::NotFound { message },
            Err(CommandError::Refused(message)) => Self::Refused { message },
            Err(CommandError::Invalid(message)) => Self::Invalid { message },
        }
    }
}

impl From<Answer> for Result<Intervention, CommandError> {
    fn from(a: Answer) -> Self {
        match a {
            Answer::Done { intervention } => Ok(*intervention),
            Answer::NotFound { message } => Err(CommandError::NotFound(message)),
            Answer::Refused { message } => Err(CommandError::Refused(message)),
            Answer::Invalid { message } => Err(CommandError::Invalid(message)),
        }
    }
}

/// Hub → agent.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum HubMsg {
    /// The hub took the agent's `hello`; `since_ms` is the sample time of the newest tick it
    /// has of this node (none: it has none), so the agent sends again what it missed.
    Welcome {
        node: String,
        #[serde(default)]
        since_ms: Option<i64>,
    },
    /// A manual action asked at the hub, for the agent to carry out under its own guard rails.
    Command {
        id: u64,
        container: String,
        action: HealAction,
    },
    /// The answer to [`AgentMsg::Lease`]: granted when `refused` is `None`.
    Lease { id: u64, refused: Option<String> },
}

/// A tick as the agent sends it: borrowed from its published frame, never copied.
#[derive(Serialize)]
pub struct TickOut<'a> {
    pub seq: u64,
    pub ts_ms: i64,
    pub engine: &'a EngineStatus,
    pub host: &'a Option<HostSample>,
    pub containers: &'a [ContainerFrame],
}

/// The envelope of [`AgentMsg::Tick`] around a borrowed tick.
#[derive(Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum AgentMsgOut<'a> {
    Tick(TickOut<'a>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::wire::{ContainerInfo, EngineState};

    #[test]
    fn a_borrowed_tick_reads_back_as_the_tick_it_was() {
        let engine = EngineStatus {
            state: EngineState::Connected,
            ..EngineStatus::default()
        };
        let containers = vec![ContainerFrame {
            info: std::sync::Arc::new(ContainerInfo {
                id: "abc".into(),
                name: "web".into(),
                ..ContainerInfo::default()
            }),
            ..ContainerFrame::default()
        }];
        let out = AgentMsgOut::Tick(TickOut {
            seq: 7,
            ts_ms: 1_000,
            engine: &engine,
            host: &None,
            containers: &containers,
        });
        let text = serde_json::to_string(&out).expect("serialises");
        let back: AgentMsg = serde_json::from_str(&text).expect("reads back");
        assert_eq!(
            back,
            AgentMsg::Tick(Box::new(NodeTick {
                seq: 7,
                ts_ms: 1_000,
                engine,
                host: None,
                containers,
            }))
        );
    }

    fn restart() -> Intervention {
        Intervention {
            id: 4,
            incident_id: None,
            container_id: "abc".into(),
            container_name: "web".into(),
            decided_ms: 1,
            started_ms: Some(2),
            finished_ms: Some(3),
            action: HealAction::Restart,
            mode: app::wire::HealMode::Enforce,
            manual: true,
            outcome: app::wire::Outcome::Succeeded,
            reason: "asked".into(),
            detail: None,
            failure_probability: 0.1,
            held: None,
            verification: None,
        }
    }

    #[test]
    fn answers_carry_every_outcome_of_a_command_both_ways() {
        for r in [
            Ok(restart()),
            Err(CommandError::NotFound("no such container".into())),
            Err(CommandError::Refused("not opted in".into())),
            Err(CommandError::Invalid("bad".into())),
        ] {
            let a = Answer::from(r.clone());
            let text = serde_json::to_string(&AgentMsg::Answer { id: 3, result: a }).expect("ser");
            let AgentMsg::Answer { id, result } = serde_json::from_str(&text).expect("de") else {
                panic!("not an answer: {text}");
            };
            assert_eq!(id, 3);
            assert_eq!(Result::<Intervention, CommandError>::from(result), r);
        }
    }

    #[test]
    fn leases_read_back_both_ways() {
        let ask = AgentMsg::Lease {
            id: 9,
            service: "web".into(),
            container: "abc".into(),
            manual: false,
        };
        let text = serde_json::to_string(&ask).expect("ser");
        assert_eq!(serde_json::from_str::<AgentMsg>(&text).expect("de"), ask);
        for refused in [None, Some("1 of 1 already acted on".to_string())] {
            let answer = HubMsg::Lease { id: 9, refused };
            let text = serde_json::to_string(&answer).expect("ser");
            assert_eq!(serde_json::from_str::<HubMsg>(&text).expect("de"), answer);
        }
    }

    #[test]
    fn unknown_or_malformed_messages_are_errors() {
        for bad in [
            r#"{"type":"shout","data":{}}"#,
            r#"{"type":"tick","data":{"seq":"x"}}"#,
            r#"not json"#,
        ] {
            assert!(serde_json::from_str::<AgentMsg>(bad).is_err(), "{bad}");
        }
    }
}
