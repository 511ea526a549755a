//! The top bar: host metrics, engine status, connection indicator, and the banners that must
//! not be missed (SIMULATED data, engine unreachable, store failing, a node lost)
//! and, on a hub, each node's health.

use crate::format;
use crate::live::{Connection, Live};
use crate::wire::{EngineState, NodeStatus, SourceKind, StoreState};
use leptos::prelude::*;

#[component]
pub fn Header() -> AnyView {
    let live = expect_context::<Live>();
    let frame = live.frame;
    let conn = move || match live.connection.get() {
        Connection::Connecting => ("conn connecting", "◌ CONNECTING".to_string()),
        Connection::Live => ("conn live", "● LIVE".to_string()),
        Connection::Reconnecting { attempt } => {
            ("conn lost", format!("◌ RECONNECTING (try {attempt})"))
        }
    };
    let engine = move || {
        frame.with(|f| {
            let Some(f) = f else {
                return ("engine", "engine: —".to_string());
            };
            let e = &f.engine;
            let version = e.version.clone().unwrap_or_default();
            match e.state {
                EngineState::Connected => (
                    "engine ok",
                    format!(
                        "engine: Docker {version} · API {} · stats via {}",
                        e.api_version.clone().unwrap_or_default(),
                        e.stats_via.clone().unwrap_or_default()
                    ),
                ),
                EngineState::Connecting => ("engine", "engine: connecting…".into()),
                EngineState::Unreachable => ("engine bad", "engine: UNREACHABLE".into()),
                EngineState::Simulated => ("engine sim", "engine: SIMULATED demo fleet".into()),
                EngineState::NotWatched => {
                    ("engine", "engine: none here (hub of its nodes)".into())
                }
            }
        })
    };
    let host = move || {
        frame.with(|f| {
            f.as_ref().and_then(|f| f.host.clone()).map(|h| {
                format!(
                    "{} · CPU {} of {} cores · mem {} / {} · load {:.2} {:.2} {:.2}",
                    h.hostname,
                    format::pct(h.cpu_pct),
                    h.cpus,
                    format::bytes(h.mem_used_bytes as f64),
                    format::bytes(h.mem_total_bytes as f64),
                    h.load1,
                    h.load5,
                    h.load15
                )
            })
        })
    };
    let simulated = move || {
        frame.with(|f| {
            f.as_ref()
                .is_some_and(|f| f.source == SourceKind::Simulated)
        })
    };
    let unreachable = move || {
        frame.with(|f| {
            f.as_ref()
                .filter(|f| f.engine.state == EngineState::Unreachable)
                .map(|f| {
                    format!(
                        "Docker engine unreachable at {}: {} — reconnecting automatically; figures below are frozen.",
                        f.engine.endpoint,
                        f.engine.error.clone().unwrap_or_default()
                    )
                })
        })
    };
    let store_failing = move || {
        frame.with(|f| {
            f.as_ref()
                .filter(|f| f.store.state == StoreState::Failing)
                .map(|f| {
                    format!(
                        "The store cannot write ({}): no healing action is taken until its record can be committed; {} record(s) waiting, retried automatically.",
                        f.store.error.clone().unwrap_or_default(),
                        f.store.queued
                    )
                })
        })
    };
    let nodes = move || frame.with(|f| f.as_ref().map(|f| f.nodes.clone()).unwrap_or_default());
    let lost = move || {
        nodes()
            .into_iter()
            .filter(NodeStatus::is_lost)
            .map(|n| format!("{} ({})", n.name, n.detail.unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    // On a hub: nodes whose agents run the demo fleet.
    let simulated_nodes = move || {
        nodes()
            .into_iter()
            .filter(|n| n.simulated)
            .map(|n| n.name)
            .collect::<Vec<_>>()
    };
    view! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true">"◆"</span>
                " DockerPulse"
            </div>
            <div class="host" data-testid="host">{host}</div>
            <div class=move || engine().0 data-testid="engine">{move || engine().1}</div>
            <div class=move || conn().0 data-testid="connection">{move || conn().1}</div>
        </header>
        {move || {
            let n = nodes();
            (!n.is_empty()).then(|| view! {
                <div class="nodes" data-testid="nodes" aria-label="nodes">
                    {n.into_iter().map(|s| {
                        let (class, text) = if s.is_lost() {
                            ("node lost", format!("⬢ {} LOST", s.name))
                        } else {
                            ("node ok", format!("⬢ {}{} · {} · lag {} ms · v{}", s.name, if s.simulated { " (SIMULATED)" } else { "" }, s.containers, s.lag_ms, s.version))
                        };
                        view! { <span class=class data-testid="node-status" data-node=s.name.clone() data-state=s.state.as_str()>{text}</span> }
                    }).collect_view()}
                </div>
            })
        }}
        {move || {
            let l = lost();
            (!l.is_empty()).then(|| view! {
                <div class="banner unreachable" data-testid="node-lost" role="alert">
                    {format!("Node(s) lost: {} — their containers show their last known state.", l.join(", "))}
                </div>
            })
        }}
        <Show when=move || live.outdated.get()>
            <div class="banner unreachable" data-testid="outdated" role="alert">
                "DockerPulse was upgraded and speaks a newer protocol: reload the page."
            </div>
        </Show>
        {move || live.refused.get().map(|reason| view! {
            <div class="banner unreachable" data-testid="viewer-refused" role="alert">
                {format!("Not connected: {reason}. Retrying every 10 s.")}
            </div>
        })}
        <Show when=simulated>
            <div class="banner simulated" data-testid="simulated-banner" role="status">
                "SIMULATED — you are watching DockerPulse's built-in demo fleet, not real containers. "
                "Start it next to a Docker engine to watch your own."
            </div>
        </Show>
        {move || {
            let sim = simulated_nodes();
            (!sim.is_empty()).then(|| view! {
                <div class="banner simulated" data-testid="simulated-nodes" role="status">
                    {format!("SIMULATED — node(s) {} run DockerPulse's built-in demo fleet: their containers are not real.", sim.join(", "))}
                </div>
            })
        }}
        {move || unreachable().map(|msg| view! {
            <div class="banner unreachable" data-testid="engine-unreachable" role="alert">{msg}</div>
        })}
        {move || store_failing().map(|msg| view! {
            <div class="banner unreachable" data-testid="store-failing" role="alert">{msg}</div>
        })}
    }
    .into_any()
}
