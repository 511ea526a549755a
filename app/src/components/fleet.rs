//! The fleet grid: one card per container.

use super::card::Card;
use crate::live::Live;
use leptos::prelude::*;

#[component]
pub fn Fleet() -> AnyView {
    let live = expect_context::<Live>();
    let ids = Memo::new(move |_| {
        live.frame.with(|f| {
            f.as_ref()
                .map(|f| {
                    f.containers
                        .iter()
                        .map(|c| c.info.id.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let empty = move || {
        live.frame
            .with(|f| f.as_ref().is_some_and(|f| f.containers.is_empty()))
    };
    let waiting = move || live.frame.with(Option::is_none);
    view! {
        <Show when=waiting>
            <p class="placeholder" data-testid="waiting">"Waiting for the first live frame…"</p>
        </Show>
        <Show when=empty>
            <p class="placeholder" data-testid="no-containers">"No running containers on this engine yet. Start one and it appears here within a second."</p>
        </Show>
        <section class="fleet" data-testid="fleet">
            <For each=move || ids.get() key=|id| id.clone() let:id>
                <Card id=id />
            </For>
        </section>
    }
    .into_any()
}
