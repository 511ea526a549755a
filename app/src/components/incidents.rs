//! The incidents view: a timeline and a table of incidents (open or closed, per container),
//! filters kept in the URL, and the audit download of each.

use super::card::DownloadAudit;
use super::hints::{by_incident, DiagnosisView};
use super::set_query_param;
use crate::api;
use crate::format;
use crate::live::Live;
use crate::wire::{
    DeliveryState, DestinationStatus, Diagnosis, Incident, IncidentState, NotifyStatus, Page,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use std::collections::HashMap;

const TL_W: f64 = 1000.0;
const TL_ROW: f64 = 18.0;

/// Bars of a timeline: (x, width, row, class, title) over `[t0, t1]`.
pub fn timeline(items: &[Incident], t0: i64, t1: i64) -> Vec<(f64, f64, f64, String, String)> {
    let span = (t1 - t0).max(1) as f64;
    let mut names: Vec<&str> = items.iter().map(|i| i.container_name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    items
        .iter()
        .map(|i| {
            let end = i.closed_ms.unwrap_or(t1);
            let x = ((i.opened_ms - t0) as f64 / span * TL_W).clamp(0.0, TL_W);
            let w = ((end - i.opened_ms) as f64 / span * TL_W).max(3.0);
            let row = names.binary_search(&i.container_name.as_str()).unwrap_or(0) as f64;
            let class = format!(
                "bar {} {}",
                i.peak_level.as_str().to_lowercase(),
                if i.closed_ms.is_none() {
                    "open"
                } else {
                    "closed"
                }
            );
            (
                x,
                w,
                row,
                class,
                format!("{} — {}", i.container_name, i.trigger),
            )
        })
        .collect()
}

/// The incidents, each with its probable cause when hints were gathered for it (`causes`, by
/// incident id).
#[component]
pub fn IncidentRows(
    items: Vec<Incident>,
    #[prop(optional)] causes: HashMap<String, Diagnosis>,
    /// Another node's incidents (on a hub): their reports are written and kept on that node.
    #[prop(optional)]
    on_node: Option<String>,
) -> AnyView {
    if items.is_empty() {
        return view! { <p class="hint" data-testid="no-incidents">"No incidents."</p> }.into_any();
    }
    view! {
        <table class="list" data-testid="incidents-table">
            <thead><tr><th>"opened"</th><th>"container"</th><th>"state"</th><th>"level"</th><th>"trigger"</th><th>"actions"</th><th>"duration"</th><th></th></tr></thead>
            <tbody>
                {items.into_iter().map(|i| {
                    let state = match i.state { IncidentState::Open => "open", IncidentState::Closed => "closed" };
                    let seal = if i.forced_restart { " · forced restart" } else { "" };
                    let cause = causes.get(&i.id).cloned();
                    view! {
                        <tr data-testid="incident-row" data-incident=i.id.clone() class=format!("state-{state}")>
                            <td class="mono">{format::clock(i.opened_ms)}</td>
                            <td><a href=format!("/containers/{}", api::enc(&i.container_name))>{i.container_name.clone()}</a>
                                {i.simulated.then_some(" (SIMULATED)")}</td>
                            <td>{state}</td>
                            <td class=format!("lvl {}", i.peak_level.as_str().to_lowercase())>{i.peak_level.icon()} " " {i.peak_level.as_str()} {format!(" {:.0} %", i.peak_probability)}</td>
                            <td>{i.trigger.clone()}</td>
                            <td>{format!("{}{seal}", i.interventions)}</td>
                            <td>{i.closed_ms.map(|c| format::duration_s((c - i.opened_ms) as f64 / 1000.0)).unwrap_or_else(|| "ongoing".into())}</td>
                            <td>{match &on_node {
                                None => view! { <DownloadAudit incident=i.id.clone() /> }.into_any(),
                                Some(n) => view! { <span class="hint">{format!("report on {n}")}</span> }.into_any(),
                            }}</td>
                        </tr>
                        {cause.map(|d| {
                            let top = d.top().map(|h| h.sentence.clone()).unwrap_or_else(|| "no probable cause found".into());
                            view! {
                                <tr class="cause-row" data-testid="incident-cause" data-incident=i.id.clone()>
                                    <td></td>
                                    <td colspan="7">
                                        <details>
                                            <summary><b>"Probable cause: "</b>{top}</summary>
                                            <DiagnosisView d=d />
                                        </details>
                                    </td>
                                </tr>
                            }
                        })}
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// One alert destination in words: how its deliveries are doing.
pub fn delivery_line(d: &DestinationStatus) -> String {
    let mut s = format!(
        "{} ({}, {}): {} · {} delivered",
        d.name,
        d.kind,
        d.target,
        d.state.as_str(),
        d.delivered
    );
    if d.pending > 0 {
        s.push_str(&format!(" · {} waiting", d.pending));
    }
    if d.failed_attempts > 0 {
        s.push_str(&format!(" · {} failed attempts", d.failed_attempts));
    }
    if d.expired > 0 {
        s.push_str(&format!(" · {} given up", d.expired));
    }
    if d.disabled > 0 {
        s.push_str(&format!(" · {} not sent", d.disabled));
    }
    if let Some(r) = &d.reason {
        s.push_str(&format!(" — {r}"));
    } else if d.state != DeliveryState::Ok {
        if let Some(e) = &d.last_error {
            s.push_str(&format!(" — last error: {e}"));
        }
    }
    s
}

/// Where incidents are announced (Alertmanager, webhooks) and how deliveries are doing; shown
/// only when some destination is configured.
#[component]
fn Deliveries(rev: Memo<u64>) -> impl IntoView {
    let status = LocalResource::new(move || {
        rev.track();
        async move { api::get::<NotifyStatus>("/api/notify").await }
    });
    move || {
        let Some(Ok(s)) = status.get() else {
            return ().into_any();
        };
        if s.destinations.is_empty() {
            return ().into_any();
        }
        view! {
            <section class="deliveries" data-testid="deliveries">
                <h2>"Alerts"</h2>
                <ul>
                    {s.destinations.iter().map(|d| {
                        let class = if d.state == DeliveryState::Ok { "ok" } else { "err" };
                        view! { <li class=class data-state=d.state.as_str()>{delivery_line(d)}</li> }
                    }).collect_view()}
                </ul>
            </section>
        }
        .into_any()
    }
}

#[component]
pub fn Incidents() -> AnyView {
    let live = expect_context::<Live>();
    let query = use_query_map();
    let state = move || query.with(|q| q.get("state").unwrap_or_default());
    let container = move || query.with(|q| q.get("container").unwrap_or_default());
    // Refetch when something was recorded or the filters change, not every tick.
    let rev = Memo::new(move |_| {
        live.frame
            .with(|f| f.as_ref().map_or(0, |f| f.incidents_rev))
    });
    let list = LocalResource::new(move || {
        rev.track();
        let mut url = "/api/incidents?limit=200".to_string();
        if matches!(state().as_str(), "open" | "closed") {
            url.push_str(&format!("&state={}", state()));
        }
        if !container().is_empty() {
            url.push_str(&format!("&container={}", api::enc(&container())));
        }
        async move { api::get::<Page<Incident>>(&url).await }
    });
    // The latest hints, matched to the incidents shown.
    let causes = LocalResource::new(move || {
        rev.track();
        async move { api::get::<Page<Diagnosis>>("/api/hints?limit=200").await }
    });
    let set =
        move |key: &'static str, value: String| set_query_param("/incidents", query, key, value);
    let now = move || live.frame.with(|f| f.as_ref().map_or(0, |f| f.ts_ms));
    view! {
        <nav class="crumbs"><a href="/">"← Fleet"</a></nav>
        <h1>"Incidents"</h1>
        <Deliveries rev=rev />
        <section class="filters">
            <label>"state "
                <select data-testid="state-filter" prop:value=state on:change=move |ev| set("state", event_target_value(&ev))>
                    <option value="">"all"</option>
                    <option value="open">"open"</option>
                    <option value="closed">"closed"</option>
                </select>
            </label>
            <input type="search" placeholder="container name" data-testid="container-filter"
                prop:value=container on:change=move |ev| set("container", event_target_value(&ev)) />
        </section>
        {move || match list.get() {
            None => view! { <p class="hint">"loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="err">{e}</p> }.into_any(),
            Some(Ok(page)) => {
                let t1 = now().max(page.items.iter().map(|i| i.closed_ms.unwrap_or(i.opened_ms)).max().unwrap_or(0));
                let t0 = page.items.iter().map(|i| i.opened_ms).min().unwrap_or(t1 - 3_600_000).min(t1 - 60_000);
                let bars = timeline(&page.items, t0, t1);
                let rows = bars.iter().map(|b| b.2).fold(0.0, f64::max) + 1.0;
                view! {
                    <figure class="timeline" data-testid="timeline">
                        <figcaption>{format!("{} incident(s) from {} to {}", page.total, format::clock(t0), format::clock(t1))}</figcaption>
                        <svg viewBox=format!("0 0 {TL_W} {}", rows * TL_ROW + 4.0) preserveAspectRatio="none">
                            {bars.into_iter().map(|(x, w, row, class, title)| view! {
                                <rect class=class x=x y=row * TL_ROW + 2.0 width=w height=TL_ROW - 4.0><title>{title}</title></rect>
                            }).collect_view()}
                        </svg>
                    </figure>
                    <IncidentRows items=page.items causes=causes.get().and_then(Result::ok).map(|p| by_incident(p.items)).unwrap_or_default() />
                }.into_any()
            }
        }}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::RiskLevel;

    fn inc(name: &str, opened: i64, closed: Option<i64>) -> Incident {
        Incident {
            id: format!("{name}-{opened}"),
            container_id: String::new(),
            container_name: name.into(),
            image: String::new(),
            labels: Default::default(),
            host: String::new(),
            engine_version: String::new(),
            simulated: false,
            state: if closed.is_some() {
                IncidentState::Closed
            } else {
                IncidentState::Open
            },
            opened_ms: opened,
            closed_ms: closed,
            trigger: "t".into(),
            close_reason: None,
            peak_probability: 90.0,
            peak_level: RiskLevel::Critical,
            reasons: Vec::new(),
            cpu_quota_pct: None,
            interventions: 0,
            forced_restart: false,
        }
    }

    #[test]
    fn a_delivery_line_says_what_is_wrong() {
        let d = DestinationStatus {
            name: "hook".into(),
            kind: "generic".into(),
            target: "http://127.0.0.1:9".into(),
            state: DeliveryState::Retrying,
            delivered: 2,
            pending: 1,
            failed_attempts: 3,
            last_error: Some("answered 503 Service Unavailable".into()),
            ..DestinationStatus::default()
        };
        assert_eq!(
            delivery_line(&d),
            "hook (generic, http://127.0.0.1:9): retrying · 2 delivered · 1 waiting · 3 failed attempts — last error: answered 503 Service Unavailable"
        );
    }

    #[test]
    fn timeline_bars_are_placed_in_time_and_by_container() {
        let items = vec![inc("web", 0, Some(500)), inc("db", 500, None)];
        let bars = timeline(&items, 0, 1000);
        assert_eq!((bars[0].0, bars[0].1, bars[0].2), (0.0, 500.0, 1.0));
        assert_eq!((bars[1].0, bars[1].1, bars[1].2), (500.0, 500.0, 0.0));
        assert!(bars[1].3.contains("open"));
    }
}
