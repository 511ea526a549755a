//! Wire types: what the server sends to browsers (websocket and REST) and what the browser
//! decodes. Shared by both sides so they cannot drift; versioned by [`PROTOCOL_VERSION`].
//!
//! Server-internal state never appears here directly: the server converts into these types at
//! its edge. Every timestamp is milliseconds since the Unix epoch (UTC).

mod assessment;
mod container;
mod fleet;
mod healing;
mod hints;
mod messages;
mod node;
mod notify;
mod records;
mod status;
pub use assessment::*;
pub use container::*;
pub use fleet::*;
pub use healing::*;
pub use hints::*;
pub use messages::*;
pub use node::*;
pub use notify::*;
pub use records::*;
pub use status::*;

/// Bumped on any incompatible change of the messages in this module and its submodules.
pub const PROTOCOL_VERSION: u32 = 4;

/// Most bytes a binary feed message (deflated JSON: the whole fleet, the sparklines) may
/// inflate to; the server's parts of 100 containers are far smaller. Both ends refuse more.
pub const FEED_INFLATED_MAX: usize = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_msg_is_tagged_and_round_trips() {
        let msg = ServerMsg::Fleet(Fleet {
            v: PROTOCOL_VERSION,
            seq: 7,
            source: SourceKind::Simulated,
            ..Fleet::default()
        });
        let json = serde_json::to_string(&msg).expect("serialise");
        assert!(json.starts_with(r#"{"type":"fleet""#), "{json}");
        assert!(json.contains(r#""source":"simulated""#));
        let back: ServerMsg = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, msg);
    }

    #[test]
    fn client_messages_read_as_documented() {
        let watch: ClientMsg =
            serde_json::from_str(r#"{"type":"watch","id":"web"}"#).expect("parses");
        assert_eq!(
            watch,
            ClientMsg::Watch {
                id: Some("web".into())
            }
        );
        let stop: ClientMsg =
            serde_json::from_str(r#"{"type":"watch","id":null}"#).expect("parses");
        assert_eq!(stop, ClientMsg::Watch { id: None });
        assert!(serde_json::from_str::<ClientMsg>(r#"{"type":"shutdown"}"#).is_err());
    }

    #[test]
    fn risk_levels_order_and_spell_like_the_ui() {
        assert!(RiskLevel::Low < RiskLevel::Medium && RiskLevel::Medium < RiskLevel::Critical);
        assert_eq!(
            serde_json::to_string(&RiskLevel::Critical).expect("serialise"),
            r#""CRITICAL""#
        );
    }

    #[test]
    fn status_parse_covers_engine_spellings() {
        for s in [
            "created",
            "running",
            "paused",
            "restarting",
            "exited",
            "dead",
            "removing",
        ] {
            assert_eq!(ContainerStatus::parse(s).as_str(), s);
        }
    }
}
