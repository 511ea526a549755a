//! Opening the agent's websocket: its headers, TLS with the roots the agent trusts, and the
//! hub's refusals told apart from network and TLS failures.

use super::io::Ws;
use super::{Uplink, UplinkError};
use crate::cluster::protocol::{MAX_MESSAGE, NODE_HEADER, VERSION_HEADER};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The agent websocket's address at `hub` (a `ws://` or `wss://` base URL).
pub fn agent_url(hub: &str) -> String {
    format!("{}/agent", hub.trim_end_matches('/'))
}

/// What to do about a certificate no trusted CA signed: the usual first `wss://` mistake.
pub(super) fn tls_hint(e: &rustls::Error) -> &'static str {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
            " (a hub behind a private CA needs that CA in cluster.ca_file / --ca-file)"
        }
        _ => "",
    }
}

impl Uplink {
    /// Opens the websocket to the hub (refusals and TLS failures told apart).
    pub(super) async fn connect(&self) -> Result<Ws, UplinkError> {
        let mut request = agent_url(&self.url)
            .into_client_request()
            .map_err(|e| UplinkError::Connect(e.to_string()))?;
        let h = request.headers_mut();
        let header =
            |v: &str| HeaderValue::from_str(v).map_err(|e| UplinkError::Connect(e.to_string()));
        h.insert("authorization", header(&format!("Bearer {}", self.token))?);
        h.insert(NODE_HEADER, header(&self.node)?);
        h.insert(VERSION_HEADER, header(env!("CARGO_PKG_VERSION"))?);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(connector),
        );
        let (ws, _) = match tokio::time::timeout(Duration::from_secs(10), connecting).await {
            Err(_) => return Err(UplinkError::Connect("timed out".into())),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
                let reason = resp
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                return Err(UplinkError::Refused {
                    status: resp.status().as_u16(),
                    reason,
                });
            }
            Ok(Err(tokio_tungstenite::tungstenite::Error::Io(e))) => {
                // tokio-rustls hands a failed handshake over as an I/O error around rustls's.
                return Err(
                    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                        Some(tls) => UplinkError::Tls(tls.clone()),
                        None => UplinkError::Connect(e.to_string()),
                    },
                );
            }
            Ok(Err(e)) => return Err(UplinkError::Connect(e.to_string())),
            Ok(Ok(c)) => c,
        };
        Ok(ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::uplink::UplinkError;

    #[test]
    fn the_agent_url_is_the_hubs_agent_path() {
        assert_eq!(agent_url("ws://hub:3000"), "ws://hub:3000/agent");
        assert_eq!(agent_url("wss://hub.example/"), "wss://hub.example/agent");
    }

    #[test]
    fn an_unknown_issuer_points_at_the_ca_file_and_other_tls_errors_do_not() {
        use rustls::{CertificateError, Error};
        let unknown = UplinkError::Tls(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        let text = unknown.to_string();
        assert!(
            text.starts_with("TLS with the hub failed: invalid peer certificate"),
            "{text}"
        );
        assert!(text.contains("cluster.ca_file / --ca-file"), "{text}");
        let expired = UplinkError::Tls(Error::InvalidCertificate(CertificateError::Expired));
        assert!(!expired.to_string().contains("ca_file"), "{expired}");
    }
}
