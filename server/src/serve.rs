//! Starting DockerPulse: pick the source, spawn the source and the pipeline, serve HTTP, and
//! shut everything down gracefully on Ctrl-C / SIGTERM.

use crate::api;
use crate::collect::demo::DemoSource;
use crate::collect::docker::{engine_answers, DockerSource, DockerSourceConfig};
use crate::collect::{now_ms, Source};
use crate::config::Config;
use crate::hub::Hub;
use crate::pipeline::Pipeline;
use crate::state::{AppState, Shared};
use crate::store::live::LiveStore;
use anyhow::Context;
use app::wire::SourceKind;
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running DockerPulse: where it listens and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub source: SourceKind,
    pub state: AppState,
    pub shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops every task and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Waits until the server ends (after `shutdown` is cancelled).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Decides whether to watch the engine or run the demo fleet.
async fn choose_source(cfg: &Config) -> SourceKind {
    if cfg.demo {
        return SourceKind::Simulated;
    }
    let endpoint = cfg.docker_endpoint();
    if cfg.demo_when_no_engine && !engine_answers(&endpoint).await {
        tracing::warn!(
            %endpoint,
            "no Docker engine answers: running the built-in SIMULATED demo fleet instead \
             (set demo_when_no_engine = false to wait for the engine)"
        );
        return SourceKind::Simulated;
    }
    SourceKind::Docker
}

/// Starts the collector, the pipeline and the HTTP server; returns once it is listening.
pub async fn start(cfg: Config) -> anyhow::Result<Running> {
    match choose_source(&cfg).await {
        SourceKind::Simulated => {
            let demo = DemoSource::new(cfg.interval, 0xD0C4E4);
            start_with(cfg, demo).await
        }
        SourceKind::Docker => {
            let docker = DockerSource::new(DockerSourceConfig::from(&cfg));
            start_with(cfg, docker).await
        }
    }
}

/// Like [`start`], with a given source.
pub async fn start_with<S: Source>(cfg: Config, source: S) -> anyhow::Result<Running> {
    let addr = cfg.bind_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let kind = source.kind();

    let shutdown = CancellationToken::new();
    let live = Shared::new(LiveStore::new(cfg.history_len(), kind));
    let hub = Hub::new();
    let (tx, rx) = mpsc::channel(256);
    let mut tasks = vec![tokio::spawn(source.run(tx, shutdown.clone()))];
    let pipeline = Pipeline::new(live.clone(), hub.clone(), cfg.brain.clone());
    tasks.push(tokio::spawn(pipeline.run(rx, shutdown.clone())));

    let leptos = LeptosOptions::builder()
        .output_name("dockerpulse")
        .site_root(cfg.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let state = AppState {
        live,
        hub,
        cfg: Arc::new(cfg),
        started_ms: now_ms(),
        leptos,
    };
    let app = api::router(state.clone());
    let stop = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    }));
    Ok(Running {
        addr,
        source: kind,
        state,
        shutdown,
        tasks,
    })
}

/// Runs until Ctrl-C or SIGTERM.
pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let running = start(cfg).await?;
    let what = match running.source {
        SourceKind::Simulated => "the SIMULATED demo fleet".to_string(),
        SourceKind::Docker => format!(
            "the Docker engine at {}",
            running.state.cfg.docker_endpoint()
        ),
    };
    tracing::info!("DockerPulse is watching {what}");
    println!(
        "DockerPulse is watching {what}: open http://{}",
        running.addr
    );
    let token = running.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    running.wait().await;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
