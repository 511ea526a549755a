//! Root-cause hints in the dashboard: "why did it fail?" on the container page and under each
//! incident. Quoted log lines are the container's own text: they are rendered as text nodes
//! only (never as markup), and the server has already cut and cleaned them.

use crate::api;
use crate::format;
use crate::live::Live;
use crate::wire::{Diagnosis, Hint, Page};
use leptos::prelude::*;
use std::collections::HashMap;

#[component]
fn HintItem(h: Hint) -> impl IntoView {
    let word = h.confidence_word();
    view! {
        <li data-testid="hint" data-kind=h.kind.clone()>
            <span class=format!("conf {word}") title="how sure DockerPulse is">
                {format!("{word} {:.0} %", h.confidence * 100.0)}
            </span>
            " " <span class="sentence">{h.sentence}</span>
            {(!h.lines.is_empty()).then(|| view! {
                <pre class="log" data-testid="hint-lines">
                    {h.lines.into_iter().map(|l| view! {
                        <span class=format!("line {}", l.stream.as_str())>
                            <span class="ts">{l.ts_ms.map(format::clock).unwrap_or_default()} " " {l.stream.as_str()} " "</span>
                            {l.text}
                            {l.truncated.then_some(" …(cut)")}
                            "\n"
                        </span>
                    }).collect_view()}
                </pre>
            })}
        </li>
    }
}

/// One diagnosis: what prompted it, how much log was read, and the ranked hints.
#[component]
pub fn DiagnosisView(d: Diagnosis) -> impl IntoView {
    let logs = match &d.logs.skipped {
        Some(why) => format!("log not read: {why}"),
        None => format!(
            "{} log lines read{}",
            d.logs.lines,
            if d.logs.truncated {
                " (older or longer lines cut)"
            } else {
                ""
            }
        ),
    };
    view! {
        <div class="diagnosis" data-testid="diagnosis">
            <p class="hint">{format!("{} · {} · {logs}", format::clock(d.ts_ms), d.trigger)}
                {d.simulated.then_some(" · SIMULATED")}</p>
            {if d.hints.is_empty() {
                view! { <p class="hint">"The evidence pointed at no probable cause."</p> }.into_any()
            } else {
                view! {
                    <ol class="hints">
                        {d.hints.into_iter().map(|h| view! { <HintItem h=h /> }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </div>
    }
}

/// The container page's panel: the latest diagnosis of the container.
#[component]
pub fn ProbableCause(container: Signal<String>) -> impl IntoView {
    let live = expect_context::<Live>();
    let rev = Memo::new(move |_| {
        live.frame
            .with(|f| f.as_ref().map_or(0, |f| f.incidents_rev))
    });
    let latest = LocalResource::new(move || {
        rev.track();
        let url = format!(
            "/api/hints?container={}&limit=1",
            api::enc(&container.get())
        );
        async move { api::get::<Page<Diagnosis>>(&url).await }
    });
    view! {
        <section class="panel" data-testid="probable-cause">
            <h3>"Why did it fail?"</h3>
            {move || match latest.get() {
                None => view! { <p class="hint">"loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="err">{e}</p> }.into_any(),
                Some(Ok(page)) => match page.items.into_iter().next() {
                    Some(d) => view! { <DiagnosisView d=d /> }.into_any(),
                    None => view! { <p class="hint">"No failure analysed yet: hints are gathered when an incident opens or the container dies."</p> }.into_any(),
                },
            }}
        </section>
    }
}

/// The newest diagnosis of each incident among the latest ones (for the incident tables).
pub fn by_incident(items: Vec<Diagnosis>) -> HashMap<String, Diagnosis> {
    let mut out = HashMap::new();
    // Newest first: the first one seen for an incident wins.
    for d in items {
        if let Some(id) = d.incident_id.clone() {
            out.entry(id).or_insert(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_diagnosis_of_an_incident_is_kept() {
        let d = |id: i64, inc: Option<&str>| Diagnosis {
            id,
            incident_id: inc.map(String::from),
            ..Diagnosis::default()
        };
        let m = by_incident(vec![
            d(3, Some("a")),
            d(2, None),
            d(1, Some("a")),
            d(0, Some("b")),
        ]);
        assert_eq!(m.len(), 2);
        assert_eq!(m["a"].id, 3);
    }
}
