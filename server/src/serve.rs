//! Starting DockerPulse: pick the source, spawn the source and the pipeline, serve HTTP, and
//! shut everything down gracefully on Ctrl-C / SIGTERM.

use crate::api;
use crate::auth;
use crate::collect::demo::DemoSource;
use crate::collect::docker::{engine_answers, DockerSource, DockerSourceConfig};
use crate::collect::{now_ms, Source};
use crate::config::Config;
use crate::heal::executor::{DockerExecutor, Executor};
use crate::heal::{self, Healer};
use crate::hub::Hub;
use crate::incident::IncidentLog;
use crate::pipeline::assessor::Assessor;
use crate::pipeline::Pipeline;
use crate::pipeline::Responders;
use crate::report::{self, Reporter};
use crate::state::{AppState, Shared};
use crate::store::db::Db;
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
            let mut demo = DemoSource::with_size(cfg.interval, 0xD0C4E4, cfg.demo_containers);
            let executor = Executor::Demo(demo.control());
            start_with(cfg, demo, executor).await
        }
        SourceKind::Docker => {
            let docker = DockerSource::new(DockerSourceConfig::from(&cfg));
            let executor = Executor::Docker(DockerExecutor::new(cfg.docker_endpoint()));
            start_with(cfg, docker, executor).await
        }
    }
}

/// Like [`start`], with a given source and the executor that acts on what it watches.
pub async fn start_with<S: Source>(
    cfg: Config,
    source: S,
    executor: Executor,
) -> anyhow::Result<Running> {
    let addr = cfg.bind_addr()?;
    let (admin, origin) = auth::resolve(cfg.admin_token.as_deref(), &cfg.data_dir, addr)?;
    if let auth::Origin::Generated(path) = &origin {
        println!(
            "Generated an admin token for the action endpoints (kept in {}):\n    {}",
            path.display(),
            admin.expose()
        );
    }
    let db = Db::open(&cfg.data_dir)
        .with_context(|| format!("cannot open the store in {}", cfg.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let addr = listener.local_addr()?;
    let kind = source.kind();

    let self_id = cfg
        .self_container
        .clone()
        .or_else(|| heal::self_id::detect(&cfg.proc_root));
    if let Some(id) = &self_id {
        tracing::info!(container = %id, "running in a container: healing will never act on it");
    }
    let (done_tx, done_rx) = mpsc::channel(64);
    let healer = Healer::new(cfg.heal.clone(), db.clone(), executor, done_tx, self_id)?;
    let mut incidents = IncidentLog::new(cfg.incidents.clone(), db.clone())?;
    let (hints_tx, hints_rx) = crate::hints::worker::HintsTx::channel();
    incidents.hints = Some(hints_tx);

    let shutdown = CancellationToken::new();
    let live = Shared::new(LiveStore::new(cfg.history_len(), kind));
    let hub = Hub::new();
    let (tx, rx) = mpsc::channel(256);
    let (cmd_tx, cmd_rx) = mpsc::channel(32);
    let mut tasks = vec![tokio::spawn(source.run(tx, shutdown.clone()))];
    let reporter = Reporter::new(db.clone(), cfg.reports_dir.clone(), cfg.brain.horizon_s);
    let (closed_tx, closed_rx) = mpsc::unbounded_channel();
    let responders = Responders {
        incidents,
        healer,
        done: done_rx,
        closed: Some(closed_tx),
    };
    let pipeline = Pipeline::new(
        live.clone(),
        hub.clone(),
        Assessor::new(cfg.brain.clone()),
        responders,
    );
    tasks.push(tokio::spawn(pipeline.run(rx, cmd_rx, shutdown.clone())));
    let sources = crate::hints::worker::Sources {
        live: live.clone(),
        db: db.clone(),
        endpoint: (kind == SourceKind::Docker).then(|| cfg.docker_endpoint()),
        retention: cfg.retention,
    };
    tasks.push(tokio::spawn(crate::hints::worker::run(
        cfg.hints.clone(),
        sources,
        hints_rx,
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(report::write_on_close(
        reporter.clone(),
        closed_rx,
    )));
    tasks.push(tokio::spawn(prune_periodically(
        db.clone(),
        cfg.retention,
        shutdown.clone(),
    )));

    let leptos = LeptosOptions::builder()
        .output_name("dockerpulse")
        .site_root(cfg.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let state = AppState {
        live,
        hub,
        db,
        admin,
        commands: cmd_tx,
        reporter,
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

/// Deletes closed incidents and interventions past the retention period, hourly.
async fn prune_periodically(db: Db, retention: std::time::Duration, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let before = now_ms() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX / 2);
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.prune(before)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(incidents = n, "pruned old incidents"),
            Ok(Err(e)) => tracing::error!(error = %e, "pruning failed"),
            _ => {}
        }
    }
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
