//! `wss://` hubs: an agent trusting a private CA streams to a hub behind a TLS-terminating
//! proxy, one without the CA says why it cannot connect, and `dockerpulse agent` stops on a
//! missing `--hub` or a bad `--ca-file` with the reason.

use crate::common::{self, eventually, Server};
use crate::{containers_of, node_status, start_hub, DEMO, T1};
use std::time::Duration;

/// A private CA and a certificate for `localhost` it signed, made at test time: what a hub behind
/// a reverse proxy with an internal CA presents.
struct PrivatePki {
    ca_pem: String,
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn private_pki() -> PrivatePki {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca = rcgen::CertificateParams::new(Vec::new()).expect("CA params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "DockerPulse test CA");
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("certificate");
    PrivatePki {
        ca_pem: ca_cert.pem(),
        cert: leaf.der().clone(),
        key: rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

/// A TLS-terminating proxy on 127.0.0.1 in front of the plain-HTTP `hub`: each connection's TLS
/// is ended here and its bytes copied both ways to the hub, as nginx or Traefik would.
async fn tls_proxy(hub: std::net::SocketAddr, pki: &PrivatePki) -> std::net::SocketAddr {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![pki.cert.clone()], pki.key.clone_key())
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends here, which is the point.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(hub).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// An agent process streaming to `wss://localhost:PORT` of the proxy, trusting `ca_file` if any.
fn spawn_wss_agent(
    proxy: std::net::SocketAddr,
    ca_file: Option<&std::path::Path>,
    tag: &str,
) -> Server {
    let dir = common::temp_data_dir().join(format!("agent-{tag}"));
    let ca = ca_file.map_or(String::new(), |p| {
        format!("ca_file = \"{}\"\n", p.display())
    });
    let extra = format!(
        "{DEMO}\n[cluster]\nhub = \"wss://localhost:{}\"\nnode = \"n1\"\ntoken = \"{T1}\"\n{ca}",
        proxy.port()
    );
    let (config, addr) = Server::config(&dir, &extra);
    Server::spawn(&config, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_trusting_the_private_ca_streams_to_a_hub_behind_a_tls_proxy() {
    let hub = start_hub().await;
    let pki = private_pki();
    let proxy = tls_proxy(hub.addr, &pki).await;
    let dir = common::temp_data_dir();
    std::fs::create_dir_all(&dir).expect("dir");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).expect("CA file");
    let agent = spawn_wss_agent(proxy, Some(&ca_file), "wss");
    agent.ready().await;
    let seen = eventually(Duration::from_secs(10), || async {
        (containers_of(&hub, "n1").await.len() == 9).then_some(())
    })
    .await;
    assert!(
        seen.is_some(),
        "the agent's containers reach the hub over wss://; see {}",
        agent.config.with_extension("log").display()
    );
    let n1 = node_status(&hub, "n1").await.expect("n1 is listed");
    assert_eq!(n1["state"], "connected");
    let (_, health) = agent.get("/api/health").await.expect("agent health");
    assert_eq!(health["uplink"]["connected"], true, "{health}");
    assert_eq!(
        health["uplink"]["hub"],
        format!("wss://localhost:{}", proxy.port())
    );
    drop(agent);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_file_the_agent_refuses_the_hubs_certificate_and_says_why() {
    let hub = start_hub().await;
    let pki = private_pki();
    let proxy = tls_proxy(hub.addr, &pki).await;
    let agent = spawn_wss_agent(proxy, None, "wss-untrusted");
    agent.ready().await;
    let refused = eventually(Duration::from_secs(10), || async {
        let (_, h) = agent.get("/api/health").await?;
        h["uplink"]["last_error"].as_str().map(str::to_string)
    })
    .await;
    let (why, _) = refused.expect("the agent reports why it cannot connect");
    eprintln!("untrusted hub certificate -> uplink last_error: {why}");
    assert!(why.contains("TLS") && why.contains("certificate"), "{why}");
    assert!(why.contains("UnknownIssuer"), "{why}");
    assert!(
        why.contains("ca_file"),
        "the error points at the fix: {why}"
    );
    let (_, health) = agent.get("/api/health").await.expect("agent health");
    assert_eq!(health["uplink"]["connected"], false);
    assert!(node_status(&hub, "n1").await.is_none());
    assert!(containers_of(&hub, "n1").await.is_empty());
    drop(agent);
    hub.stop().await;
}

/// `dockerpulse --config CONFIG ARGS…` (the real binary), to its exit: (success, stderr).
fn run_binary(config: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dockerpulse"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("dockerpulse runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_agent_command_refuses_a_missing_hub_and_a_bad_ca_file_with_the_reason() {
    let dir = common::temp_data_dir().join("agent-cli");
    let (config, _) = Server::config(&dir, DEMO);
    let (ok, err) = run_binary(&config, &["agent"]);
    assert!(!ok);
    assert!(err.contains("an agent needs its hub: --hub"), "{err}");

    let token = dir.join("token");
    std::fs::write(&token, T1).expect("token file");
    let not_a_cert = dir.join("not-a-cert.pem");
    std::fs::write(&not_a_cert, "just some text\n").expect("file");
    let hub_args = |ca: &std::path::Path| {
        vec![
            "agent".to_string(),
            "--hub".into(),
            "wss://localhost:1".into(),
            "--token-file".into(),
            token.display().to_string(),
            "--ca-file".into(),
            ca.display().to_string(),
        ]
    };
    let args = hub_args(&not_a_cert);
    let (ok, err) = run_binary(
        &config,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!ok);
    assert!(
        err.contains("cluster.ca_file") && err.contains("holds no certificate"),
        "{err}"
    );
    let args = hub_args(&dir.join("missing.pem"));
    let (ok, err) = run_binary(
        &config,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(!ok);
    assert!(err.contains("cannot read the CA file"), "{err}");

    // The same setting from the config file is checked the same way.
    let (config, _) = Server::config(
        &dir.join("file"),
        &format!(
            "{DEMO}\n[cluster]\nhub = \"wss://localhost:1\"\ntoken = \"{T1}\"\nca_file = \"{}\"\n",
            not_a_cert.display()
        ),
    );
    let (ok, err) = run_binary(&config, &["serve"]);
    assert!(!ok);
    assert!(err.contains("holds no certificate"), "{err}");
}
