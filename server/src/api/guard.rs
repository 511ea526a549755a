//! Request guards against cross-site use of a DockerPulse on loopback: DNS rebinding (a web page
//! whose host name suddenly points at 127.0.0.1) and other sites' pages opening the websocket.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The host part of a `Host` header or an origin's authority (`[::1]:3000` → `[::1]`).
fn host_of(authority: &str) -> &str {
    let a = authority.trim();
    if let Some(end) = a.find(']') {
        return &a[..=end];
    }
    a.rsplit_once(':').map_or(a, |(h, _)| h)
}

fn is_loopback_name(host: &str) -> bool {
    let h = host
        .trim_matches(|c| c == '[' || c == ']')
        .to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// On a loopback bind, only loopback host names are served: a rebinding attack arrives with
/// the attacker's host name in `Host`.
pub async fn loopback_hosts_only(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let on_loopback = st.cfg.bind_addr().is_ok_and(|a| a.ip().is_loopback());
    if on_loopback {
        if let Some(host) = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
        {
            if !is_loopback_name(host_of(host)) {
                return ApiError::Forbidden(format!(
                    "DockerPulse listens on loopback and answers only to loopback host names, not {host:?}"
                ))
                .into_response();
            }
        }
    }
    next.run(req).await
}

/// A websocket may be opened by our own pages only: its `Origin` must name the host it talks to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true; // not a browser
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
    authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn loopback_names() {
        for h in [
            "localhost:3000",
            "127.0.0.1:3000",
            "[::1]:3000",
            "127.0.0.2",
            "app.localhost:1",
        ] {
            assert!(is_loopback_name(host_of(h)), "{h}");
        }
        for h in [
            "evil.example:3000",
            "10.0.0.5:3000",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback_name(host_of(h)), "{h}");
        }
    }

    #[test]
    fn websocket_origin_must_match_host() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h), "non-browser clients send no Origin");
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
    }
}
