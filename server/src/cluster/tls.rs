//! TLS for the agent's link to its hub (`wss://`): which certificate authorities the agent trusts.
//!
//! By default the public web's roots (webpki-roots, compiled in: the static image has no system
//! store). With `cluster.ca_file` (a PEM bundle) the agent trusts the CAs in that file *only*,
//! as `curl --cacert` does: whoever sets it runs the hub behind their own CA, and keeping the
//! hundred-odd public CAs trusted as well would let any of them vouch for the hub's name too.
//!
//! The crypto provider is named here (ring, the one rustls is built with in this tree) rather
//! than left to rustls to pick from its crate features, which panics at the first handshake if
//! another dependency ever enables a second provider.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the CA file {path} is not valid PEM: {source}")]
    Pem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("the CA file {path} holds no certificate (expected PEM \"BEGIN CERTIFICATE\" blocks)")]
    NoCertificate { path: PathBuf },
    #[error("the CA file {path} holds a certificate that cannot be a trust anchor: {source}")]
    BadCertificate {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("cannot make the TLS client configuration: {0}")]
    Config(rustls::Error),
}

/// The trust anchors in the PEM bundle at `path` (at least one, each one usable).
pub fn load_ca_file(path: &Path) -> Result<RootCertStore, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.into(),
        source,
    })?;
    // Only CERTIFICATE sections count; a key or anything else in the bundle is skipped.
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.into(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.into() });
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        // `add` parses the certificate; refusing here beats a handshake failing later.
        roots.add(cert).map_err(|source| TlsError::BadCertificate {
            path: path.into(),
            source,
        })?;
    }
    Ok(roots)
}

/// The agent's TLS client configuration: the CAs of `ca_file` when given, else the public roots.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match ca_file {
        Some(path) => load_ca_file(path)?,
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dp-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write");
        path
    }

    #[test]
    fn both_configs_build_with_the_named_provider() {
        // No process-wide provider is installed here: building must not depend on one.
        client_config(None).expect("public roots");
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).expect("CA");
        // A bundle: the CA twice, with a key and some text between, as bundles often are.
        let bundle = format!(
            "# our CA\n{}\n{}\n{}",
            ca.pem(),
            key.serialize_pem(),
            ca.pem()
        );
        let path = file("ca.pem", bundle.as_bytes());
        assert_eq!(load_ca_file(&path).expect("loads").len(), 2);
        client_config(Some(&path)).expect("private roots");
    }

    #[test]
    fn bad_ca_files_are_refused_with_the_reason() {
        let missing = std::env::temp_dir().join("dp-tls-unit-no-such-file.pem");
        let e = load_ca_file(&missing).expect_err("missing");
        assert!(matches!(e, TlsError::Read { .. }), "{e}");
        assert!(e.to_string().contains("cannot read the CA file"), "{e}");

        let empty = file("empty.pem", b"");
        let e = load_ca_file(&empty).expect_err("empty");
        assert!(e.to_string().contains("holds no certificate"), "{e}");

        let key_only = file(
            "key.pem",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let e = load_ca_file(&key_only).expect_err("a key is not a certificate");
        assert!(e.to_string().contains("holds no certificate"), "{e}");

        let broken = file(
            "broken.pem",
            b"-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
        );
        let e = load_ca_file(&broken).expect_err("bad base64");
        assert!(e.to_string().contains("not valid PEM"), "{e}");

        // Valid PEM around bytes that are no certificate (base64 of "hello").
        let not_der = file(
            "notder.pem",
            b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        );
        let e = load_ca_file(&not_der).expect_err("not DER");
        assert!(e.to_string().contains("cannot be a trust anchor"), "{e}");
    }
}
