//! The admin token that guards every action endpoint (`Authorization: Bearer …`).
//!
//! Taken from the config or `DOCKERPULSE_ADMIN_TOKEN`; otherwise generated at first start,
//! stored in `data_dir/admin_token` with mode 0600 and printed once. Binding to a non-loopback
//! address without a configured token is refused: reads are open, so actions must not be.

use rand::RngCore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "refusing to listen on {0} (not loopback) without an admin token: set admin_token in the \
         config or DOCKERPULSE_ADMIN_TOKEN"
    )]
    NonLoopbackWithoutToken(SocketAddr),
    #[error("the admin token must be at least 16 characters")]
    TooShort,
    #[error("cannot read or write the admin token file {0}: {1}")]
    File(PathBuf, std::io::Error),
}

/// Where the token came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Configured,
    File(PathBuf),
    /// Generated now: print it once.
    Generated(PathBuf),
}

#[derive(Clone)]
pub struct AdminToken(Arc<str>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(********)")
    }
}

impl AdminToken {
    pub fn new(token: &str) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Checks an `Authorization` header value in constant time.
    pub fn accepts(&self, header: Option<&str>) -> bool {
        let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        constant_time_eq::constant_time_eq(given.trim().as_bytes(), self.0.as_bytes())
    }
}

/// Resolves the admin token for a server bound to `bind`.
pub fn resolve(
    configured: Option<&str>,
    data_dir: &Path,
    bind: SocketAddr,
) -> Result<(AdminToken, Origin), AuthError> {
    if let Some(t) = configured.map(str::trim).filter(|t| !t.is_empty()) {
        if t.len() < 16 {
            return Err(AuthError::TooShort);
        }
        return Ok((AdminToken::new(t), Origin::Configured));
    }
    if !bind.ip().is_loopback() {
        return Err(AuthError::NonLoopbackWithoutToken(bind));
    }
    let path = data_dir.join("admin_token");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let t = text.trim();
        if t.len() >= 16 {
            return Ok((AdminToken::new(t), Origin::File(path)));
        }
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &token).map_err(|e| AuthError::File(path.clone(), e))?;
    Ok((AdminToken::new(&token), Origin::Generated(path)))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("dp-auth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn generated_once_private_then_reused() {
        let dir = tmp("gen");
        let bind: SocketAddr = "127.0.0.1:3000".parse().expect("addr");
        let (t1, o1) = resolve(None, &dir, bind).expect("generated");
        assert!(matches!(o1, Origin::Generated(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("admin_token"))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (t2, o2) = resolve(None, &dir, bind).expect("read back");
        assert!(matches!(o2, Origin::File(_)));
        assert_eq!(t1.expose(), t2.expose());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn non_loopback_needs_a_configured_token() {
        let dir = tmp("nl");
        let bind: SocketAddr = "0.0.0.0:3000".parse().expect("addr");
        assert!(matches!(
            resolve(None, &dir, bind),
            Err(AuthError::NonLoopbackWithoutToken(_))
        ));
        assert!(matches!(
            resolve(Some("short"), &dir, bind),
            Err(AuthError::TooShort)
        ));
        let (_, o) = resolve(Some("a-long-enough-secret"), &dir, bind).expect("configured");
        assert_eq!(o, Origin::Configured);
    }

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let t = AdminToken::new("s3cret-s3cret-s3cret");
        assert!(t.accepts(Some("Bearer s3cret-s3cret-s3cret")));
        assert!(!t.accepts(Some("Bearer s3cret-s3cret-s3creX")));
        assert!(!t.accepts(Some("s3cret-s3cret-s3cret")));
        assert!(!t.accepts(Some("Basic s3cret-s3cret-s3cret")));
        assert!(!t.accepts(None));
        assert_eq!(format!("{t:?}"), "AdminToken(********)");
    }
}
