//! The cluster view of a hub: every node with its agent's health, the Docker Swarm's services
//! and tasks (desired and current state) as the manager describes them, and each node's
//! incidents and interventions as its agent sent them.

use super::actions::ServiceRestart;
use super::incidents::IncidentRows;
use crate::api;
use crate::format;
use crate::live::Live;
use crate::wire::{Incident, Intervention, NodeStatus, SwarmView};
use leptos::prelude::*;

/// Ticks between two reads of the swarm (the server reads it every 5 s).
const SWARM_EVERY_TICKS: u64 = 5;

#[component]
fn NodeRecords(node: String) -> AnyView {
    let live = expect_context::<Live>();
    // Refetch when the node's figures change enough to matter, not every tick.
    let rev = Memo::new(move |_| {
        live.frame
            .with(|f| f.as_ref().map_or(0, |f| f.seq / SWARM_EVERY_TICKS))
    });
    let node_name = node.clone();
    let n = node.clone();
    let incidents = LocalResource::new(move || {
        rev.track();
        let url = format!("/api/nodes/{}/incidents", api::enc(&n));
        async move { api::get::<Vec<Incident>>(&url).await }
    });
    let n = node.clone();
    let interventions = LocalResource::new(move || {
        rev.track();
        let url = format!("/api/nodes/{}/interventions", api::enc(&n));
        async move { api::get::<Vec<Intervention>>(&url).await }
    });
    view! {
        <section class="node-records" data-testid="node-records" data-node=node.clone()>
            <h2>{format!("{node}: incidents")}</h2>
            {move || match incidents.get() {
                None => view! { <p class="hint">"loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="err">{e}</p> }.into_any(),
                Some(Ok(items)) => view! { <IncidentRows items=items on_node=node_name.clone() /> }.into_any(),
            }}
            <h2>{format!("{node}: interventions")}</h2>
            {move || match interventions.get() {
                None => view! { <p class="hint">"loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="err">{e}</p> }.into_any(),
                Some(Ok(items)) if items.is_empty() => view! { <p class="hint">"none"</p> }.into_any(),
                Some(Ok(items)) => view! {
                    <table class="interventions" data-testid="node-interventions">
                        <thead><tr><th>"when"</th><th>"container"</th><th>"action"</th><th>"mode"</th><th>"outcome"</th><th>"why"</th></tr></thead>
                        <tbody>
                            {items.into_iter().map(|i| view! {
                                <tr>
                                    <td>{format::clock(i.decided_ms)}</td>
                                    <td>{i.container_name}</td>
                                    <td>{i.action.as_str()}{if i.manual { " (manual)" } else { "" }}</td>
                                    <td>{i.mode.as_str()}</td>
                                    <td>{i.outcome.as_str()}</td>
                                    <td>{i.detail.unwrap_or(i.reason)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
    .into_any()
}

#[component]
pub fn Cluster() -> AnyView {
    let live = expect_context::<Live>();
    let nodes = Memo::new(move |_| {
        live.frame
            .with(|f| f.as_ref().map(|f| f.nodes.clone()).unwrap_or_default())
    });
    let names =
        Memo::new(move |_| nodes.with(|n| n.iter().map(|n| n.name.clone()).collect::<Vec<_>>()));
    let tick = Memo::new(move |_| {
        live.frame
            .with(|f| f.as_ref().map_or(0, |f| f.seq / SWARM_EVERY_TICKS))
    });
    let swarm = LocalResource::new(move || {
        tick.track();
        async move { api::get::<SwarmView>("/api/swarm").await }
    });
    let row = |s: NodeStatus| {
        let state = s.state.as_str();
        view! {
            <tr class=format!("node-row {state}") data-testid="cluster-node" data-node=s.name.clone() data-state=state>
                <td>{s.name.clone()}</td>
                <td>{state}</td>
                <td>{s.containers}</td>
                <td>{format!("{} ms", s.lag_ms)}</td>
                <td>{format::clock(s.last_seen_ms)}</td>
                <td>{s.version.clone()}</td>
                <td>{s.detail.clone().unwrap_or_default()}</td>
            </tr>
        }
    };
    view! {
        <nav class="crumbs"><a href="/">"← Fleet"</a></nav>
        <h1>"Cluster"</h1>
        <section>
            <h2>"Nodes"</h2>
            {move || {
                let n = nodes.get();
                if n.is_empty() {
                    view! { <p class="hint" data-testid="no-nodes">"No agent streams to this DockerPulse: it watches one host."</p> }.into_any()
                } else {
                    view! {
                        <table class="nodes-table">
                            <thead><tr><th>"node"</th><th>"agent"</th><th>"containers"</th><th>"lag"</th><th>"last seen"</th><th>"version"</th><th></th></tr></thead>
                            <tbody>{n.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }
            }}
        </section>
        <section data-testid="swarm">
            <h2>"Swarm services"</h2>
            {move || match swarm.get() {
                None => view! { <p class="hint">"loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="err">{e}</p> }.into_any(),
                Some(Ok(v)) if !v.manager => view! {
                    <p class="hint">{format!("Not read from a Swarm manager: {}", v.error.unwrap_or_else(|| "not read yet".into()))}</p>
                }.into_any(),
                Some(Ok(v)) => v.services.into_iter().map(|s| view! {
                    <details class="service" data-testid="swarm-service" data-service=s.name.clone() open>
                        <summary>{format!("{} · {} · {} running{}", s.name, s.mode, s.running,
                            s.desired.map(|d| format!(" of {d}")).unwrap_or_default())}</summary>
                        <ServiceRestart service=s.name.clone() />
                        <table class="tasks">
                            <thead><tr><th>"slot"</th><th>"node"</th><th>"desired"</th><th>"current"</th><th>"since"</th><th>"container"</th><th>"message"</th></tr></thead>
                            <tbody>
                                {s.tasks.into_iter().map(|t| view! {
                                    <tr class=format!("task {}", t.state) data-testid="swarm-task" data-desired=t.desired_state.clone()>
                                        <td>{t.slot.map(|s| s.to_string()).unwrap_or_default()}</td>
                                        <td>{t.node}</td>
                                        <td>{t.desired_state.clone()}</td>
                                        <td>{t.state.clone()}</td>
                                        <td>{t.since_ms.map(format::clock).unwrap_or_default()}</td>
                                        <td>{t.container_id.map(|c| c.chars().take(12).collect::<String>()).unwrap_or_default()}</td>
                                        <td>{t.message}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </details>
                }).collect_view().into_any(),
            }}
        </section>
        <For each=move || names.get() key=|n| n.clone() let:node>
            <NodeRecords node=node />
        </For>
    }
    .into_any()
}
