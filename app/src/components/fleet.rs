//! The fleet view: a summary bar, search / level filter / sort (kept in the URL so a reload or
//! a shared link shows the same), and one card per container, of which only those on or near
//! the screen are rendered ([`super::virtual_grid`]).

use super::card::Card;
use super::set_query_param;
use super::virtual_grid::{self, GridWindow, Viewport};
use crate::live::Live;
use crate::wire::{ContainerFrame, RiskLevel};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// How the grid is ordered.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SortBy {
    Risk,
    Name,
    Cpu,
    Memory,
}

impl SortBy {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("name") => SortBy::Name,
            Some("cpu") => SortBy::Cpu,
            Some("memory") => SortBy::Memory,
            _ => SortBy::Risk,
        }
    }
}

fn level(c: &ContainerFrame) -> RiskLevel {
    c.assessment.as_ref().map_or(RiskLevel::Low, |a| a.level)
}

/// Risk order that does not reshuffle on every tick: level first, then probability in 10 %
/// steps, then name.
fn risk_key(c: &ContainerFrame) -> (std::cmp::Reverse<RiskLevel>, std::cmp::Reverse<i64>, String) {
    let p = c.assessment.as_ref().map_or(0.0, |a| a.failure_probability);
    (
        std::cmp::Reverse(level(c)),
        std::cmp::Reverse((p / 10.0).floor() as i64),
        c.info.name.clone(),
    )
}

/// The ids to show, filtered and ordered.
pub fn visible(
    containers: &[ContainerFrame],
    search: &str,
    only: Option<RiskLevel>,
    node: Option<&str>,
    sort: SortBy,
) -> Vec<String> {
    let needle = search.trim().to_lowercase();
    let mut v: Vec<&ContainerFrame> = containers
        .iter()
        .filter(|c| {
            needle.is_empty()
                || c.info.name.to_lowercase().contains(&needle)
                || c.info.image.to_lowercase().contains(&needle)
                || c.info.id.starts_with(&needle)
        })
        .filter(|c| only.is_none_or(|l| level(c) == l))
        .filter(|c| node.is_none_or(|n| c.info.node.as_deref() == Some(n)))
        .collect();
    match sort {
        SortBy::Risk => v.sort_by_key(|c| risk_key(c)),
        SortBy::Name => v.sort_by(|a, b| a.info.name.cmp(&b.info.name)),
        SortBy::Cpu => v.sort_by(|a, b| {
            let cpu = |c: &ContainerFrame| c.sample.map_or(0.0, |s| s.cpu_pct);
            cpu(b).total_cmp(&cpu(a))
        }),
        SortBy::Memory => v.sort_by(|a, b| {
            let frac = |c: &ContainerFrame| {
                c.sample
                    .filter(|s| s.mem_limit_bytes > 0)
                    .map_or(0.0, |s| s.mem_bytes as f64 / s.mem_limit_bytes as f64)
            };
            frac(b).total_cmp(&frac(a))
        }),
    }
    v.into_iter().map(|c| c.info.id.clone()).collect()
}

#[component]
pub fn Summary() -> AnyView {
    let live = expect_context::<Live>();
    let counts = Memo::new(move |_| {
        live.frame.with(|f| {
            let mut n = [0usize; 3];
            let mut open = 0;
            let mut human = 0;
            if let Some(f) = f {
                for c in &f.containers {
                    n[level(c) as usize] += 1;
                    open += usize::from(c.heal.open_incident.is_some());
                    human += usize::from(c.heal.needs_human);
                }
            }
            (n, open, human)
        })
    });
    let healing = move || {
        live.frame
            .with(|f| f.as_ref().map(|f| f.healing.clone()).unwrap_or_default())
    };
    // Before the first frame nothing is known: say so rather than show the defaults as facts.
    let policy = move || {
        live.frame.with(|f| {
            f.as_ref().map_or(("—", "—".to_string()), |f| {
                (
                    f.healing.mode.as_str(),
                    format!("{:.0} %", f.healing.threshold_pct),
                )
            })
        })
    };
    view! {
        <section class="summary" data-testid="summary" aria-label="fleet summary">
            <span class="count critical" data-testid="count-critical">{RiskLevel::Critical.icon()} " " {move || counts.get().0[2]} " CRITICAL"</span>
            <span class="count medium" data-testid="count-medium">{RiskLevel::Medium.icon()} " " {move || counts.get().0[1]} " MEDIUM"</span>
            <span class="count low" data-testid="count-low">{RiskLevel::Low.icon()} " " {move || counts.get().0[0]} " LOW"</span>
            <span class="sep"></span>
            <span data-testid="open-incidents">{move || counts.get().1} " open incident(s)"</span>
            <span data-testid="interventions-today">"interventions today: " {move || healing().interventions_today}</span>
            <span>"healing: " <b>{move || policy().0}</b> " at ≥ " {move || policy().1}</span>
            {move || (counts.get().2 > 0).then(|| view! { <span class="human">{counts.get().2} " need a human"</span> })}
            <a class="nav" href="/incidents">"Incidents →"</a>
            {move || live.frame.with(|f| f.as_ref().is_some_and(|f| !f.nodes.is_empty())).then(|| view! {
                <a class="nav" href="/cluster" data-testid="cluster-link">"Cluster →"</a>
            })}
        </section>
    }
    .into_any()
}

#[component]
pub fn Fleet() -> AnyView {
    let live = expect_context::<Live>();
    let query = use_query_map();
    let search = move || query.with(|q| q.get("q").unwrap_or_default());
    let only = move || {
        query.with(|q| match q.get("level").as_deref() {
            Some("critical") => Some(RiskLevel::Critical),
            Some("medium") => Some(RiskLevel::Medium),
            Some("low") => Some(RiskLevel::Low),
            _ => None,
        })
    };
    let sort = move || query.with(|q| SortBy::parse(q.get("sort").as_deref()));
    let node = move || query.with(|q| q.get("node").filter(|n| !n.is_empty()));
    let nodes = Memo::new(move |_| {
        live.frame.with(|f| {
            f.as_ref()
                .map(|f| f.nodes.iter().map(|n| n.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let ids = Memo::new(move |_| {
        let (s, o, n, so) = (search(), only(), node(), sort());
        live.frame.with(|f| {
            f.as_ref()
                .map(|f| visible(&f.containers, &s, o, n.as_deref(), so))
                .unwrap_or_default()
        })
    });
    let set = move |key: &'static str, value: String| set_query_param("/", query, key, value);
    let empty = move || {
        live.frame
            .with(|f| f.as_ref().is_some_and(|f| f.containers.is_empty()))
    };
    let waiting = move || live.frame.with(Option::is_none);
    let grid = NodeRef::<leptos::html::Section>::new();
    let viewport = RwSignal::new(Viewport::default());
    let count = Memo::new(move |_| ids.with(Vec::len));
    virtual_grid::track(grid, viewport, count);
    let window = Memo::new(move |_| GridWindow::of(count.get(), viewport.get()));
    let shown = Memo::new(move |_| {
        let w = window.get();
        ids.with(|ids| ids[w.range(ids.len())].to_vec())
    });
    let spacing = move || {
        let w = window.get();
        format!("padding-top:{}px;height:{}px", w.pad_top(), w.height())
    };
    view! {
        <Summary/>
        <section class="filters" aria-label="filters">
            <input type="search" placeholder="search name, image or id" data-testid="search"
                prop:value=search
                on:input=move |ev| set("q", event_target_value(&ev)) />
            <label>"level "
                <select data-testid="level-filter" prop:value=move || query.with(|q| q.get("level").unwrap_or_default())
                    on:change=move |ev| set("level", event_target_value(&ev))>
                    <option value="">"all"</option>
                    <option value="critical">"CRITICAL"</option>
                    <option value="medium">"MEDIUM"</option>
                    <option value="low">"LOW"</option>
                </select>
            </label>
            <Show when=move || nodes.with(|n| !n.is_empty())>
                <label>"node "
                    <select data-testid="node-filter" prop:value=move || node().unwrap_or_default()
                        on:change=move |ev| set("node", event_target_value(&ev))>
                        <option value="">"all"</option>
                        <For each=move || nodes.get() key=|n| n.clone() let:n>
                            <option value=n.clone()>{n.clone()}</option>
                        </For>
                    </select>
                </label>
            </Show>
            <label>"sort by "
                <select data-testid="sort" prop:value=move || query.with(|q| q.get("sort").unwrap_or_default())
                    on:change=move |ev| set("sort", event_target_value(&ev))>
                    <option value="">"risk"</option>
                    <option value="name">"name"</option>
                    <option value="cpu">"CPU"</option>
                    <option value="memory">"memory"</option>
                </select>
            </label>
            <span class="shown">{move || ids.with(Vec::len)} " shown"</span>
        </section>
        <Show when=waiting>
            <p class="placeholder" data-testid="waiting">"Waiting for the first live frame…"</p>
        </Show>
        <Show when=empty>
            <p class="placeholder" data-testid="no-containers">"No running containers on this engine yet. Start one and it appears here within a second."</p>
        </Show>
        <section class="fleet" data-testid="fleet" node_ref=grid style=spacing>
            <For each=move || shown.get() key=|id| id.clone() let:id>
                <Card id=id />
            </For>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Assessment, ContainerInfo, Sample};

    fn c(name: &str, level: RiskLevel, p: f64, cpu: f64) -> ContainerFrame {
        ContainerFrame {
            info: std::sync::Arc::new(ContainerInfo {
                id: format!("id-{name}"),
                name: name.into(),
                image: format!("{name}:latest"),
                ..ContainerInfo::default()
            }),
            sample: Some(Sample {
                cpu_pct: cpu,
                ..Sample::default()
            }),
            assessment: Some(Assessment {
                level,
                failure_probability: p,
                ..Assessment::default()
            }),
            heal: Default::default(),
        }
    }

    #[test]
    fn risk_first_then_filters_and_search() {
        let fleet = vec![
            c("a", RiskLevel::Low, 5.0, 90.0),
            c("b", RiskLevel::Critical, 81.0, 10.0),
            c("c", RiskLevel::Medium, 50.0, 20.0),
            c("d", RiskLevel::Critical, 99.0, 5.0),
        ];
        assert_eq!(
            visible(&fleet, "", None, None, SortBy::Risk),
            ["id-d", "id-b", "id-c", "id-a"]
        );
        assert_eq!(visible(&fleet, "", None, None, SortBy::Cpu)[0], "id-a");
        assert_eq!(
            visible(&fleet, "", Some(RiskLevel::Critical), None, SortBy::Name),
            ["id-b", "id-d"]
        );
        assert_eq!(visible(&fleet, "C:LAT", None, None, SortBy::Name), ["id-c"]);
    }

    #[test]
    fn the_node_filter_keeps_that_nodes_containers_only() {
        let mut fleet = vec![
            c("a", RiskLevel::Low, 5.0, 1.0),
            c("b", RiskLevel::Low, 5.0, 1.0),
            c("local", RiskLevel::Low, 5.0, 1.0),
        ];
        std::sync::Arc::make_mut(&mut fleet[0].info).node = Some("n1".into());
        std::sync::Arc::make_mut(&mut fleet[1].info).node = Some("n2".into());
        assert_eq!(
            visible(&fleet, "", None, Some("n2"), SortBy::Name),
            ["id-b"]
        );
        assert_eq!(visible(&fleet, "", None, None, SortBy::Name).len(), 3);
        assert!(visible(&fleet, "", None, Some("n9"), SortBy::Name).is_empty());
    }

    #[test]
    fn small_probability_changes_do_not_reorder() {
        let a = vec![
            c("x", RiskLevel::Low, 11.0, 0.0),
            c("y", RiskLevel::Low, 12.0, 0.0),
        ];
        let b = vec![
            c("x", RiskLevel::Low, 13.0, 0.0),
            c("y", RiskLevel::Low, 12.0, 0.0),
        ];
        assert_eq!(
            visible(&a, "", None, None, SortBy::Risk),
            visible(&b, "", None, None, SortBy::Risk)
        );
    }
}
