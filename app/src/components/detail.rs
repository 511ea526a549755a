//! One container in depth: live CPU (measured vs forecast, with its interval) and memory charts,
//! z-scores, the brain's reasons, the container's incidents and interventions, manual actions.

use super::actions::Actions;
use super::card::{mode_word, DownloadAudit};
use super::chart::{ChartData, Line, TimeChart};
use super::hints::ProbableCause;
use super::incidents::IncidentRows;
use super::set_query_param;
use crate::api;
use crate::format;
use crate::live::Live;
use crate::wire::{ContainerFrame, HealMode, Incident, Intervention, Page, RiskLevel};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

const MIB: f64 = 1024.0 * 1024.0;

/// A memory axis label (the axis is in MiB): `512 KiB`, `1.5 MiB`, `2.0 GiB`, so that ticks
/// half a MiB apart never read the same.
fn mem_tick(mib: f64) -> String {
    format::bytes(mib * MIB)
}

#[component]
pub fn Detail() -> AnyView {
    let live = expect_context::<Live>();
    let params = use_params_map();
    let query = use_query_map();
    let key = move || params.with(|p| p.get("id").unwrap_or_default());
    let range = move || {
        query.with(|q| {
            q.get("range")
                .and_then(|r| r.parse::<usize>().ok())
                .filter(|r| *r >= 30)
                .unwrap_or(120)
        })
    };
    // The fleet feed carries card values only: ask for this container in full while shown.
    Effect::new(move |_| live.watch(Some(key())));
    on_cleanup(move || live.watch(None));
    let c = Memo::new(move |_| {
        let k = key();
        live.frame.with(|f| {
            f.as_ref().and_then(|f| {
                f.containers
                    .iter()
                    .find(|c| c.info.id == k || c.info.name == k)
                    .cloned()
            })
        })
    });
    let name = move || c.with(|c| c.as_ref().map(|c| c.info.name.clone()).unwrap_or_else(key));
    let now_ms = move || live.frame.with(|f| f.as_ref().map_or(0, |f| f.ts_ms));

    // Refetch only when something was recorded (or another container is shown), not every tick.
    let rev = Memo::new(move |_| {
        live.frame
            .with(|f| f.as_ref().map_or(0, |f| f.incidents_rev))
    });
    let name_memo = Memo::new(move |_| name());
    let interventions = LocalResource::new(move || {
        rev.track();
        let url = format!(
            "/api/interventions?container={}&limit=20",
            api::enc(&name_memo.get())
        );
        async move { api::get::<Page<Intervention>>(&url).await }
    });
    let incidents = LocalResource::new(move || {
        rev.track();
        let url = format!(
            "/api/incidents?container={}&limit=20",
            api::enc(&name_memo.get())
        );
        async move { api::get::<Page<Incident>>(&url).await }
    });

    let cpu_data = Signal::derive(move || {
        live.histories_rev.track();
        let Some(cf) = c.get() else {
            return ChartData::default();
        };
        let now = now_ms();
        let pts = live.points(&cf.info.id, range());
        let horizon = cf.assessment.as_ref().map_or(10.0, |a| a.cpu.horizon_s);
        let x = |ts: i64| (ts - now) as f64 / 1000.0;
        let warm = |p: &crate::live::Point| p.cpu_hi95 > 0.0 || p.cpu_forecast > 0.0;
        let quota = cf.info.cpu_quota_pct;
        let y_max = pts
            .iter()
            .flat_map(|p| [p.cpu_pct, p.cpu_hi95])
            .chain(quota)
            .fold(10.0, f64::max)
            * 1.1;
        let marks = interventions
            .get()
            .and_then(Result::ok)
            .map(|page| {
                page.items
                    .iter()
                    .filter(|i| {
                        i.outcome.is_intervention() && now - i.decided_ms <= range() as i64 * 1000
                    })
                    .map(|i| {
                        let label = match i.mode {
                            HealMode::DryRun => format!("{} (dry-run)", i.action.as_str()),
                            HealMode::Enforce => i.action.as_str().to_string(),
                        };
                        (x(i.decided_ms), label)
                    })
                    .collect()
            })
            .unwrap_or_default();
        ChartData {
            x0: -(range() as f64),
            x1: horizon,
            y_max,
            lines: vec![
                Line {
                    class: "measured",
                    label: "measured",
                    points: pts.iter().map(|p| (x(p.ts_ms), p.cpu_pct)).collect(),
                },
                Line {
                    class: "forecast",
                    label: "forecast (t+10 s)",
                    points: pts
                        .iter()
                        .filter(|p| warm(p))
                        .map(|p| (x(p.ts_ms) + horizon, p.cpu_forecast))
                        .collect(),
                },
            ],
            band: pts
                .iter()
                .filter(|p| warm(p))
                .map(|p| (x(p.ts_ms) + horizon, p.cpu_lo95.max(0.0), p.cpu_hi95))
                .collect(),
            limits: quota
                .map(|q| vec![(q, "quota", "CPU quota")])
                .unwrap_or_default(),
            marks,
            off_scale: None,
        }
    });
    let mem_data = Signal::derive(move || {
        live.histories_rev.track();
        let Some(cf) = c.get() else {
            return ChartData::default();
        };
        let now = now_ms();
        let pts = live.points(&cf.info.id, range());
        let used_max = pts.iter().map(|p| p.mem_bytes / MIB).fold(1.0, f64::max);
        let limit = pts.last().map_or(0.0, |p| p.mem_limit_bytes / MIB);
        let has_limit = cf.info.mem_limited && limit > 0.0;
        // A limit far above the use would flatten the curve to a line at zero: name it instead.
        let show_limit = has_limit && limit <= used_max * 4.0;
        ChartData {
            x0: -(range() as f64),
            x1: 0.0,
            y_max: if show_limit {
                limit.max(used_max)
            } else {
                used_max
            } * 1.1,
            off_scale: (has_limit && !show_limit).then(|| {
                format!(
                    "memory limit {} (far above, not to scale)",
                    format::bytes(limit * MIB)
                )
            }),
            lines: vec![Line {
                class: "measured",
                label: "in use",
                points: pts
                    .iter()
                    .map(|p| ((p.ts_ms - now) as f64 / 1000.0, p.mem_bytes / MIB))
                    .collect(),
            }],
            limits: if show_limit {
                vec![(limit, "quota", "memory limit")]
            } else {
                Vec::new()
            },
            ..ChartData::default()
        }
    });
    let set_range = move |r: &str| {
        let path = format!("/containers/{}", api::enc(&key()));
        set_query_param(&path, query, "range", r.to_string());
    };
    let level = move || {
        c.with(|c| {
            c.as_ref()
                .and_then(|c| c.assessment.as_ref())
                .map_or(RiskLevel::Low, |a| a.level)
        })
    };
    let needs_human =
        Signal::derive(move || c.with(|c| c.as_ref().is_some_and(|c| c.heal.needs_human)));
    let field = move |f: fn(&ContainerFrame) -> String| {
        move || c.with(|c| c.as_ref().map(f).unwrap_or_default())
    };

    view! {
        <nav class="crumbs"><a href="/">"← Fleet"</a></nav>
        <Show when=move || c.with(Option::is_none)>
            <p class="placeholder" data-testid="not-found">"No container " {key} " on this host right now."</p>
        </Show>
        <article class=move || format!("detail level-{}", level().as_str().to_lowercase()) data-testid="detail">
            <header class="detail-head">
                <div>
                    <h1 data-testid="detail-name">{name}</h1>
                    <div class="image">{field(|c| format!("{} · {} · {}", c.info.image, c.info.short_id(), c.info.status.as_str()))}</div>
                </div>
                <div class=move || format!("semaphore big {}", level().as_str().to_lowercase()) data-testid="semaphore">
                    <span aria-hidden="true">{move || level().icon()}</span> " " {move || level().as_str()}
                </div>
            </header>
            <section class="facts">
                <div><span class="label">"CPU"</span><b>{field(|c| c.sample.map(|s| format::pct(s.cpu_pct)).unwrap_or_default())}</b></div>
                <div><span class="label">{field(|c| format!("PREDICTION (t+{:.0} s)", c.assessment.as_ref().map_or(10.0, |a| a.cpu.horizon_s)))}</span><b>{field(|c| c.assessment.as_ref().map(|a| format!("{} ({}–{})", format::pct(a.cpu.value), format::pct(a.cpu.lo95), format::pct(a.cpu.hi95))).unwrap_or_default())}</b></div>
                <div><span class="label">"RISK"</span><b data-testid="detail-risk">{field(|c| c.assessment.as_ref().map(|a| format!("{:.0} %", a.failure_probability)).unwrap_or_default())}</b></div>
                <div><span class="label">"MEMORY"</span><b>{field(|c| c.sample.map(|s| format!("{} / {}", format::bytes(s.mem_bytes as f64), format::bytes(s.mem_limit_bytes as f64))).unwrap_or_default())}</b></div>
                <div><span class="label">"TIME TO LIMIT"</span><b>{field(|c| c.assessment.as_ref().and_then(|a| a.time_to_limit_s).map(format::duration_s).unwrap_or_else(|| "—".into()))}</b></div>
                <div><span class="label">"HEALING"</span><b class=move || c.with(|c| c.as_ref().map(|c| mode_word(c).0).unwrap_or_default())>{move || c.with(|c| c.as_ref().map(|c| mode_word(c).1).unwrap_or_default())}</b></div>
                <div><span class="label">"INTERVENTIONS"</span><b>{field(|c| c.heal.interventions.to_string())}</b></div>
                <div><span class="label">"CRITICAL ENTRIES"</span><b>{field(|c| c.heal.critical_entries.to_string())}</b></div>
            </section>
            {move || c.with(|c| c.as_ref().and_then(|c| c.heal.open_incident.clone())).map(|i| view! {
                <p class="open-incident">"Incident open: " <code>{i.clone()}</code> " " <DownloadAudit incident=i /></p>
            })}
            <div class="range" role="group" aria-label="time range">
                {[("60", "1 min"), ("120", "2 min"), ("300", "5 min")].into_iter().map(|(v, label)| view! {
                    <button class=move || if range().to_string() == v { "on" } else { "" } on:click=move |_| set_range(v)>{label}</button>
                }).collect_view()}
            </div>
            <TimeChart data=cpu_data fmt=|v| format!("{v:.0} %") label="CPU: measured vs forecast (the forecast is drawn at the time it predicts)" />
            <TimeChart data=mem_data fmt=mem_tick label="Memory vs limit" />
            <section class="panel">
                <h3>"Why"</h3>
                <ol class="reasons" data-testid="reasons">
                    {move || c.with(|c| c.as_ref().and_then(|c| c.assessment.as_ref()).map(|a| a.reasons.iter().map(|r| view! {
                        <li><span class="w">{format!("{:.0} %", r.weight * 100.0)}</span> " " {r.text.clone()}</li>
                    }).collect_view()))}
                </ol>
                <p class="zs">{field(|c| c.assessment.as_ref().map(|a| format!("z-scores against its own baseline — CPU {:.1} · memory {:.1} · network {:.1} · PIDs {:.1}", a.z.cpu, a.z.mem, a.z.net, a.z.pids)).unwrap_or_default())}</p>
            </section>
            <ProbableCause container=Signal::derive(move || name_memo.get()) />
            <Actions container=Signal::derive(name) needs_human=needs_human />
            <section class="panel">
                <h3>"Incidents"</h3>
                {move || match incidents.get() {
                    None => view! { <p class="hint">"loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="err">{e}</p> }.into_any(),
                    Some(Ok(page)) => view! { <IncidentRows items=page.items /> }.into_any(),
                }}
            </section>
            <section class="panel">
                <h3>"Interventions"</h3>
                {move || match interventions.get() {
                    None => view! { <p class="hint">"loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="err">{e}</p> }.into_any(),
                    Some(Ok(page)) => view! { <InterventionRows items=page.items /> }.into_any(),
                }}
            </section>
        </article>
    }
    .into_any()
}

#[component]
pub fn InterventionRows(items: Vec<Intervention>) -> AnyView {
    if items.is_empty() {
        return view! { <p class="hint">"None yet."</p> }.into_any();
    }
    view! {
        <table class="list" data-testid="interventions-table">
            <thead><tr><th>"when"</th><th>"action"</th><th>"mode"</th><th>"outcome"</th><th>"why"</th></tr></thead>
            <tbody>
                {items.into_iter().map(|i| view! {
                    <tr>
                        <td class="mono">{format::clock(i.decided_ms)}</td>
                        <td>{i.action.as_str()}{i.manual.then_some(" (manual)")}</td>
                        <td>{i.mode.as_str()}</td>
                        <td class=format!("outcome-{}", i.outcome.as_str())>{i.outcome.as_str()}</td>
                        <td>{i.reason}{i.detail.map(|d| format!(" — {d}"))}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::chart::tick_step;

    #[test]
    fn memory_ticks_never_repeat_a_label() {
        for y_max in [1.9, 3.0, 70.0, 300.0, 2800.0] {
            let step = tick_step(y_max);
            let labels: Vec<String> = (0..=((y_max / step) as usize))
                .map(|k| mem_tick(k as f64 * step))
                .collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique, labels, "axis up to {y_max} MiB");
        }
    }
}
