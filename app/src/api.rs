//! Calls to DockerPulse's REST API from the browser (incident lists, history, actions).
//! On the server these are never called: components only fetch from effects, which run in the
//! browser.

use serde::de::DeserializeOwned;

/// The admin token for actions, kept in the tab's session storage (never in the URL).
pub const TOKEN_KEY: &str = "dockerpulse.admin_token";

/// GET a JSON resource.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    #[cfg(feature = "hydrate")]
    {
        let res = gloo_net::http::Request::get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        decode(res).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        Err(format!("{url}: only available in the browser"))
    }
}

/// POST (or PUT) with the admin token; the answer's JSON or the API's error message.
pub async fn send<T: DeserializeOwned>(
    method: &str,
    url: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> Result<T, String> {
    #[cfg(feature = "hydrate")]
    {
        use gloo_net::http::Request;
        let req = match method {
            "PUT" => Request::put(url),
            _ => Request::post(url),
        }
        .header("Authorization", &format!("Bearer {token}"));
        let res = match body {
            Some(b) => req.json(&b).map_err(|e| e.to_string())?.send().await,
            None => req.send().await,
        }
        .map_err(|e| e.to_string())?;
        decode(res).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (method, token, body);
        Err(format!("{url}: only available in the browser"))
    }
}

#[cfg(feature = "hydrate")]
async fn decode<T: DeserializeOwned>(res: gloo_net::http::Response) -> Result<T, String> {
    if res.ok() {
        return res.json::<T>().await.map_err(|e| e.to_string());
    }
    let status = res.status();
    match res.json::<crate::wire::ApiError>().await {
        Ok(e) => Err(format!("{status} {}: {}", e.error, e.detail)),
        Err(_) => Err(format!("HTTP {status}")),
    }
}

/// Reads the admin token from session storage.
pub fn stored_token() -> String {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.session_storage().ok().flatten())
            .and_then(|s| s.get_item(TOKEN_KEY).ok().flatten())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

pub fn store_token(token: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = web_sys::window().and_then(|w| w.session_storage().ok().flatten()) {
        let _ = s.set_item(TOKEN_KEY, token);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = token;
}

/// Percent-encodes a path or query component.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_components() {
        assert_eq!(super::enc("web/1 ä"), "web%2F1%20%C3%A4");
    }
}
