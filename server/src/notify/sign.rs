//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the receiver checks
//! `webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")).
//!
//! The key is the secret's bytes after base64-decoding when it has the spec's `whsec_` prefix,
//! the secret's own bytes otherwise. [`Secret`] never prints its value.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the signing secret is empty")]
    Empty,
    #[error("the signing secret has the whsec_ prefix but is not valid base64 after it")]
    Base64,
    #[error("the environment variable {0} holding the signing secret is not set")]
    MissingEnv(String),
}

/// A signing key. Its `Debug` shows nothing of it, so it can never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl Secret {
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        let s = s.trim();
        let key = match s.strip_prefix("whsec_") {
            Some(b) => B64.decode(b).map_err(|_| SecretError::Base64)?,
            None => s.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self(key))
    }

    /// From the config's `secret`, else from the environment variable `secret_env`.
    pub fn resolve(secret: Option<&str>, env: Option<&str>) -> Result<Self, SecretError> {
        match (secret, env) {
            (Some(s), _) => Self::parse(s),
            (None, Some(var)) => match std::env::var(var) {
                Ok(v) => Self::parse(&v),
                Err(_) => Err(SecretError::MissingEnv(var.into())),
            },
            (None, None) => Err(SecretError::Empty),
        }
    }

    /// The `webhook-signature` header value for one delivery.
    pub fn sign(&self, id: &str, timestamp_s: i64, body: &[u8]) -> String {
        format!("v1,{}", B64.encode(self.mac(id, timestamp_s, body)))
    }

    /// Whether `header` (space-separated `v1,<sig>` entries) holds a valid signature — what a
    /// receiver does (the tests use it).
    pub fn verify(&self, id: &str, timestamp_s: i64, body: &[u8], header: &str) -> bool {
        let want = self.mac(id, timestamp_s, body);
        header.split_whitespace().any(|entry| {
            entry
                .strip_prefix("v1,")
                .and_then(|b| B64.decode(b).ok())
                .is_some_and(|got| constant_time_eq::constant_time_eq(&got, &want))
        })
    }

    fn mac(&self, id: &str, timestamp_s: i64, body: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length, so this cannot fail; an empty MAC would never verify.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            return Vec::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp_s.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference implementations.
    #[test]
    fn matches_the_specs_example() {
        let s = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid");
        let sig = s.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn verifies_its_own_and_refuses_tampering() {
        let s = Secret::parse("plain secret").expect("valid");
        let sig = s.sign("id1", 10, b"{}");
        assert!(s.verify("id1", 10, b"{}", &format!("v1,bogus {sig}")));
        assert!(!s.verify("id1", 11, b"{}", &sig));
        assert!(!s.verify("id2", 10, b"{}", &sig));
        assert!(!s.verify("id1", 10, b"{ }", &sig));
        let other = Secret::parse("other").expect("valid");
        assert!(!other.verify("id1", 10, b"{}", &sig));
    }

    #[test]
    fn bad_secrets_are_refused_and_never_printed() {
        assert_eq!(Secret::parse("whsec_***"), Err(SecretError::Base64));
        assert_eq!(Secret::parse("  "), Err(SecretError::Empty));
        let s = Secret::parse("hunter2").expect("valid");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(
            Secret::resolve(None, Some("DOCKERPULSE_TEST_SURELY_UNSET_VAR")),
            Err(SecretError::MissingEnv(
                "DOCKERPULSE_TEST_SURELY_UNSET_VAR".into()
            ))
        );
    }
}
