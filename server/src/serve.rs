//! Starting DockerPulse: pick the source, spawn the source and the pipeline, serve HTTP, and
//! shut everything down gracefully on Ctrl-C / SIGTERM.

use crate::api;
use crate::auth;
use crate::clock::now_ms;
use crate::collect::demo::DemoSource;
use crate::collect::docker::{engine_answers, DockerSource, DockerSourceConfig};
use crate::collect::Source;
use crate::config::Config;
use crate::heal::executor::{DockerExecutor, Executor};
use crate::heal::{self, Healer};
use crate::hub::Hub;
use crate::incident::{self, IncidentLog};
use crate::pipeline::assessor::Assessor;
use crate::pipeline::Pipeline;
use crate::pipeline::Responders;
use crate::report::{self, Reporter};
use crate::state::{AppState, Shared};
use crate::store::db::Db;
use crate::store::live::LiveStore;
use crate::store::writer;
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
async fn choose_source(cfg: &Config) -> Option<SourceKind> {
    if cfg.cluster.is_hub() && !cfg.cluster.watch_local {
        return None;
    }
    Some(choose_engine_or_demo(cfg).await)
}

async fn choose_engine_or_demo(cfg: &Config) -> SourceKind {
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
        None => {
            let host = crate::collect::host_only::HostOnlySource::new(cfg.interval);
            let executor = Executor::Docker(DockerExecutor::new(cfg.docker_endpoint()));
            start_with(cfg, host, executor).await
        }
        Some(SourceKind::Simulated) => {
            let mut demo = DemoSource::with_size(cfg.interval, 0xD0C4E4, cfg.demo_containers);
            if cfg.cluster.hub.is_some() {
                demo = demo.on_node(&cfg.cluster.node_name());
            }
            let executor = Executor::Demo(demo.control());
            start_with(cfg, demo, executor).await
        }
        Some(SourceKind::Docker) => {
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
    // Made before any task starts, so a CA file gone since validation stops the start cleanly.
    let tls = crate::cluster::tls::client_config(cfg.cluster.ca_file.as_deref())?;
    if cfg.cluster.ca_file.is_some()
        && !cfg
            .cluster
            .hub
            .as_deref()
            .is_some_and(|h| h.starts_with("wss://"))
    {
        tracing::warn!(
            "cluster.ca_file is set but the hub is not a wss:// URL: the CA is not used"
        );
    }
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
    // What the loop resumes from, read before it runs (it never reads the store itself).
    let counters = db.counters()?;
    let day_start = now_ms().div_euclid(86_400_000) * 86_400_000;
    let heal_restored = heal::Restored {
        guards: db.guards()?,
        counters: counters.clone(),
        today: db.interventions_since(day_start)?,
        pending: db.pending_interventions()?,
    };
    let incident_restored = incident::Restored {
        open: db.open_incidents()?,
        counters,
        sample_ts: db.open_sample_timestamps()?,
    };
    let (closed_tx, closed_rx) = mpsc::unbounded_channel();
    let spawned = writer::spawn(db.clone(), writer::QUEUE_CAPACITY, Some(closed_tx))
        .context("cannot start the store's writer")?;
    let (reports_tx, reports_rx) = mpsc::channel(64);
    let (notify_tx, notify_rx) = crate::notify::NotifyTx::channel();
    // An agent acts on a Swarm task only with a lease from its hub (the service-wide cap
    // across nodes); the uplink carries the requests.
    let (executor, leases) = match executor {
        Executor::Docker(d) if cfg.cluster.hub.is_some() && cfg.cluster.token.is_some() => {
            let (line, requests) = heal::lease::line();
            (Executor::Docker(d.with_leases(line)), Some(requests))
        }
        other => (other, None),
    };
    let mut healer = Healer::new(
        cfg.heal.clone(),
        heal_restored,
        executor,
        reports_tx,
        self_id,
    );
    healer.notify = Some(notify_tx.clone());
    let mut incidents = IncidentLog::new(cfg.incidents.clone(), incident_restored);
    let (hints_tx, hints_rx) = crate::hints::worker::HintsTx::channel();
    incidents.hints = Some(hints_tx);
    incidents.notify = Some(notify_tx);

    let shutdown = CancellationToken::new();
    let live = Shared::new(LiveStore::new(cfg.history_len(), kind));
    let hub = Hub::new();
    let (tx, rx) = mpsc::channel(256);
    let (cmd_tx, cmd_rx) = mpsc::channel(32);
    let agents =
        crate::cluster::ingest::Agents::new(cfg.cluster.agents.clone(), tx.clone(), cmd_tx.clone());
    {
        let mut l = live.write();
        l.nodes = crate::store::nodes::Nodes::new(crate::util::ms(cfg.cluster.lost_after));
    }
    let mut tasks = vec![tokio::spawn(source.run(tx, shutdown.clone()))];
    let reporter = Reporter::new(db.clone(), cfg.reports_dir.clone(), cfg.brain.horizon_s);
    let responders = Responders {
        incidents,
        healer,
        reports: reports_rx,
        store: spawned.writer,
        acks: spawned.acks,
        retention_ms: crate::util::ms(cfg.retention),
    };
    let tick_seconds = crate::export::tick_histogram();
    let pipeline = Pipeline::new(
        live.clone(),
        hub.clone(),
        Assessor::new(cfg.brain.clone()),
        responders,
    )
    .with_tick_histogram(tick_seconds.clone());
    let viewers = crate::viewers::ViewerGate::new(cfg.viewers);
    let metrics = Arc::new(crate::export::Metrics::new(
        crate::export::Sources {
            live: live.clone(),
            viewers: viewers.clone(),
            db: db.clone(),
            container_labels: cfg.metrics_labels.clone(),
        },
        tick_seconds,
    ));
    let (mut notifier, notify) =
        crate::notify::worker::Notifier::new(cfg.alerts.clone(), cfg.external_url(), db.clone());
    notifier.simulated = kind.is_simulated();
    tasks.push(tokio::spawn(notifier.run(notify_rx, shutdown.clone())));
    tasks.push(tokio::spawn(pipeline.run(rx, cmd_rx, shutdown.clone())));
    // The writer ends once the loop has dropped its side and the queue is written.
    let writer_thread = spawned.thread;
    tasks.push(tokio::spawn(async move {
        let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    }));
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
    tasks.push(tokio::spawn(report::write_reports(
        reporter.clone(),
        closed_rx,
        shutdown.clone(),
    )));

    let uplink = match (&cfg.cluster.hub, &cfg.cluster.token) {
        (Some(url), Some(token)) => Some(crate::cluster::uplink::Uplink {
            tls,
            url: url.clone(),
            node: cfg.cluster.node_name(),
            token: token.clone(),
            hub: hub.clone(),
            commands: cmd_tx.clone(),
            db: db.clone(),
            status: Arc::default(),
            leases,
        }),
        _ => None,
    };
    // A hub reads the swarm from its engine when that engine is a Swarm manager.
    let swarm = Arc::new(std::sync::Mutex::new(app::wire::SwarmView::default()));
    if cfg.cluster.is_hub() {
        tasks.push(tokio::spawn(crate::cluster::swarm::watch(
            cfg.docker_endpoint(),
            swarm.clone(),
            shutdown.clone(),
        )));
    }
    let leptos = LeptosOptions::builder()
        .output_name("dockerpulse")
        .site_root(cfg.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let state = AppState {
        live,
        hub,
        viewers,
        db,
        admin,
        commands: cmd_tx,
        reporter,
        cfg: Arc::new(cfg),
        started_ms: now_ms(),
        leptos,
        metrics,
        notify,
        agents,
        swarm: swarm.clone(),
        uplink: uplink.as_ref().map(|u| u.status.clone()),
    };
    let app = api::router(state.clone());
    if let Some(uplink) = uplink {
        tasks.push(tokio::spawn(uplink.run(shutdown.clone())));
    }
    let stop = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
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
