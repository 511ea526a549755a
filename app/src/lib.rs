//! DockerPulse's dashboard (leptos components, rendered on the server and hydrated in the
//! browser) and the wire types both sides share.

#![recursion_limit = "256"]
// Nothing outside tests may unwrap: a bad input or a lost engine is an error, never a crash.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod components;
pub mod format;
pub mod live;
pub mod wire;

use components::cluster::Cluster;
use components::detail::Detail;
use components::fleet::Fleet;
use components::header::Header;
use components::incidents::Incidents;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, StaticSegment};

/// The HTML document around the app (server side).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone() />
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let live = live::Live::new();
    provide_context(live);
    Effect::new(move |_| live::connect(live));
    view! {
        <Stylesheet id="leptos" href="/pkg/dockerpulse.css"/>
        <Title text="DockerPulse"/>
        <Router>
            <Header/>
            <main>
                <Routes fallback=|| view! { <p class="placeholder">"Page not found."</p> }>
                    <Route path=StaticSegment("") view=Fleet/>
                    <Route path=(StaticSegment("containers"), ParamSegment("id")) view=Detail/>
                    <Route path=StaticSegment("incidents") view=Incidents/>
                    <Route path=StaticSegment("cluster") view=Cluster/>
                </Routes>
            </main>
        </Router>
    }
}
