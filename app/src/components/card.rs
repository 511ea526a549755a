//! A container card: identity, status, semaphore, CPU now and predicted, risk, memory and its
//! time-to-limit, healing state, a 60 s sparkline, and the audit download when an incident is
//! open.

use super::sparkline::Sparkline;
use crate::api::enc;
use crate::format;
use crate::live::Live;
use crate::wire::{ContainerFrame, ContainerStatus, HealMode, RiskLevel};
use leptos::prelude::*;

/// "dry-run", "enforce", "needs a human" or "healing off", as cards and the detail view say it.
pub fn mode_word(c: &ContainerFrame) -> (&'static str, &'static str) {
    let h = &c.heal;
    if h.needs_human {
        ("mode human", "needs a human")
    } else if h.excluded {
        ("mode off", "healing off")
    } else {
        match h.mode {
            HealMode::DryRun => ("mode dry", "dry-run"),
            HealMode::Enforce if h.opted_in.is_some() => ("mode enforce", "enforce"),
            HealMode::Enforce => ("mode off", "enforce · not opted in"),
        }
    }
}

/// Link that downloads an incident's audit report (rel=external keeps the router out of it).
#[component]
pub fn DownloadAudit(incident: String) -> AnyView {
    view! {
        <a class="button audit" data-testid="download-audit" rel="external" download
            href=format!("/api/incidents/{}/report.html", enc(&incident))>"⬇ Download audit"</a>
    }
    .into_any()
}

#[component]
pub fn Card(id: String) -> AnyView {
    let live = expect_context::<Live>();
    let key = id.clone();
    let c = Memo::new(move |_| {
        live.frame.with(|f| {
            f.as_ref()
                .and_then(|f| f.containers.iter().find(|c| c.info.id == key).cloned())
        })
    });
    let get = move |f: fn(&ContainerFrame) -> String| {
        move || c.with(|c| c.as_ref().map(f).unwrap_or_default())
    };
    let status = move || {
        c.with(|c| {
            c.as_ref()
                .map_or(ContainerStatus::Created, |c| c.info.status)
        })
    };
    let level = move || {
        c.with(|c| {
            c.as_ref()
                .and_then(|c| c.assessment.as_ref())
                .map_or(RiskLevel::Low, |a| a.level)
        })
    };
    let cpu_max = move || {
        c.with(|c| {
            c.as_ref()
                .and_then(|c| c.info.cpu_quota_pct)
                .unwrap_or(100.0)
        })
    };
    let spark_id = id.clone();
    let cpu_values = Signal::derive(move || {
        live.histories_rev.track();
        live.points(&spark_id, crate::live::SPARK_POINTS)
            .iter()
            .map(|p| p.cpu_pct)
            .collect::<Vec<_>>()
    });
    let frac = move |f: fn(&ContainerFrame) -> Option<f64>| {
        move || c.with(|c| c.as_ref().and_then(f).unwrap_or(0.0).clamp(0.0, 1.0) * 100.0)
    };
    let mem_frac = frac(|c| {
        c.sample
            .filter(|s| s.mem_limit_bytes > 0)
            .map(|s| s.mem_bytes as f64 / s.mem_limit_bytes as f64)
    });
    let assessed = move || c.with(|c| c.as_ref().and_then(|c| c.assessment.clone()));
    let cpu_frac = move || {
        c.with(|c| {
            c.as_ref()
                .and_then(|c| c.sample)
                .map_or(0.0, |s| (s.cpu_pct / cpu_max()).clamp(0.0, 1.0) * 100.0)
        })
    };
    let mode = move || c.with(|c| c.as_ref().map(mode_word).unwrap_or(("mode", "")));
    let incident = move || c.with(|c| c.as_ref().and_then(|c| c.heal.open_incident.clone()));
    let detail = format!("/containers/{}", enc(&id));
    // On a hub: the node it runs on, and whether that node's agent is lost (then every figure
    // on the card is its last known state).
    let node = move || c.with(|c| c.as_ref().and_then(|c| c.info.node.clone()));
    let service = move || {
        c.with(|c| {
            c.as_ref()
                .filter(|c| c.info.labels.contains_key(crate::wire::SWARM_TASK_LABEL))
                .and_then(|c| c.info.labels.get(crate::wire::SWARM_SERVICE_LABEL).cloned())
        })
    };
    let node_lost = move || {
        node().is_some_and(|n| {
            live.frame.with(|f| {
                f.as_ref()
                    .is_some_and(|f| f.nodes.iter().any(|s| s.name == n && s.is_lost()))
            })
        })
    };
    view! {
        <article
            class=move || format!("card level-{} status-{}{}", level().as_str().to_lowercase(), status().as_str(), if node_lost() { " stale" } else { "" })
            data-testid="card"
            data-name=get(|c| c.info.name.clone())
            data-id=id.clone()
            data-level=move || level().as_str()
        >
            <div class="card-head">
                <div class="names">
                    <h2 class="name" title=get(|c| c.info.id.clone())><a href=detail.clone()>{get(|c| c.info.name.clone())}</a></h2>
                    <div class="image" title="image">{get(|c| c.info.image.clone())}</div>
                </div>
                <div class=move || format!("semaphore {}", level().as_str().to_lowercase()) data-testid="semaphore">
                    <span aria-hidden="true">{move || level().icon()}</span>
                    " " {move || level().as_str()}
                </div>
            </div>
            <div class="status-line">
                <span class=move || format!("status {}", status().as_str()) data-testid="status">{move || status().as_str()}</span>
                {move || c.with(|c| c.as_ref().and_then(|c| c.info.health).map(|h| view! {
                    <span class=format!("health {}", h.as_str())>{h.as_str()}</span>
                }))}
                {move || c.with(|c| c.as_ref().filter(|c| c.info.restart_count > 0).map(|c| view! {
                    <span class="restarts">{format!("restarts: {}", c.info.restart_count)}</span>
                }))}
                <span class=move || mode().0 data-testid="mode">{move || mode().1}</span>
                {move || service().map(|s| view! {
                    <span class="service" data-testid="service" title="Docker Swarm service">{format!("svc {s}")}</span>
                })}
                {move || node().map(|n| view! {
                    <span class=if node_lost() { "node lost" } else { "node" } data-testid="node"
                        title=if node_lost() { "its node's agent is lost: last known state" } else { "node" }>
                        {format!("⬢ {n}")}
                    </span>
                })}
            </div>
            <div class="metrics">
                <div class="metric">
                    <div class="label">"CPU"</div>
                    <div class="value" data-testid="cpu">{get(|c| c.sample.map(|s| format::pct(s.cpu_pct)).unwrap_or_else(|| "—".into()))}</div>
                    <div class="bar"><div class="fill" style=move || format!("width:{:.1}%", cpu_frac())></div></div>
                </div>
                <div class="metric">
                    <div class="label">{move || format!("PREDICTION (t+{:.0} s)", assessed().map_or(10.0, |a| a.cpu.horizon_s))}</div>
                    <div class="value" data-testid="prediction">{move || assessed().filter(|a| !a.warming_up).map(|a| format::pct(a.cpu.value)).unwrap_or_else(|| "learning…".into())}</div>
                </div>
                <div class="metric">
                    <div class="label">"RISK"</div>
                    <div class="value" data-testid="risk">{move || assessed().map(|a| format!("{:.0} %", a.failure_probability)).unwrap_or_else(|| "—".into())}</div>
                </div>
                <div class="metric wide">
                    <div class="label">"MEMORY"</div>
                    <div class="value" data-testid="memory">{get(|c| c.sample.map(|s| format!(
                        "{} / {}{}",
                        format::bytes(s.mem_bytes as f64),
                        format::bytes(s.mem_limit_bytes as f64),
                        if c.info.mem_limited { "" } else { " (host)" }
                    )).unwrap_or_else(|| "—".into()))}</div>
                    <div class="bar"><div class="fill mem" style=move || format!("width:{:.1}%", mem_frac())></div></div>
                    {move || assessed().and_then(|a| a.time_to_limit_s).filter(|t| *t < 900.0).map(|t| view! {
                        <div class="ttl" data-testid="time-to-limit">{format!("limit in ~{}", format::duration_s(t))}</div>
                    })}
                </div>
            </div>
            <Sparkline values=cpu_values max=Signal::derive(cpu_max) class="cpu".to_string() />
            <div class="io">
                <span title="network receive / transmit">{get(|c| c.sample.map(|s| format!("net ↓{} ↑{}", format::rate(s.net_rx_bps), format::rate(s.net_tx_bps))).unwrap_or_default())}</span>
                <span title="block read / write">{get(|c| c.sample.map(|s| format!("disk r{} w{}", format::rate(s.blk_read_bps), format::rate(s.blk_write_bps))).unwrap_or_default())}</span>
                <span title="processes">{get(|c| c.sample.map(|s| format!("pids {}", s.pids)).unwrap_or_default())}</span>
            </div>
            <div class="heal-line">
                <span data-testid="interventions">{get(|c| format!("automatic interventions: {}", c.heal.interventions))}</span>
                {move || incident().map(|i| view! { <DownloadAudit incident=i /> })}
            </div>
            {move || assessed().and_then(|a| a.reasons.first().cloned()).map(|r| view! {
                <div class="reason" data-testid="reason">{r.text}</div>
            })}
        </article>
    }
    .into_any()
}
