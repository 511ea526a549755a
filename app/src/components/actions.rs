//! Manual actions on a container (restart, pause, …), the breaker reset, and a Swarm service's
//! restart, with the admin token kept in the tab's session storage.

use crate::api;
use crate::wire::{HealAction, Intervention};
use leptos::prelude::*;

#[component]
pub fn Actions(
    #[prop(into)] container: Signal<String>,
    #[prop(into)] needs_human: Signal<bool>,
) -> AnyView {
    let token = RwSignal::new(String::new());
    Effect::new(move |_| token.set(api::stored_token()));
    let result = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let run = move |path: String| {
        let t = token.get_untracked();
        api::store_token(&t);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let url = format!(
                "/api/containers/{}/{path}",
                api::enc(&container.get_untracked())
            );
            let r = api::send::<serde_json::Value>("POST", &url, &t, None).await;
            let shown = r.map(
                |v| match serde_json::from_value::<Intervention>(v.clone()) {
                    Ok(i) => format!(
                        "{} {} ({}){}",
                        i.action.as_str(),
                        i.outcome.as_str(),
                        i.mode.as_str(),
                        i.detail.map(|d| format!(": {d}")).unwrap_or_default()
                    ),
                    Err(_) => v.to_string(),
                },
            );
            result.set(Some(shown));
            busy.set(false);
        });
    };
    let buttons = [
        HealAction::Restart,
        HealAction::Pause,
        HealAction::Unpause,
        HealAction::Isolate,
        HealAction::Throttle,
    ];
    view! {
        <section class="panel actions" aria-label="manual actions">
            <h3>"Manual actions"</h3>
            <p class="hint">"Need the admin token and a container that opted in (label dockerpulse.heal). In dry-run they are only recorded."</p>
            <input type="password" placeholder="admin token" autocomplete="off" data-testid="token"
                prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev)) />
            <div class="buttons">
                {buttons.into_iter().map(|a| view! {
                    <button data-testid=format!("action-{}", a.as_str()) prop:disabled=move || busy.get()
                        on:click=move |_| run(a.as_str().to_string())>{a.as_str()}</button>
                }).collect_view()}
                <Show when=move || needs_human.get()>
                    <button class="human" data-testid="reset-breaker" on:click=move |_| run("breaker/reset".into())>"reset breaker"</button>
                </Show>
            </div>
            {move || result.get().map(|r| match r {
                Ok(t) => view! { <p class="ok" data-testid="action-result">{t}</p> }.into_any(),
                Err(e) => view! { <p class="err" data-testid="action-result">{e}</p> }.into_any(),
            })}
        </section>
    }
    .into_any()
}

/// "restart service" for a Swarm service on the cluster page: a `service update --force` through
/// the hub (every task replaced by Swarm under the service's own update config). Shown only
/// once this tab knows the admin token (entered under a card's manual actions).
#[component]
pub fn ServiceRestart(service: String) -> AnyView {
    let token = RwSignal::new(String::new());
    Effect::new(move |_| token.set(api::stored_token()));
    let result = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let url = format!("/api/services/{}/restart", api::enc(&service));
    let run = move |_| {
        let (t, url) = (token.get_untracked(), url.clone());
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r = api::send::<Intervention>("POST", &url, &t, None).await;
            result.set(Some(r.map(|i| {
                format!(
                    "{} ({}){}",
                    i.outcome.as_str(),
                    i.mode.as_str(),
                    i.detail.map(|d| format!(": {d}")).unwrap_or_default()
                )
            })));
            busy.set(false);
        });
    };
    view! {
        <Show when=move || !token.with(String::is_empty)>
            <button class="service-restart" data-testid="service-restart" prop:disabled=move || busy.get()
                title="service update --force: Swarm replaces every task under the service's update config"
                on:click=run.clone()>"restart service"</button>
        </Show>
        {move || result.get().map(|r| match r {
            Ok(t) => view! { <p class="ok" data-testid="service-restart-result">{t}</p> }.into_any(),
            Err(e) => view! { <p class="err" data-testid="service-restart-result">{e}</p> }.into_any(),
        })}
    }
    .into_any()
}
